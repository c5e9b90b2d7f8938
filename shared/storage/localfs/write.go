package localfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// Modes before the umask; see the package documentation.
const (
	dirMode  = 0o755
	fileMode = 0o644
)

// NewTypedWriter starts writing key: its directories are created and a
// temporary file is opened beside the key's name, carrying the attributes.
func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if err := writeKey(key); err != nil {
		return nil, err
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(asNothing); err != nil {
			return nil, err
		}
	}
	r, err := b.root()
	if err != nil {
		return nil, err
	}
	w := &writer{ctx: ctx, b: b, root: r, key: key, ifNotExist: opts.IfNotExist}
	w.dirName, w.name = splitKey(key)
	if err := w.open(contentType, opts); err != nil {
		w.abort()
		return nil, err
	}
	return w, nil
}

type writer struct {
	ctx        context.Context
	b          *bucket
	root       *os.Root
	key        string
	dirName    string // the key's directory, relative to the root
	name       string // the key's file name
	ifNotExist bool

	dir    *os.File // the key's directory
	tmp    string   // the temporary file's name in dir
	f      *os.File // the temporary file, until Close
	failed error    // a failure that forbids publishing
}

func (w *writer) open(contentType string, opts *driver.WriterOptions) error {
	if err := w.mkdirs(); err != nil {
		return err
	}
	var err error
	if w.dir, err = w.root.Open(w.dirName); err != nil {
		return w.pathError(err)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	w.tmp = tmpPrefix + hex.EncodeToString(rnd[:])
	w.f, err = w.root.OpenFile(path.Join(w.dirName, w.tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		w.tmp = ""
		return w.pathError(err)
	}
	a := attrs{sys: map[string]string{}, metadata: opts.Metadata}
	for k, v := range map[string]string{
		"cache-control":       opts.CacheControl,
		"content-disposition": opts.ContentDisposition,
		"content-encoding":    opts.ContentEncoding,
		"content-language":    opts.ContentLanguage,
	} {
		if v != "" {
			a.sys[k] = v
		}
	}
	if contentType != "" && contentType != defaultContentType {
		a.sys[contentTypeName] = contentType
	}
	_, err = writeAttrs(w.b.sys.xattr, w.f, a)
	return err
}

// mkdirs creates the key's directories below the root, never the root.
func (w *writer) mkdirs() error {
	if w.dirName == "." {
		return nil
	}
	parts := strings.Split(w.dirName, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := w.root.Mkdir(p, dirMode)
		if errors.Is(err, fs.ErrExist) {
			var fi fs.FileInfo
			if fi, err = w.root.Stat(p); err == nil && !fi.IsDir() {
				return w.conflict(p)
			}
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return w.conflict(strings.Join(parts[:i], "/"))
		}
		if err != nil {
			return w.pathError(err)
		}
	}
	return nil
}

// conflict reports a key that needs p as a directory while p is a file.
func (w *writer) conflict(p string) error {
	return coded(gcerrors.InvalidArgument, "cannot store key %q: %q is an object, and a directory store cannot also use it as a directory of keys", w.key, p)
}

// pathError reports a root removed during the write as a missing bucket.
// The open root still works as a directory then: ask by its path.
func (w *writer) pathError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(w.b.dir); errors.Is(serr, fs.ErrNotExist) {
			return coded(gcerrors.NotFound, "directory %s does not exist", w.b.dir)
		}
	}
	return err
}

func (w *writer) Write(p []byte) (int, error) {
	if w.failed != nil {
		return 0, w.failed
	}
	if err := w.ctx.Err(); err != nil {
		w.failed = err
		return 0, err
	}
	n, err := w.f.Write(p)
	if err != nil {
		// A caller may still Close after a failed Write: the object must
		// not be published short.
		w.failed = err
	}
	return n, err
}

// Upload copies r to the file. blob.Bucket.Upload calls Close even when r
// fails; the error recorded here makes Close discard the file.
func (w *writer) Upload(r io.Reader) error {
	_, err := io.Copy(w.f, ctxReader{w.ctx, r})
	if err != nil {
		w.failed = err
	}
	return err
}

