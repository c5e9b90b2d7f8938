package pylit

import (
	"math"
	"testing"
	"unicode"
)

// The repr vectors of spec §11.7, verbatim.
var specReprVectors = []struct {
	in   any
	want string
}{
	{"plain", `'plain'`},
	{"it's", `"it's"`},
	{`say "hi"`, `'say "hi"'`},
	{`both ' and "`, `'both \' and "'`},
	{"tab\there", `'tab\there'`},
	{"nl\nx", `'nl\nx'`},
	{`back\slash`, `'back\\slash'`},
	{"café", `'café'`},
	{"bell\a", `'bell\x07'`},
	{"del\x7f", `'del\x7f'`},
	{"nbsp\u00a0", `'nbsp\xa0'`},
	{"zw\u200b", `'zw\u200b'`},
	{"😀", `'😀'`},
	{
		List{Tuple{"tbs1", int64(16400), "/srv/tbs1"}, Tuple{"t2", int64(16401), "/o'k"}},
		`[('tbs1', 16400, '/srv/tbs1'), ('t2', 16401, "/o'k")]`,
	},
	{
		Dict{{"total_time", 12.5}, {"copy_time", 1e-06}, {"x", 1e16}, {"y", 0.30000000000000004}, {"n", int64(0)}},
		`{'total_time': 12.5, 'copy_time': 1e-06, 'x': 1e+16, 'y': 0.30000000000000004, 'n': 0}`,
	},
}

