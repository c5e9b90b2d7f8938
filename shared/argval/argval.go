// Package argval converts option values the way Barman's argparse types do
// (Python int() and float(), barman/utils.py check_positive and
// check_size), so that every value Barman accepts is accepted here with the
// same meaning. Values on which Barman crashes are refused with an error.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package argval

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

func trimPySpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// digitsWithUnderscores checks Python's numeric-literal rule: ASCII digits,
// single underscores allowed only between two digits.
func digitsWithUnderscores(s string) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			if s[i-1] == '_' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Int parses s as Python's int() does for a str: surrounding whitespace, a
// sign and "_" between digits are accepted; "0x2", "2.0" are not. Values
// beyond int64 are refused (Python would accept them; no option needs them).
func Int(s string) (int64, error) {
	t := trimPySpace(s)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if !digitsWithUnderscores(t) {
		return 0, fmt.Errorf("invalid int value: '%s'", s)
	}
	n, err := strconv.ParseInt(sign+strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid int value: '%s'", s)
	}
	return n, nil
}

// Float parses s as Python's float() does for a str: surrounding
// whitespace, a sign, "_" between digits, an exponent, "inf", "infinity" and
// "nan" in any case. Hexadecimal is refused, as in Python.
func Float(s string) (float64, error) {
	bad := fmt.Errorf("could not convert string to float: '%s'", s)
	t := trimPySpace(s)
	body := t
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "inf", "infinity", "nan":
		return strconv.ParseFloat(t, 64)
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(body), "e")
	if hasExp {
		e := exp
		if e != "" && (e[0] == '+' || e[0] == '-') {
			e = e[1:]
		}
		if !digitsWithUnderscores(e) {
			return 0, bad
		}
	}
	ip, fp, hasDot := strings.Cut(mant, ".")
	switch {
	case ip == "" && fp == "":
		return 0, bad
	case ip != "" && !digitsWithUnderscores(ip):
		return 0, bad
	case hasDot && fp != "" && !digitsWithUnderscores(fp):
		return 0, bad
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if err != nil && !isRangeErr(err) {
		return 0, bad
	}
	return f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Positive parses a positive integer as barman/utils.py check_positive.
func Positive(s string) (int64, error) {
	n, err := Int(s)
	if err != nil {
		return 0, fmt.Errorf("'%s' is not a valid input", s)
	}
	if n < 1 {
		return 0, fmt.Errorf("'%s' is not a valid positive integer", s)
	}
	return n, nil
}

// Size parses a size as barman/utils.py check_size, with its
// counter-intuitive bases kept: "KB", "MB"… are powers of 1024 while
// "KiB", "MiB"… are powers of 1000. The result must be at least 1. Inputs
// on which Barman crashes ("", "B", "IB", "infKB") are refused.
func Size(s string) (int64, error) {
	u := strings.ToUpper(s)
	bad := fmt.Errorf("'%s' is not a valid size string", u)
	// Plain integers ("4", "1234B") stay exact, as Python's int is;
	// only a multiplied value goes through a float, as in Barman.
	whole := func(s string) (int64, error) {
		n, err := Int(s)
		if err != nil || n < 1 {
			return 0, bad
		}
		return n, nil
	}
	var v float64
	switch {
	case !strings.HasSuffix(u, "B"):
		return whole(u)
	default:
		base, prefixAt := 1024.0, len(u)-2
		if len(u) >= 2 && u[len(u)-2] == 'I' {
			base, prefixAt = 1000, len(u)-3
		}
		if prefixAt < 0 {
			return 0, bad
		}
		if p := strings.IndexByte("KMGTPEZY", u[prefixAt]); p >= 0 {
			f, err := Float(u[:prefixAt])
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, bad
			}
			v = f * math.Pow(base, float64(p+1))
		} else {
			return whole(u[:prefixAt+1])
		}
	}
	v = math.Trunc(v)
	if v < 1 || v > math.MaxInt64 {
		return 0, bad
	}
	// Exact integer result for values a float64 holds exactly; larger
	// sizes are far beyond any block or put size a provider accepts.
	n, _ := new(big.Float).SetFloat64(v).Int64()
	return n, nil
}
