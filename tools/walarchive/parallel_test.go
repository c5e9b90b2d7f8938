package walarchive

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/filelock"
	"github.com/barmancloud/barman-cloud/shared/storage"
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
	t         *testing.T
	e         *env
	dir       string
	data      map[string][]byte
	uploaders sync.WaitGroup
	ulog      syncBuffer
}

func newPGWAL(t *testing.T) *pgwal {
	idle := uploaderIdle
	uploaderIdle = 50 * time.Millisecond
	t.Cleanup(func() { uploaderIdle = idle })
	p := &pgwal{t: t, e: newEnv(t), dir: filepath.Join(t.TempDir(), "pg_wal"), data: map[string][]byte{}}
	t.Cleanup(func() { p.uploaders.Wait() })
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

// archive runs a call with --jobs for name, as PostgreSQL would; the
// background uploader it may start runs in this process (uploaders).
func (p *pgwal) archive(name string, jobs int, alg *compress.Algorithm) (error, string) {
	p.t.Helper()
	n, err := wal.Parse(name)
	if err != nil {
		p.t.Fatal(err)
	}
	o := Options{URL: "file://" + p.e.root, Server: "pg", WALPath: filepath.Join(p.dir, name), Compression: alg, Jobs: jobs}
	pw, ok := pgWALOf(o.WALPath)
	if !ok {
		p.t.Fatalf("%s is not in a pg_wal", o.WALPath)
	}
	log := &syncBuffer{}
	restore := startUploader
	defer func() { startUploader = restore }()
	startUploader = func() error {
		p.uploaders.Add(1)
		go func() {
			defer p.uploaders.Done()
			if err := pw.runUploader(context.Background(), zerolog.New(&p.ulog).Level(zerolog.DebugLevel), p.e.open(), o, "dest1"); err != nil {
				p.t.Error(err)
			}
		}()
		return nil
	}
	err = archiveWithJobs(context.Background(), zerolog.New(log).Level(zerolog.DebugLevel), pw, o, n, "dest1",
		func(fn func(*storage.Store) error) error { return fn(p.e.open()) })
	return err, log.String()
}

// idle waits for the uploaders started so far to end, and returns their
// log.
func (p *pgwal) idle() string {
	p.uploaders.Wait()
	return p.ulog.String()
}

// syncBuffer is a log shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestPreUploadThenHit: the first call starts the uploader, which
// uploads and records every ready segment; PostgreSQL's calls for them are
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
	ulog := p.idle()
	if got := p.stored(); !reflect.DeepEqual(got, names) {
		t.Fatalf("stored %v, want %v\n%s\n%s", got, names, log, ulog)
	}
	if got := p.records(); !reflect.DeepEqual(got, names) {
		t.Fatalf("records %v, want %v", got, names)
	}
	if !strings.Contains(ulog, "Pre-uploaded "+names[1]) {
		t.Errorf("the uploader's log does not name the pre-upload:\n%s", ulog)
	}
	p.status(names[0], "done")
	for _, n := range names[1:] {
		err, log := p.archive(n, 4, nil)
		if err != nil || !strings.Contains(log, "was pre-uploaded by the background uploader") {
			t.Fatalf("%s: %v, not a record hit:\n%s", n, err, log)
		}
		p.status(n, "done")
	}
	p.idle()
	// The next call removes the records of the done segments.
	last := p.segment(7, 7)
	if err, log := p.archive(last, 4, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	p.idle()
	if got := p.records(); !reflect.DeepEqual(got, []string{last}) {
		t.Fatalf("records %v, want only %v", got, last)
	}
}

// TestCallWaitsForTheUploader: a call whose segment the uploader is
// uploading (it holds the segment's lock) waits for it, and is answered
// by the record it writes, without uploading.
func TestCallWaitsForTheUploader(t *testing.T) {
	p := newPGWAL(t)
	a := p.segment(1, 1)
	pw, _ := pgWALOf(filepath.Join(p.dir, a))
	os.MkdirAll(pw.lockDir(), 0o700)
	lock, err := filelock.TryAcquire(pw.segmentLock(a))
	if err != nil {
		t.Fatal(err)
	}
	// The uploader stands in: it holds the uploader lock too, so the call
	// starts none.
	ul, err := filelock.TryAcquire(pw.uploaderLock("dest1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Unlock()
	go func() {
		time.Sleep(100 * time.Millisecond)
		sum, _ := fileSHA256(filepath.Join(p.dir, a))
		pw.writeRecord(a, sum, "dest1")
		lock.Release()
	}()
	start := time.Now()
	err, log := p.archive(a, 2, nil)
	if err != nil || !strings.Contains(log, "waited") || !strings.Contains(log, "was pre-uploaded by the background uploader") {
		t.Fatalf("%v, not a wait then a record hit:\n%s", err, log)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("the call did not wait for the upload")
	}
	if got := p.stored(); len(got) != 0 {
		t.Fatalf("the call uploaded %v itself", got)
	}
}

// TestUploaderSkipsASegmentACallHolds: a segment locked by a call that
// archives it itself is not uploaded by the uploader, and the call records
// it once archived.
func TestUploaderSkipsASegmentACallHolds(t *testing.T) {
	p := newPGWAL(t)
	a, b := p.segment(1, 1), p.segment(2, 2)
	pw, _ := pgWALOf(filepath.Join(p.dir, a))
	os.MkdirAll(pw.lockDir(), 0o700)
	lock, err := filelock.TryAcquire(pw.segmentLock(a))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{URL: "file://" + p.e.root, Server: "pg", WALPath: filepath.Join(p.dir, a), Jobs: 2}
	var ulog syncBuffer
	if err := pw.runUploader(context.Background(), zerolog.New(&ulog), p.e.open(), o, "dest1"); err != nil {
		t.Fatal(err)
	}
	if got := p.stored(); !reflect.DeepEqual(got, []string{b}) {
		t.Fatalf("stored %v, want only %v\n%s", got, b, ulog.String())
	}
	lock.Release()
	if err, log := p.archive(a, 2, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	p.idle()
	if got := p.records(); !reflect.DeepEqual(got, []string{a, b}) {
		t.Fatalf("records %v, want both", got)
	}
}

// TestUploaderFailureIsTheCallsToReport: a segment the uploader cannot
// archive (other content is archived under its name) gets no record; the
// call archives it itself and reports the refusal.
func TestUploaderFailureIsTheCallsToReport(t *testing.T) {
	p := newPGWAL(t)
	a, b := p.segment(1, 1), p.segment(2, 2)
	other := waltest.Segment(b, 1<<20, 0, 99)
	if err := p.e.open().Upload(context.Background(), "pg/wals/0000000100000000/"+b, bytes.NewReader(other), int64(len(other)), storage.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if err, log := p.archive(a, 2, nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	ulog := p.idle()
	if !strings.Contains(ulog, "the background upload of "+b+" failed") {
		t.Errorf("the uploader's failure is not logged:\n%s", ulog)
	}
	if got := p.records(); !reflect.DeepEqual(got, []string{a}) {
		t.Fatalf("records %v, want only %v", got, a)
	}
	err, log := p.archive(b, 2, nil)
	if err == nil || !strings.Contains(err.Error(), conflictMsg) {
		t.Fatalf("%v, want the different-content refusal\n%s", err, log)
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
	p.idle()
	if got := p.records(); !reflect.DeepEqual(got, []string{a, b}) {
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
	p.idle()
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
	p.idle()
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
		p.idle()
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
	os.MkdirAll(pw.lockDir(), 0o700)
	for _, n := range []string{a, c} {
		os.WriteFile(pw.segmentLock(n), nil, 0o600) // left by killed runs
	}
	p.status(a, "done")
	os.Remove(filepath.Join(p.dir, b))
	removed := pw.clean()
	if _, err := os.Stat(pw.segmentLock(a)); err == nil {
		t.Error("the lock file of a done segment is left")
	}
	if _, err := os.Stat(pw.segmentLock(c)); err != nil {
		t.Error("the lock file of a waiting segment is removed")
	}
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

// TestUploaderLifetime: past its lifetime the uploader takes no new
// segment and ends (the next call starts another).
func TestUploaderLifetime(t *testing.T) {
	p := newPGWAL(t)
	a := p.segment(1, 1)
	p.segment(2, 2)
	old := uploaderLifetime
	uploaderLifetime = 0
	t.Cleanup(func() { uploaderLifetime = old })
	pw, _ := pgWALOf(filepath.Join(p.dir, a))
	o := Options{URL: "file://" + p.e.root, Server: "pg", WALPath: filepath.Join(p.dir, a), Jobs: 2}
	if err := pw.runUploader(context.Background(), zerolog.Nop(), p.e.open(), o, "dest1"); err != nil {
		t.Fatal(err)
	}
	if got := p.stored(); len(got) != 0 {
		t.Fatalf("stored %v past the lifetime", got)
	}
}
