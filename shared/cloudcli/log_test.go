package cloudcli

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestLevel(t *testing.T) {
	// barman/cloud.py: max(WARNING - 10*(verbose-quiet), DEBUG), and
	// nothing is ever logged at CRITICAL.
	for verbosity, want := range map[int]zerolog.Level{
		5: zerolog.DebugLevel, 2: zerolog.DebugLevel, 1: zerolog.InfoLevel, 0: zerolog.WarnLevel,
		-1: zerolog.ErrorLevel, -2: zerolog.FatalLevel, -3: zerolog.Disabled, -10: zerolog.Disabled,
	} {
		if got := Level(verbosity); got != want {
			t.Errorf("Level(%d) = %v, want %v", verbosity, got, want)
		}
	}
}

func TestLoggerFormat(t *testing.T) {
	var b strings.Builder
	log := NewLogger(&b, 2)
	log.Debug().Msg("d")
	log.Info().Msg("i")
	log.Warn().Msg("w")
	log.Error().Str("key", "v").Msg("e")
	line := regexp.MustCompile(fmt.Sprintf(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[%d\] (DEBUG|INFO|WARNING|ERROR): (.*)$`, os.Getpid()))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := [][2]string{{"DEBUG", "d"}, {"INFO", "i"}, {"WARNING", "w"}, {"ERROR", "e key=v"}}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil || m[1] != want[i][0] || m[2] != want[i][1] {
			t.Errorf("line %q, want level %s and message %q in Barman's format", l, want[i][0], want[i][1])
		}
	}
}

func TestLoggerLevels(t *testing.T) {
	tests := []struct {
		verbosity int
		want      string // initials of the levels that show
	}{
		{2, "DIWE"}, {1, "IWE"}, {0, "WE"}, {-1, "E"}, {-2, ""}, {-3, ""},
	}
	for _, tt := range tests {
		var b strings.Builder
		log := NewLogger(&b, tt.verbosity)
		log.Debug().Msg("D")
		log.Info().Msg("I")
		log.Warn().Msg("W")
		log.Error().Msg("E")
		var got string
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if l != "" {
				got += l[len(l)-1:]
			}
		}
		if got != tt.want {
			t.Errorf("verbosity %d logged %q, want %q", tt.verbosity, got, tt.want)
		}
	}
}

// TestLoggerOneLine: a message or field with control characters (a WAL
// name ending in a newline, an escape sequence, a byte that is not UTF-8)
// stays on its line, escaped, and cannot forge another log line.
func TestLoggerOneLine(t *testing.T) {
	var b strings.Builder
	log := NewLogger(&b, 0)
	log.Error().Str("server", "a\nb").Msg("000000010000000000000001\n2024-01-01 00:00:00,000 [1] INFO: forged \x1b[31m caf\xe9 \u0085")
	got := b.String()
	if strings.Count(got, "\n") != 1 {
		t.Fatalf("logged %d lines: %q", strings.Count(got, "\n"), got)
	}
	// zerolog's JSON stage has already made the stray byte a U+FFFD.
	want := `ERROR: 000000010000000000000001\n2024-01-01 00:00:00,000 [1] INFO: forged \x1b[31m caf` + "\ufffd" + ` \u0085 server="a\nb"` + "\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("logged %q, want it to end with %q", got, want)
	}
}
