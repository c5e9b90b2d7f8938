package walarchive

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/shared/walobject"
)

// Archive runs barman-cloud-wal-archive with parsed options. The WAL name
// is checked before any provider set-up, as in Barman.
func Archive(r *cloudcli.Run, o Options) error {
	var name wal.Name
	if o.WALPath != "" {
		n, err := wal.Parse(o.WALPath)
		if err != nil {
			r.Log.Error().Msg(err.Error())
			return exitcode.Reported(exitcode.Usage, err)
		}
		name = n
	}
	if o.Jobs > 1 && o.WALPath != "" && !r.Common.Test && name.Kind == wal.Segment {
		if p, ok := pgWALOf(o.WALPath); ok {
			dest := destinationID(r.Common.CloudProvider, r.Common.EndpointURL, o.URL, o.Server)
			withStore := func(fn func(*storage.Store) error) error { return r.WithStore(o.URL, o.Server, o.Storage, fn) }
			if isUploader(r.LookupEnv) {
				// Detached: its exit status reaches only whoever adopts it,
				// the postmaster itself where PostgreSQL runs as PID 1 in a
				// container, which takes a status other than 0 or 1 for a
				// crashed child. So failures are logged, and the status is 0.
				if err := withStore(func(store *storage.Store) error { return p.runUploader(r.Ctx, r.Log, store, o, dest) }); err != nil {
					r.Log.Warn().Msgf("the background uploader stops: %v", err)
				}
				return nil
			}
			return archiveWithJobs(r.Ctx, r.Log, p, o, name, dest, withStore)
		}
		r.Log.Debug().Msgf("%s is not in a pg_wal directory with archive_status: --jobs has no ready segments to read, archiving it alone", o.WALPath)
	}
	var early chan inspection
	if o.WALPath != "" && !r.Common.Test {
		// The file is read and hashed while the storage client is built
		// (SDK configuration, credentials): ~10 ms each, of a call that
		// every WAL segment pays.
		ch := make(chan inspection, 1)
		early = ch
		go func() {
			a := &archiver{log: r.Log, o: o, name: name}
			var in inspection
			in.f, in.size, in.sum, in.err = a.inspect()
			ch <- in
		}()
	}
	err := r.WithStore(o.URL, o.Server, o.Storage, func(store *storage.Store) error {
		a := &archiver{log: r.Log, store: store, o: o, name: name, early: early}
		early = nil
		return a.run(r.Ctx)
	})
	if early != nil {
		// The store could not be opened: the file is not needed.
		if in := <-early; in.f != nil {
			in.f.Close()
		}
	}
	return err
}

type archiver struct {
	log   zerolog.Logger
	store *storage.Store
	o     Options
	name  wal.Name
	key   string
	ext   string
	// writer is this run's token (walobject.WriterKey).
	writer string
	// sum is the SHA-256 of the file's content, once inspected: what was
	// uploaded, when run returns nil.
	sum []byte
	// early, when set, delivers the inspection made while the store was
	// opened.
	early chan inspection

	// Test hooks: afterCommit runs once this archiver's object is stored
	// (created, or found and claimed), before the listing; afterList runs
	// after the listing and the comparisons, before the verdict is acted
	// upon.
	afterCommit, afterList func()
	// beforeTouch runs right before a claim's Touch.
	beforeTouch func()
}

