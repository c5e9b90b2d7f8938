package walrestore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/barmancloud/barman-cloud/shared/atomicfile"
)

// destFile is WAL_DEST being written: a temporary file in WAL_DEST's
// directory (so the rename cannot cross file systems), which becomes
// WAL_DEST only on Commit. Until then WAL_DEST is untouched, so PostgreSQL
// (or anything else looking) never sees a partial WAL file.
type destFile struct {
	f         *os.File
	tmp, dest string
	done      bool
	// unflushed: Commit renames without flushing: a file PostgreSQL
	// flushes itself (postgresKeeps), or one in a prefetch spool trusted
	// only during the boot that wrote it.
	unflushed bool
}

// tempMarker is part of every temporary file's name, so that one left by a
// killed process is recognisable as ours: ".RECOVERYXLOG.barman-cloud-tmp-XXXXXXXXXXXX".
const tempMarker = ".barman-cloud-tmp-"

// tempSuffixLen is the length of the random hex suffix after tempMarker.
const tempSuffixLen = 12

// staleAge is how old a temporary file must be before removeStaleTemps
// considers it: a younger one may belong to a process that created it and
// has not locked it yet.
const staleAge = time.Minute

func createDest(dest string) (*destFile, error) {
	dir, base := filepath.Split(dest)
	for tries := 0; ; tries++ {
		var r [tempSuffixLen / 2]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		tmp := filepath.Join(dir, "."+base+tempMarker+hex.EncodeToString(r[:]))
		// Mode 0666 before the umask, as Barman's open(dest, "wb") creates
		// WAL_DEST.
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) && tries < 100 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot create a temporary file next to %s: %w", dest, err)
		}
		// The lock says "in use" for as long as this process lives: the
		// kernel drops it when the process dies, however it dies, which is
		// how removeStaleTemps tells a killed run's file from a live one.
		// Where the file system has no locks, nothing is ever removed.
		unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		return &destFile{f: f, tmp: tmp, dest: dest}, nil
	}
}

func (d *destFile) Write(p []byte) (int, error) { return d.f.Write(p) }

// Reset empties the temporary file, for a download that starts again.
func (d *destFile) Reset() error {
	if err := d.f.Truncate(0); err != nil {
		return fmt.Errorf("emptying %s: %w", d.tmp, err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("emptying %s: %w", d.tmp, err)
	}
	return nil
}

// Commit makes the content durable and visible as WAL_DEST: the file is
// flushed to disk before the rename, and the directory after it, so that a
// crash leaves either no WAL_DEST or the complete one (without the
// flushes when unflushed). On error nothing is left at WAL_DEST (nor the
// temporary file).
func (d *destFile) Commit() error {
	if !d.unflushed {
		if err := flushFile(d.f); err != nil {
			return fmt.Errorf("flushing %s: %w", d.tmp, err)
		}
	}
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", d.tmp, err)
	}
	if err := os.Rename(d.tmp, d.dest); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", d.tmp, d.dest, err)
	}
	d.done = true
	if d.unflushed {
		return nil
	}
	if err := atomicfile.SyncDir(filepath.Dir(d.dest)); err != nil {
		os.Remove(d.dest)
		return fmt.Errorf("flushing directory of %s: %w", d.dest, err)
	}
	return nil
}

// flushFile flushes a file to disk (a variable for the tests, which count
// the flushes).
var flushFile = (*os.File).Sync

// postgresKeeps reports whether dest is a name PostgreSQL restores into
// (pg_wal/RECOVERYXLOG, pg_wal/RECOVERYHISTORY) and then keeps under the
// WAL's own name itself (KeepFileRestoredFromArchive: durable_rename,
// which flushes the file and the directory when fsync is on), asking for
// it again if the machine crashes before. Flushing such a file first only
// put 10-25 ms of disk writes per segment on recovery's critical path;
// any other WAL_DEST is flushed.
func postgresKeeps(dest string) bool {
	b := filepath.Base(dest)
	return b == "RECOVERYXLOG" || b == "RECOVERYHISTORY"
}

// Abort removes the temporary file, unless Commit succeeded.
func (d *destFile) Abort() {
	if d.done {
		return
	}
	d.done = true
	d.f.Close()
	os.Remove(d.tmp)
}

// removeStaleTemps removes, from dir, the temporary files of wal-restore
// runs that were killed outright (SIGKILL, the OOM killer, a node crash)
// before they could clean up: each is up to a whole segment, and
// PostgreSQL restores into the same pg_wal/RECOVERYXLOG again and again,
// so without this every kill would leave 16 MiB or more in pg_wal for
// good. A file is removed only when its name is exactly ours, it is older
// than staleAge, and no process holds its lock. It returns the names
// removed.
func removeStaleTemps(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !isTempName(name) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleAge {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && os.Remove(path) == nil {
			removed = append(removed, name)
		}
		f.Close()
	}
	return removed
}

// isTempName reports whether name is one createDest makes:
// "." + base + tempMarker + 12 lower-case hex digits.
func isTempName(name string) bool {
	i := strings.LastIndex(name, tempMarker)
	if !strings.HasPrefix(name, ".") || i < 2 {
		return false
	}
	suffix := name[i+len(tempMarker):]
	if len(suffix) != tempSuffixLen {
		return false
	}
	for _, c := range suffix {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
