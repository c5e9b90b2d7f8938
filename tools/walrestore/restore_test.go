package walrestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal/waltest"
	"github.com/barmancloud/barman-cloud/shared/walobject"
)

const (
	seg     = "000000010000000000000001"
	hashDir = "pg/wals/0000000100000000/"
)

// fixture is a file:// store in a temporary directory and a directory to
// restore into.
type fixture struct {
	t     *testing.T
	store string // the store's directory
	out   string // the restore destination directory
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, store: filepath.Join(t.TempDir(), "store"), out: t.TempDir()}
	if err := os.Mkdir(f.store, 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) url() string { return "file://" + f.store }

// putBarman stores data at key as Barman does: no metadata.
func (f *fixture) putBarman(key string, data []byte) {
	f.t.Helper()
	p := filepath.Join(f.store, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// putOurs stores data at key as barman-cloud-wal-archive does, recording
// sum (the SHA-256 of the uncompressed content) in its metadata.
func (f *fixture) putOurs(key string, data, sum []byte) {
	f.t.Helper()
	loc, err := storage.ParseURL(storage.S3, f.url())
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), loc, storage.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	defer s.Close()
	if err := s.Upload(context.Background(), key, bytes.NewReader(data), int64(len(data)),
		storage.UploadOptions{Metadata: walobject.Metadata(sum)}); err != nil {
		f.t.Fatal(err)
	}
}

// execTool runs barman-cloud-wal-restore in-process.
func execTool(t *testing.T, env map[string]string, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, Tool, env, args...)
}

// restore restores name from the fixture's store into a fresh file name
// and returns the destination path with the clitest.Result.
func (f *fixture) restore(name string, opts ...string) (string, clitest.Result) {
	f.t.Helper()
	dest := filepath.Join(f.out, "RECOVERYXLOG")
	os.Remove(dest)
	args := append(opts, f.url(), "pg", name, dest)
	return dest, execTool(f.t, nil, args...)
}

// assertNothingWritten checks that neither WAL_DEST nor a temporary file
// is left in the destination directory.
func (f *fixture) assertNothingWritten() {
	f.t.Helper()
	entries, err := os.ReadDir(f.out)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range entries {
		f.t.Errorf("left behind: %s", e.Name())
	}
}

// segment returns a 1 MiB segment named seg, partly compressible so that
// compressed streams have many blocks, and its SHA-256.
func segment(seed int64) ([]byte, []byte) { return segmentFor(seg, seed) }

// segmentFor is segment for the segment or .partial name.
func segmentFor(name string, seed int64) ([]byte, []byte) {
	b := waltest.Segment(name, 1<<20, 0, seed)
	sum := sha256.Sum256(b)
	return b, sum[:]
}

