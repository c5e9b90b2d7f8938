package walrestore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/wal"
)

// prefetchFixture is a store with segments 1..n of timeline 1 archived as
// wal-archive does, and a pg_wal to restore into, whose prefetcher runs
// in-process, synchronously, when the tool would start it.
type prefetchFixture struct {
	*fixture
	pgwal string
	data  map[string][]byte
	logs  []string
}

func newPrefetchFixture(t *testing.T, n int) *prefetchFixture {
	old := prefetchIdle
	prefetchIdle = 50 * time.Millisecond
	t.Cleanup(func() { prefetchIdle = old })
	f := &prefetchFixture{fixture: newFixture(t), data: map[string][]byte{}}
	f.pgwal = filepath.Join(f.out, "pg_wal")
	os.Mkdir(f.pgwal, 0o700)
	for i := 1; i <= n; i++ {
		f.put(segName(1, i), int64(i))
	}
	return f
}

func segName(tli, i int) string { return fmt.Sprintf("%08X00000000%08X", tli, i) }

func (f *prefetchFixture) put(name string, seed int64) {
	data, sum := segmentFor(name, seed)
	f.data[name] = data
	n, _ := wal.Parse(name)
	f.putOurs("pg/wals/"+n.HashDir()+"/"+name, data, sum)
}

// restore runs the tool as restore_command with --prefetch, the
// prefetcher it starts included.
func (f *prefetchFixture) restore(name string, prefetch int) (code int, stderr string) {
	f.t.Helper()
	dest := filepath.Join(f.pgwal, "RECOVERYXLOG")
	os.Remove(dest)
	args := []string{"-vv", "--prefetch", strconv.Itoa(prefetch), f.url(), "pg", name, dest}
	old := startPrefetcher
	defer func() { startPrefetcher = old }()
	startPrefetcher = func(segSize int64) error {
		r := execTool(f.t, map[string]string{prefetchEnv: strconv.FormatInt(segSize, 10)}, args...)
		f.logs = append(f.logs, r.Stderr)
		if r.Code != 0 {
			return fmt.Errorf("prefetcher exit %d: %s", r.Code, r.Stderr)
		}
		return nil
	}
	r := execTool(f.t, nil, args...)
	if r.Code == 0 {
		got, err := os.ReadFile(dest)
		if err != nil || !bytes.Equal(got, f.data[name]) {
			f.t.Fatalf("%s: restored other bytes (%v)", name, err)
		}
	}
	return r.Code, r.Stderr
}

func (f *prefetchFixture) spool() spool {
	return spoolFor(filepath.Join(f.pgwal, "RECOVERYXLOG"), sourceID("aws-s3", "", f.url(), "pg"))
}

