package wal

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckServer refuses a server name that would put objects outside the
// server's own part of the archive. Barman uses the name verbatim, so "a/b"
// nests a server inside another's prefix, "/x" discards the URL prefix, and
// ".." is a path step on file stores; control characters and bytes that
// are not UTF-8 make keys that some stores cannot address (S3, Azure and
// GCS object names are UTF-8). None of these is a name anyone means.
func CheckServer(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("the server name is empty")
	case strings.Contains(name, "/"):
		return fmt.Errorf("invalid server name %q: it must not contain '/'", name)
	case name == "." || name == "..":
		return fmt.Errorf("invalid server name %q", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("invalid server name %q: it must not contain control characters", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("invalid server name %q: it must be UTF-8", name)
	}
	return nil
}
