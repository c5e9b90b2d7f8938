package walrestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/atomicfile"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/detach"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/filelock"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// --prefetch N: restore_command fetches one WAL file per call, so a
// recovery is bound by the latency of one request after another. With
// N > 1, once WAL_DEST is served, a detached copy of this process (the
// prefetcher) downloads the next N-1 segments of the same timeline, at
// once, into a spool directory next to WAL_DEST, and the next calls take
// their file from there: a rename, no request.
//
// A spooled file is written as WAL_DEST is (destFile: a temporary name,
// the content verified against the digest recorded at archive time or the
// page-header check, renamed; flushed only where the boot is unknown, see
// currentBoot): a file under its final
// name in the spool is a verified one, and only such a file is handed
// over. The spool is a directory per source (a digest of provider,
// endpoint, URL and server), so a changed restore_command never serves
// another archive's file; it is pg_wal/barman-cloud/spool/<source>-<boot>/
// when WAL_DEST is pg_wal/RECOVERYXLOG, as PostgreSQL passes it (see
// currentBoot for the boot, and for when a spooled file is flushed).

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

// spool is the prefetch directory of one source (and boot).
type spool struct {
	dir string
	// unflushed: its files are written without flushing, trusted during
	// this boot only.
	unflushed bool
}

func spoolFor(dest, source string) spool {
	sp := spool{dir: filepath.Join(filepath.Dir(dest), filepath.FromSlash(spoolDir), source)}
	if boot := currentBoot(); boot != "" {
		sp.dir += "-" + boot
		sp.unflushed = true
	}
	return sp
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
			if !s.unflushed {
				if err := atomicfile.SyncDir(filepath.Dir(dest)); err != nil {
					return 0, false, err
				}
				atomicfile.SyncDir(s.dir)
			}
			return fi.Size(), true, nil
		}
		if !s.fetching(name) || time.Now().After(deadline) {
			return 0, false, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Spooled files are written without being flushed to disk when the
// kernel's boot id is known (Linux): a file under its WAL name in the
// spool was verified and is complete in the page cache, which every reader
// during this boot sees; only a crash of the machine could leave it with
// other bytes on disk, and a crash means another boot. So such a spool is
// a directory per boot (SOURCE-BOOT), and the spools of other boots are
// removed by clean, never served. Flushing each 16 MiB file (and the
// directory) cost the prefetcher ~25 ms a segment of disk writes that
// PostgreSQL does not need: it flushes a restored segment itself when it
// keeps it. Where the boot id cannot be read, the spool is SOURCE and its
// files are flushed as WAL_DEST is.

// bootIDPath holds the kernel's random id of the running boot (a variable
// for the tests).
var bootIDPath = "/proc/sys/kernel/random/boot_id"

// currentBoot is the running boot's id, "" when unknown.
func currentBoot() string {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' || 'a' <= r && r <= 'f' {
			return r
		}
		return -1
	}, string(b))
}

// lockPath is the prefetcher's lock: one prefetcher per spool.
func (s spool) lockPath() string { return filepath.Join(s.dir, ".lock") }

// lock takes the prefetcher's lock, without waiting: ok false when another
// prefetcher holds it. The kernel releases it when the process dies.
func (s spool) lock() (l *filelock.Lock, ok bool) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, false
	}
	l, err := filelock.TryAcquire(s.lockPath())
	return l, err == nil
}

// busy reports whether a prefetcher holds the lock now.
func (s spool) busy() bool { return filelock.Held(s.lockPath()) }

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
	removed = append(removed, atomicfile.RemoveStaleTemps(s.dir, staleAge)...)
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
	return detach.Self(prefetchEnv + "=" + strconv.FormatInt(segSize, 10))
}

// afterServe is run once WAL_DEST holds the segment name (size bytes):
// it cleans the spool, records name as the last one served, and starts a
// prefetcher, unless one is running.
func (rs *restorer) afterServe(sp spool, size int64) {
	if removed := sp.clean(rs.name); len(removed) > 0 {
		rs.log.Debug().Msgf("removed from the spool %s: %v", sp.dir, removed)
	}
	sp.setRequested(rs.name.Base)
	if !wal.ValidSegmentSize(size) || sp.busy() {
		// A running prefetcher follows .requested.
		return
	}
	if err := startPrefetcher(size); err != nil {
		rs.log.Warn().Msgf("cannot start the prefetcher: %v", err)
	}
}