// More vectors, each checked against CPython 3.11.2's repr.
var reprVectors = []struct {
	in   any
	want string
}{
	{nil, "None"},
	{true, "True"},
	{false, "False"},
	{int64(-42), "-42"},
	{42, "42"},
	{int64(math.MinInt64), "-9223372036854775808"},
	{3.0, "3.0"},
	{1e6, "1000000.0"},
	{1e-4, "0.0001"},
	{1e-5, "1e-05"},
	{1e15, "1000000000000000.0"},
	{1e16, "1e+16"},
	{1.5e16, "1.5e+16"},
	{123456789012345678.0, "1.2345678901234568e+17"},
	{math.Copysign(0, -1), "-0.0"},
	{0.1, "0.1"},
	{math.Inf(1), "inf"},
	{math.Inf(-1), "-inf"},
	{math.NaN(), "nan"},
	{5e-324, "5e-324"},
	{math.MaxFloat64, "1.7976931348623157e+308"},
	{0.00012, "0.00012"},
	{-12345.678, "-12345.678"},
	{2.5e-7, "2.5e-07"},
	{9999999999999998.0, "9999999999999998.0"},
	{100.0, "100.0"},
	{1e22, "1e+22"},
	{1e-7, "1e-07"},
	{"\x00", `'\x00'`},
	{"\x1f", `'\x1f'`},
	{"\u0080", `'\x80'`},
	{"\u00ad", `'\xad'`},
	{"\u2028", `'\u2028'`},
	{"\U000e0001", `'\U000e0001'`},
	{"\xed\xa0\x80", `'\ud800'`},   // a lone surrogate, as Parse keeps it
	{"\xff", `'\udcff'`},           // invalid UTF-8: surrogateescape
	{"\u0cf3", `'\u0cf3'`},         // assigned in Unicode 15.0, not in Python 3.11
	{"\U0001d2c0", `'\U0001d2c0'`}, // likewise
	{"\u3000", `'\u3000'`},         // Zs
	{" ", `' '`},                   // the one printable Zs
	{"\ue000", `'\ue000'`},         // Co
	{"\u0378", `'\u0378'`},         // Cn
	{"\U0010ffff", `'\U0010ffff'`}, // Cn
	{"'\"", `'\'"'`},               // both quotes: single, escaped
	{`a'b\`, `"a'b\\"`},            // double quotes do not escape '
	{"\v\f", `'\x0b\x0c'`},         // no \v or \f escapes in repr
	{"e\u0301", "'e\u0301'"},       // combining mark: printable
	{Bytes("a'\"\x00\xff"), `b'a\'"\x00\xff'`},
	{Bytes("it's"), `b"it's"`},
	{Bytes("\t\n\r\\"), `b'\t\n\r\\'`},
	{Bytes{}, `b''`},
	{Tuple{int64(1)}, "(1,)"},
	{Tuple{}, "()"},
	{Set{}, "set()"},
	{Set{int64(1), "a"}, "{1, 'a'}"},
	{List{}, "[]"},
	{Dict{}, "{}"},
	{
		List{Tuple{int64(1)}, List{int64(2), Tuple{int64(3), int64(4)}}, Dict{{"a", Tuple{nil, true, false}}}},
		"[(1,), [2, (3, 4)], {'a': (None, True, False)}]",
	},
	{struct{}{}, "<struct {} object>"},
}

func TestRepr(t *testing.T) {
	for _, tc := range append(specReprVectors, reprVectors...) {
		if got := Repr(tc.in); got != tc.want {
			t.Errorf("Repr(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// The Unicode 15.0 exception table in isPrintable is right only for Go's
// Unicode 15.0.0 tables. When this fails, regenerate assignedInUnicode15:
// the code points where unicode.IsPrint is true and Python 3.11's
// chr(r).isprintable() is false, as ranges.
func TestUnicodeVersion(t *testing.T) {
	if unicode.Version != "15.0.0" {
		t.Fatalf("Go's Unicode tables are %s; assignedInUnicode15 was made for 15.0.0", unicode.Version)
	}
}

func TestStrTruthyNumber(t *testing.T) {
	for _, tc := range []struct {
		in     any
		str    string
		truthy bool
	}{
		{nil, "None", false},
		{"", "", false},
		{"a'b", "a'b", true},
		{int64(0), "0", false},
		{0.0, "0.0", false},
		{math.NaN(), "nan", true},
		{List{}, "[]", false},
		{List{nil}, "[None]", true},
		{Dict{}, "{}", false},
		{Dict{{"k", "v"}}, "{'k': 'v'}", true},
		{Tuple{}, "()", false},
		{Set{}, "set()", false},
		{Bytes{}, "b''", false},
		{false, "False", false},
		{true, "True", true},
	} {
		if got := Str(tc.in); got != tc.str {
			t.Errorf("Str(%#v) = %q, want %q", tc.in, got, tc.str)
		}
		if got := Truthy(tc.in); got != tc.truthy {
			t.Errorf("Truthy(%#v) = %v, want %v", tc.in, got, tc.truthy)
		}
	}
	for _, tc := range []struct {
		in any
		f  float64
		ok bool
	}{
		{true, 1, true}, {false, 0, true}, {int64(7), 7, true}, {3, 3, true},
		{2.5, 2.5, true}, {"1", 0, false}, {nil, 0, false},
	} {
		if f, ok := Number(tc.in); f != tc.f || ok != tc.ok {
			t.Errorf("Number(%#v) = %v, %v; want %v, %v", tc.in, f, ok, tc.f, tc.ok)
		}
	}
}

func TestDictGet(t *testing.T) {
	d := Dict{{"a", int64(1)}, {int64(1), "one"}, {Tuple{int64(1), "x"}, "t"}, {"a", int64(2)}}
	for _, tc := range []struct {
		key  any
		want any
		ok   bool
	}{
		{"a", int64(2), true}, // the last of a duplicated key, as in a dict display
		{int64(1), "one", true},
		{1.0, "one", true}, // 1 == 1.0 == True as dict keys
		{true, "one", true},
		{Tuple{1.0, "x"}, "t", true},
		{"b", nil, false},
		{List{}, nil, false}, // unhashable: never found
	} {
		got, ok := d.Get(tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Get(%#v) = %#v, %v; want %#v, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}
