package walrestore

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestIsTempName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{".RECOVERYXLOG.barman-cloud-tmp-0123456789ab", true},
		{".000000010000000000000001.barman-cloud-tmp-ffffffffffff", true},
		{".a.barman-cloud-tmp-x.barman-cloud-tmp-000000000000", true},
		{"RECOVERYXLOG.barman-cloud-tmp-0123456789ab", false}, // not hidden
		{"..barman-cloud-tmp-0123456789ab", false},            // no base
		{".RECOVERYXLOG.barman-cloud-tmp-0123456789a", false}, // 11 digits
		{".RECOVERYXLOG.barman-cloud-tmp-0123456789abc", false},
		{".RECOVERYXLOG.barman-cloud-tmp-0123456789AB", false},
		{".RECOVERYXLOG.barman-cloud-tmp-0123456789ag", false},
		{".RECOVERYXLOG", false},
		{"RECOVERYXLOG", false},
	} {
		if got := isTempName(tc.name); got != tc.want {
			t.Errorf("isTempName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRemoveStaleTemps: only an old, unlocked file with exactly our
// temporary name goes; a live run's file (locked, or too young to be
// locked yet), other files and directories stay.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleAge)
	write := func(name string, mtime time.Time) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("partial WAL"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write(".RECOVERYXLOG.barman-cloud-tmp-00000000000a", old)    // killed run: goes
	write(".RECOVERYHISTORY.barman-cloud-tmp-00000000000b", old) // killed run: goes
	write(".RECOVERYXLOG.barman-cloud-tmp-00000000000c", time.Now())
	write(".RECOVERYXLOG.barman-cloud-tmp-00000000000", old)
	write("RECOVERYXLOG", old)
	write(".RECOVERYXLOG.partial", old)
	if err := os.Mkdir(filepath.Join(dir, ".d.barman-cloud-tmp-00000000000d"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A live run: locked through another open file description, as
	// another process would hold it.
	live := write(".RECOVERYXLOG.barman-cloud-tmp-00000000000e", old)
	lf, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// A target of a symlink with our name is not ours to remove.
	if err := os.Symlink("RECOVERYXLOG", filepath.Join(dir, ".RECOVERYXLOG.barman-cloud-tmp-00000000000f")); err != nil {
		t.Fatal(err)
	}

	removed := removeStaleTemps(dir)
	slices.Sort(removed)
	want := []string{".RECOVERYHISTORY.barman-cloud-tmp-00000000000b", ".RECOVERYXLOG.barman-cloud-tmp-00000000000a"}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	wantLeft := []string{
		".RECOVERYXLOG.barman-cloud-tmp-00000000000", ".RECOVERYXLOG.barman-cloud-tmp-00000000000c",
		".RECOVERYXLOG.barman-cloud-tmp-00000000000e", ".RECOVERYXLOG.barman-cloud-tmp-00000000000f",
		".RECOVERYXLOG.partial", ".d.barman-cloud-tmp-00000000000d", "RECOVERYXLOG",
	}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left %q, want %q", left, wantLeft)
	}
}

// TestCreateDestLocks: the file of a run in progress is never removed,
// however old it looks; once the run is over (Abort), its lock is gone.
func TestCreateDestLocks(t *testing.T) {
	dir := t.TempDir()
	d, err := createDest(filepath.Join(dir, "RECOVERYXLOG"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	old := time.Now().Add(-2 * staleAge)
	if err := os.Chtimes(d.tmp, old, old); err != nil {
		t.Fatal(err)
	}
	if removed := removeStaleTemps(dir); len(removed) != 0 {
		t.Fatalf("removed the temporary file of a run in progress: %q", removed)
	}
	if _, err := os.Stat(d.tmp); err != nil {
		t.Fatal(err)
	}
	// A killed process: its descriptor, and with it the lock, is gone,
	// but the file is still there.
	d.f.Close()
	if removed := removeStaleTemps(dir); len(removed) != 1 || removed[0] != filepath.Base(d.tmp) {
		t.Errorf("removed %q, want the abandoned %s", removed, filepath.Base(d.tmp))
	}
}

// TestFlushOnlyWhatPostgreSQLDoesNotKeep: WAL_DEST is flushed before its
// rename, unless it is PostgreSQL's RECOVERYXLOG or RECOVERYHISTORY, which
// PostgreSQL flushes itself when it keeps them.
func TestFlushOnlyWhatPostgreSQLDoesNotKeep(t *testing.T) {
	f := newPrefetchFixture(t, 1)
	var flushed []string
	old := flushFile
	flushFile = func(fl *os.File) error {
		flushed = append(flushed, fl.Name())
		return old(fl)
	}
	t.Cleanup(func() { flushFile = old })
	for _, c := range []struct {
		dest  string
		flush bool
	}{{"RECOVERYXLOG", false}, {"RECOVERYHISTORY", false}, {segName(1, 1), true}, {"wal.copy", true}} {
		flushed = nil
		r := execTool(t, nil, f.url(), "pg", segName(1, 1), filepath.Join(f.pgwal, c.dest))
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.dest, r.Code, r.Stderr)
		}
		if got := len(flushed) == 1; got != c.flush {
			t.Errorf("%s: flushed %v, want a flush %v", c.dest, flushed, c.flush)
		}
	}
}
