package pylit

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SyntaxError is returned by Parse for text that is not a literal it reads.
type SyntaxError struct {
	Offset int // byte offset in the text given to Parse (after newline translation)
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed Python literal at offset %d: %s", e.Offset, e.Msg)
}

// maxDepth is CPython's tokenizer limit on nested brackets (MAXLEVEL).
const maxDepth = 200

// Parse reads one Python literal the way ast.literal_eval (CPython 3.11)
// does, for the values of this package: str and bytes in every quote style
// with r/u/b prefixes, all escapes except \N{name}, and adjacent-literal
// concatenation; int (refused beyond int64), float with exponent and
// underscores, None, True, False; tuple (also bare at top level, "1, 2"),
// list, dict, set and set(); unary minus and plus on numbers; whitespace,
// comments and line continuations. Not read: complex numbers, Ellipsis,
// \N{name} escapes. Dict keys and set elements are de-duplicated as Python
// does (the first key is kept with the last value).
func Parse(s string) (any, error) {
	if !utf8.ValidString(s) {
		return nil, &SyntaxError{0, "not valid UTF-8"}
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, &SyntaxError{i, "source code string cannot contain null bytes"}
	}
	// Python's tokenizer translates every newline convention to "\n" first.
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	p := &parser{s: s}
	p.skipSpace(true)
	if p.pos == len(s) {
		return nil, p.errorf("empty literal")
	}
	first, err := p.element()
	if err != nil {
		return nil, err
	}
	v := first
	p.skipSpace(false)
	if p.peek() == ',' {
		// A bare tuple is an expression in eval mode: "1, 2" is (1, 2).
		t := Tuple{first}
		for p.peek() == ',' {
			p.pos++
			p.skipSpace(false)
			if p.pos == len(s) || p.peek() == '\n' {
				break
			}
			e, err := p.element()
			if err != nil {
				return nil, err
			}
			t = append(t, e)
			p.skipSpace(false)
		}
		v = t
	}
	p.skipSpace(true)
	if p.pos != len(s) {
		return nil, p.errorf("unexpected %q", p.s[p.pos:p.pos+1])
	}
	return v, nil
}

type parser struct {
	s     string
	pos   int
	depth int // open brackets: a newline is insignificant only inside them
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{p.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// skipSpace skips blanks, comments and backslash continuations, and
// newlines when inside brackets or when newlines is set (before and after
// the whole literal, where Python ignores blank lines).
func (p *parser) skipSpace(newlines bool) {
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == ' ' || c == '\t' || c == '\f':
			p.pos++
		case c == '\n' && (newlines || p.depth > 0):
			p.pos++
		case c == '\\' && strings.HasPrefix(p.s[p.pos:], "\\\n"):
			p.pos += 2
		case c == '#':
			if i := strings.IndexByte(p.s[p.pos:], '\n'); i >= 0 {
				p.pos += i
			} else {
				p.pos = len(p.s)
			}
		default:
			return
		}
	}
}

// element reads a full value: a signed number or any other literal.
func (p *parser) element() (any, error) {
	v, _, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, ok := v.(*big.Int); ok {
		return nil, p.errorf("integer literal out of range for int64")
	}
	return v, nil
}

// value reads a literal, possibly with a unary sign. Integer literals beyond
// int64 come back as *big.Int, so that -9223372036854775808 can be read;
// element refuses any left. constant tells whether the value is a bare
// literal, which is all a sign may apply to (-(1) is fine, --1 is not).
func (p *parser) value() (v any, constant bool, err error) {
	p.skipSpace(false)
	c := p.peek()
	if c != '-' && c != '+' {
		return p.primary()
	}
	start := p.pos
	p.pos++
	p.skipSpace(false)
	v, constant, err = p.primary()
	if err != nil {
		return nil, false, err
	}
	if !constant {
		return nil, false, &SyntaxError{start, "a sign applies only to a number"}
	}
	switch x := v.(type) {
	case int64:
		if c == '-' {
			return -x, false, nil // literals are never negative: no overflow
		}
		return x, false, nil
	case *big.Int:
		if c == '-' {
			x = new(big.Int).Neg(x)
		}
		if x.IsInt64() {
			return x.Int64(), false, nil
		}
		return x, false, nil
	case float64:
		if c == '-' {
			return -x, false, nil
		}
		return x, false, nil
	}
	return nil, false, &SyntaxError{start, "a sign applies only to a number"}
}

