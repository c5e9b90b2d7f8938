package walrestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/wal/waltest"
)

// TestUnchecksummed: an object without a recorded digest (Barman's) is
// checked as wal-archive checks a file: size, and a first page header that
// names this segment on this timeline or an ancestor. Anything else is
// exit 4 and nothing at WAL_DEST; what passes is said once at INFO.
func TestUnchecksummed(t *testing.T) {
	const mib2 = 2 << 20
	good := waltest.Segment(seg, mib2, 0, 1)
	unknownMagic := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(unknownMagic, 0xD1FF)
	tests := []struct {
		name    string
		request string
		key     string // relative to the hash directory
		obj     []byte
		ok      bool
		log     string
	}{
		{"a correct segment", seg, seg, good, true, "has no recorded sha256 (archived by Barman?): checked its size and page header instead"},
		{"truncated by 1 MiB", seg, seg, good[:1<<20], false, "the header says segment size 2097152, the file has 1048576 bytes"},
		{"truncated to no segment size", seg, seg, good[:mib2-8192], false, "is not a WAL segment size"},
		{"another segment's bytes", seg, seg, waltest.Segment("000000010000000000000002", mib2, 0, 1), false, "the file holds another segment"},
		{"a higher timeline's segment", seg, seg, waltest.Segment("000000020000000000000001", mib2, 0, 1), false, "the header names timeline 2"},
		{"an ancestor timeline's pages", "000000020000000000000001", "000000020000000000000001", waltest.Segment("000000020000000000000001", mib2, 1, 1), true, ""},
		{"a partial standing in, checked under its own name", seg, seg + ".partial", waltest.Segment(seg+".partial", mib2, 0, 2), true, ""},
		{"a partial standing in with another segment's bytes", seg, seg + ".partial", waltest.Segment("000000010000000000000003.partial", mib2, 0, 2), false, "the file holds another segment"},
		{"an unknown page magic: a newer PostgreSQL", seg, seg, unknownMagic, true, "unknown WAL page magic 0xD1FF (a PostgreSQL version newer than this tool?)"},
	}
	for _, tc := range tests {
		for _, alg := range []*compress.Algorithm{nil, compress.Zstd} {
			t.Run(tc.name+"/"+name(alg), func(t *testing.T) {
				f := newFixture(t)
				f.putBarman("pg/wals/"+tc.key[:16]+"/"+tc.key+ext(alg), compressed(t, alg, tc.obj))
				dest, r := f.restore(tc.request, "-v")
				if !tc.ok {
					if r.Code != 4 || !strings.Contains(r.Stderr, tc.log) || !strings.Contains(r.Stderr, "nothing restored") {
						t.Errorf("exit %d, want 4 saying %q: %s", r.Code, tc.log, r.Stderr)
					}
					f.assertNothingWritten()
					return
				}
				if r.Code != 0 {
					t.Fatalf("exit %d: %s", r.Code, r.Stderr)
				}
				if got, _ := os.ReadFile(dest); !bytes.Equal(got, tc.obj) {
					t.Error("restored content differs")
				}
				if n := strings.Count(r.Stderr, "has no recorded sha256"); n != 1 {
					t.Errorf("the INFO line appears %d times:\n%s", n, r.Stderr)
				}
				if !strings.Contains(r.Stderr, tc.log) {
					t.Errorf("stderr lacks %q:\n%s", tc.log, r.Stderr)
				}
			})
		}
	}
	// A history file and a backup label are checked as text, and said so.
	f := newFixture(t)
	f.putBarman("pg/wals/00000002.history", []byte("1\t0/3000000\tno recovery target specified\n"))
	if _, r := f.restore("00000002.history", "-v"); r.Code != 0 || !strings.Contains(r.Stderr, "checked that it is text instead") {
		t.Errorf("history: exit %d: %s", r.Code, r.Stderr)
	}
}

// TestCopiesWithDifferentContent: one WAL name under several suffixes with
// different contents (an archiver killed between storing its object and
// removing it after losing) is served from the copy the storage recorded
// first, ties broken by key, never by suffix order alone; every other copy
// is named at WARNING, with the reason.
func TestCopiesWithDifferentContent(t *testing.T) {
	a, asum := segment(1)
	b, bsum := segment(2)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type copyOf struct {
		ext   string
		data  []byte
		sum   []byte // nil: stored as Barman does
		mtime time.Time
	}
	tests := []struct {
		name   string
		copies []copyOf
		want   []byte
		warn   []string // "" when none
	}{
		{
			name:   "the later suffix recorded first",
			copies: []copyOf{{".gz", a, asum, t0.Add(time.Second)}, {".zst", b, bsum, t0}},
			want:   b,
			warn:   []string{"serving " + hashDir + seg + ".zst, the copy the storage recorded first", "ignoring " + hashDir + seg + ".gz", "different content: sha256 "},
		},
		{
			name:   "a tie is broken by key",
			copies: []copyOf{{".zst", b, bsum, t0}, {".bz2", a, asum, t0}},
			want:   a,
			warn:   []string{"serving " + hashDir + seg + ".bz2", "ignoring " + hashDir + seg + ".zst"},
		},
		{
			name:   "a copy without a digest cannot be compared",
			copies: []copyOf{{"", a, nil, t0}, {".gz", a, asum, t0.Add(time.Minute)}},
			want:   a,
			warn:   []string{"serving " + hashDir + seg + ",", "ignoring " + hashDir + seg + ".gz", "cannot be compared with the copy served"},
		},
		{
			name:   "the same content: Barman's choice, no warning",
			copies: []copyOf{{".gz", a, asum, t0.Add(time.Second)}, {".zst", a, asum, t0}, {"", a, asum, t0}},
			want:   a,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, c := range tc.copies {
				alg, _ := compress.ByExt(c.ext)
				key := hashDir + seg + c.ext
				if c.sum != nil {
					f.putOurs(key, compressed(t, alg, c.data), c.sum)
				} else {
					f.putBarman(key, compressed(t, alg, c.data))
				}
				if err := os.Chtimes(filepath.Join(f.store, key), c.mtime, c.mtime); err != nil {
					t.Fatal(err)
				}
			}
			dest, r := f.restore(seg)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, tc.want) {
				sum := sha256.Sum256(got)
				t.Errorf("served sha256 %x", sum)
			}
			if len(tc.warn) == 0 && r.Stderr != "" {
				t.Errorf("stderr: %s", r.Stderr)
			}
			for _, w := range tc.warn {
				if !strings.Contains(r.Stderr, "WARNING: "+seg+" is archived under several suffixes") || !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
				}
			}
		})
	}
}
