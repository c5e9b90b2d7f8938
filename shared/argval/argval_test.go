package argval

import "testing"

// The vectors of these tests seed FuzzArgval too.
var (
	intGood   = map[string]int64{"2": 2, " 2": 2, "+2": 2, "2_0": 20, "-3": -3, "\t7\n": 7, "0": 0}
	intBad    = []string{"0x2", "2.0", "abc", "", "_2", "2_", "2__0", "+", "- 2", "1e3"}
	floatGood = map[string]float64{"1.5": 1.5, " 4 ": 4, "1E3": 1000, "1_0.5": 10.5, ".5": .5, "5.": 5, "-2": -2}
	floatBad  = []string{"", ".", "0x10", "1__0", "e5", "1e", "4 M "}
	// Spec §2.4 and §8.5.
	sizeGood = map[string]int64{
		"4MB": 4194304, "4mb": 4194304, "1KB": 1024, "1.5MB": 1572864, "0.5KB": 512,
		"1E3KB": 1024000, "4 MB": 4194304, "4GB": 4294967296, "1TB": 1099511627776,
		"1234B": 1234, "4": 4, "4MiB": 4000000, "4mib": 4000000, "1iB": 1,
		"1MiB": 1000000, "8MB": 8388608, "1MB": 1048576, "64MB": 67108864,
		// Plain integers are exact beyond float64's 2^53, as in Python.
		"70000000000000001": 70000000000000001, "9223372036854775807B": 9223372036854775807,
	}
	sizeBad = []string{"4K", "0", "-1MB", "0.0001KB", "1e3B", "abc", "4 M B", "nanKB", "", "B", "IB", "infKB", "1YB", "-5"}
)

func TestInt(t *testing.T) {
	for in, want := range intGood {
		if got, err := Int(in); err != nil || got != want {
			t.Errorf("Int(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range intBad {
		if got, err := Int(in); err == nil {
			t.Errorf("Int(%q) = %d, want error", in, got)
		}
	}
}

func TestPositive(t *testing.T) {
	if n, err := Positive("4"); err != nil || n != 4 {
		t.Errorf("Positive(4) = %d, %v", n, err)
	}
	if _, err := Positive("0"); err == nil || err.Error() != "'0' is not a valid positive integer" {
		t.Errorf("Positive(0) = %v", err)
	}
	if _, err := Positive("x"); err == nil || err.Error() != "'x' is not a valid input" {
		t.Errorf("Positive(x) = %v", err)
	}
}

func TestSize(t *testing.T) {
	for in, want := range sizeGood {
		if got, err := Size(in); err != nil || got != want {
			t.Errorf("Size(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range sizeBad {
		got, err := Size(in)
		if err == nil {
			t.Errorf("Size(%q) = %d, want error", in, got)
		} else if want := "'" + upper(in) + "' is not a valid size string"; err.Error() != want {
			t.Errorf("Size(%q) error %q, want %q", in, err, want)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestFloat(t *testing.T) {
	for in, want := range floatGood {
		if got, err := Float(in); err != nil || got != want {
			t.Errorf("Float(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range floatBad {
		if got, err := Float(in); err == nil {
			t.Errorf("Float(%q) = %v, want error", in, got)
		}
	}
}
