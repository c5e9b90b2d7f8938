package argval

import (
	"math"
	"strconv"
	"testing"
)

// FuzzArgval: the option-value parsers never panic, Positive and Size
// never yield less than 1, and what Int and Float accept reads back
// unchanged from its canonical spelling.
func FuzzArgval(f *testing.F) {
	for s := range intGood {
		f.Add(s)
	}
	for s := range floatGood {
		f.Add(s)
	}
	for s := range sizeGood {
		f.Add(s)
	}
	for _, list := range [][]string{intBad, floatBad, sizeBad} {
		for _, s := range list {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Int(s)
		if err == nil {
			if back, err := Int(strconv.FormatInt(n, 10)); err != nil || back != n {
				t.Fatalf("Int(%q) = %d, which reads back as %d, %v", s, n, back, err)
			}
		}
		p, perr := Positive(s)
		switch {
		case perr == nil && p < 1:
			t.Fatalf("Positive(%q) = %d", s, p)
		case perr == nil && (err != nil || p != n):
			t.Fatalf("Positive(%q) = %d, but Int gives %d, %v", s, p, n, err)
		case perr != nil && err == nil && n >= 1:
			t.Fatalf("Positive(%q) refused %d: %v", s, n, perr)
		}
		if x, err := Float(s); err == nil && !math.IsNaN(x) {
			if back, err := Float(strconv.FormatFloat(x, 'g', -1, 64)); err != nil || back != x {
				t.Fatalf("Float(%q) = %v, which reads back as %v, %v", s, x, back, err)
			}
		}
		size, serr := Size(s)
		if serr == nil && size < 1 {
			t.Fatalf("Size(%q) = %d", s, size)
		}
		if err == nil && n >= 1 && (serr != nil || size != n) {
			t.Fatalf("Size(%q) = %d, %v; a plain integer %d is its own size", s, size, serr, n)
		}
	})
}
