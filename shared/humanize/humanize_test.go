package humanize

import (
	"errors"
	"math"
	"testing"
)

// §11.7 vectors, then more checked against Barman's pretty_size.
func TestPrettySize(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{31457280, "30.0 MiB"},
		{107374182400, "100.0 GiB"},
		{1 << 40, "1.0 TiB"},
		{-1023, "-1023 B"},
		{-2048, "-2.0 KiB"},
		{1126, "1.1 KiB"},
		{1075, "1.0 KiB"}, // 1.0498046875: %.1f rounds the binary value
		{1 << 50, "1.0 PiB"},
		{math.MaxInt64, "8.0 EiB"},
	} {
		if got := PrettySize(tc.in); got != tc.want {
			t.Errorf("PrettySize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// §11.7 vectors, then more checked against Barman's
// human_readable_timedelta(timedelta(seconds=x)).
func TestHumanTimedelta(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.5, "less than one second"},
		{1, "1 second"},
		{10.25, "10 seconds"},
		{61, "1 minute, 1 second"},
		{3600, "1 hour"},
		{90061, "1 day, 1 hour, 1 minute, 1 second"},
		{172800, "2 days"},
		{0, "less than one second"},
		{0.9999994, "less than one second"},
		{0.9999995, "1 second"}, // rounded to the microsecond, half to even
		{1.0000005, "1 second"},
		{7322, "2 hours, 2 minutes, 2 seconds"},
		{86400, "1 day"},
		{-10.25, "10 seconds ago"},
		{-0.5, "less than one second ago"},
		{-1e-7, "less than one second"}, // rounds to zero: not negative
		{-0.9999996, "1 second ago"},
		{86399999999999, "999999999 days, 23 hours, 59 minutes, 59 seconds"},
	} {
		got, err := HumanTimedelta(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("HumanTimedelta(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e20, 86400000000000} {
		if got, err := HumanTimedelta(in); !errors.Is(err, ErrTimedelta) {
			t.Errorf("HumanTimedelta(%v) = %q, %v; want ErrTimedelta", in, got, err)
		}
	}
}