func (a *archiver) run(ctx context.Context) error {
	start := time.Now()
	var (
		f    *os.File
		size int64
		sum  []byte
		err  error
	)
	if a.early != nil {
		in := <-a.early
		f, size, sum, err = in.f, in.size, in.sum, in.err
	} else {
		f, size, sum, err = a.inspect()
	}
	if err != nil {
		return err
	}
	defer f.Close()
	a.sum = sum
	if a.o.Compression != nil {
		a.ext = a.o.Compression.Ext
		if n, clamped := a.o.Compression.Resolve(a.o.Level); clamped {
			a.log.Debug().Msgf("compression level %v clamped to %d for %s", a.o.Level, n, a.o.Compression.Name)
		}
	}
	a.key = wal.Key(a.store.Loc.Prefix, a.o.Server, a.name, a.ext)
	if a.writer == "" {
		var token [8]byte
		if _, err := rand.Read(token[:]); err != nil {
			return err
		}
		a.writer = hex.EncodeToString(token[:])
	}
	if a.o.Overwrite {
		// Barman's behaviour: replace the object blindly, look at nothing.
		a.log.Debug().Msgf("Uploading %s to %s (%s)", a.o.WALPath, a.key, compressionName(a.o.Compression))
		if _, err := a.upload(ctx, f, size, sum); err != nil {
			return fmt.Errorf("uploading %s to %s: %w", a.o.WALPath, a.key, err)
		}
		a.archived(size, start)
		return nil
	}
	// The object under our key can change between our conditional create
	// failing and our claim of what is there (removed by the archiver that
	// created it, which lost a race): then the key is free again, and we
	// create.
	const attempts = 3
	for i := 1; ; i++ {
		a.log.Debug().Msgf("Uploading %s to %s (%s)", a.o.WALPath, a.key, compressionName(a.o.Compression))
		version, err := a.upload(ctx, f, size, sum)
		if err == nil {
			return a.settle(ctx, sum, size, version, true, start)
		}
		if !errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("uploading %s to %s: %w", a.o.WALPath, a.key, err)
		}
		version, ours, err := a.claim(ctx, sum, size)
		if errors.Is(err, errMoved) && i < attempts {
			continue
		}
		if errors.Is(err, errMoved) {
			return fmt.Errorf("%s: %w, %d times", a.key, err, attempts)
		}
		if err != nil {
			return err
		}
		return a.settle(ctx, sum, size, version, ours, start)
	}
}

func (a *archiver) archived(size int64, start time.Time) {
	a.log.Info().Msgf("Archived %s as %s (%d bytes, %s) in %s", a.name.Base, a.key, size, compressionName(a.o.Compression), time.Since(start).Round(time.Millisecond))
}

// errMoved: the object found under our key was removed or replaced while
// it was being claimed.
var errMoved = errors.New("the archived object changed while it was compared")

// claim handles a key already taken: by an earlier attempt of this run
// whose answer was lost (ours: the object records this run as its
// writer), by another archiver that won the race for this key, or by an
// earlier run, perhaps killed before it could finish. When it holds the
// file's content, claim returns its version; one that is not ours it
// first claims (Store.Touch, recording this run as its writer), so that
// the archiver that created it, if it is still running and loses a race on
// another suffix, can no longer remove it. Different content is the
// exit-1 refusal.
func (a *archiver) claim(ctx context.Context, sum []byte, size int64) (version string, ours bool, err error) {
	info, err := a.store.Stat(ctx, a.key)
	if storage.IsNotFound(err) {
		return "", false, errMoved
	}
	c := walobject.Candidate{Key: a.key, Compression: a.o.Compression, Size: info.Size}
	var rec []byte
	if err == nil {
		rec, err = walobject.DigestIn(a.key, info.Metadata)
	}
	same, how := false, ""
	if err == nil {
		same, how, err = walobject.Compare(ctx, a.store, c, rec, sum, size)
	}
	if err != nil {
		return "", false, a.incomparable(a.key, err)
	}
	if !same {
		return "", false, a.differentContent(a.key, how, sum)
	}
	if info.Metadata[walobject.ClaimedKey] != "" {
		// Claimed already, by another archiver of this content (or by an
		// earlier attempt of this run): no creator can remove this version,
		// and claiming it again would only make racing claims fail.
		return info.Version, false, nil
	}
	if info.Metadata[walobject.WriterKey] == a.writer {
		a.log.Info().Msgf("%s was stored by an earlier attempt of this run, whose answer was lost", a.key)
		return info.Version, true, nil
	}
	if a.beforeTouch != nil {
		a.beforeTouch()
	}
	version, err = a.store.Touch(ctx, a.key, info.Version, map[string]string{walobject.WriterKey: a.writer, walobject.ClaimedKey: "1"})
	switch {
	case err == nil:
		return version, false, nil
	case errors.Is(err, storage.ErrVersionChanged):
		// Another archiver may have claimed it first: then it is ours to
		// rely on as well.
		if again, serr := a.store.Stat(ctx, a.key); serr == nil && again.Metadata[walobject.ClaimedKey] != "" &&
			again.Metadata[walobject.MetadataKey] == info.Metadata[walobject.MetadataKey] && info.Metadata[walobject.MetadataKey] != "" {
			return again.Version, false, nil
		}
		return "", false, errMoved
	case storage.IsNotFound(err):
		return "", false, errMoved
	case errors.Is(err, storage.ErrTouchUnsupported):
		// S3: see settle for what this leaves open.
		return info.Version, false, nil
	}
	a.log.Warn().Msgf("%s holds this content, but it could not be claimed (%v): an archiver that created it and is still running could remove it", a.key, err)
	return info.Version, false, nil
}

