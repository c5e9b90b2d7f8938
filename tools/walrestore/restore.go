package walrestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/retry"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/shared/walobject"
)

// Restore runs barman-cloud-wal-restore with parsed options. The WAL name
// is checked before any provider set-up, as in Barman.
func Restore(r *cloudcli.Run, o Options) error {
	name, err := wal.Parse(o.WALName)
	if err == nil && name.Base != o.WALName {
		// Barman would look for the name with its directory part inside
		// the hash directory, where nothing is ever archived.
		err = fmt.Errorf("%s is an invalid name for a WAL file: expected a file name (%%f), not a path", o.WALName)
	}
	if err != nil {
		r.Log.Error().Msg(err.Error())
		return exitcode.Reported(exitcode.Usage, err)
	}
	prefetching := o.Prefetch > 1 && name.Kind == wal.Segment && !r.Common.Test
	sp := spoolFor(o.Dest, sourceID(r.Common.CloudProvider, r.Common.EndpointURL, o.URL, o.Server))
	if prefetching && prefetchSegSize(r.LookupEnv) == 0 {
		// A spooled segment is served without building a storage client
		// (~13 ms of each call).
		if err := wal.CheckServer(o.Server); err != nil {
			return exitcode.Wrap(exitcode.Usage, err)
		}
		start := time.Now()
		rs := &restorer{log: r.Log, o: o, name: name}
		if size, ok := rs.serveFromSpool(sp, r.Log); ok {
			r.Log.Info().Msgf("Restored %s from the prefetch spool %s as %s (%d bytes) in %s", name.Base, sp.dir, o.Dest, size, time.Since(start).Round(time.Millisecond))
			rs.afterServe(sp, size)
			return nil
		}
	}
	if segSize := prefetchSegSize(r.LookupEnv); prefetching && segSize > 0 {
		// The prefetcher is detached: its exit status reaches only whoever
		// adopts it, the postmaster itself where PostgreSQL runs as PID 1 in
		// a container, which takes a status other than 0 or 1 for a crashed
		// child. So failures are logged, and the status is 0.
		if err := r.WithStore(o.URL, o.Server, o.Storage, func(store *storage.Store) error {
			rs := &restorer{log: r.Log, store: store, o: o, name: name}
			return rs.prefetch(r.Ctx, sp, segSize)
		}); err != nil {
			r.Log.Warn().Msgf("the prefetcher stops: %v", err)
		}
		return nil
	}
	return r.WithStore(o.URL, o.Server, o.Storage, func(store *storage.Store) error {
		rs := &restorer{log: r.Log, store: store, o: o, name: name}
		if !prefetching {
			return rs.run(r.Ctx)
		}
		if err := rs.run(r.Ctx); err != nil {
			return err
		}
		if fi, err := os.Stat(o.Dest); err == nil {
			rs.afterServe(sp, fi.Size())
		}
		return nil
	})
}

type restorer struct {
	log   zerolog.Logger
	store *storage.Store
	o     Options
	name  wal.Name
	// unflushed: write o.Dest without flushing it (into a spool of this
	// boot, see spoolFor).
	unflushed bool
}

func (rs *restorer) run(ctx context.Context) error {
	start := time.Now()
	exact := wal.Dir(rs.store.Loc.Prefix, rs.o.Server, rs.name) + rs.name.Base
	objs, err := rs.store.List(ctx, exact, "/")
	if err != nil {
		return fmt.Errorf("listing %s: %w", exact, err)
	}
	sel := walobject.Select(objs, exact, rs.o.NoPartial)
	for _, s := range sel.Skipped {
		switch s.Reason {
		case walobject.SkipUnknown:
			rs.log.Warn().Msgf("Unknown WAL file: %s", s.Key)
		case walobject.SkipBackup:
			rs.log.Info().Msgf("Skipping backup file: %s", s.Key)
		case walobject.SkipPartial:
			rs.log.Info().Msgf("Skipping partial file: %s", s.Key)
		}
	}
	if !sel.Found {
		// PostgreSQL probes for files that do not exist: not an error
		// worth a line in its log at the default verbosity.
		err := fmt.Errorf("WAL file %s for server %s does not exist", rs.name.Base, rs.o.Server)
		rs.log.Info().Msg(err.Error())
		return exitcode.Reported(exitcode.Failure, err)
	}
	want, known, err := rs.arbitrate(ctx, objs, &sel)
	if err != nil {
		return err
	}
	c := sel.Candidate
	rs.log.Info().Msgf("Found WAL %s for server %s as %s", rs.name.Base, rs.o.Server, c.Key)
	rs.log.Debug().Msgf("Downloading %s to %s (%s)", c.Key, rs.o.Dest, decompressing(c.Compression))
	if !known {
		if want, err = walobject.RecordedDigest(ctx, rs.store, c); err != nil {
			return fmt.Errorf("reading the metadata of %s: %w", c.Key, err)
		}
	}
	n, err := rs.download(ctx, sel, want)
	if err != nil {
		return err
	}
	rs.log.Info().Msgf("Restored %s as %s (%d bytes) in %s", c.Key, rs.o.Dest, n, time.Since(start).Round(time.Millisecond))
	return nil
}