func compressed(t *testing.T, alg *compress.Algorithm, data []byte) []byte {
	t.Helper()
	if alg == nil {
		return data
	}
	var buf bytes.Buffer
	w, err := alg.NewWriter(&buf, compress.Level{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// algorithms is every compression, nil (none) first.
var algorithms = append([]*compress.Algorithm{nil}, compress.All...)

func ext(a *compress.Algorithm) string {
	if a == nil {
		return ""
	}
	return a.Ext
}

func name(a *compress.Algorithm) string {
	if a == nil {
		return "none"
	}
	return a.Name
}

func TestRoundTrip(t *testing.T) {
	data, sum := segment(1)
	partial, psum := segmentFor("000000010000000000000002.partial", 1)
	history := []byte("1\t0/3000000\tno recovery target specified\n")
	hsum := sha256.Sum256(history)
	label := []byte("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTOP WAL LOCATION: 0/2000100 (file 000000010000000000000002)\n")
	lsum := sha256.Sum256(label)
	for _, alg := range algorithms {
		for _, ours := range []bool{true, false} {
			t.Run(name(alg)+map[bool]string{true: "/ours", false: "/barman"}[ours], func(t *testing.T) {
				f := newFixture(t)
				put := func(key string, content, sum []byte) {
					if ours {
						f.putOurs(key, compressed(t, alg, content), sum)
					} else {
						f.putBarman(key, compressed(t, alg, content))
					}
				}
				put(hashDir+seg+ext(alg), data, sum)
				put(hashDir+"000000010000000000000002.partial"+ext(alg), partial, psum)
				put("pg/wals/00000002.history"+ext(alg), history, hsum[:])
				put(hashDir+"000000010000000000000002.00000028.backup"+ext(alg), label, lsum[:])
				for _, c := range []struct {
					name string
					want []byte
				}{{seg, data}, {"000000010000000000000002.partial", partial}, {"00000002.history", history},
					{"000000010000000000000002.00000028.backup", label}} {
					dest, r := f.restore(c.name)
					if r.Code != 0 {
						t.Fatalf("%s: exit %d: %s", c.name, r.Code, r.Stderr)
					}
					if r.Stderr != "" || r.Stdout != "" {
						t.Errorf("%s: output at default verbosity: %q %q", c.name, r.Stdout, r.Stderr)
					}
					got, err := os.ReadFile(dest)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, c.want) {
						t.Fatalf("%s: restored %d bytes that differ from the %d archived", c.name, len(got), len(c.want))
					}
					entries, _ := os.ReadDir(f.out)
					if len(entries) != 1 {
						t.Errorf("%s: destination directory holds %d files, want only WAL_DEST", c.name, len(entries))
					}
				}
			})
		}
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	data, _ := segment(1)
	f.putBarman(hashDir+"000000010000000000000002", data)
	f.putBarman(hashDir+seg+".partial", data)
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"000000010000000000000003", nil},
		{"00000003.history", nil},
		{seg, []string{"--no-partial"}},
	} {
		_, r := f.restore(tc.name, tc.opts...)
		if r.Code != 1 {
			t.Errorf("%s %v: exit %d, want 1: %s", tc.name, tc.opts, r.Code, r.Stderr)
		}
		if r.Stderr != "" {
			t.Errorf("%s %v: not found must be silent at the default verbosity, got %q", tc.name, tc.opts, r.Stderr)
		}
		f.assertNothingWritten()
	}
	_, r := f.restore("000000010000000000000003", "-v")
	if r.Code != 1 || !strings.Contains(r.Stderr, "INFO: WAL file 000000010000000000000003 for server pg does not exist") {
		t.Errorf("-v: exit %d, stderr %q", r.Code, r.Stderr)
	}
	_, r = f.restore(seg, "-v", "--no-partial")
	if r.Code != 1 || !strings.Contains(r.Stderr, "INFO: Skipping partial file: "+hashDir+seg+".partial") {
		t.Errorf("--no-partial -v: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestMissingBucket(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	missing := filepath.Join(t.TempDir(), "nope")
	r := execTool(t, nil, "file://"+missing, "pg", seg, dest)
	if r.Code != 1 || !strings.Contains(r.Stderr, "ERROR: ") || !strings.Contains(r.Stderr, "does not exist") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("WAL_DEST written")
	}
}

func TestUsage(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	// An S3 URL that would fail (exit 4) if the store were ever opened:
	// usage errors must come first.
	bad := "s3:///no-bucket"
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no arguments", nil, "the following arguments are required: source_url, server_name, wal_name, wal_dest"},
		{"three arguments", []string{bad, "pg", seg}, "the following arguments are required: wal_dest"},
		{"five arguments", []string{bad, "pg", seg, dest, "extra"}, "unrecognized arguments: extra"},
		{"invalid WAL name", []string{bad, "pg", "00000001000000000000000", dest}, "00000001000000000000000 is an invalid name for a WAL file"},
		{"invalid WAL name with -t", []string{"-t", bad, "pg", "RECOVERYHISTORY", dest}, "RECOVERYHISTORY is an invalid name for a WAL file"},
		{"upper-case suffix", []string{bad, "pg", seg + ".PARTIAL", dest}, "invalid name for a WAL file"},
		{"compressed name", []string{bad, "pg", seg + ".gz", dest}, "invalid name for a WAL file"},
		{"a path, not a name", []string{bad, "pg", "pg_wal/" + seg, dest}, "expected a file name"},
		{"server name with a slash", []string{bad, "a/b", seg, dest}, "must not contain '/'"},
		{"empty server name", []string{bad, "", seg, dest}, "the server name is empty"},
		{"no -h", []string{"-h", bad, "pg", seg, dest}, "-h"},
		{"unknown option", []string{"--gzip", bad, "pg", seg, dest}, "--gzip"},
		{"-v with -q", []string{"-v", "-q", bad, "pg", seg, dest}, "not allowed with"},
		{"bad provider", []string{"--cloud-provider", "s3", bad, "pg", seg, dest}, "invalid choice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := execTool(t, nil, tc.args...)
			if r.Code != 3 {
				t.Fatalf("exit %d, want 3: %s", r.Code, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tc.msg) {
				t.Errorf("stderr %q does not mention %q", r.Stderr, tc.msg)
			}
			if _, err := os.Stat(dest); err == nil {
				t.Error("WAL_DEST written")
			}
		})
	}
	// The same store URL with a valid command line is opened, and fails.
	if r := execTool(t, nil, bad, "pg", seg, dest); r.Code != 4 {
		t.Errorf("invalid URL: exit %d, want 4: %s", r.Code, r.Stderr)
	}
}

func TestAbbreviationAndVersion(t *testing.T) {
	f := newFixture(t)
	data, _ := segment(1)
	f.putBarman(hashDir+seg+".partial", data)
	if _, r := f.restore(seg, "--no-p"); r.Code != 1 {
		t.Errorf("--no-p: exit %d, want 1 (only a partial): %s", r.Code, r.Stderr)
	}
	if r := execTool(t, nil, "-V"); r.Code != 0 || r.Stdout != "barman-cloud-wal-restore test\n" {
		t.Errorf("-V: exit %d, stdout %q", r.Code, r.Stdout)
	}
}

func TestTestMode(t *testing.T) {
	f := newFixture(t)
	dest := filepath.Join(f.out, "RECOVERYXLOG")
	if r := execTool(t, nil, "-t", f.url(), "pg", seg, dest); r.Code != 0 {
		t.Errorf("existing store: exit %d: %s", r.Code, r.Stderr)
	}
	if r := execTool(t, nil, "-t", "file://"+filepath.Join(f.store, "missing"), "pg", seg, dest); r.Code != 1 {
		t.Errorf("missing store: exit %d, want 1: %s", r.Code, r.Stderr)
	}
	f.assertNothingWritten()
}

// TestUnreachable: nothing listens on the endpoint; the AWS SDK gets
// connection refused.
func TestUnreachable(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"} {
		t.Setenv(k, v)
	}
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	for _, opts := range [][]string{{"-t"}, nil} {
		r := execTool(t, nil, append(opts, "--endpoint-url", "http://127.0.0.1:1", "s3://bucket/p", "pg", seg, dest)...)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", opts, r.Code, r.Stderr)
		}
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("WAL_DEST written")
	}
}