// settle decides the outcome once this archiver's object is stored under
// its key, at version (created by this run, or found and claimed), by
// listing every suffix of the WAL's name once:
//
// Rule: the WAL is reported archived (exit 0) only if this listing, made
// after the object was stored, shows no object with another content under
// any suffix of the name. Otherwise this archiver loses: it removes the
// object it created, only that version of it (DeleteIfVersion), and exits 1.
//
// At most one content is ever reported archived, whatever the timestamps
// say. If A and B both exited 0 with different contents, A's listing
// missed B's object: B stored it after A's listing, which came after A
// stored its own. Symmetrically A stored its object after B's listing,
// after B stored its own: B stored before A stored, and after, a
// contradiction. This needs objects that were relied upon to stay, and
// they do: an archiver removes only a version it created itself (in this
// run: an attempt whose answer was lost is recognised by the run's token,
// walobject.WriterKey) and only when it lost; an archiver that relies on
// an object it found (same content, same key) first claims it, giving it a
// new version the creator's conditional delete no longer matches; and an
// archiver that loses with an object it found removes nothing, since that
// object may be one another archiver reported archived. Two racers that
// see each other both lose; PostgreSQL retries archive_command, and the
// first retry wins.
//
// Where a provider cannot keep the creator from removing a claimed object,
// an archiver relying on a found object can still be contradicted: S3,
// whose ETags are content hashes (If-Match on DELETE cannot tell a claim
// from the creation; MinIO ignores it anyway), and fake-gcs-server, which
// ignores GCS preconditions on DELETE. That takes three archivers of one
// WAL at once, two of them with the same bytes and compression.
func (a *archiver) settle(ctx context.Context, sum []byte, size int64, version string, created bool, start time.Time) error {
	if a.afterCommit != nil {
		a.afterCommit()
	}
	keys, own, verdict := a.look(ctx, sum, size)
	if a.afterList != nil {
		a.afterList()
	}
	if verdict != nil {
		a.lose(ctx, version, created)
		return verdict
	}
	if !own {
		return exitcode.Generalf("%s was stored as %s, which was removed before the archive could be checked; it is not archived", a.o.WALPath, a.key)
	}
	if created {
		a.archived(size, start)
		if len(keys) > 1 {
			a.log.Debug().Msgf("%s: identical content also archived as %v", a.name.Base, keys)
		}
		return nil
	}
	a.log.Warn().Msgf("%s is already archived with identical content as %v: nothing to do", a.name.Base, keys)
	return nil
}

// look lists every suffix of the WAL's name and compares each other copy
// with the file: keys are the copies listed, own says whether this run's
// key was among them, and verdict is the refusal when another content is
// archived (or could not be compared), nil otherwise.
func (a *archiver) look(ctx context.Context, sum []byte, size int64) (keys []string, own bool, verdict error) {
	cands, err := walobject.Find(ctx, a.store, wal.Dir(a.store.Loc.Prefix, a.o.Server, a.name), a.name.Base)
	if err != nil {
		return nil, false, fmt.Errorf("looking for %s in the archive: %w", a.name.Base, err)
	}
	for _, c := range cands {
		if c.Key == a.key {
			own = true
			keys = append(keys, c.Key)
			continue
		}
		same, how, err := walobject.SameContent(ctx, a.store, c, sum, size)
		switch {
		case storage.IsNotFound(err):
			// Listed, then removed: by the archiver that created it, which
			// lost. No archiver relies on an object that can be removed.
			continue
		case err != nil:
			return keys, own, a.incomparable(c.Key, err)
		case !same:
			return keys, own, a.differentContent(c.Key, how, sum)
		}
		keys = append(keys, c.Key)
	}
	return keys, own, nil
}

