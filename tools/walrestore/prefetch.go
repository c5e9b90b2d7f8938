package walrestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/barmancloud/barman-cloud/shared/atomicfile"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// --prefetch N: restore_command fetches one WAL file per call, so a
// recovery is bound by the latency of one request after another. With
// N > 1, once WAL_DEST is served, a detached copy of this process (the
// prefetcher) downloads the next N-1 segments of the same timeline, at
// once, into a spool directory next to WAL_DEST, and the next calls take
// their file from there: a rename, no request.
//
// A spooled file is written exactly as WAL_DEST is (destFile: a temporary
// name, the content verified against the digest recorded at archive time
// or the page-header check, flushed, renamed): a file under its final
// name in the spool is a verified one, and only such a file is handed
// over. The spool is a directory per source (a digest of provider,
// endpoint, URL and server), so a changed restore_command never serves
// another archive's file; it is pg_wal/barman-cloud/spool/<source>/ when
// WAL_DEST is pg_wal/RECOVERYXLOG, as PostgreSQL passes it.

// spoolDir is the spool's place relative to WAL_DEST's directory.
const spoolDir = "barman-cloud/spool"

// prefetchEnv marks the prefetcher process; its value is the segment size.
const prefetchEnv = "BARMAN_CLOUD_WAL_RESTORE_PREFETCHER"

// prefetchTimeLimit bounds a prefetcher's life: it must never outlive a
// recovery by much.
const prefetchTimeLimit = 10 * time.Minute

// spoolWait is how long a call waits for a running prefetcher to finish
// the file it asks for, before downloading it itself.
const spoolWait = 30 * time.Second

// spool is the prefetch directory of one source.
type spool struct {
	dir string
}

func spoolFor(dest, source string) spool {
	return spool{dir: filepath.Join(filepath.Dir(dest), filepath.FromSlash(spoolDir), source)}
}

// sourceID names where a run restores from.
func sourceID(provider, endpoint, url, server string) string {
	h := sha256.Sum256([]byte(provider + "\x00" + endpoint + "\x00" + url + "\x00" + server))
	return hex.EncodeToString(h[:8])
}

func (s spool) path(name string) string { return filepath.Join(s.dir, name) }

