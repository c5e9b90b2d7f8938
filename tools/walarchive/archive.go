package walarchive

import (
	"bytes"
	"context"
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
	return r.WithStore(o.URL, o.Server, o.Storage, func(store *storage.Store) error {
		a := &archiver{log: r.Log, store: store, o: o, name: name}
		return a.run(r.Ctx)
	})
}

type archiver struct {
	log   zerolog.Logger
	store *storage.Store
	o     Options
	name  wal.Name
	key   string
	ext   string
}

func (a *archiver) run(ctx context.Context) error {
	start := time.Now()
	f, size, sum, err := a.inspect()
	if err != nil {
		return err
	}
	defer f.Close()
	if a.o.Compression != nil {
		a.ext = a.o.Compression.Ext
		if n, clamped := a.o.Compression.Resolve(a.o.Level); clamped {
			a.log.Debug().Msgf("compression level %v clamped to %d for %s", a.o.Level, n, a.o.Compression.Name)
		}
	}
	a.key = wal.Key(a.store.Loc.Prefix, a.o.Server, a.name, a.ext)
	if !a.o.Overwrite {
		done, err := a.alreadyArchived(ctx, sum, size)
		if done || err != nil {
			return err
		}
	}
	a.log.Debug().Msgf("Uploading %s to %s (%s)", a.o.WALPath, a.key, compressionName(a.o.Compression))
	up := storage.UploadOptions{
		Tags:       tags.For(a.name.Kind == wal.History, a.o.Tags, a.o.HistoryTags),
		Metadata:   walobject.Metadata(sum),
		IfNotExist: !a.o.Overwrite,
	}
	// One attempt reads the file from the start again, compressing it
	// again: a stream cannot be rewound. The upload stays a conditional
	// create: when an attempt that failed had in fact stored the object
	// (its answer lost), the next one meets it and ends in the comparison
	// below, as "already archived, identical".
	err = a.store.Retry(ctx, fmt.Sprintf("uploading %s to %s", a.name.Base, a.key), func(ctx context.Context) error {
		return a.upload(ctx, f, size, sum, up)
	})
	if errors.Is(err, storage.ErrExists) {
		// Another archiver won the race for this key, or an earlier
		// attempt of ours stored it: the outcome is the same as if its
		// object had been there before we looked.
		return a.compare(ctx, []walobject.Candidate{{Key: a.key, Compression: a.o.Compression}}, sum, size)
	}
	if err != nil {
		return fmt.Errorf("uploading %s to %s: %w", a.o.WALPath, a.key, err)
	}
	a.log.Info().Msgf("Archived %s as %s (%d bytes, %s) in %s", a.name.Base, a.key, size, compressionName(a.o.Compression), time.Since(start).Round(time.Millisecond))
	return nil
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

// alreadyArchived looks for the WAL under any compression suffix and
// compares what it finds with the file. It reports done when the WAL is
// archived with this content; an error when it is archived with another.
func (a *archiver) alreadyArchived(ctx context.Context, sum []byte, size int64) (bool, error) {
	cands, err := walobject.Find(ctx, a.store, wal.Dir(a.store.Loc.Prefix, a.o.Server, a.name), a.name.Base)
	if err != nil {
		return false, fmt.Errorf("looking for %s in the archive: %w", a.name.Base, err)
	}
	if len(cands) == 0 {
		return false, nil
	}
	return true, a.compare(ctx, cands, sum, size)
}

// compare checks each archived copy against the file's digest.
func (a *archiver) compare(ctx context.Context, cands []walobject.Candidate, sum []byte, size int64) error {
	for _, c := range cands {
		same, how, err := walobject.SameContent(ctx, a.store, c, sum, size)
		if err != nil {
			err = fmt.Errorf("%s is already archived as %s, which cannot be compared with %s: %w; refusing to overwrite it (--overwrite replaces it)", a.name.Base, c.Key, a.o.WALPath, err)
			if storage.KindOf(err) != storage.Other {
				// The storage's failure decides the exit status
				// (unreachable: try again later).
				return err
			}
			// An object that cannot be read back (corrupt): the
			// archive holds something else under this name.
			return exitcode.Wrap(exitcode.Failure, err)
		}
		if !same {
			return exitcode.Failuref("%s is already archived as %s with different content (%s); refusing to overwrite it with %s (sha256 %s): is another server archiving under the name %q? (--overwrite replaces it)",
				a.name.Base, c.Key, how, a.o.WALPath, hex.EncodeToString(sum), a.o.Server)
		}
	}
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.Key
	}
	a.log.Warn().Msgf("%s is already archived with identical content as %v: nothing to do", a.name.Base, keys)
	return nil
}

// upload streams the file, compressed if asked, to the store. The file is
// read from the start again and hashed on the way: if it no longer has
// the digest computed by inspect, the upload fails before the object is
// committed.
func (a *archiver) upload(ctx context.Context, f *os.File, size int64, sum []byte, up storage.UploadOptions) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	src := &verifyingReader{f: f, h: sha256.New(), want: sum}
	if a.o.Compression == nil {
		return a.store.Upload(ctx, a.key, src, size, up)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- compressTo(pw, src, a.o.Compression, a.o.Level)
	}()
	err := a.store.Upload(ctx, a.key, pr, -1, up)
	// Unblock the compressor if the upload stopped reading early.
	pr.CloseWithError(errors.New("upload ended"))
	if cerr := <-done; err == nil && cerr != nil {
		err = cerr
	}
	return err
}

func compressTo(pw *io.PipeWriter, src io.Reader, alg *compress.Algorithm, level compress.Level) error {
	zw, err := alg.NewWriter(pw, level)
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
