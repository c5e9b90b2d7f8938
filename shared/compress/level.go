package compress

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Level is a --compression-level value: a number, or one of Barman's named
// levels. The zero Level is the default: "medium", Barman's default since
// 3.14, except for an algorithm with its own Default (lz4).
type Level struct {
	named string // "low", "medium", "high" or "" (medium)
	n     int
	isNum bool
}

// Medium is Barman's "medium", its default level since 3.14.
var Medium = Level{named: "medium"}

// Default is the level when none is given: Medium, except for an algorithm
// with a Default of its own (lz4). It is the zero Level.
var Default = Level{}

// Num is the numeric level n.
func Num(n int) Level { return Level{n: n, isNum: true} }

// ParseLevel parses a --compression-level value as barman/config.py
// parse_compression_level does: case-insensitive "low", "medium" or "high";
// an integer, possibly negative ("-5"); or the empty string, which means
// medium. "+5" and "--5" are refused.
func ParseLevel(s string) (Level, error) {
	v := strings.ToLower(s)
	if digits := strings.TrimLeft(v, "-"); digits != "" && isDigits(digits) {
		n, err := strconv.Atoi(v)
		if errors.Is(err, strconv.ErrRange) {
			// Python's int is unbounded; any such level is clamped later.
			return Num(n), nil
		}
		if err != nil {
			return Level{}, fmt.Errorf("invalid parse_compression_level value: '%s'", s)
		}
		return Num(n), nil
	}
	switch v {
	case "low", "medium", "high":
		return Level{named: v}, nil
	case "":
		// Barman: an empty level is "medium".
		return Medium, nil
	}
	return Level{}, fmt.Errorf("invalid parse_compression_level value: '%s'", s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the level as given: a number, "low", "medium" or "high".
func (l Level) String() string {
	if l.isNum {
		return strconv.Itoa(l.n)
	}
	if l.named == "" {
		return "default"
	}
	return l.named
}

// Resolve is the library level that Barman's level l means for algorithm a,
// and whether a number had to be clamped into [Min, Max].
func (a *Algorithm) Resolve(l Level) (n int, clamped bool) {
	if !a.HasLevels {
		return 0, false
	}
	if l.isNum {
		switch {
		case l.n < a.Min:
			return a.Min, true
		case l.n > a.Max:
			return a.Max, true
		}
		return l.n, false
	}
	switch l.named {
	case "low":
		return a.Low, false
	case "high":
		return a.High, false
	case "":
		if a.Default != nil {
			return *a.Default, false
		}
	}
	return a.Medium, false
}
