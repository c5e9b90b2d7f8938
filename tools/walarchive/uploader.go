package walarchive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/detach"
	"github.com/barmancloud/barman-cloud/shared/filelock"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// The background uploader of --jobs N: a detached copy of the call's
// process that keeps N uploads in flight, so that the storage is never
// idle while PostgreSQL starts the next archive_command, and pays the
// process start and the storage client once instead of per segment.
// PostgreSQL's calls are then answered from its records. One runs per
// pg_wal and destination (a lock, which holds its pid); it ends once
// nothing has been ready for uploaderIdle, or after uploaderLifetime (the
// next call starts another, with that call's options and environment).

// uploaderEnv marks the uploader process.
const uploaderEnv = "BARMAN_CLOUD_WAL_ARCHIVE_UPLOADER"

// uploaderIdle is how long the uploader waits for PostgreSQL to mark
// another segment ready before it ends (a variable for the tests).
var uploaderIdle = 2 * time.Second

// uploaderLifetime bounds one uploader's life, so that a changed
// archive_command (options, credentials) is followed within it.
var uploaderLifetime = 5 * time.Minute

// readyRescan is how often an idle worker reads archive_status again.
const readyRescan = 10 * time.Millisecond

// isUploader reports whether this process is a background uploader.
func isUploader(lookup func(string) (string, bool)) bool {
	v, ok := lookup(uploaderEnv)
	return ok && v == "1"
}

// startUploader starts the uploader as a copy of this process (same
// arguments, same environment) in a session of its own, so that
// archive_command returns without waiting for it and PostgreSQL's signals
// to its archiver do not reach it. It is a variable for the tests.
var startUploader = func() error { return detach.Self(uploaderEnv + "=1") }

type uploader struct {
	log   zerolog.Logger
	store *storage.Store
	o     Options
	p     pgWAL
	dest  string

	mu sync.Mutex
	// handled: segments this uploader uploaded, or found done or
	// recorded; failed: uploads that failed (PostgreSQL's call reports
	// them).
	handled, failed map[string]bool
	ready           []string
	readAt          time.Time
	// recording counts the records being written.
	recording sync.WaitGroup
}

// runUploader is the uploader process's work: it takes the lock of p and
// dest (or leaves the work to the uploader holding it) and runs o.Jobs
// workers until they are idle.
func (p pgWAL) runUploader(ctx context.Context, log zerolog.Logger, store *storage.Store, o Options, dest string) error {
	if err := os.MkdirAll(p.lockDir(), 0o700); err != nil {
		return err
	}
	lock, err := filelock.TryAcquire(p.uploaderLock(dest))
	if err != nil {
		if errors.Is(err, filelock.ErrHeld) {
			return nil
		}
		return err
	}
	defer lock.Unlock()
	f := lock.File()
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	// The lifetime ends the taking of new segments, not the uploads in
	// flight.
	until := time.Now().Add(uploaderLifetime)
	u := &uploader{log: log, store: store, o: o, p: p, dest: dest, handled: map[string]bool{}, failed: map[string]bool{}}
	var wg sync.WaitGroup
	for i := 0; i < o.Jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.work(ctx, until)
		}()
	}
	wg.Wait()
	u.recording.Wait()
	return nil
}

func (u *uploader) work(ctx context.Context, until time.Time) {
	idle := time.Now()
	for ctx.Err() == nil && time.Now().Before(until) {
		name, lock := u.next()
		if lock == nil {
			if time.Since(idle) > uploaderIdle {
				return
			}
			time.Sleep(readyRescan)
			continue
		}
		sum, err := u.upload(ctx, name)
		// The record is written (two fsyncs, which wait behind the disk's
		// other writes) while this worker starts its next upload; the
		// segment's lock is released only once the record is durable, so a
		// waiting call finds it.
		u.recording.Add(1)
		go func() {
			defer u.recording.Done()
			u.record(name, sum, err)
			lock.Release()
		}()
		idle = time.Now()
	}
}

// next picks the oldest ready segment that is neither recorded for this
// destination, nor handled or failed here, nor locked by a call archiving
// it itself, and returns it locked; nil when there is none.
func (u *uploader) next() (string, *filelock.Lock) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if time.Since(u.readAt) >= readyRescan {
		ready, err := readySegments(u.p.status)
		if err != nil {
			u.log.Warn().Msgf("cannot read %s: %v", u.p.status, err)
			return "", nil
		}
		u.ready, u.readAt = ready, time.Now()
	}
	for _, name := range u.ready {
		if u.handled[name] || u.failed[name] {
			continue
		}
		if n, _ := wal.Parse(name); n.Kind != wal.Segment {
			// A .partial, .backup or .history file keeps its own rules:
			// it is archived when PostgreSQL asks for it.
			continue
		}
		if rec, ok := u.p.readRecord(name); ok && rec.dest == u.dest {
			u.handled[name] = true
			continue
		}
		lock, err := filelock.TryAcquire(u.p.segmentLock(name))
		if err != nil {
			// Held: PostgreSQL's call is archiving it itself.
			continue
		}
		// Under the lock: a call may have archived it meanwhile, and
		// PostgreSQL marked it done.
		if _, err := os.Stat(filepath.Join(u.p.status, name+".ready")); err != nil {
			u.handled[name] = true
			lock.Release()
			continue
		}
		if rec, ok := u.p.readRecord(name); ok && rec.dest == u.dest {
			u.handled[name] = true
			lock.Release()
			continue
		}
		u.handled[name] = true
		return name, lock
	}
	return "", nil
}

// upload archives the ready segment name through the single-file path,
// and returns its SHA-256 once the storage confirmed it.
func (u *uploader) upload(ctx context.Context, name string) ([]byte, error) {
	n, err := wal.Parse(name)
	if err != nil {
		return nil, err
	}
	o := u.o
	o.WALPath = filepath.Join(u.p.dir, name)
	a := &archiver{log: u.log, store: u.store, o: o, name: n}
	if err := a.run(ctx); err != nil {
		return nil, err
	}
	return a.sum, nil
}

// record records the segment name, uploaded with content sum, or logs why
// it was not (err): a failure is only logged, as PostgreSQL's call then
// archives the segment itself, and reports the outcome.
func (u *uploader) record(name string, sum []byte, err error) {
	if err == nil {
		if err = u.p.writeRecord(name, sum, u.dest); err != nil {
			err = fmt.Errorf("%s was uploaded, but its record could not be written: %w", name, err)
		}
	}
	if err != nil {
		u.mu.Lock()
		u.failed[name] = true
		u.mu.Unlock()
		u.log.Warn().Msgf("the background upload of %s failed, PostgreSQL's call archives it: %v", name, err)
		return
	}
	u.log.Info().Msgf("Pre-uploaded %s, which PostgreSQL marked ready, and recorded it in %s", name, u.p.recordPath(name))
}
