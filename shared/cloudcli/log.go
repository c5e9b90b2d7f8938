package cloudcli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Level is the log level for a verbosity (number of -v minus number of -q),
// as barman/cloud.py configure_logging computes it: WARNING by default, one
// step per -v or -q, DEBUG at most, and silence below CRITICAL (Barman logs
// nothing at CRITICAL).
func Level(verbosity int) zerolog.Level {
	switch {
	case verbosity >= 2:
		return zerolog.DebugLevel
	case verbosity == 1:
		return zerolog.InfoLevel
	case verbosity == 0:
		return zerolog.WarnLevel
	case verbosity == -1:
		return zerolog.ErrorLevel
	case verbosity == -2:
		return zerolog.FatalLevel
	}
	return zerolog.Disabled
}

var levelNames = map[string]string{
	"trace": "DEBUG", "debug": "DEBUG", "info": "INFO", "warn": "WARNING",
	"error": "ERROR", "fatal": "CRITICAL", "panic": "CRITICAL",
}

// NewLogger logs to w in Barman's format,
//
//	2024-05-01 12:00:00,123 [4242] ERROR: message
//
// at the level for verbosity. Extra fields follow the message as key=value.
func NewLogger(w io.Writer, verbosity int) zerolog.Logger {
	pid := os.Getpid()
	cw := zerolog.ConsoleWriter{
		// Serialised: wal-archive --jobs logs from several goroutines, and
		// each event must reach w in one piece.
		Out:        zerolog.SyncWriter(w),
		NoColor:    true,
		TimeFormat: "2006-01-02 15:04:05,000",
		PartsOrder: []string{zerolog.TimestampFieldName, zerolog.LevelFieldName, zerolog.MessageFieldName},
		FormatTimestamp: func(i any) string {
			// The event carries Unix milliseconds (see below); ConsoleWriter
			// would otherwise lose them.
			var ms int64
			switch v := i.(type) {
			case string:
				fmt.Sscan(v, &ms)
			case interface{ Int64() (int64, error) }:
				ms, _ = v.Int64()
			}
			return time.UnixMilli(ms).Format("2006-01-02 15:04:05,000") + fmt.Sprintf(" [%d]", pid)
		},
		// One event, one line: a WAL name, URL or provider message with a
		// newline in it must not forge a line of PostgreSQL's log.
		FormatMessage:    func(i any) string { return escapeControls(fmt.Sprint(i)) },
		FormatFieldValue: func(i any) string { return escapeControls(fmt.Sprint(i)) },
		FormatLevel: func(i any) string {
			s, _ := i.(string)
			if n, ok := levelNames[s]; ok {
				return n + ":"
			}
			return strings.ToUpper(s) + ":"
		},
	}
	// Unix milliseconds, so that the console writer can print them.
	zerolog.TimeFieldFormat = zerolog.TimeFormatUnixMs
	return zerolog.New(cw).Level(Level(verbosity)).With().Timestamp().Logger()
}

// escapeControls spells control characters and bytes that are not UTF-8
// as Go escapes ("\n", "\x1b", "\u0085", "\xe9"), leaving the rest as is.
func escapeControls(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