// ctxReader stops a copy once the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Close publishes the object, unless the write failed or was cancelled.
func (w *writer) Close() error {
	err := w.failed
	if err == nil {
		err = w.ctx.Err()
	}
	if err == nil {
		err = w.b.sys.fsync(w.f)
	}
	var written fs.FileInfo
	if err == nil {
		written, err = w.f.Stat()
	}
	if err == nil {
		err = w.f.Close()
		w.f = nil
	}
	if err == nil {
		// Cancelled while the data was being flushed: still not published.
		err = w.ctx.Err()
	}
	if err == nil {
		err = w.publish()
	}
	if err != nil {
		w.abort()
		return err
	}
	defer w.release()
	if err := w.syncDirs(); err != nil {
		return err
	}
	w.reportCommitted(written)
	return nil
}

// publish gives the temporary file the key's name, atomically.
func (w *writer) publish() error {
	sys := w.b.sys
	if !w.ifNotExist {
		err := sys.rename(w.dir, w.tmp, w.name)
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return w.isDirectory()
		}
		if err != nil {
			return fmt.Errorf("rename %s to %s in %s: %w", w.tmp, w.name, w.dir.Name(), err)
		}
		w.tmp = ""
		return nil
	}
	// link(2) fails with EEXIST when the name is taken, whoever took it and
	// however recently: the conditional create is decided by the kernel.
	err := sys.link(w.dir, w.tmp, w.name)
	linked := err == nil
	if unsupported(err) || errors.Is(err, syscall.EPERM) {
		// No hard links here (EPERM is link(2)'s answer for that).
		err = sys.renameNoReplace(w.dir, w.tmp, w.name)
		if unsupported(err) || errors.Is(err, syscall.EINVAL) {
			return coded(gcerrors.Unimplemented, "cannot create %s in %s without replacing an existing file: the file system supports neither link(2) nor renameat2(RENAME_NOREPLACE)", w.name, w.dir.Name())
		}
		if err == nil {
			w.tmp = ""
		}
	}
	if errors.Is(err, syscall.EEXIST) {
		if fi, serr := w.root.Lstat(w.key); serr == nil && fi.IsDir() {
			return w.isDirectory()
		}
		return coded(gcerrors.FailedPrecondition, "object %q already exists", w.key)
	}
	if err != nil {
		return fmt.Errorf("link %s to %s in %s: %w", w.tmp, w.name, w.dir.Name(), err)
	}
	if linked {
		// The object is published; a temporary name left behind by a
		// failed unlink is hidden and harmless, so it does not fail the
		// write.
		_ = sys.unlink(w.dir, w.tmp)
		w.tmp = ""
	}
	return nil
}

func (w *writer) isDirectory() error {
	return coded(gcerrors.InvalidArgument, "cannot store key %q: it is a directory holding other keys", w.key)
}

// syncDirs makes the new name durable: the key's directory holds it, and
// each directory above holds the next, up to the root. Directories that
// existed may have been created by another writer that has not synced them
// yet, so all are synced; a clean directory's fsync costs little.
func (w *writer) syncDirs() error {
	sync := func(d *os.File) error {
		if err := w.b.sys.fsync(d); err != nil {
			return fmt.Errorf("object %q was written, but fsync of directory %s failed: %w", w.key, d.Name(), err)
		}
		return nil
	}
	if err := sync(w.dir); err != nil {
		return err
	}
	for d := w.dirName; d != "."; {
		d = path.Dir(d)
		f, err := w.root.Open(d)
		if err != nil {
			return fmt.Errorf("object %q was written, but its directory %s could not be synced: %w", w.key, d, err)
		}
		err = sync(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// abort discards the temporary file.
func (w *writer) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if w.tmp != "" && w.dir != nil {
		_ = w.b.sys.unlink(w.dir, w.tmp)
		w.tmp = ""
	}
	w.release()
}

func (w *writer) release() {
	if w.dir != nil {
		w.dir.Close()
		w.dir = nil
	}
	if w.root != nil {
		w.root.Close()
		w.root = nil
	}
}