// spooled lists the spool's WAL files (temporary files and the lock
// excluded).
func (f *prefetchFixture) spooled() []string {
	entries, _ := os.ReadDir(f.spool().dir)
	var out []string
	for _, e := range entries {
		if wal.IsValid(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestPrefetchServesFromSpool: the first call downloads and starts the
// prefetcher, which spools the next segments; the next calls move them
// into place, and keep the spool filled ahead.
func TestPrefetchServesFromSpool(t *testing.T) {
	f := newPrefetchFixture(t, 6)
	if code, log := f.restore(segName(1, 1), 3); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if got, want := f.spooled(), []string{segName(1, 2), segName(1, 3)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("spooled %v, want %v\n%s", got, want, f.logs)
	}
	for i := 2; i <= 6; i++ {
		code, log := f.restore(segName(1, i), 3)
		if code != 0 || !strings.Contains(log, "from the prefetch spool") {
			t.Fatalf("%s: exit %d, not from the spool\n%s", segName(1, i), code, log)
		}
	}
	// Past the end of the archive: nothing spooled, and the segment is
	// not in the archive.
	if got := f.spooled(); len(got) != 0 {
		t.Errorf("spool holds %v after the last segment", got)
	}
	if code, _ := f.restore(segName(1, 7), 3); code != 1 {
		t.Errorf("segment 7: exit %d, want 1", code)
	}
}

// TestPrefetchVerifies: an object whose content does not match its
// recorded digest is not spooled, and the call that asks for it fails as
// without prefetch; a temporary file in the spool is never handed over.
func TestPrefetchVerifies(t *testing.T) {
	f := newPrefetchFixture(t, 1)
	bad := segName(1, 2)
	data, _ := segmentFor(bad, 2)
	_, other := segmentFor(bad, 3)
	f.putOurs("pg/wals/0000000100000000/"+bad, data, other)
	f.data[bad] = data
	if code, log := f.restore(segName(1, 1), 3); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if got := f.spooled(); len(got) != 0 {
		t.Fatalf("spooled %v, want nothing\n%s", got, f.logs)
	}
	// A file under a temporary name, even with the right bytes, is no
	// spooled file.
	tmp := filepath.Join(f.spool().dir, "."+bad+tempMarker+"0123456789ab")
	os.WriteFile(tmp, data, 0o600)
	if code, log := f.restore(bad, 3); code != 4 || strings.Contains(log, "from the prefetch spool") {
		t.Fatalf("%s: exit %d, want 4 (checksum mismatch)\n%s", bad, code, log)
	}
}

// TestPrefetchCleansStale: spooled segments of another timeline or older
// than the one asked for are removed, and so are other sources' spools.
func TestPrefetchCleansStale(t *testing.T) {
	f := newPrefetchFixture(t, 0)
	f.put(segName(2, 5), 5)
	sp := f.spool()
	os.MkdirAll(sp.dir, 0o700)
	otherSource := filepath.Join(filepath.Dir(sp.dir), "0000000000000000")
	os.MkdirAll(otherSource, 0o700)
	for _, n := range []string{segName(1, 6), segName(2, 4), segName(2, 7)} {
		os.WriteFile(sp.path(n), []byte("x"), 0o600)
	}
	if code, log := f.restore(segName(2, 5), 1); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	// --prefetch 1 (off) neither takes from nor cleans the spool.
	if got := f.spooled(); len(got) != 3 {
		t.Fatalf("--prefetch 1 touched the spool: %v", got)
	}
	if code, log := f.restore(segName(2, 5), 2); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if got, want := f.spooled(), []string{segName(2, 7)}; !reflect.DeepEqual(got, want) {
		t.Errorf("spool %v, want %v", got, want)
	}
	if _, err := os.Stat(otherSource); err == nil {
		t.Errorf("the other source's spool is still there")
	}
}

// TestPrefetchOneAtATime: while a prefetcher holds the spool's lock,
// another does nothing.
func TestPrefetchOneAtATime(t *testing.T) {
	f := newPrefetchFixture(t, 3)
	lock, ok := f.spool().lock()
	if !ok {
		t.Fatal("cannot take the lock")
	}
	if code, log := f.restore(segName(1, 1), 3); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if got := f.spooled(); len(got) != 0 {
		t.Fatalf("spooled %v while another prefetcher held the lock", got)
	}
	if f.logs != nil {
		t.Errorf("a prefetcher was started while one ran")
	}
	lock.Unlock()
	if code, log := f.restore(segName(1, 1), 3); code != 0 || len(f.spooled()) != 2 {
		t.Fatalf("exit %d, spooled %v\n%s", code, f.spooled(), log)
	}
}

func TestNext(t *testing.T) {
	got := next("0000000100000000000000FE", 16<<20, 3)
	want := []string{"0000000100000000000000FF", "000000010000000100000000", "000000010000000100000001"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("next %v, want %v", got, want)
	}
}

// setBoot makes the running boot's id id ("" unknown) for the test.
func setBoot(t *testing.T, id string) {
	t.Helper()
	old := bootIDPath
	t.Cleanup(func() { bootIDPath = old })
	bootIDPath = filepath.Join(t.TempDir(), "boot_id")
	if id != "" {
		if err := os.WriteFile(bootIDPath, []byte(id+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPrefetchSpoolOfAnotherBoot: files spooled without being flushed are
// in a directory of their boot; after a reboot (another boot id, as after
// a crash that may have lost their bytes) they are not served, and the
// next call removes them.
func TestPrefetchSpoolOfAnotherBoot(t *testing.T) {
	setBoot(t, "0a1b2c3d-0000-4000-8000-000000000001")
	f := newPrefetchFixture(t, 4)
	if code, log := f.restore(segName(1, 1), 3); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	before := f.spool()
	if !before.unflushed || !strings.HasSuffix(before.dir, "-0a1b2c3d000040008000000000000001") {
		t.Fatalf("spool %+v: not a directory of this boot", before)
	}
	if got := f.spooled(); len(got) != 2 {
		t.Fatalf("spooled %v, want 2 segments", got)
	}
	// Corrupt a spooled file as a crash could: a reboot must not serve it.
	os.WriteFile(before.path(segName(1, 2)), make([]byte, 16<<20), 0o600)
	setBoot(t, "0a1b2c3d-0000-4000-8000-000000000002")
	code, log := f.restore(segName(1, 2), 3)
	if code != 0 || strings.Contains(log, "from the prefetch spool") {
		t.Fatalf("after a reboot: exit %d, or served from the old boot's spool\n%s", code, log)
	}
	if _, err := os.Stat(before.dir); err == nil {
		t.Errorf("the old boot's spool %s is still there", before.dir)
	}
	if code, log := f.restore(segName(1, 3), 3); code != 0 || !strings.Contains(log, "from the prefetch spool") {
		t.Fatalf("segment 3: exit %d, not from the new boot's spool\n%s", code, log)
	}
}

// TestPrefetchUnknownBoot: where the boot id cannot be read, the spool is
// the source's directory and its files are flushed.
func TestPrefetchUnknownBoot(t *testing.T) {
	setBoot(t, "")
	f := newPrefetchFixture(t, 3)
	if code, log := f.restore(segName(1, 1), 2); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	sp := f.spool()
	if sp.unflushed || filepath.Base(sp.dir) != sourceID("aws-s3", "", f.url(), "pg") {
		t.Fatalf("spool %+v, want the flushed source directory", sp)
	}
	if code, log := f.restore(segName(1, 2), 2); code != 0 || !strings.Contains(log, "from the prefetch spool") {
		t.Fatalf("exit %d, not from the spool\n%s", code, log)
	}
}