// prefetch is the prefetcher's work: it takes the spool's lock (or leaves
// it to the prefetcher holding it) and keeps the N-1 segments after the
// last one served (spool/.requested, which each call updates) in the
// spool, with N-1 downloads at a time, each exactly as a restore into
// WAL_DEST. It follows PostgreSQL as long as PostgreSQL asks (a call that
// finds it running only moves .requested), and ends once it has had
// nothing to do for prefetchIdle. A segment not in the archive (yet) is
// not tried again by this prefetcher.
func (rs *restorer) prefetch(ctx context.Context, sp spool, segSize int64) error {
	lock, ok := sp.lock()
	if !ok {
		return nil
	}
	defer lock.Unlock()
	ctx, cancel := context.WithTimeout(ctx, prefetchTimeLimit)
	defer cancel()
	pf := &prefetcher{rs: rs, sp: sp, segSize: segSize, lock: lock, inflight: map[string]bool{}, missing: map[string]bool{}}
	var wg sync.WaitGroup
	for i := 0; i < rs.o.Prefetch-1; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pf.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// prefetchIdle is how long a prefetcher waits for PostgreSQL to ask for
// more before it ends (a variable for the tests).
var prefetchIdle = 2 * time.Second

type prefetcher struct {
	rs      *restorer
	sp      spool
	segSize int64
	lock    *filelock.Lock

	mu       sync.Mutex
	inflight map[string]bool
	missing  map[string]bool
}

func (pf *prefetcher) work(ctx context.Context) {
	idle := time.Now()
	for ctx.Err() == nil {
		name := pf.claim()
		if name == "" {
			if time.Since(idle) > prefetchIdle {
				return
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		found := pf.fetch(ctx, name)
		pf.mu.Lock()
		delete(pf.inflight, name)
		if !found {
			pf.missing[name] = true
		}
		pf.publish()
		pf.mu.Unlock()
		idle = time.Now()
	}
}

// claim picks the next segment of the window after the last one served
// that is neither spooled, nor being fetched, nor missing; "" when there
// is none.
func (pf *prefetcher) claim() string {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	from := pf.sp.requested()
	if from == "" {
		from = pf.rs.name.Base
	}
	for _, name := range next(from, pf.segSize, pf.rs.o.Prefetch-1) {
		if pf.inflight[name] || pf.missing[name] {
			continue
		}
		if _, err := os.Stat(pf.sp.path(name)); err == nil {
			continue
		}
		pf.inflight[name] = true
		pf.publish()
		return name
	}
	return ""
}

// publish writes the names being fetched into the lock file, for a call
// waiting for one of them (spool.fetching). Called with mu held.
func (pf *prefetcher) publish() {
	var names []string
	for n := range pf.inflight {
		names = append(names, n)
	}
	b := []byte(strings.Join(names, "\n") + "\n")
	pf.lock.File().WriteAt(b, 0)
	pf.lock.File().Truncate(int64(len(b)))
}

// fetch downloads name into the spool; found is false when it is not in
// the archive.
func (pf *prefetcher) fetch(ctx context.Context, name string) (found bool) {
	n, err := wal.Parse(name)
	if err != nil {
		return false
	}
	o := pf.rs.o
	o.WALName, o.Dest = name, pf.sp.path(name)
	// A .partial stands in for a segment only when PostgreSQL asks: by
	// then the whole segment may be archived.
	o.NoPartial = true
	one := &restorer{log: pf.rs.log, store: pf.rs.store, o: o, name: n, unflushed: pf.sp.unflushed}
	err = one.run(ctx)
	switch {
	case err == nil:
		pf.rs.log.Info().Msgf("Prefetched %s into %s", name, pf.sp.dir)
	case cloudcli.StatusOf(err) == exitcode.Failure:
		pf.rs.log.Debug().Msgf("%s is not in the archive (yet): not prefetched", name)
		return false
	default:
		pf.rs.log.Warn().Msgf("prefetching %s failed (it is downloaded when PostgreSQL asks for it): %v", name, err)
		return false
	}
	return true
}

// requestedPath holds the name of the last segment a call served.
func (s spool) requestedPath() string { return filepath.Join(s.dir, ".requested") }

// requested is the last segment a call served, "" when unknown.
func (s spool) requested() string {
	b, err := os.ReadFile(s.requestedPath())
	if err != nil {
		return ""
	}
	name := strings.TrimSpace(string(b))
	if n, err := wal.Parse(name); err != nil || n.Kind != wal.Segment {
		return ""
	}
	return name
}

// setRequested records the segment a call served, for the prefetcher to
// follow. It is a hint: written whole (renamed into place), not flushed.
func (s spool) setRequested(name string) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return
	}
	f, tmp, err := atomicfile.CreateTemp(s.dir, ".requested", 0o600)
	if err != nil {
		return
	}
	_, err = f.WriteString(name + "\n")
	f.Close()
	if err != nil || os.Rename(tmp, s.requestedPath()) != nil {
		os.Remove(tmp)
	}
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
