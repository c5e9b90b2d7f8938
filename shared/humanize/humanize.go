// Package humanize writes sizes and durations as Barman shows them to
// people (barman/utils.py pretty_size and human_readable_timedelta), for
// barman-cloud-backup-show and the backup tool's log.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package humanize

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// PrettySize is barman/utils.py pretty_size(size) with the default
// 1024-based units: "%d B" below 1024, else "%.1f" with KiB, MiB, … YiB.
func PrettySize(size int64) string {
	if size > -1024 && size < 1024 {
		return fmt.Sprintf("%d B", size)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
	f := float64(size) / 1024 // pretty_size computes in float too
	unit := 0
	for math.Abs(f) >= 1024 && unit < len(units)-1 {
		f /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %s", f, units[unit])
}

// ErrTimedelta is a number of seconds Python's timedelta refuses (NaN,
// infinite, or beyond 999999999 days).
var ErrTimedelta = errors.New("number of seconds out of timedelta's range")

const maxDays = 999999999 // timedelta.max.days

// HumanTimedelta is barman/utils.py human_readable_timedelta applied to
// datetime.timedelta(seconds=seconds): "1 day, 1 hour, 1 minute, 1 second"
// with zero parts left out, "less than one second" below one second, and
// " ago" for a negative interval.
func HumanTimedelta(seconds float64) (string, error) {
	if math.IsNaN(seconds) || math.Abs(seconds) > (maxDays+1)*86400 {
		return "", fmt.Errorf("%w: %v", ErrTimedelta, seconds)
	}
	negative, sec := timedelta(seconds)
	days := sec / 86400
	if days > maxDays {
		return "", fmt.Errorf("%w: %v", ErrTimedelta, seconds)
	}
	sec %= 86400
	var parts []string
	for _, p := range []struct {
		n    int64
		unit string
	}{
		{days, "day"},
		{sec / 3600, "hour"},
		{sec / 60 % 60, "minute"},
		{sec % 60, "second"},
	} {
		switch {
		case p.n == 1:
			parts = append(parts, "1 "+p.unit)
		case p.n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", p.n, p.unit))
		}
	}
	human := strings.Join(parts, ", ")
	if days == 0 && sec == 0 {
		human = "less than one second"
	}
	if negative {
		human += " ago"
	}
	return human, nil
}

// timedelta returns abs(timedelta(seconds=seconds)) in whole seconds, and
// whether the interval is negative. It rounds to the
// microsecond as CPython's delta_new does: the integral seconds exactly,
// the fraction through a double product, half to even on the total.
func timedelta(seconds float64) (negative bool, sec int64) {
	intPart, frac := math.Modf(seconds)
	ip, leftover := math.Modf(frac * 1e6)
	whole := math.Round(leftover)
	if math.Abs(whole-leftover) == 0.5 {
		// A tie: to even. The total's parity is ip's, as intPart*1e6 is even.
		odd := 0.0
		if int64(ip)%2 != 0 {
			odd = 1
		}
		whole = 2*math.Round((leftover+odd)*0.5) - odd
	}
	sec, us := int64(intPart), int64(ip)+int64(whole)
	if sec < 0 || sec == 0 && us < 0 {
		negative, sec, us = true, -sec, -us
	}
	// intPart and frac share a sign, so only a carry can be left to do.
	if us >= 1e6 {
		sec++
	}
	return negative, sec
}
