package walarchive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/atomicfile"
	"github.com/barmancloud/barman-cloud/shared/filelock"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// --jobs N: PostgreSQL calls archive_command for one WAL file at a time and
// waits for it, so one upload at a time is all a busy primary gets. With
// N > 1, the call for segment S makes sure a background uploader runs for
// its pg_wal and destination (uploader.go): one detached process that keeps
// up to N uploads in flight of the segments PostgreSQL has marked ready
// (pg_wal/archive_status/*.ready), in the order PostgreSQL asks for them,
// each through the very same single-file path (conditional create, one
// content per name), without a process start or a storage client per
// segment. Each one the storage confirmed is recorded in
// pg_wal/barman-cloud/archived/NAME with its SHA-256; when PostgreSQL asks
// for it, the answer is 0 at once if the file still has that SHA-256. A
// call whose segment the uploader is uploading waits for that upload (a
// lock per segment, pg_wal/barman-cloud/archived/.uploading/NAME), and
// archives the segment itself when it finds no record after it.
//
// Crash safety: a record is written (atomically and durably) only after
// the archive path reported the segment archived, so a record without a
// stored object never exists; a kill of the uploader or of a call at any
// moment loses at most the record (the kernel drops their locks), and the
// segment is then archived again by the normal path, where the conditional
// create finds the same content and reports it archived. PostgreSQL's own
// archive_status files are only read, never written.

// recordDir is where records live, relative to pg_wal.
const recordDir = "barman-cloud/archived"

// recordTempAge is how old a temporary record file must be before it is
// taken for one left by a killed run.
const recordTempAge = time.Minute

// pgWAL is the pg_wal directory of the WAL file being archived, when it
// is one (it has archive_status next to the file).
type pgWAL struct {
	dir, status, records string
}

// pgWALOf returns the pg_wal directory walPath is in, or ok false when the
// file is not in one (a Barman hook script, a copy elsewhere): then --jobs
// has nothing to read ready segments from.
func pgWALOf(walPath string) (p pgWAL, ok bool) {
	dir := filepath.Dir(walPath)
	status := filepath.Join(dir, "archive_status")
	if fi, err := os.Stat(status); err != nil || !fi.IsDir() {
		return p, false
	}
	return pgWAL{dir: dir, status: status, records: filepath.Join(dir, filepath.FromSlash(recordDir))}, true
}

// readySegments returns the WAL files PostgreSQL marked ready for
// archiving (archive_status/NAME.ready), in the order PostgreSQL's
// archiver asks for them (pgarch.c, ready_file_comparator): timeline
// history files first, then the others by name, oldest first.
func readySegments(statusDir string) ([]string, error) {
	entries, err := os.ReadDir(statusDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".ready")
		if !ok || !wal.IsValid(base) {
			continue
		}
		names = append(names, base)
	}
	sortReady(names)
	return names, nil
}

// sortReady sorts WAL file names in PostgreSQL's archiving order.
func sortReady(names []string) {
	isHistory := func(s string) bool { return strings.HasSuffix(s, ".history") }
	sort.Slice(names, func(i, j int) bool {
		hi, hj := isHistory(names[i]), isHistory(names[j])
		if hi != hj {
			return hi
		}
		return names[i] < names[j]
	})
}

// record is what pg_wal/barman-cloud/archived/NAME holds: the SHA-256 of
// the segment's content as archived, and which destination it was
// archived to (a digest of the provider, endpoint, URL and server name),
// so that a second archive_command with another destination, or a changed
// one, never takes a record of this one for its own.
type record struct {
	sum  []byte
	dest string
}

func (r record) encode() []byte {
	return []byte(fmt.Sprintf("sha256 %s\ndestination %s\n", hex.EncodeToString(r.sum), r.dest))
}

func parseRecord(b []byte) (record, error) {
	var sum, dest string
	if _, err := fmt.Sscanf(string(b), "sha256 %64s\ndestination %s\n", &sum, &dest); err != nil {
		return record{}, fmt.Errorf("not a record: %w", err)
	}
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != sha256.Size {
		return record{}, errors.New("not a record: bad sha256")
	}
	return record{sum: raw, dest: dest}, nil
}

// destinationID names where a run archives: provider, endpoint, URL and
// server. Only a digest is kept, so that no URL (which may carry a
// signature or credentials) is written to pg_wal.
func destinationID(provider, endpoint, url, server string) string {
	h := sha256.Sum256([]byte(provider + "\x00" + endpoint + "\x00" + url + "\x00" + server))
	return hex.EncodeToString(h[:8])
}

func (p pgWAL) recordPath(name string) string { return filepath.Join(p.records, name) }

// lockDir holds a lock file per segment being uploaded (by the uploader,
// or by a call archiving its segment itself).
func (p pgWAL) lockDir() string { return filepath.Join(p.records, ".uploading") }

func (p pgWAL) segmentLock(name string) string { return filepath.Join(p.lockDir(), name) }

// uploaderLock is held by the running uploader of dest, and holds its pid.
func (p pgWAL) uploaderLock(dest string) string {
	return filepath.Join(p.records, ".uploader-"+dest)
}

// readRecord returns NAME's record, ok false when there is none (or it is
// unreadable, which is taken as none: the normal path decides).
func (p pgWAL) readRecord(name string) (record, bool) {
	b, err := os.ReadFile(p.recordPath(name))
	if err != nil {
		return record{}, false
	}
	r, err := parseRecord(b)
	return r, err == nil
}

