package pylit

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, and what it reads prints (Repr) as a
// literal that reads back as the same value and prints the same again.
func FuzzParse(f *testing.F) {
	for _, v := range parseVectors {
		f.Add(v.in)
	}
	for _, v := range parseErrors {
		f.Add(v)
	}
	for _, v := range specReprVectors {
		f.Add(v.want)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		if !isLiteral(v) {
			return // inf and nan: Python's repr of them is no literal either
		}
		r := Repr(v)
		again, err := Parse(r)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v, whose Repr %s does not parse: %v", s, v, r, err)
		}
		if !identical(v, again) {
			t.Fatalf("Parse(%q) = %#v; Parse(Repr) = %#v", s, v, again)
		}
		if r2 := Repr(again); r2 != r {
			t.Fatalf("Parse(%q): Repr %s, then %s", s, r, r2)
		}
		var je *JSONError
		if _, err := JSON(v); err != nil && (!errors.As(err, &je) || !containsSetOrBytes(v)) {
			t.Fatalf("JSON(Parse(%q)): %v", s, err)
		}
	})
}

// containsSetOrBytes reports whether v holds a value json.dumps refuses.
func containsSetOrBytes(v any) bool {
	switch v := v.(type) {
	case Set, Bytes:
		return true
	case List:
		return anySetOrBytes(v)
	case Tuple:
		return anySetOrBytes(v)
	case Dict:
		for _, it := range v {
			if _, ok := it.Key.(Tuple); ok || containsSetOrBytes(it.Key) || containsSetOrBytes(it.Value) {
				return true
			}
		}
	}
	return false
}

func anySetOrBytes(elems []any) bool {
	for _, e := range elems {
		if containsSetOrBytes(e) {
			return true
		}
	}
	return false
}