func (p *parser) primary() (any, bool, error) {
	if p.pos == len(p.s) {
		return nil, false, p.errorf("unexpected end of literal")
	}
	c := p.s[p.pos]
	switch {
	case c == '(' || c == '[' || c == '{':
		if p.depth >= maxDepth {
			return nil, false, p.errorf("too many nested parentheses")
		}
		p.depth++
		p.pos++
		var v any
		var constant bool
		var err error
		switch c {
		case '(':
			v, constant, err = p.parenthesized()
		case '[':
			var l []any
			l, err = p.sequence(']')
			v = List(l)
		default:
			v, err = p.braced()
		}
		p.depth--
		return v, constant, err
	case c == '\'' || c == '"':
		v, err := p.strings()
		return v, true, err
	case '0' <= c && c <= '9' || c == '.' && p.pos+1 < len(p.s) && isDigit(p.s[p.pos+1]):
		v, err := p.number()
		return v, true, err
	case isNameStart(c):
		start := p.pos
		for p.pos < len(p.s) && isNameChar(p.s[p.pos]) {
			p.pos++
		}
		name := p.s[start:p.pos]
		if p.peek() == '\'' || p.peek() == '"' {
			p.pos = start
			v, err := p.strings()
			return v, true, err
		}
		switch name {
		case "None":
			return nil, true, nil
		case "True":
			return true, true, nil
		case "False":
			return false, true, nil
		case "set":
			// set() is the one call literal_eval allows (Python 3.9+).
			p.skipSpace(false)
			if p.peek() == '(' {
				p.depth++
				p.pos++
				p.skipSpace(false)
				p.depth--
				if p.peek() == ')' {
					p.pos++
					return Set{}, false, nil
				}
			}
		}
		return nil, false, &SyntaxError{start, fmt.Sprintf("name %q is not a literal", name)}
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return nil, false, p.errorf("unexpected %q", r)
}

// parenthesized reads what follows "(": (), (x) which is x itself, or a tuple.
func (p *parser) parenthesized() (any, bool, error) {
	p.skipSpace(false)
	if p.peek() == ')' {
		p.pos++
		return Tuple{}, false, nil
	}
	first, constant, err := p.value()
	if err != nil {
		return nil, false, err
	}
	p.skipSpace(false)
	if p.peek() == ')' {
		p.pos++
		return first, constant, nil
	}
	if p.peek() != ',' {
		return nil, false, p.errorf("expected ',' or ')'")
	}
	if _, ok := first.(*big.Int); ok {
		return nil, false, p.errorf("integer literal out of range for int64")
	}
	p.pos++
	rest, err := p.sequence(')')
	if err != nil {
		return nil, false, err
	}
	return append(Tuple{first}, rest...), false, nil
}

// sequence reads comma-separated elements up to close, a trailing comma
// allowed.
func (p *parser) sequence(close byte) ([]any, error) {
	elems := []any{}
	for {
		p.skipSpace(false)
		if p.peek() == close {
			p.pos++
			return elems, nil
		}
		e, err := p.element()
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
		p.skipSpace(false)
		switch p.peek() {
		case ',':
			p.pos++
		case close:
		default:
			return nil, p.errorf("expected ',' or %q", close)
		}
	}
}

// braced reads what follows "{": a dict or a set.
func (p *parser) braced() (any, error) {
	p.skipSpace(false)
	if p.peek() == '}' {
		p.pos++
		return Dict{}, nil
	}
	start := p.pos
	first, err := p.element()
	if err != nil {
		return nil, err
	}
	p.skipSpace(false)
	if p.peek() != ':' {
		elems := []any{first}
		switch p.peek() {
		case ',':
			p.pos++
			rest, err := p.sequence('}')
			if err != nil {
				return nil, err
			}
			elems = append(elems, rest...)
		case '}':
			p.pos++
		default:
			return nil, p.errorf("expected ',', ':' or '}'")
		}
		set := Set{}
		seen := map[string]bool{}
		for _, e := range elems {
			k, err := hashKey(e)
			if err != nil {
				return nil, &SyntaxError{start, err.Error()}
			}
			if !seen[k] {
				seen[k] = true
				set = append(set, e)
			}
		}
		return set, nil
	}
	d := Dict{}
	index := map[string]int{}
	key := first
	for {
		p.pos++ // the ':'
		val, err := p.element()
		if err != nil {
			return nil, err
		}
		k, err := hashKey(key)
		if err != nil {
			return nil, &SyntaxError{start, err.Error()}
		}
		if i, ok := index[k]; ok {
			d[i].Value = val
		} else {
			index[k] = len(d)
			d = append(d, Item{key, val})
		}
		p.skipSpace(false)
		switch p.peek() {
		case '}':
			p.pos++
			return d, nil
		case ',':
			p.pos++
		default:
			return nil, p.errorf("expected ',' or '}'")
		}
		p.skipSpace(false)
		if p.peek() == '}' {
			p.pos++
			return d, nil
		}
		start = p.pos
		if key, err = p.element(); err != nil {
			return nil, err
		}
		p.skipSpace(false)
		if p.peek() != ':' {
			return nil, p.errorf("expected ':'")
		}
	}
}

// strings reads one or more adjacent string literals and concatenates them.
func (p *parser) strings() (any, error) {
	var out []byte
	isBytes := false
	for n := 0; ; n++ {
		if n > 0 {
			save := p.pos
			p.skipSpace(false)
			if !p.atString() {
				p.pos = save
				break
			}
		}
		start := p.pos
		lit, b, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		if n > 0 && b != isBytes {
			return nil, &SyntaxError{start, "cannot mix bytes and nonbytes literals"}
		}
		isBytes = b
		out = append(out, lit...)
	}
	if isBytes {
		return Bytes(out), nil
	}
	return string(out), nil
}

// atString reports whether a string literal (with an optional prefix)
// starts at the current position.
func (p *parser) atString() bool {
	i := p.pos
	for i < len(p.s) && i-p.pos < 2 && strings.IndexByte("rRbBuUfF", p.s[i]) >= 0 {
		i++
	}
	return i < len(p.s) && (p.s[i] == '\'' || p.s[i] == '"')
}

// stringLiteral reads one literal, prefix included, and returns its
// content (UTF-8, or raw bytes for a bytes literal).
func (p *parser) stringLiteral() ([]byte, bool, error) {
	start := p.pos
	for p.s[p.pos] != '\'' && p.s[p.pos] != '"' {
		p.pos++
	}
	raw, isBytes := false, false
	switch strings.ToLower(p.s[start:p.pos]) {
	case "", "u":
	case "r":
		raw = true
	case "b":
		isBytes = true
	case "br", "rb":
		raw, isBytes = true, true
	default:
		return nil, false, &SyntaxError{start, fmt.Sprintf("string prefix %q is not a literal", p.s[start:p.pos])}
	}
	q := p.s[p.pos]
	closing := string(q)
	if strings.HasPrefix(p.s[p.pos:], strings.Repeat(closing, 3)) {
		closing = strings.Repeat(closing, 3)
	}
	p.pos += len(closing)
	var out []byte
	for {
		if p.pos >= len(p.s) {
			return nil, false, &SyntaxError{start, "unterminated string literal"}
		}
		if strings.HasPrefix(p.s[p.pos:], closing) {
			p.pos += len(closing)
			return out, isBytes, nil
		}
		c := p.s[p.pos]
		if c == '\n' && len(closing) == 1 {
			return nil, false, &SyntaxError{start, "unterminated string literal"}
		}
		if c != '\\' {
			r, size := utf8.DecodeRuneInString(p.s[p.pos:])
			if isBytes && r >= 0x80 {
				return nil, false, p.errorf("bytes can only contain ASCII literal characters")
			}
			out = append(out, p.s[p.pos:p.pos+size]...)
			p.pos += size
			continue
		}
		if p.pos+1 >= len(p.s) {
			return nil, false, &SyntaxError{start, "unterminated string literal"}
		}
		if raw {
			// A raw literal keeps the backslash and what follows it, even
			// a quote (which then does not end the literal).
			_, size := utf8.DecodeRuneInString(p.s[p.pos+1:])
			out = append(out, p.s[p.pos:p.pos+1+size]...)
			p.pos += 1 + size
			continue
		}
		var err error
		if out, err = p.escape(out, isBytes); err != nil {
			return nil, false, err
		}
	}
}

// escape decodes the escape sequence at the current backslash (Python's
// _PyUnicode_DecodeUnicodeEscapeInternal and _PyBytes_DecodeEscape).
func (p *parser) escape(out []byte, isBytes bool) ([]byte, error) {
	start := p.pos
	p.pos++
	c := p.s[p.pos]
	p.pos++
	switch c {
	case '\n':
		return out, nil
	case '\\', '\'', '"':
		return append(out, c), nil
	case 'a':
		return append(out, 7), nil
	case 'b':
		return append(out, 8), nil
	case 'f':
		return append(out, 12), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'v':
		return append(out, 11), nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n := rune(c - '0')
		for i := 0; i < 2 && p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '7'; i++ {
			n = n*8 + rune(p.s[p.pos]-'0')
			p.pos++
		}
		if isBytes {
			return append(out, byte(n)), nil // CPython 3.11 keeps the low 8 bits
		}
		return appendRune(out, n), nil
	case 'x', 'u', 'U':
		if c != 'x' && isBytes {
			break
		}
		width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.pos+width > len(p.s) {
			return nil, &SyntaxError{start, fmt.Sprintf("truncated \\%c escape", c)}
		}
		n, err := strconv.ParseUint(p.s[p.pos:p.pos+width], 16, 32)
		if err != nil {
			return nil, &SyntaxError{start, fmt.Sprintf("truncated \\%c escape", c)}
		}
		if n > utf8.MaxRune {
			return nil, &SyntaxError{start, "illegal Unicode character"}
		}
		p.pos += width
		if isBytes {
			return append(out, byte(n)), nil
		}
		return appendRune(out, rune(n)), nil
	case 'N':
		if !isBytes {
			return nil, &SyntaxError{start, `\N{name} escapes are not supported`}
		}
	}
	// An unknown escape is kept as it is, backslash included.
	p.pos = start + 1
	_, size := utf8.DecodeRuneInString(p.s[p.pos:])
	p.pos += size
	return append(out, p.s[start:p.pos]...), nil
}

// number reads an int or float literal (Python's tokenizer rules).
func (p *parser) number() (any, error) {
	start := p.pos
	s := p.s
	if s[p.pos] == '0' && p.pos+1 < len(s) && strings.IndexByte("xXoObB", s[p.pos+1]) >= 0 {
		p.pos += 2
		for p.pos < len(s) && isNameChar(s[p.pos]) {
			p.pos++
		}
		// big.Int's base-0 syntax is Go's, which for prefixed literals
		// (underscores included) matches Python's.
		z, ok := new(big.Int).SetString(s[start:p.pos], 0)
		if !ok {
			return nil, &SyntaxError{start, fmt.Sprintf("invalid literal %q", s[start:p.pos])}
		}
		return intValue(z), nil
	}
	digits := func() {
		for p.pos < len(s) && (isDigit(s[p.pos]) || s[p.pos] == '_') {
			p.pos++
		}
	}
	digits()
	isFloat := false
	if p.peek() == '.' {
		isFloat = true
		p.pos++
		digits()
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		i := p.pos + 1
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i < len(s) && isDigit(s[i]) {
			isFloat = true
			p.pos = i
			digits()
		}
	}
	tok := s[start:p.pos]
	if c := p.peek(); c == 'j' || c == 'J' {
		return nil, &SyntaxError{start, "complex numbers are not supported"}
	}
	if p.pos < len(s) && isNameChar(s[p.pos]) {
		return nil, &SyntaxError{start, "invalid decimal literal"}
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] == '_' && (i == 0 || !isDigit(tok[i-1]) || i+1 == len(tok) || !isDigit(tok[i+1])) {
			return nil, &SyntaxError{start, "invalid decimal literal"}
		}
	}
	clean := strings.ReplaceAll(tok, "_", "")
	if isFloat {
		f, err := strconv.ParseFloat(clean, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, &SyntaxError{start, fmt.Sprintf("invalid float literal %q", tok)}
		}
		return f, nil // beyond the range: ±inf or 0, as Python reads it
	}
	if clean[0] == '0' && strings.Trim(clean, "0") != "" {
		return nil, &SyntaxError{start, "leading zeros in decimal integer literals are not permitted"}
	}
	if len(strings.TrimLeft(clean, "0")) > 19 {
		// Out of int64 range even negated; refusing it here also keeps
		// a huge literal from costing a quadratic conversion.
		return nil, &SyntaxError{start, "integer literal out of range for int64"}
	}
	z, _ := new(big.Int).SetString(clean, 10)
	return intValue(z), nil
}

func intValue(z *big.Int) any {
	if z.IsInt64() {
		return z.Int64()
	}
	return z
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }
