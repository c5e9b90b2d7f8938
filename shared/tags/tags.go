// Package tags parses Barman's object tags (--tags/--history-tags and
// --tag/--history-tag) and renders them the way each provider receives
// them (barman/clients/cloud_cli.py, barman/utils.py check_tag, and the
// upload_fileobj of each barman/cloud_providers module).
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package tags

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tag is one key/value pair.
type Tag struct{ Key, Value string }

// List is an ordered list of tags; order is kept because S3 receives the
// tags in the order given.
type List []Tag

// ParseCSV parses one argument of the deprecated --tags/--history-tags
// options: a single CSV record (delimiter ",", quote '"', doubled quotes
// inside quoted fields, nothing trimmed) with exactly two fields. Like
// Barman it checks nothing else.
func ParseCSV(arg string) (Tag, error) {
	r := csv.NewReader(strings.NewReader(arg))
	r.LazyQuotes = true // Python's csv accepts stray quotes inside fields
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil && err != io.EOF {
		return Tag{}, fmt.Errorf("Error parsing tag %s: %v", arg, err)
	}
	if err == nil {
		if _, err2 := r.Read(); err2 != io.EOF {
			// Python's csv reports a newline in an unquoted field.
			return Tag{}, fmt.Errorf("Error parsing tag %s: new-line character seen in unquoted field", arg)
		}
	}
	if len(rec) != 2 {
		return Tag{}, fmt.Errorf("Invalid tag format: %s", arg)
	}
	return Tag{Key: rec[0], Value: rec[1]}, nil
}

// tagChars is check_tag's character class. \s is Unicode whitespace in
// Python, which includes U+001C..U+001F; tagRune spells it out.
func tagRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
		return true
	case strings.ContainsRune("_.:/=+-@", r):
		return true
	}
	return isPySpace(r)
}

func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

var awsPrefix = regexp.MustCompile(`(?i)^aws:`)

// ErrInvalidTag is returned by Parse for a value check_tag refuses.
var ErrInvalidTag = errors.New("invalid check_tag value")

// Parse parses one --tag/--history-tag value as barman/utils.py check_tag
// does: "KEY,VALUE" split at the first comma, both trimmed; a key of 1 to
// 128 characters not starting with "aws:", a value of at most 256, both
// made of ASCII letters and digits, whitespace and "_.:/=+-@". An empty
// value is refused (Barman records a null tag and crashes on upload).
func Parse(s string) (Tag, error) {
	bad := fmt.Errorf("%w: '%s'", ErrInvalidTag, s)
	k, v, ok := strings.Cut(s, ",")
	if !ok {
		return Tag{}, bad
	}
	k, v = strings.TrimFunc(k, isPySpace), strings.TrimFunc(v, isPySpace)
	if n := utf8.RuneCountInString(k); n < 1 || n > 128 || awsPrefix.MatchString(k) {
		return Tag{}, bad
	}
	if utf8.RuneCountInString(v) > 256 {
		return Tag{}, bad
	}
	for _, r := range k + v {
		if !tagRune(r) {
			return Tag{}, bad
		}
	}
	return Tag{Key: k, Value: v}, nil
}

// For returns the tags an uploaded file gets: for a history file the
// history tags when there are any, otherwise the WAL tags. The lists are
// never merged.
func For(isHistory bool, walTags, historyTags List) List {
	if isHistory && len(historyTags) > 0 {
		return historyTags
	}
	return walTags
}

// S3Query renders the list as S3's x-amz-tagging header: a URL query string
// in the order given, each key and value encoded as Python's quote_plus
// does (space as "+"). url.Values.Encode would sort the keys.
func (l List) S3Query() string {
	parts := make([]string, len(l))
	for i, t := range l {
		parts[i] = url.QueryEscape(t.Key) + "=" + url.QueryEscape(t.Value)
	}
	return strings.Join(parts, "&")
}

// Map is the list as a dictionary, the form Azure blob index tags and GCS
// custom metadata take: a later duplicate key wins.
func (l List) Map() map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for _, t := range l {
		m[t.Key] = t.Value
	}
	return m
}
