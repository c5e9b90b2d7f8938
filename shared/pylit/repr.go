package pylit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Repr returns Python's repr(v) as CPython 3.11 prints it, for the types
// listed in the package documentation. Any other Go type is shown as
// "<T object>", which no Python literal reader accepts.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.WriteString(FloatRepr(v))
	case string:
		writeStrRepr(b, v)
	case Bytes:
		writeBytesRepr(b, v)
	case List:
		writeSeq(b, "[", "]", v)
	case Tuple:
		if len(v) == 1 {
			// (x,): without the comma it would read back as x.
			writeSeq(b, "(", ",)", v)
		} else {
			writeSeq(b, "(", ")", v)
		}
	case Set:
		if len(v) == 0 {
			b.WriteString("set()") // {} is an empty dict
			return
		}
		writeSeq(b, "{", "}", v)
	case Dict:
		b.WriteByte('{')
		for i, it := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it.Key)
			b.WriteString(": ")
			writeRepr(b, it.Value)
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "<%T object>", v)
	}
}

func writeSeq(b *strings.Builder, open, close string, elems []any) {
	b.WriteString(open)
	for i, e := range elems {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, e)
	}
	b.WriteString(close)
}

// FloatRepr is Python's repr(float) (float_repr_style "short"): the
// shortest digits that read back as x, positional notation for
// 1e-4 <= |x| < 1e16 with ".0" on integral values, else "1e-06"/"1e+16"
// style; "inf", "-inf", "nan". strconv's 'g' format differs ("3", "1e+06").
func FloatRepr(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsNaN(x):
		return "nan"
	}
	// 'e' with precision -1 gives the shortest round-trip digits as
	// "[-]d[.ddd]e±XX"; decpt is where the decimal point goes, as in
	// CPython's PyOS_double_to_string.
	e := strconv.FormatFloat(x, 'e', -1, 64)
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	n, _ := strconv.Atoi(exp)
	decpt := n + 1
	if decpt <= -4 || decpt > 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if n < 0 {
			es, n = "-", -n
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, n)
	}
	switch {
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	default:
		return sign + digits[:decpt] + "." + digits[decpt:]
	}
}

// writeStrRepr mirrors CPython's unicode_repr.
func writeStrRepr(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := decodeRune(s[i:])
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case isPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
}

// decodeRune decodes the first code point of s like utf8.DecodeRuneInString,
// but also decodes the 3-byte encoding of a surrogate (which is how Parse
// keeps a lone surrogate such as '\ud800', a valid Python str) and maps any
// other invalid byte b to U+DC00+b, Python's "surrogateescape" convention.
// Both kinds are non-printable and so come out as \udXXX escapes.
func decodeRune(s string) (rune, int) {
	r, size := utf8.DecodeRuneInString(s)
	if r != utf8.RuneError || size != 1 {
		return r, size
	}
	if len(s) >= 3 && s[0] == 0xed && s[1]&0xe0 == 0xa0 && s[2]&0xc0 == 0x80 {
		return 0xd000 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f), 3
	}
	return 0xdc00 + rune(s[0]), 1
}

// appendRune is utf8.AppendRune extended to surrogates, the inverse of
// decodeRune for them.
func appendRune(b []byte, r rune) []byte {
	if 0xd800 <= r && r <= 0xdfff {
		return append(b, 0xed, 0xa0|byte(r>>6&0x1f), 0x80|byte(r&0x3f))
	}
	return utf8.AppendRune(b, r)
}

// isPrintable is CPython 3.11's str.isprintable for one code point: not in
// the categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs other than the ASCII space.
// That is Go's unicode.IsPrint, except for the code points Unicode 15.0
// (Go's tables) assigned after 14.0 (Python 3.11's), which Python still
// sees as unassigned.
func isPrintable(r rune) bool {
	return unicode.IsPrint(r) && !unicode.Is(assignedInUnicode15, r)
}

// assignedInUnicode15 lists the printable code points of Unicode 15.0.0
// that Unicode 14.0.0 left unassigned. Generated by comparing Go's
// unicode.IsPrint with Python 3.11's str.isprintable over every code point;
// TestUnicodeVersion fails when Go's tables change and this needs redoing.
var assignedInUnicode15 = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x0cf3, 0x0cf3, 1},
		{0x0ece, 0x0ece, 1},
	},
	R32: []unicode.Range32{
		{0x10efd, 0x10eff, 1},
		{0x1123f, 0x11241, 1},
		{0x11b00, 0x11b09, 1},
		{0x11f00, 0x11f10, 1},
		{0x11f12, 0x11f3a, 1},
		{0x11f3e, 0x11f59, 1},
		{0x1342f, 0x1342f, 1},
		{0x13440, 0x13455, 1},
		{0x1b132, 0x1b132, 1},
		{0x1b155, 0x1b155, 1},
		{0x1d2c0, 0x1d2d3, 1},
		{0x1df25, 0x1df2a, 1},
		{0x1e030, 0x1e06d, 1},
		{0x1e08f, 0x1e08f, 1},
		{0x1e4d0, 0x1e4f9, 1},
		{0x1f6dc, 0x1f6dc, 1},
		{0x1f774, 0x1f776, 1},
		{0x1f77b, 0x1f77f, 1},
		{0x1f7d9, 0x1f7d9, 1},
		{0x1fa75, 0x1fa77, 1},
		{0x1fa87, 0x1fa88, 1},
		{0x1faad, 0x1faaf, 1},
		{0x1fabb, 0x1fabd, 1},
		{0x1fabf, 0x1fabf, 1},
		{0x1face, 0x1facf, 1},
		{0x1fada, 0x1fadb, 1},
		{0x1fae8, 0x1fae8, 1},
		{0x1faf7, 0x1faf8, 1},
		{0x2b739, 0x2b739, 1},
		{0x31350, 0x323af, 1},
	},
}

// writeBytesRepr mirrors CPython's bytes_repr.
func writeBytesRepr(b *strings.Builder, v Bytes) {
	quote := byte('\'')
	if strings.IndexByte(string(v), '\'') >= 0 && strings.IndexByte(string(v), '"') < 0 {
		quote = '"'
	}
	b.WriteString("b")
	b.WriteByte(quote)
	for _, c := range v {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
}
