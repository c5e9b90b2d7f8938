package storage

import (
	"fmt"
	"strconv"
	"strings"
)

// azureBlobName is the blob name gocloud's azureblob driver stores key
// under, for the calls this package makes without it (blocks, batch
// deletes): listings and reads go through the driver, which unescapes
// and escapes names its way, so a blob written under another name would
// not be found again. The driver escapes as "__0x<hex>__" the characters
// Azure mishandles (control characters, '"', '#', '%', '?', '\\', DEL),
// a trailing "/", the "/" of "../", and the start of any text that
// reads as such an escape (gocloud.dev/blob/azureblob escapeKey and
// internal/escape HexEscape, v0.47). Keys of Barman's layout contain none
// of these and are unchanged.
func azureBlobName(key string) string {
	r := []rune(key)
	var b strings.Builder
	for i, c := range r {
		escape := false
		switch {
		case c == '\\', c < 32, c == '"', c == '#', c == '%', c == '?', c == 127:
			escape = true
		case i == len(key)-1 && c == '/':
			// The driver compares the rune index with the length in
			// bytes: after a multi-byte character, a trailing "/" stays.
			escape = true
		case i > 1 && c == '/' && r[i-1] == '.' && r[i-2] == '.':
			escape = true
		case isHexEscape(r[i:]):
			escape = true
		}
		if escape {
			fmt.Fprintf(&b, "__%#x__", c)
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// isHexEscape reports whether r starts with "__0x<hex>__".
func isHexEscape(r []rune) bool {
	s := string(r)
	if !strings.HasPrefix(s, "__0x") {
		return false
	}
	digits, _, ok := strings.Cut(s[4:], "_")
	if !ok || !strings.HasPrefix(s[4+len(digits):], "__") {
		return false
	}
	_, err := strconv.ParseInt(digits, 16, 32)
	return err == nil
}