// arbitrate looks at the other copies of the file Select chose (the same
// WAL name under other compression suffixes), when there are any: if
// their recorded digests show different contents, or cannot show the
// content, the copy served is the one walobject.Arbitrate picks, the first
// the storage recorded, and each other copy passed over is reported at
// WARNING. It returns the chosen copy's recorded digest when it read it
// (known).
func (rs *restorer) arbitrate(ctx context.Context, objs []storage.Object, sel *walobject.Selection) (want []byte, known bool, err error) {
	base, _ := compress.SplitExt(sel.Candidate.Key)
	listed := walobject.Copies(objs, base)
	if len(listed) < 2 {
		return nil, false, nil
	}
	var (
		copies  []walobject.Candidate
		digests [][]byte
		chosen  = -1
	)
	for _, c := range listed {
		d, err := walobject.RecordedDigest(ctx, rs.store, c)
		if storage.IsNotFound(err) {
			// Removed since the listing: by the archiver that stored it,
			// which lost a race; it was never reported archived.
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading the metadata of %s: %w", c.Key, err)
		}
		if c.Key == sel.Candidate.Key {
			chosen = len(copies)
		}
		copies, digests = append(copies, c), append(digests, d)
	}
	switch {
	case len(copies) == 0:
		return nil, false, exitcode.Generalf("every archived copy of %s was removed while it was being restored", base)
	case chosen < 0:
		chosen = walobject.FirstRecorded(copies)
	}
	i, ignored := walobject.Arbitrate(copies, digests, chosen)
	for _, ig := range ignored {
		rs.log.Warn().Msgf("%s is archived under several suffixes: serving %s, the copy the storage recorded first (%s), and ignoring %s (recorded %s): %s",
			rs.name.Base, copies[i].Key, copies[i].ModTime.UTC().Format(time.RFC3339Nano), ig.Key, ig.ModTime.UTC().Format(time.RFC3339Nano), ig.Reason)
	}
	sel.Candidate = copies[i]
	return digests[i], true, nil
}

func decompressing(a *compress.Algorithm) string {
	if a == nil {
		return "no compression"
	}
	return "decompressing " + a.Name
}