// TestLeakedCompressionFixed: Barman decompresses X with the suffix of the
// backup label it skipped before choosing X, and fails.
func TestLeakedCompressionFixed(t *testing.T) {
	f := newFixture(t)
	data, _ := segment(2)
	f.putBarman(hashDir+seg, data)
	f.putBarman(hashDir+seg+".00000028.backup.gz", compressed(t, compress.Gzip, []byte("START WAL LOCATION: 0/1000028\n")))
	dest, r := f.restore(seg)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Fatal("restored content differs")
	}
}

// TestSelectionThroughTheStore checks that the tool walks the real listing
// of a file store as Select expects: key order, the exact-key fallback,
// the hash directory of a lower-case name, and the log lines.
func TestSelectionThroughTheStore(t *testing.T) {
	f := newFixture(t)
	full, _ := segment(3)
	partial, _ := segment(4)
	f.putBarman(hashDir+seg, full)
	f.putBarman(hashDir+seg+".partial", partial)
	f.putBarman(hashDir+seg+".bak", []byte("junk"))
	dest, r := f.restore(seg, "-v")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, partial) {
		t.Error("X.partial wins over the exact X, as in Barman")
	}
	for _, want := range []string{"WARNING: Unknown WAL file: " + hashDir + seg + ".bak", "INFO: Found WAL " + seg + " for server pg as " + hashDir + seg + ".partial"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr %q lacks %q", r.Stderr, want)
		}
	}
	dest, r = f.restore(seg, "--no-partial")
	if r.Code != 0 || !strings.Contains(r.Stderr, "Unknown WAL file") {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, full) {
		t.Error("--no-partial: the exact segment is the fallback")
	}

	lower := "000000010000000a000000ff"
	full, _ = segmentFor(lower, 3)
	f.putBarman("pg/wals/000000010000000A/"+lower+".bz2", compressed(t, compress.Bzip2, full))
	dest, r = f.restore(lower)
	if r.Code != 0 {
		t.Fatalf("lower-case name: exit %d: %s", r.Code, r.Stderr)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, full) {
		t.Error("lower-case name: content differs")
	}
}

