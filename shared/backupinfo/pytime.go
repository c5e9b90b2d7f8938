package backupinfo

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a backup.info timestamp as load_datetime_tz does
// (dateutil.parser.parse; a naive result is given the local zone, local).
// It reads what Barman writes, str(datetime), and the usual ISO 8601
// variants: "YYYY-MM-DD", " " or "T", "HH:MM[:SS[.fraction]]", then
// optionally "Z", "UTC", "GMT" or an offset "±HH", "±HHMM", "±HH:MM[:SS]".
// Fractions beyond microseconds are truncated, as dateutil does.
func parseTime(s string, local *time.Location) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("unknown string format: %s", s)
	}
	rest := s
	num := func(width int) (int, bool) {
		if len(rest) < width {
			return 0, false
		}
		for i := 0; i < width; i++ {
			if rest[i] < '0' || rest[i] > '9' {
				return 0, false
			}
		}
		n, _ := strconv.Atoi(rest[:width])
		rest = rest[width:]
		return n, true
	}
	sep := func(c byte) bool {
		if len(rest) > 0 && rest[0] == c {
			rest = rest[1:]
			return true
		}
		return false
	}
	year, ok1 := num(4)
	ok2 := sep('-')
	month, ok3 := num(2)
	ok4 := sep('-')
	day, ok5 := num(2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || !(sep(' ') || sep('T')) {
		return bad()
	}
	rest = strings.TrimLeft(rest, " ")
	hour, ok1 := num(2)
	ok2 = sep(':')
	minute, ok3 := num(2)
	if !(ok1 && ok2 && ok3) {
		return bad()
	}
	second, micro := 0, 0
	if sep(':') {
		var ok bool
		if second, ok = num(2); !ok {
			return bad()
		}
		if sep('.') || sep(',') {
			n := 0
			for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
				n++
			}
			if n == 0 {
				return bad()
			}
			frac := (rest[:n] + "000000")[:6]
			micro, _ = strconv.Atoi(frac)
			rest = rest[n:]
		}
	}
	rest = strings.TrimLeft(rest, " ")
	loc := local
	switch {
	case rest == "":
	case rest == "Z" || rest == "UTC" || rest == "GMT":
		loc = time.UTC
	case rest[0] == '+' || rest[0] == '-':
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		rest = rest[1:]
		oh, ok := num(2)
		if !ok {
			return bad()
		}
		om, os := 0, 0
		if sep(':') {
			if om, ok = num(2); !ok {
				return bad()
			}
			if sep(':') {
				if os, ok = num(2); !ok {
					return bad()
				}
			}
		} else if len(rest) > 0 {
			if om, ok = num(2); !ok {
				return bad()
			}
		}
		if rest != "" || om > 59 || os > 59 || oh > 23 {
			return bad()
		}
		loc = time.FixedZone("", sign*(oh*3600+om*60+os))
	default:
		return bad()
	}
	// Range checks in UTC, where time.Date normalises only invalid fields
	// (in the local zone it would also move a time in a DST gap).
	u := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	if u.Year() != year || int(u.Month()) != month || u.Day() != day ||
		u.Hour() != hour || u.Minute() != minute || u.Second() != second || year == 0 {
		return time.Time{}, fmt.Errorf("date or time out of range: %s", s)
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, loc), nil
}

// formatStr is Python's str(datetime) for an aware datetime:
// "YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM" in t's own zone.
func formatStr(t time.Time) string {
	return isoformat(t, ' ')
}

// isoformat is datetime.isoformat(sep): microseconds only when not zero
// (Python's datetime has no finer precision: nanoseconds are dropped),
// the UTC offset as ±HH:MM, with :SS when it has seconds.
func isoformat(t time.Time, sep byte) string {
	s := t.Format("2006-01-02") + string(sep) + t.Format("15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	s += fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf(":%02d", off%60)
	}
	return s
}

// formatCtime is datetime.ctime(): "Mon Jan  1 00:10:00 2024", the wall
// clock of t's zone.
func formatCtime(t time.Time) string {
	return t.Format("Mon Jan _2 15:04:05 2006")
}

// ParseTime reads a timestamp given on the command line (restore's
// --target-time) as barman/infofile.py load_datetime_tz does, in the
// formats backup.info timestamps are read in; a naive one is in the local
// zone. dateutil, which Barman uses, also reads free forms ("May 1 2024
// 12:00") that are refused here.
func ParseTime(s string) (time.Time, error) { return parseTime(s, time.Local) }