// download writes the chosen object, decompressed and verified against
// want (its recorded digest, nil when it has none), to WAL_DEST, and
// returns its length.
func (rs *restorer) download(ctx context.Context, sel walobject.Selection, want []byte) (n int64, err error) {
	c := sel.Candidate
	defer func() {
		// A panic in a decompressor (a library bug, on data corrupted the
		// wrong way) would exit with status 2, which means "storage
		// unreachable". The deferred clean-up below has run by now.
		if p := recover(); p != nil {
			err = exitcode.Wrap(exitcode.General, fmt.Errorf("decompressing %s: %w", c.Key,
				&compress.CorruptError{Alg: algName(c.Compression), Err: fmt.Errorf("decoder panic: %v", p)}))
		}
	}()
	for _, name := range removeStaleTemps(filepath.Dir(rs.o.Dest)) {
		rs.log.Info().Msgf("removed %s, left by a wal-restore that was killed", name)
	}
	dst, err := createDest(rs.o.Dest)
	if err != nil {
		return 0, exitcode.Wrap(exitcode.General, err)
	}
	dst.unflushed = rs.unflushed || postgresKeeps(rs.o.Dest)
	defer dst.Abort()
	h := sha256.New()
	head := &headWriter{max: max(4096, wal.LongHeaderSize)}
	// A fixed buffer, and no WriterTo/ReaderFrom shortcut that could
	// buffer more: memory does not grow with the WAL's size.
	buf := make([]byte, 256<<10)
	// One attempt downloads the whole object again into the emptied
	// temporary file: a decompressor cannot resume a cut stream.
	err = rs.store.Retry(ctx, "downloading "+c.Key, func(ctx context.Context) error {
		h.Reset()
		head.b = head.b[:0]
		if err := dst.Reset(); err != nil {
			return retry.Permanent(exitcode.Wrap(exitcode.General, err))
		}
		r, err := walobject.Open(ctx, rs.store, c)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", c.Key, readError(err))
		}
		defer r.Close()
		n, err = io.CopyBuffer(markingWriter{io.MultiWriter(dst, h, head)}, onlyReader{r}, buf)
		if err != nil {
			if errors.As(err, new(*writeError)) {
				// A full or failing disk: downloading again cannot help.
				return retry.Permanent(exitcode.Wrap(exitcode.General, fmt.Errorf("writing %s: %w", rs.o.Dest, err)))
			}
			return fmt.Errorf("downloading %s: %w", c.Key, readError(err))
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	sum := h.Sum(nil)
	warning, err := verify(c.Key, sel.Name, n, head.b, sum, want)
	if err != nil {
		return n, exitcode.Wrap(exitcode.General, err)
	}
	if warning != "" {
		rs.log.Warn().Msg(warning)
	}
	if want != nil {
		rs.log.Debug().Msgf("%s: sha256 %s, as recorded at archive time", c.Key, hex.EncodeToString(sum))
	} else {
		checked := "its size and page header"
		if sel.Name.Kind != wal.Segment && sel.Name.Kind != wal.Partial {
			checked = "that it is text"
		}
		rs.log.Info().Msgf("%s has no recorded sha256 (archived by Barman?): checked %s instead (%d bytes, sha256 %s)", c.Key, checked, n, hex.EncodeToString(sum))
	}
	if err := dst.Commit(); err != nil {
		return n, exitcode.Wrap(exitcode.General, err)
	}
	return n, nil
}

func algName(a *compress.Algorithm) string {
	if a == nil {
		return "stored"
	}
	return a.Name
}

// verify refuses content that is not what was archived: its digest
// differs from the one recorded at archive time (want, nil when the object
// has none). Without a recorded digest the content is checked as
// barman-cloud-wal-archive checks a file before archiving it: a WAL
// segment or .partial (n is the name of the object served, a .partial
// standing in for a segment included) must have the segment size its
// first page header declares, and that header must name this segment and
// this timeline or an ancestor, which catches a stream cut where its
// format cannot tell (at a snappy chunk boundary, a stored object) and
// another segment's bytes under this name; a history file or backup label
// must look like the text PostgreSQL writes. head is the content's
// beginning. An unknown page magic (a newer PostgreSQL) is accepted with
// the warning returned.
func verify(key string, n wal.Name, size int64, head, sum, want []byte) (warning string, err error) {
	switch {
	case want != nil:
		if !bytes.Equal(sum, want) {
			return "", fmt.Errorf("%s: the restored content (%d bytes) has sha256 %s, but the archive recorded %s: the object is corrupt; nothing restored",
				key, size, hex.EncodeToString(sum), hex.EncodeToString(want))
		}
	case n.Kind == wal.Segment || n.Kind == wal.Partial:
		err := wal.CheckSegment(n, size, head)
		var um *wal.UnknownMagicError
		if errors.As(err, &um) {
			return fmt.Sprintf("%s: %v", key, err), nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w: the object is truncated, corrupt or another WAL; nothing restored", key, err)
		}
	default:
		if err := wal.CheckText(n, size, head); err != nil {
			return "", fmt.Errorf("%s: %w: the object is truncated or corrupt; nothing restored", key, err)
		}
	}
	return "", nil
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	b   []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// readError gives a download or decompression error its kind: corrupt
// data is exit status 4; a connection failing in the middle of the body is
// the storage being unreachable, as before the answer.
func readError(err error) error {
	var ce *compress.CorruptError
	if errors.As(err, &ce) {
		return exitcode.Wrap(exitcode.General, err)
	}
	return storage.ReadError(err)
}

// writeError marks a failure to write WAL_DEST, to tell it from a failure
// to read the object in io.CopyBuffer's single error.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type markingWriter struct{ w io.Writer }

func (m markingWriter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// onlyReader hides its reader's other methods from io.CopyBuffer.
type onlyReader struct{ io.Reader }
