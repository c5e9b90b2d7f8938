package tags

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkS3Query checks that l's x-amz-tagging rendering reads back, through
// url.ParseQuery and pair by pair in order, as exactly the tags given.
func checkS3Query(t *testing.T, l List) {
	t.Helper()
	q := l.S3Query()
	parsed, err := url.ParseQuery(q)
	if err != nil {
		t.Fatalf("S3Query of %q = %q, which url.ParseQuery refuses: %v", l, q, err)
	}
	if len(l) == 0 {
		if q != "" {
			t.Fatalf("S3Query of no tags = %q", q)
		}
		return
	}
	pairs := strings.Split(q, "&")
	if len(pairs) != len(l) {
		t.Fatalf("S3Query of %d tags has %d pairs: %q", len(l), len(pairs), q)
	}
	seen := map[string]int{}
	for i, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		k, kerr := url.QueryUnescape(k)
		v, verr := url.QueryUnescape(v)
		if kerr != nil || verr != nil || k != l[i].Key || v != l[i].Value {
			t.Fatalf("S3Query of %q: pair %d %q reads back as %q=%q", l, i, p, k, v)
		}
		if got := parsed[k][seen[k]]; got != v {
			t.Fatalf("S3Query of %q: url.ParseQuery gives %q=%q, want %q", l, k, got, v)
		}
		seen[k]++
	}
}

// FuzzParse: check_tag's parser never panics, accepts only what check_tag
// allows, and what it accepts renders as an x-amz-tagging query that reads
// back unchanged.
func FuzzParse(f *testing.F) {
	for _, v := range parseVectors {
		f.Add(v.in, "k2,v2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		tag, err := Parse(a)
		if err != nil {
			if !errors.Is(err, ErrInvalidTag) {
				t.Fatalf("Parse(%q): error %v is not ErrInvalidTag", a, err)
			}
			return
		}
		if n := utf8.RuneCountInString(tag.Key); n < 1 || n > 128 || strings.HasPrefix(strings.ToLower(tag.Key), "aws:") {
			t.Fatalf("Parse(%q) accepted the key %q", a, tag.Key)
		}
		if utf8.RuneCountInString(tag.Value) > 256 {
			t.Fatalf("Parse(%q) accepted a value of %d characters", a, utf8.RuneCountInString(tag.Value))
		}
		for _, r := range tag.Key + tag.Value {
			if !tagRune(r) || r == utf8.RuneError {
				t.Fatalf("Parse(%q) accepted %q", a, r)
			}
		}
		l := List{tag}
		if tag2, err := Parse(b); err == nil {
			l = append(l, tag2)
		}
		checkS3Query(t, l)
	})
}

// FuzzParseCSV: the --tags parser never panics, and any tag it yields
// (which Barman does not check further) still renders as a query that
// reads back unchanged.
func FuzzParseCSV(f *testing.F) {
	for _, v := range csvVectors {
		f.Add(v.in)
	}
	for _, v := range s3QueryVectors {
		for _, tag := range v.l {
			f.Add(tag.Key + "," + tag.Value)
		}
	}
	f.Fuzz(func(t *testing.T, arg string) {
		tag, err := ParseCSV(arg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Invalid tag format: ") && !strings.HasPrefix(err.Error(), "Error parsing tag ") {
				t.Fatalf("ParseCSV(%q): unexpected error %v", arg, err)
			}
			return
		}
		checkS3Query(t, List{tag, {Key: tag.Value, Value: tag.Key}})
		if m := (List{tag}).Map(); m[tag.Key] != tag.Value {
			t.Fatalf("Map of %q = %q", tag, m)
		}
	})
}
