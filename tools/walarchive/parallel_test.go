package walarchive

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/shared/wal/waltest"
)

func TestSortReady(t *testing.T) {
	names := []string{
		"000000020000000000000004",
		"000000010000000000000003.partial",
		"000000010000000000000002.00000028.backup",
		"00000002.history",
		"000000010000000000000002",
		"000000010000000000000001",
		"00000003.history",
	}
	sortReady(names)
	want := []string{
		"00000002.history",
		"00000003.history",
		"000000010000000000000001",
		"000000010000000000000002",
		"000000010000000000000002.00000028.backup",
		"000000010000000000000003.partial",
		"000000020000000000000004",
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("order\n%q\nwant\n%q", names, want)
	}
}

// pgwal is a fake pg_wal: segment files, archive_status, an archive.
type pgwal struct {
	t    *testing.T
	e    *env
	dir  string
	data map[string][]byte
}

func newPGWAL(t *testing.T) *pgwal {
	p := &pgwal{t: t, e: newEnv(t), dir: filepath.Join(t.TempDir(), "pg_wal"), data: map[string][]byte{}}
	if err := os.MkdirAll(filepath.Join(p.dir, "archive_status"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// segment writes segment i of timeline 1 (seeded by seed) and marks it
// ready.
func (p *pgwal) segment(i int, seed int64) string {
	name := fmt.Sprintf("00000001000000000000%04X", i)
	p.data[name] = waltest.Segment(name, 1<<20, 0, seed)
	if err := os.WriteFile(filepath.Join(p.dir, name), p.data[name], 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.status(name, "ready")
	return name
}

func (p *pgwal) status(name, state string) {
	for _, s := range []string{"ready", "done"} {
		os.Remove(filepath.Join(p.dir, "archive_status", name+"."+s))
	}
	if err := os.WriteFile(filepath.Join(p.dir, "archive_status", name+"."+state), nil, 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// archive runs the tool with --jobs for name, as PostgreSQL would.
func (p *pgwal) archive(name string, jobs int, alg *compress.Algorithm) (error, string) {
	var buf bytes.Buffer
	n, err := wal.Parse(name)
	if err != nil {
		p.t.Fatal(err)
	}
	o := Options{URL: "file://" + p.e.root, Server: "pg", WALPath: filepath.Join(p.dir, name), Compression: alg, Jobs: jobs}
	err = archiveParallel(context.Background(), zerolog.New(&buf).Level(zerolog.DebugLevel), p.e.open(), o, n, "dest1")
	return err, buf.String()
}

// stored returns the names of the segments in the archive.
func (p *pgwal) stored() []string {
	var out []string
	filepath.Walk(p.e.root, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && wal.IsValid(filepath.Base(path)) {
			out = append(out, filepath.Base(path))
		}
		return nil
	})
	return out
}

func (p *pgwal) records() []string {
	entries, _ := os.ReadDir(filepath.Join(p.dir, recordDir))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestPreUploadThenHit: the call for the first segment uploads the next
// three ready ones too and records them; PostgreSQL's calls for those are
// answered from the records, and each record is removed once PostgreSQL
// has marked its segment done.
func TestPreUploadThenHit(t *testing.T) {
	p := newPGWAL(t)
	var names []string
	for i := 1; i <= 6; i++ {
		names = append(names, p.segment(i, int64(i)))
	}
	err, log := p.archive(names[0], 4, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := p.stored(); !reflect.DeepEqual(got, names[:4]) {
		t.Fatalf("stored %v, want %v\n%s", got, names[:4], log)
	}
	if got := p.records(); !reflect.DeepEqual(got, names[1:4]) {
		t.Fatalf("records %v, want %v", got, names[1:4])
	}
	if !strings.Contains(log, "Pre-uploaded "+names[1]) {
		t.Errorf("log does not name the pre-upload:\n%s", log)
	}
	p.status(names[0], "done")
	for _, n := range names[1:4] {
		err, log := p.archive(n, 4, nil)
		if err != nil || !strings.Contains(log, "was pre-uploaded by an earlier call") {
			t.Fatalf("%s: %v, not a record hit:\n%s", n, err, log)
		}
		p.status(n, "done")
	}
	// The next miss uploads the rest, and the records of the done
	// segments are gone.
	if err, log := p.archive(names[4], 4, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := p.stored(); !reflect.DeepEqual(got, names) {
		t.Fatalf("stored %v, want %v", got, names)
	}
	if got := p.records(); !reflect.DeepEqual(got, names[5:]) {
		t.Fatalf("records %v, want only %v", got, names[5:])
	}
}

// TestRewrittenSegmentIsNotSkipped: a segment rewritten under the same
// name after it was pre-uploaded does not match its record, and goes
// through the normal path, which refuses the other content.
func TestRewrittenSegmentIsNotSkipped(t *testing.T) {
	p := newPGWAL(t)
	a := p.segment(1, 1)
	b := p.segment(2, 2)
	if err, log := p.archive(a, 2, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := p.records(); !reflect.DeepEqual(got, []string{b}) {
		t.Fatalf("records %v", got)
	}
	p.segment(2, 99) // same name, other bytes
	err, log := p.archive(b, 2, nil)
	if err == nil || !strings.Contains(err.Error(), conflictMsg) {
		t.Fatalf("rewritten segment: %v, want the different-content refusal\n%s", err, log)
	}
	if !strings.Contains(log, "does not match") {
		t.Errorf("the mismatch is not logged:\n%s", log)
	}
}

// TestRecordOfAnotherDestination: a record written for one destination
// is no answer for another.
func TestRecordOfAnotherDestination(t *testing.T) {
	p := newPGWAL(t)
	a := p.segment(1, 1)
	pw, _ := pgWALOf(filepath.Join(p.dir, a))
	sum, _ := fileSHA256(filepath.Join(p.dir, a))
	if err := pw.writeRecord(a, sum, "other"); err != nil {
		t.Fatal(err)
	}
	if ok, why := pw.hit(filepath.Join(p.dir, a), a, "dest1"); ok || !strings.Contains(why, "another destination") {
		t.Fatalf("hit %v (%s) for another destination's record", ok, why)
	}
	err, log := p.archive(a, 2, nil)
	if err != nil || len(p.stored()) != 1 {
		t.Fatalf("%v, stored %v\n%s", err, p.stored(), log)
	}
}

// TestOnlySegmentsArePreUploaded: history, backup labels and partial
// files keep their own rules and wait for PostgreSQL to ask.
func TestOnlySegmentsArePreUploaded(t *testing.T) {
	p := newPGWAL(t)
	a := p.segment(1, 1)
	for _, n := range []string{"00000002.history", "000000010000000000000001.00000028.backup"} {
		os.WriteFile(filepath.Join(p.dir, n), []byte("1\t0/2000000\tno recovery target specified\n"), 0o600)
		p.status(n, "ready")
	}
	b := p.segment(2, 2)
	if err, log := p.archive(a, 8, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := p.stored(); !reflect.DeepEqual(got, []string{a, b}) {
		t.Fatalf("stored %v, want %v", got, []string{a, b})
	}
}

// TestPreUploadCompressed: jobs compress each on one core, and the
// archive holds the same content.
func TestPreUploadCompressed(t *testing.T) {
	for _, alg := range []*compress.Algorithm{compress.Gzip, compress.LZ4} {
		p := newPGWAL(t)
		var names []string
		for i := 1; i <= 3; i++ {
			names = append(names, p.segment(i, int64(i)))
		}
		if err, log := p.archive(names[0], 3, alg); err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		s := p.e.open()
		for _, n := range names {
			var buf bytes.Buffer
			key := "pg/wals/0000000100000000/" + n + alg.Ext
			if _, err := s.Download(context.Background(), key, &buf); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			r, _ := alg.NewReader(&buf)
			var out bytes.Buffer
			out.ReadFrom(r)
			if !bytes.Equal(out.Bytes(), p.data[n]) {
				t.Errorf("%s: other content", key)
			}
		}
	}
}

// TestCleanRecords: records of segments done or gone are removed, and so
// are stale temporary files; records of waiting segments stay.
func TestCleanRecords(t *testing.T) {
	p := newPGWAL(t)
	a, b, c := p.segment(1, 1), p.segment(2, 2), p.segment(3, 3)
	pw, _ := pgWALOf(filepath.Join(p.dir, a))
	for _, n := range []string{a, b, c} {
		if err := pw.writeRecord(n, []byte(strings.Repeat("x", 32)), "d"); err != nil {
			t.Fatal(err)
		}
	}
	p.status(a, "done")
	os.Remove(filepath.Join(p.dir, b))
	removed := pw.clean()
	if !reflect.DeepEqual(removed, []string{a, b}) {
		t.Fatalf("removed %v, want %v", removed, []string{a, b})
	}
	if got := p.records(); !reflect.DeepEqual(got, []string{c}) {
		t.Fatalf("left %v", got)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	sum := bytes.Repeat([]byte{0xab}, 32)
	r, err := parseRecord(record{sum: sum, dest: "0123abcd"}.encode())
	if err != nil || !bytes.Equal(r.sum, sum) || r.dest != "0123abcd" {
		t.Fatalf("%v %x %q", err, r.sum, r.dest)
	}
	for _, bad := range []string{"", "sha256 zz\ndestination x\n", "sha256 abab\ndestination x\n"} {
		if _, err := parseRecord([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestNotInPGWAL: a file outside pg_wal (no archive_status) is archived
// alone.
func TestNotInPGWAL(t *testing.T) {
	e := newEnv(t)
	c := e.content(1)
	n, _ := wal.Parse(c.path)
	var buf bytes.Buffer
	o := Options{URL: "file://" + e.root, Server: "pg", WALPath: c.path, Jobs: 4}
	if err := archiveParallel(context.Background(), zerolog.New(&buf).Level(zerolog.DebugLevel), e.open(), o, n, "d"); err != nil {
		t.Fatalf("%v\n%s", err, &buf)
	}
	if !strings.Contains(buf.String(), "archiving it alone") {
		t.Errorf("log: %s", &buf)
	}
	e.wantArchived(map[string]content{"": c})
}