// lose removes the object this run created, only if it is still the
// version it created. An object it found is left alone: it may be the one
// another archiver reported archived.
func (a *archiver) lose(ctx context.Context, version string, created bool) {
	switch {
	case !created:
		a.log.Info().Msgf("leaving %s in place: it was there before this run, and may be what another run reported archived", a.key)
		return
	case version == "":
		a.log.Warn().Msgf("leaving %s in place: the storage did not say which version this run stored", a.key)
		return
	}
	err := a.store.DeleteIfVersion(ctx, a.key, version)
	switch {
	case err == nil:
		a.log.Info().Msgf("removed %s, which this run had stored", a.key)
	case errors.Is(err, storage.ErrVersionChanged):
		a.log.Info().Msgf("leaving %s in place: another archiver with the same content has claimed it", a.key)
	default:
		a.log.Warn().Msgf("could not remove %s, which this run had stored: %v", a.key, err)
	}
}

// incomparable is the refusal when an archived copy could not be read.
func (a *archiver) incomparable(key string, err error) error {
	err = fmt.Errorf("%s is already archived as %s, which cannot be compared with %s: %w; refusing to overwrite it (--overwrite replaces it)", a.name.Base, key, a.o.WALPath, err)
	if storage.KindOf(err) != storage.Other {
		// The storage's failure decides the exit status (unreachable:
		// try again later).
		return err
	}
	// An object that cannot be read back (corrupt): the archive holds
	// something else under this name.
	return exitcode.Wrap(exitcode.Failure, err)
}

// differentContent is the refusal when another content is archived.
func (a *archiver) differentContent(key, how string, sum []byte) error {
	return exitcode.Failuref("%s is already archived as %s with different content (%s); refusing to overwrite it with %s (sha256 %s): is another server archiving under the name %q? (--overwrite replaces it)",
		a.name.Base, key, how, a.o.WALPath, hex.EncodeToString(sum), a.o.Server)
}

func compressionName(a *compress.Algorithm) string {
	if a == nil {
		return "no compression"
	}
	return a.Name
}

// inspect opens the WAL file, checks it is the WAL its name says, and
// computes the SHA-256 of its content, in one read. The digest goes into
// the object's metadata, which must be known before the upload starts,
// hence a first pass over the file; the upload's pass is then served by
// the page cache, and checks it read the same bytes.
func (a *archiver) inspect() (*os.File, int64, []byte, error) {
	f, err := os.Open(a.o.WALPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, nil, fmt.Errorf("WAL file %s does not exist", a.o.WALPath)
		}
		return nil, 0, nil, fmt.Errorf("cannot open WAL file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", a.o.WALPath)
	}
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	h := sha256.New()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		f.Close()
		return nil, 0, nil, fmt.Errorf("reading WAL file %s: %w", a.o.WALPath, err)
	}
	head = head[:n]
	h.Write(head)
	if err := a.check(fi.Size(), head); err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("reading WAL file %s: %w", a.o.WALPath, err)
	}
	return f, fi.Size(), h.Sum(nil), nil
}

// inspection is inspect's outcome.
type inspection struct {
	f    *os.File
	size int64
	sum  []byte
	err  error
}

// check refuses a file that is not the WAL its name says. An unknown page
// magic (a newer PostgreSQL) is only a warning.
func (a *archiver) check(size int64, head []byte) error {
	var err error
	switch a.name.Kind {
	case wal.Segment, wal.Partial:
		err = wal.CheckSegment(a.name, size, head)
	default:
		err = wal.CheckText(a.name, size, head)
	}
	var um *wal.UnknownMagicError
	if errors.As(err, &um) {
		a.log.Warn().Msgf("%s: %v", a.name.Base, err)
		return nil
	}
	if err != nil {
		return exitcode.Wrap(exitcode.Failure, fmt.Errorf("refusing to archive %s: %w", a.o.WALPath, err))
	}
	return nil
}

