package pylit

import (
	"errors"
	"math"
	"testing"
)

// Each checked against CPython 3.11's json.dumps(v).
func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, `null`},
		{true, `true`},
		{int64(-3), `-3`},
		{7, `7`},
		{"", `""`},
		{List{}, `[]`},
		{Dict{}, `{}`},
		{Tuple{int64(1), "x"}, `[1, "x"]`},
		{
			Dict{
				{"a", "é😀\x7f\x00\"\\/\b\f\n\r\t"},
				{"f", List{1.0, 1e-06, 1e16, math.Inf(1), math.Inf(-1), math.NaN()}},
				{int64(1), nil},
				{2.5, true},
				{nil, false},
				{false, Tuple{int64(1), int64(2)}},
				{"u", "\xed\xa0\x80"},
			},
			`{"a": "\u00e9\ud83d\ude00\u007f\u0000\"\\/\b\f\n\r\t", "f": [1.0, 1e-06, 1e+16, Infinity, -Infinity, NaN], "1": null, "2.5": true, "null": false, "false": [1, 2], "u": "\ud800"}`,
		},
	} {
		got, err := JSON(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("JSON(%#v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// json.dumps raises TypeError for these.
func TestJSONErrors(t *testing.T) {
	for _, in := range []any{
		Set{},
		Bytes("x"),
		List{Set{int64(1)}},
		Dict{{Tuple{int64(1)}, int64(2)}},
		Dict{{"ok", Bytes{}}},
		struct{}{},
	} {
		var je *JSONError
		if got, err := JSON(in); !errors.As(err, &je) {
			t.Errorf("JSON(%#v) = %s, %v; want a *JSONError", in, got, err)
		}
	}
}
