package pylit

import (
	"fmt"
	"math"
	"strings"
)

// JSONError is a value json.dumps refuses, with its TypeError's message.
type JSONError struct{ Msg string }

func (e *JSONError) Error() string { return e.Msg }

// JSON renders v as Python's json.dumps(v) with default arguments: one
// line, ", " and ": " separators, ensure_ascii (\uXXXX escapes, surrogate
// pairs above U+FFFF), floats as repr with Infinity/-Infinity/NaN, tuples as
// arrays, dict keys that are None, bool, int or float converted to strings.
// Like json.dumps it fails (*JSONError) on a set, bytes, or a dict key of
// another type.
func JSON(v any) ([]byte, error) {
	var b strings.Builder
	if err := writeJSON(&b, v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func writeJSON(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int, int64:
		b.WriteString(Repr(v))
	case float64:
		b.WriteString(jsonFloat(v))
	case string:
		writeJSONString(b, v)
	case List:
		return writeJSONArray(b, v)
	case Tuple:
		return writeJSONArray(b, v)
	case Dict:
		b.WriteByte('{')
		for i, it := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			k, err := jsonKey(it.Key)
			if err != nil {
				return err
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			if err := writeJSON(b, it.Value); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return &JSONError{fmt.Sprintf("Object of type %s is not JSON serializable", typeName(v))}
	}
	return nil
}

func writeJSONArray(b *strings.Builder, elems []any) error {
	b.WriteByte('[')
	for i, e := range elems {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := writeJSON(b, e); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

// jsonFloat is json's floatstr: repr, except for the non-finite values.
func jsonFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	return FloatRepr(f)
}

// jsonKey converts a dict key as json's _iterencode_dict does.
func jsonKey(k any) (string, error) {
	switch k := k.(type) {
	case string:
		return k, nil
	case nil:
		return "null", nil
	case bool:
		if k {
			return "true", nil
		}
		return "false", nil
	case int, int64:
		return Repr(k), nil
	case float64:
		return jsonFloat(k), nil
	}
	return "", &JSONError{fmt.Sprintf("keys must be str, int, float, bool or None, not %s", typeName(k))}
}

// writeJSONString is json's py_encode_basestring_ascii.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := decodeRune(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case ' ' <= r && r <= '~':
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800|(r>>10)&0x3ff, 0xdc00|r&0x3ff)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}