// writeRecord records that the segment NAME, with content sum, is archived
// at dest. Only call it once the storage confirmed the segment.
func (p pgWAL) writeRecord(name string, sum []byte, dest string) error {
	if err := os.MkdirAll(p.records, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(p.recordPath(name), record{sum: sum, dest: dest}.encode(), 0o600)
}

// hit reports whether the segment at path is recorded as archived to dest
// with its current content: it re-reads the whole file, so a segment
// rewritten under the same name since (a failed-over primary reusing the
// name) is not taken for the one archived. why says why not, "" when there
// is no record at all.
func (p pgWAL) hit(path, name, dest string) (ok bool, why string) {
	rec, found := p.readRecord(name)
	if !found {
		return false, ""
	}
	if rec.dest != dest {
		return false, "the record is for another destination"
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return false, err.Error()
	}
	if !bytes.Equal(sum, rec.sum) {
		return false, fmt.Sprintf("the file now has sha256 %s, the record %s", hex.EncodeToString(sum), hex.EncodeToString(rec.sum))
	}
	return true, ""
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// clean removes the records PostgreSQL no longer needs: those of segments
// it has archived (archive_status/NAME.done) or removed, so the directory
// holds at most the segments still waiting; temporary files of killed
// runs; and the lock files they left (unlocked ones of such segments). It
// returns the names of the records removed.
func (p pgWAL) clean() []string {
	atomicfile.RemoveStaleTemps(p.records, recordTempAge)
	finished := func(name string) bool {
		_, doneErr := os.Stat(filepath.Join(p.status, name+".done"))
		_, walErr := os.Stat(filepath.Join(p.dir, name))
		return doneErr == nil || errors.Is(walErr, fs.ErrNotExist)
	}
	if locks, err := os.ReadDir(p.lockDir()); err == nil {
		for _, e := range locks {
			if wal.IsValid(e.Name()) && finished(e.Name()) {
				if l, err := filelock.TryAcquire(p.segmentLock(e.Name())); err == nil {
					l.Release()
				}
			}
		}
	}
	entries, err := os.ReadDir(p.records)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if wal.IsValid(name) && finished(name) {
			if os.Remove(p.recordPath(name)) == nil {
				removed = append(removed, name)
			}
		}
	}
	return removed
}

// answer reports whether the segment name at path is archived according
// to its record (hit), and logs why a record did not answer.
func (p pgWAL) answer(log zerolog.Logger, path, name, dest string) bool {
	ok, why := p.hit(path, name, dest)
	if ok {
		log.Debug().Msgf("%s was pre-uploaded by the background uploader (record %s, same sha256): archived", name, p.recordPath(name))
		return true
	}
	if why != "" {
		log.Info().Msgf("%s has a record of a pre-upload that does not match (%s): archiving it again", name, why)
	}
	return false
}

// arrive is a call's first step with --jobs, for the ready segment name
// at path: it removes the records PostgreSQL no longer needs, makes sure
// an uploader runs for dest, and waits while the uploader uploads name.
// done reports that name's record answers; otherwise the call archives it
// itself, holding lock (nil when the lock could not be taken: the
// conditional create still keeps a second upload harmless).
func (p pgWAL) arrive(ctx context.Context, log zerolog.Logger, path, name, dest string) (lock *filelock.Lock, done bool, err error) {
	if removed := p.clean(); len(removed) > 0 {
		log.Debug().Msgf("removed the records of %d segments PostgreSQL has archived since: %v", len(removed), removed)
	}
	if p.answer(log, path, name, dest) {
		return nil, true, nil
	}
	if !filelock.Held(p.uploaderLock(dest)) {
		if err := startUploader(); err != nil {
			log.Warn().Msgf("cannot start the background uploader, archiving %s alone: %v", name, err)
		} else {
			log.Debug().Msgf("started the background uploader for %s", p.dir)
		}
	}
	if err := os.MkdirAll(p.lockDir(), 0o700); err != nil {
		log.Warn().Msgf("cannot create %s, archiving %s without its lock: %v", p.lockDir(), name, err)
		return nil, false, nil
	}
	start := time.Now()
	lock, err = filelock.Acquire(ctx, p.segmentLock(name))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		log.Warn().Msgf("cannot lock %s, archiving %s without its lock: %v", p.segmentLock(name), name, err)
		return nil, false, nil
	}
	if waited := time.Since(start); waited > time.Millisecond {
		log.Debug().Msgf("waited %s for the background uploader's upload of %s", waited.Round(time.Millisecond), name)
	}
	if p.answer(log, path, name, dest) {
		lock.Release()
		return nil, true, nil
	}
	return lock, false, nil
}

// archiveWithJobs is a call with --jobs for the ready segment name in p:
// answered from its record (arrive), or archived by this call through the
// single-file path, under the segment's lock, and then recorded, so that
// the uploader does not upload it again before PostgreSQL marks it done.
// withStore opens the storage, only when the call uploads.
func archiveWithJobs(ctx context.Context, log zerolog.Logger, p pgWAL, o Options, name wal.Name, dest string, withStore func(func(*storage.Store) error) error) error {
	lock, done, err := p.arrive(ctx, log, o.WALPath, name.Base, dest)
	if err != nil || done {
		return err
	}
	if lock != nil {
		defer lock.Release()
	}
	return withStore(func(store *storage.Store) error {
		a := &archiver{log: log, store: store, o: o, name: name}
		if err := a.run(ctx); err != nil {
			return err
		}
		if err := p.writeRecord(name.Base, a.sum, dest); err != nil {
			log.Debug().Msgf("%s is archived, but its record could not be written (the uploader may upload it again): %v", name.Base, err)
		}
		return nil
	})
}