// take moves the spooled file name to dest, if there is one: it returns
// its size, and ok false when the spool has no such file. A running
// prefetcher that may be fetching it is waited for, up to spoolWait.
func (s spool) take(name, dest string) (size int64, ok bool, err error) {
	deadline := time.Now().Add(spoolWait)
	for {
		fi, err := os.Stat(s.path(name))
		if err == nil && fi.Mode().IsRegular() {
			if err := os.Rename(s.path(name), dest); err != nil {
				return 0, false, err
			}
			if err := atomicfile.SyncDir(filepath.Dir(dest)); err != nil {
				return 0, false, err
			}
			atomicfile.SyncDir(s.dir)
			return fi.Size(), true, nil
		}
		if !s.fetching(name) || time.Now().After(deadline) {
			return 0, false, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockPath is the prefetcher's lock: one prefetcher per spool.
func (s spool) lockPath() string { return filepath.Join(s.dir, ".lock") }

// lock takes the prefetcher's lock, without waiting: ok false when another
// prefetcher holds it. The kernel releases it when the process dies.
func (s spool) lock() (f *os.File, ok bool) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, false
	}
	f, err := os.OpenFile(s.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// busy reports whether a prefetcher holds the lock now.
func (s spool) busy() bool {
	f, err := os.Open(s.lockPath())
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// fetching reports whether a running prefetcher has name in its batch
// (which it writes into its lock file).
func (s spool) fetching(name string) bool {
	if !s.busy() {
		return false
	}
	b, err := os.ReadFile(s.lockPath())
	if err != nil {
		return false
	}
	for _, n := range strings.Split(string(b), "\n") {
		if n == name {
			return true
		}
	}
	return false
}

// clean removes what PostgreSQL, having asked for requested, will never
// ask for: spooled segments of another timeline or older than requested,
// the spools of other sources, and temporary files of killed prefetchers.
// It returns the names removed.
func (s spool) clean(requested wal.Name) []string {
	var removed []string
	parent := filepath.Dir(s.dir)
	if entries, err := os.ReadDir(parent); err == nil {
		for _, e := range entries {
			if e.IsDir() && e.Name() != filepath.Base(s.dir) {
				if os.RemoveAll(filepath.Join(parent, e.Name())) == nil {
					removed = append(removed, e.Name()+"/")
				}
			}
		}
	}
	removed = append(removed, removeStaleTemps(s.dir)...)
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return removed
	}
	for _, e := range entries {
		n, err := wal.Parse(e.Name())
		if err != nil || n.Kind != wal.Segment {
			continue
		}
		if n.Timeline != requested.Timeline || e.Name() <= requested.Base {
			if os.Remove(s.path(e.Name())) == nil {
				removed = append(removed, e.Name())
			}
		}
	}
	return removed
}

// next is the names of the n segments after name on its timeline.
func next(name string, segSize int64, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		nx, err := wal.NextSegmentName(name, segSize)
		if err != nil {
			break
		}
		out = append(out, nx)
		name = nx
	}
	return out
}

// startPrefetcher starts the prefetcher for the segments after name, as a
// copy of this process in a session of its own, so that restore_command
// returns at once and PostgreSQL waits for nothing. It is a variable for
// the tests.
var startPrefetcher = func(segSize int64) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	// argv[0] is kept: the binary picks its tool from it.
	cmd := &exec.Cmd{Path: exe, Args: os.Args, Env: append(os.Environ(), prefetchEnv+"="+strconv.FormatInt(segSize, 10)),
		Stdin: devnull, Stdout: devnull, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return err
	}
	// Not waited for: it outlives this process, and init reaps it.
	return cmd.Process.Release()
}

// afterServe is run once WAL_DEST holds the segment name (size bytes):
// it cleans the spool and starts a prefetcher, unless one is running.
func (rs *restorer) afterServe(sp spool, size int64) {
	if removed := sp.clean(rs.name); len(removed) > 0 {
		rs.log.Debug().Msgf("removed from the spool %s: %v", sp.dir, removed)
	}
	if !wal.ValidSegmentSize(size) || sp.busy() {
		return
	}
	if err := startPrefetcher(size); err != nil {
		rs.log.Warn().Msgf("cannot start the prefetcher: %v", err)
	}
}

// prefetch is the prefetcher's work: it takes the spool's lock (or leaves
// it to the prefetcher holding it) and downloads the segments after the
// one served that the spool lacks, up to jobs-1 at once, each exactly as
// a restore into WAL_DEST. A segment not in the archive (yet) is simply
// not spooled.
func (rs *restorer) prefetch(ctx context.Context, sp spool, segSize int64) error {
	lock, ok := sp.lock()
	if !ok {
		return nil
	}
	defer lock.Close()
	ctx, cancel := context.WithTimeout(ctx, prefetchTimeLimit)
	defer cancel()
	var batch []string
	for _, name := range next(rs.name.Base, segSize, rs.o.Prefetch-1) {
		if _, err := os.Stat(sp.path(name)); err != nil {
			batch = append(batch, name)
		}
	}
	// The batch, for a call waiting for one of its files (fetching).
	lock.Truncate(0)
	lock.WriteAt([]byte(strings.Join(batch, "\n")+"\n"), 0)
	var wg sync.WaitGroup
	for _, name := range batch {
		n, err := wal.Parse(name)
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := rs.o
			o.WALName, o.Dest = name, sp.path(name)
			// A .partial stands in for a segment only when PostgreSQL
			// asks: by then the whole segment may be archived.
			o.NoPartial = true
			one := &restorer{log: rs.log, store: rs.store, o: o, name: n}
			err := one.run(ctx)
			switch {
			case err == nil:
				rs.log.Info().Msgf("Prefetched %s into %s", name, sp.dir)
			case cloudcli.StatusOf(err) == exitcode.Failure:
				rs.log.Debug().Msgf("%s is not in the archive (yet): not prefetched", name)
			default:
				rs.log.Warn().Msgf("prefetching %s failed (it is downloaded when PostgreSQL asks for it): %v", name, err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// serveFromSpool is the call's first step with --prefetch: the requested
// segment, when the spool has it, is moved to WAL_DEST. ok reports
// whether it was.
func (rs *restorer) serveFromSpool(sp spool, log zerolog.Logger) (size int64, ok bool) {
	size, ok, err := sp.take(rs.name.Base, rs.o.Dest)
	if err != nil {
		log.Warn().Msgf("cannot move %s from the spool to %s, downloading it: %v", rs.name.Base, rs.o.Dest, err)
		return 0, false
	}
	return size, ok
}

// prefetchSegSize is the segment size the parent passed to the
// prefetcher, 0 when this process is not one.
func prefetchSegSize(lookup func(string) (string, bool)) int64 {
	v, ok := lookup(prefetchEnv)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !wal.ValidSegmentSize(n) {
		return 0
	}
	return n
}