// TestChecksumMismatch: the object decodes, but not to the content whose
// digest barman-cloud-wal-archive recorded.
func TestChecksumMismatch(t *testing.T) {
	data, _ := segment(5)
	_, other := segment(6)
	for _, alg := range algorithms {
		t.Run(name(alg), func(t *testing.T) {
			f := newFixture(t)
			f.putOurs(hashDir+seg+ext(alg), compressed(t, alg, data), other)
			_, r := f.restore(seg)
			if r.Code != 4 || !strings.Contains(r.Stderr, "the archive recorded") {
				t.Errorf("exit %d, want 4: %s", r.Code, r.Stderr)
			}
			f.assertNothingWritten()
		})
	}
}

// TestPreexistingDestKept: a failed restore does not touch a file already
// at WAL_DEST (PostgreSQL removes it before calling restore_command anyway).
func TestPreexistingDestKept(t *testing.T) {
	f := newFixture(t)
	data, sum := segment(7)
	f.putOurs(hashDir+seg+".gz", compressed(t, compress.Gzip, data)[:1000], sum)
	dest := filepath.Join(f.out, "RECOVERYXLOG")
	if err := os.WriteFile(dest, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := execTool(t, nil, f.url(), "pg", seg, dest); r.Code != 4 {
		t.Fatalf("exit %d, want 4: %s", r.Code, r.Stderr)
	}
	if got, _ := os.ReadFile(dest); string(got) != "old" {
		t.Errorf("WAL_DEST changed to %d bytes", len(got))
	}
	if entries, _ := os.ReadDir(f.out); len(entries) != 1 {
		t.Errorf("%d files in the destination directory, want 1", len(entries))
	}
}

func TestDestDirectoryMissing(t *testing.T) {
	f := newFixture(t)
	data, _ := segment(8)
	f.putBarman(hashDir+seg, data)
	r := execTool(t, nil, f.url(), "pg", seg, filepath.Join(f.out, "no", "RECOVERYXLOG"))
	if r.Code != 4 || !strings.Contains(r.Stderr, "cannot create a temporary file") {
		t.Errorf("exit %d, want 4: %s", r.Code, r.Stderr)
	}
	f.assertNothingWritten()
}

// TestCorrupt restores damaged objects of every format, as archived by
// barman-cloud (with a recorded digest) and by Barman (without): each must
// fail with exit status 4 and leave nothing behind, never panic, and never
// restore a short or wrong WAL.
func TestCorrupt(t *testing.T) {
	data, sum := segment(9)
	for _, alg := range algorithms {
		good := compressed(t, alg, data)
		type variant struct {
			name string
			obj  []byte
		}
		variants := []variant{
			{"empty", nil},
			{"garbage", bytes.Repeat([]byte("not a WAL "), 100)},
			{"first byte", good[:1]},
			{"half", good[:len(good)/2]},
			{"all but one byte", good[:len(good)-1]},
			{"all but 100 bytes", good[:len(good)-100]},
			{"trailing garbage", append(append([]byte{}, good...), "garbage"...)},
		}
		if alg == compress.Snappy {
			// A cut at a chunk boundary decodes cleanly to a shorter stream:
			// only the length check catches it.
			variants = append(variants, variant{"cut at a chunk boundary", snappyCut(t, good)})
		}
		for i := 0; i < 12; i++ {
			// Flip a byte at spread-out offsets, skipping the format's magic.
			off := 16 + (len(good)-17)*i/11
			b := append([]byte{}, good...)
			b[off] ^= 0x55
			variants = append(variants, variant{"flip at " + strconv.Itoa(off), b})
		}
		for _, v := range variants {
			for _, ours := range []bool{true, false} {
				if alg == nil && !ours && strings.HasPrefix(v.name, "flip") {
					// A changed byte in an uncompressed object without a
					// recorded digest cannot be detected: there is nothing
					// to check it against.
					continue
				}
				who := map[bool]string{true: "ours", false: "barman"}[ours]
				t.Run(name(alg)+"/"+v.name+"/"+who, func(t *testing.T) {
					f := newFixture(t)
					if ours {
						f.putOurs(hashDir+seg+ext(alg), v.obj, sum)
					} else {
						f.putBarman(hashDir+seg+ext(alg), v.obj)
					}
					dest, r := f.restore(seg)
					if r.Code == 0 {
						got, _ := os.ReadFile(dest)
						if bytes.Equal(got, data) && alg != nil && strings.HasPrefix(v.name, "flip") && bytes.Equal(decoded(t, alg, v.obj), data) {
							// The flip hit a byte the content does not depend on
							// (a snappy copy whose two offsets point at equal
							// bytes): the WAL is intact, and served.
							return
						}
						t.Fatalf("exit 0, restored %d bytes (equal to the original: %v)", len(got), bytes.Equal(got, data))
					}
					if r.Code != 4 {
						t.Errorf("exit %d, want 4: %s", r.Code, r.Stderr)
					}
					f.assertNothingWritten()
				})
			}
		}
	}
}

// TestCorruptText: history files and backup labels archived by Barman
// have no segment size to check, but must look like what PostgreSQL writes.
func TestCorruptText(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		obj       []byte
	}{
		{"00000002.history", "pg/wals/00000002.history.snappy", nil}, // an empty snappy stream decodes
		{"00000002.history", "pg/wals/00000002.history", []byte("1\t0/3000000\x00\x00")},
		{seg + ".00000028.backup", hashDir + seg + ".00000028.backup", []byte("STOP WAL LOCATION: 0/2000100\n")},
	} {
		f := newFixture(t)
		f.putBarman(tc.key, tc.obj)
		if _, r := f.restore(tc.name); r.Code != 4 {
			t.Errorf("%s: exit %d, want 4: %s", tc.key, r.Code, r.Stderr)
		}
		f.assertNothingWritten()
	}
}

// decoded is obj decompressed with alg, or nil when it does not decode.
func decoded(t *testing.T, alg *compress.Algorithm, obj []byte) []byte {
	t.Helper()
	r, err := alg.NewReader(bytes.NewReader(obj))
	if err != nil {
		return nil
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil
	}
	return b
}

// snappyCut returns the snappy framing stream s cut just before its last
// chunk.
func snappyCut(t *testing.T, s []byte) []byte {
	t.Helper()
	last := -1
	for off := 0; off+4 <= len(s); {
		last = off
		off += 4 + int(s[off+1]) | int(s[off+2])<<8 | int(s[off+3])<<16
	}
	if last <= 10 {
		t.Fatal("the snappy stream has a single chunk")
	}
	return s[:last]
}
