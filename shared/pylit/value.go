// Package pylit reads and writes Python literals the way Barman's
// backup.info does: repr() of str, int, float, bool, None, lists, tuples,
// dicts and sets (CPython 3.11), a tolerant subset of ast.literal_eval, and
// json.dumps with its default arguments for the same values.
//
// A Python value is represented by a Go value of one of these types:
//
//	nil              None
//	bool             True / False
//	int64            int (literals beyond int64 are refused)
//	float64          float
//	string           str (lone surrogates, which Python strings may hold, are
//	                 kept as their 3-byte generalised UTF-8 encoding)
//	Bytes            bytes
//	List, Tuple, Set list, tuple, set
//	Dict             dict, in insertion order
//
// Repr also accepts int for convenience; Parse never returns it.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package pylit

import (
	"fmt"
	"math"
	"strconv"
)

// List is a Python list.
type List []any

// Tuple is a Python tuple.
type Tuple []any

// Set is a Python set. Its elements keep the order they were written in:
// CPython prints a set in hash order, which for str depends on the
// per-process hash seed, so no order is more compatible than another.
type Set []any

// Bytes is a Python bytes object.
type Bytes []byte

// Item is one key/value pair of a Dict.
type Item struct {
	Key, Value any
}

// Dict is a Python dict; like CPython's, it keeps insertion order.
type Dict []Item

// Get returns the value stored under key, comparing keys as Python does
// (1, 1.0 and True are the same key), like dict.get. A Dict built by hand
// with a key twice answers with the last one, as a dict display would.
func (d Dict) Get(key any) (any, bool) {
	want, err := hashKey(key)
	if err != nil {
		return nil, false
	}
	for i := len(d) - 1; i >= 0; i-- {
		if k, err := hashKey(d[i].Key); err == nil && k == want {
			return d[i].Value, true
		}
	}
	return nil, false
}

// Truthy reports Python's truth value of v (bool(v)).
func Truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int:
		return v != 0
	case int64:
		return v != 0
	case float64:
		return v != 0 // NaN is true in Python too
	case string:
		return v != ""
	case Bytes:
		return len(v) > 0
	case List:
		return len(v) > 0
	case Tuple:
		return len(v) > 0
	case Set:
		return len(v) > 0
	case Dict:
		return len(v) > 0
	}
	return true
}

// Str is Python's str(v): a str is itself, anything else its repr.
func Str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return Repr(v)
}

// Number returns v as a float64 when Python would accept it as a number
// (int, float, or bool, which is an int in Python).
func Number(v any) (float64, bool) {
	switch v := v.(type) {
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// hashKey returns a string equal for exactly the values Python considers
// equal dict keys, or an error for an unhashable value (list, dict, set).
// Numbers are normalised so that 1, 1.0 and True collide as they do in a
// Python dict.
func hashKey(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "N", nil
	case bool:
		if v {
			return "n1", nil
		}
		return "n0", nil
	case int:
		return "n" + strconv.Itoa(v), nil
	case int64:
		return "n" + strconv.FormatInt(v, 10), nil
	case float64:
		if v == math.Trunc(v) && v >= -1<<63 && v < 1<<63 {
			return "n" + strconv.FormatInt(int64(v), 10), nil
		}
		return "f" + strconv.FormatUint(math.Float64bits(v), 16), nil
	case string:
		return "s" + v, nil
	case Bytes:
		return "b" + string(v), nil
	case Tuple:
		k := "t" + strconv.Itoa(len(v))
		for _, e := range v {
			ek, err := hashKey(e)
			if err != nil {
				return "", err
			}
			k += ":" + strconv.Itoa(len(ek)) + ":" + ek
		}
		return k, nil
	}
	return "", fmt.Errorf("unhashable type: '%s'", typeName(v))
}

// typeName is Python's type(v).__name__ for the values of this package.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int, int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case Bytes:
		return "bytes"
	case List:
		return "list"
	case Tuple:
		return "tuple"
	case Set:
		return "set"
	case Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