// upload streams the file, compressed if asked, to the store, and
// returns the version it committed. Without --overwrite it is a
// conditional create. The file is read from the start again and hashed on
// the way: if it no longer has the digest computed by inspect, the upload
// fails before the object is committed.
//
// One attempt reads the file from the start again, compressing it again: a
// stream cannot be rewound. The conditional create makes retries safe:
// when an attempt that failed had in fact stored the object (its answer
// lost), the next one meets it, and claim compares it.
func (a *archiver) upload(ctx context.Context, f *os.File, size int64, sum []byte) (string, error) {
	md := walobject.Metadata(sum)
	if !a.o.Overwrite {
		md[walobject.WriterKey] = a.writer
	}
	up := storage.UploadOptions{
		Tags:     tags.For(a.name.Kind == wal.History, a.o.Tags, a.o.HistoryTags),
		Metadata: md,
	}
	if a.o.Compression == nil {
		// The body is the file, whose digest is sum: S3 over HTTP signs
		// it, and the server checks the bytes against it.
		up.ContentSHA256 = sum
	}
	var version string
	err := a.store.Retry(ctx, fmt.Sprintf("uploading %s to %s", a.name.Base, a.key), func(ctx context.Context) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		send := func(r io.Reader, n int64) (err error) {
			if a.o.Overwrite {
				return a.store.Upload(ctx, a.key, r, n, up)
			}
			version, err = a.store.Create(ctx, a.key, r, n, up)
			return err
		}
		src := &verifyingReader{f: f, h: sha256.New(), want: sum}
		if a.o.Compression == nil {
			if a.store.ChecksContentSHA256() {
				// The server refuses a body without the digest sum
				// (up.ContentSHA256): hashing every pass the SDK reads
				// (two, with the flexible checksum's) would check it
				// again, for ~20 ms of each call.
				return send(io.NewSectionReader(f, 0, size), size)
			}
			return send(src, size)
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- compressTo(pw, src, a.o.Compression, a.o.Level, a.o.Jobs > 1)
		}()
		err := send(pr, -1)
		// Unblock the compressor if the upload stopped reading early.
		pr.CloseWithError(errors.New("upload ended"))
		if cerr := <-done; err == nil && cerr != nil {
			err = cerr
		}
		return err
	})
	return version, err
}

// compressTo compresses src into pw. serial asks for a compressor on one
// core: with --jobs, the jobs are the parallelism, and N jobs each fanning
// out over every core would only add buffers and contention.
func compressTo(pw *io.PipeWriter, src io.Reader, alg *compress.Algorithm, level compress.Level, serial bool) error {
	newWriter := alg.NewWriter
	if serial {
		newWriter = alg.NewSerialWriter
	}
	zw, err := newWriter(pw, level)
	if err == nil {
		_, err = io.Copy(zw, src)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	pw.CloseWithError(err) // nil: the reader sees EOF
	return err
}

// verifyingReader reads the WAL file and, at its end, fails instead of
// reporting EOF when the bytes read do not have the digest want. It can be
// rewound (an SDK may read a body twice: to sign it, then to send it); each
// pass from the start is verified.
type verifyingReader struct {
	f      *os.File
	h      hash.Hash
	want   []byte
	offset int64
	broken bool // a seek away from the start: this pass cannot be verified
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.f.Read(p)
	v.h.Write(p[:n])
	v.offset += int64(n)
	if err == io.EOF && !v.broken && !bytes.Equal(v.h.Sum(nil), v.want) {
		return n, errors.New("the WAL file changed while it was being archived")
	}
	return n, err
}

func (v *verifyingReader) Seek(off int64, whence int) (int64, error) {
	pos, err := v.f.Seek(off, whence)
	if err != nil {
		return pos, err
	}
	if pos != v.offset {
		v.h.Reset()
		v.broken = pos != 0
		v.offset = pos
	}
	return pos, nil
}
