package wal

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParse: Parse never panics, and a name it accepts is a plain hex name
// that round-trips through Key and Dir into the layout Barman uses.
func FuzzParse(f *testing.F) {
	for _, v := range parseVectors {
		f.Add(v.in)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, err := Parse(name)
		if err != nil {
			if want := name + " is an invalid name for a WAL file"; err.Error() != want {
				t.Fatalf("Parse(%q) error %q, want %q", name, err, want)
			}
			return
		}
		if n.Base != Basename(name) {
			t.Fatalf("Parse(%q).Base = %q, want the basename", name, n.Base)
		}
		wantLen := map[Kind]int{Segment: 24, Partial: 32, Backup: 40, History: 16}[n.Kind]
		if len(n.Base) != wantLen {
			t.Fatalf("Parse(%q): %v of %d bytes, want %d", name, n.Kind, len(n.Base), wantLen)
		}
		for _, c := range []byte(n.Base) {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'F' || c == '.') {
				t.Fatalf("Parse(%q) accepted the byte %q", name, c)
			}
		}
		if strings.Contains(n.Base, "..") {
			t.Fatalf("Parse(%q) accepted a name with \"..\"", name)
		}
		if again, err := Parse(n.Base); err != nil || again != n {
			t.Fatalf("Parse(%q) = %+v, %v; Parse of its basename = %+v, %v", name, n, err, again, err)
		}
		if n.Kind == History {
			if n.HashDir() != "" || n.SegmentName() != "" {
				t.Fatalf("history %q: hash dir %q, segment %q", name, n.HashDir(), n.SegmentName())
			}
		} else {
			if hd := n.HashDir(); hd != strings.ToUpper(n.Base[:16]) {
				t.Fatalf("%q: hash dir %q", name, hd)
			}
			s, err := Parse(n.SegmentName())
			if err != nil || s.Kind != Segment || s.Timeline != n.Timeline || s.Log != n.Log || s.Seg != n.Seg {
				t.Fatalf("%q: segment name %q parses as %+v, %v", name, n.SegmentName(), s, err)
			}
		}
		for _, prefix := range []string{"", "p", "p/", "a//b/"} {
			for _, ext := range []string{"", ".gz", ".zst"} {
				key := Key(prefix, "srv", n, ext)
				dir := Dir(prefix, "srv", n)
				if key != dir+n.Base+ext {
					t.Fatalf("Key(%q, srv, %q, %q) = %q, not under Dir %q", prefix, name, ext, key, dir)
				}
				rel, ok := strings.CutPrefix(key, WalsDir(prefix, "srv"))
				if !ok {
					t.Fatalf("Key %q is not under WalsDir %q", key, WalsDir(prefix, "srv"))
				}
				want := n.Base + ext
				if n.Kind != History {
					want = n.HashDir() + "/" + want
				}
				if rel != want {
					t.Fatalf("Key %q: %q under the WAL root, want %q", key, rel, want)
				}
				if back, err := Parse(strings.TrimSuffix(key, ext)); err != nil || back != n {
					t.Fatalf("Key %q parses back as %+v, %v; want %+v", key, back, err, n)
				}
			}
		}
	})
}

// FuzzKey: a server name CheckServer accepts, with any WAL name Parse
// accepts, gives a key inside the server's own part of the archive: under
// PREFIX/SERVER/wals/, with no "." or ".." step and no control character.
func FuzzKey(f *testing.F) {
	for i, s := range append(append([]string{}, goodServers...), badServers...) {
		f.Add(s, parseVectors[i%len(parseVectors)].in)
	}
	f.Fuzz(func(t *testing.T, server, name string) {
		err := CheckServer(server)
		bad := server == "" || server == "." || server == ".." || strings.Contains(server, "/") ||
			strings.IndexFunc(server, unicode.IsControl) >= 0 || !utf8.ValidString(server)
		if bad != (err != nil) {
			t.Fatalf("CheckServer(%q) = %v", server, err)
		}
		n, perr := Parse(name)
		if err != nil || perr != nil {
			return
		}
		const prefix = "base/prefix"
		key := Key(prefix, server, n, ".lz4")
		rel, ok := strings.CutPrefix(key, prefix+"/"+server+"/wals/")
		if !ok {
			t.Fatalf("server %q, WAL %q: key %q escapes %s/%s/wals/", server, name, key, prefix, server)
		}
		steps := strings.Split(rel, "/")
		if len(steps) != map[bool]int{true: 1, false: 2}[n.Kind == History] {
			t.Fatalf("server %q, WAL %q: key %q has %d steps under wals/", server, name, key, len(steps))
		}
		for _, s := range strings.Split(key, "/") {
			if s == "." || s == ".." {
				t.Fatalf("server %q, WAL %q: key %q has a %q step", server, name, key, s)
			}
		}
		if strings.IndexFunc(key, unicode.IsControl) >= 0 || !utf8.ValidString(key) {
			t.Fatalf("server %q, WAL %q: key %q has a control character or invalid UTF-8", server, name, key)
		}
	})
}
