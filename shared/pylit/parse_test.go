package pylit

import (
	"errors"
	"math"
	"testing"
)

// identical reports whether a and b are the same value of the same types,
// floats compared bit for bit (so -0.0 differs from 0.0).
func identical(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case List:
		b, ok := b.(List)
		return ok && identicalSlices(a, b)
	case Tuple:
		b, ok := b.(Tuple)
		return ok && identicalSlices(a, b)
	case Set:
		b, ok := b.(Set)
		return ok && identicalSlices(a, b)
	case Bytes:
		b, ok := b.(Bytes)
		return ok && string(a) == string(b)
	case Dict:
		b, ok := b.(Dict)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !identical(a[i].Key, b[i].Key) || !identical(a[i].Value, b[i].Value) {
				return false
			}
		}
		return true
	case nil, bool, int64, string:
		return a == b
	}
	return false
}

func identicalSlices(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !identical(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Each result checked against CPython 3.11's ast.literal_eval.
var parseVectors = []struct {
	in   string
	want any
}{
	{`'plain'`, "plain"},
	{`"it's"`, "it's"},
	{`'both \' and "'`, `both ' and "`},
	{`'tab\there' "x"`, "tab\therex"},
	{`'a' 'b'`, "ab"},
	{`'a'  "b"   '''c'''`, "abc"},
	{`'\a\b\f\n\r\t\v\\\'\"'`, "\a\b\f\n\r\t\v\\'\""},
	{`'\x41\101\0\7777'`, "AA\x00\u01ff7"},
	{`'\u00e9\U0001F600'`, "é😀"},
	{`'\ud800'`, "\xed\xa0\x80"},
	{`'\d\8\ '`, `\d\8\ `},
	{"'a\\\nb'", "ab"},
	{"'a\\\r\nb'", "ab"},
	{"'''a\r\nb\rc'''", "a\nb\nc"},
	{`"""x"y""z"""`, `x"y""z`},
	{`r'\n\''`, `\n\'`},
	{`R"\x"`, `\x`},
	{`u'x' r'\n'`, `x\n`},
	{`U'x'`, "x"},
	{`b'a\x00\xff\777\u00e9'`, Bytes("a\x00\xff\xff\\u00e9")},
	{`Rb'\x' bR"y"`, Bytes(`\xy`)},
	{`'café'`, "café"},
	{`0`, int64(0)},
	{`00`, int64(0)},
	{`0_0`, int64(0)},
	{`42`, int64(42)},
	{`1_000`, int64(1000)},
	{`0x_1f`, int64(31)},
	{`0XFF`, int64(255)},
	{`0o17`, int64(15)},
	{`0b101`, int64(5)},
	{`-1`, int64(-1)},
	{`- 1`, int64(-1)},
	{`+1`, int64(1)},
	{`-(1)`, int64(-1)},
	{`9223372036854775807`, int64(math.MaxInt64)},
	{`-9223372036854775808`, int64(math.MinInt64)},
	{`-(9223372036854775808)`, int64(math.MinInt64)},
	{`1.5`, 1.5},
	{`1.`, 1.0},
	{`.5`, 0.5},
	{`1.e5`, 1e5},
	{`1e5_0`, 1e50},
	{`1_000.5`, 1000.5},
	{`1E-06`, 1e-06},
	{`-0.0`, math.Copysign(0, -1)},
	{`1e999`, math.Inf(1)},
	{`-1e999`, math.Inf(-1)},
	{`1e-999`, 0.0},
	{`0.30000000000000004`, 0.30000000000000004},
	{`None`, nil},
	{`True`, true},
	{`False`, false},
	{`()`, Tuple{}},
	{`( 1 , )`, Tuple{int64(1)}},
	{`(1, 'a', None)`, Tuple{int64(1), "a", nil}},
	{`1,`, Tuple{int64(1)}},
	{`1, 2`, Tuple{int64(1), int64(2)}},
	{`(((((1)))))`, int64(1)},
	{`[]`, List{}},
	{`[1,2,]`, List{int64(1), int64(2)}},
	{"[1,\n2 # two\n]", List{int64(1), int64(2)}},
	{`{}`, Dict{}},
	{`{'a':1,}`, Dict{{"a", int64(1)}}},
	{`{1: 'a', 1.0: 'b', True: 'c'}`, Dict{{int64(1), "c"}}},
	{`{(1, 'x'): [2]}`, Dict{{Tuple{int64(1), "x"}, List{int64(2)}}}},
	{`{1, 1.0, 2}`, Set{int64(1), int64(2)}},
	{`set()`, Set{}},
	{`set( )`, Set{}},
	{"\n1 # comment\n", int64(1)},
	{" \t\f1", int64(1)},
	{
		`[('tbs1', 16400, '/srv/tbs1'), ('t2', 16401, "/o'k")]`,
		List{Tuple{"tbs1", int64(16400), "/srv/tbs1"}, Tuple{"t2", int64(16401), "/o'k"}},
	},
	{
		`{'total_time': 12.5, 'copy_time': 1e-06, 'x': 1e+16, 'y': 0.30000000000000004, 'n': 0}`,
		Dict{{"total_time", 12.5}, {"copy_time", 1e-06}, {"x", 1e16}, {"y", 0.30000000000000004}, {"n", int64(0)}},
	},
}

// Each refused by CPython 3.11's ast.literal_eval too, except those marked
// "Python reads it", which this package does not support.
var parseErrors = []string{
	``,
	`  `,
	`'a`,
	`'a\'`,
	"'a\nb'",
	"'a\rb'",
	"'''a",
	"'a\x00b'",
	"'\xff'", // not UTF-8
	`'\x4'`,
	`'\u12'`,
	`'\U00110000'`,
	`'\N{BULLET}'`, // Python reads it; this package has no name table
	`b'é'`,
	`'a' b'c'`,
	`f'x'`,
	`ur'x'`,
	`x'a'`,
	`9223372036854775808`,      // Python reads it
	`-9223372036854775809`,     // Python reads it
	`(9223372036854775808, 1)`, // Python reads it
	`[99999999999999999999]`,   // Python reads it
	`09`,
	`1__0`,
	`1_`,
	`1_e5`,
	`1e`,
	`0o8`,
	`0b`,
	`0x`,
	`1abc`,
	`1j`,   // Python reads it
	`1+2j`, // Python reads it
	`1..2`,
	`...`, // Python reads it
	`--1`,
	`-(-1)`,
	`-True`,
	`+None`,
	`-'a'`,
	`-(1,)`,
	`none`,
	`set(1)`,
	`set`,
	`frozenset()`,
	`[,]`,
	`(,)`,
	`[1 2]`,
	`{1: 2, 3}`,
	`{1, 2: 3}`,
	`{[1]: 2}`,
	`{{}}`,
	`{(1, [2]): 3}`,
	`[1`,
	`1]`,
	"'a'\n'b'",
	"1\n, 2",
	"\v1",
	`1 2`,
	`a`,
}

func TestParse(t *testing.T) {
	for _, tc := range parseVectors {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !identical(got, tc.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range parseErrors {
		v, err := Parse(in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %#v, %v; want a *SyntaxError", in, v, err)
		}
	}
}

func TestParseNesting(t *testing.T) {
	deep := func(n int) string {
		s := ""
		for range n {
			s += "["
		}
		for range n {
			s += "]"
		}
		return s
	}
	if _, err := Parse(deep(maxDepth)); err != nil {
		t.Errorf("%d nested lists: %v", maxDepth, err)
	}
	if _, err := Parse(deep(maxDepth + 1)); err == nil {
		t.Errorf("%d nested lists accepted", maxDepth+1)
	}
}

// Every value of the repr tables reads back as itself (non-finite floats
// excepted: Python's repr of them, "inf", is not a literal either).
func TestRoundTrip(t *testing.T) {
	for _, tc := range append(specReprVectors, reprVectors...) {
		if !isLiteral(tc.in) {
			continue
		}
		got, err := Parse(tc.want)
		if err != nil {
			t.Errorf("Parse(Repr(%#v) = %s): %v", tc.in, tc.want, err)
			continue
		}
		want := tc.in
		if i, ok := want.(int); ok {
			want = int64(i)
		}
		if s, ok := want.(string); ok && s == "\xff" {
			want = "\xed\xb3\xbf" // invalid UTF-8 comes back as the surrogate U+DCFF
		}
		if !identical(got, want) {
			t.Errorf("Parse(%s) = %#v, want %#v", tc.want, got, want)
		}
	}
}

// isLiteral reports whether Repr(v) is a literal Parse can read.
func isLiteral(v any) bool {
	switch v := v.(type) {
	case nil, bool, int, int64, string, Bytes:
		return true
	case float64:
		return !math.IsInf(v, 0) && !math.IsNaN(v)
	case List:
		return allLiteral(v)
	case Tuple:
		return allLiteral(v)
	case Set:
		return allLiteral(v)
	case Dict:
		for _, it := range v {
			if !isLiteral(it.Key) || !isLiteral(it.Value) {
				return false
			}
		}
		return true
	}
	return false
}

func allLiteral(elems []any) bool {
	for _, e := range elems {
		if !isLiteral(e) {
			return false
		}
	}
	return true
}
