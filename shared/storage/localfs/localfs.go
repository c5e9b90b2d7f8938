// Package localfs is a gocloud.dev/blob driver for a local directory, made
// for a WAL archive: what it reports as written is on disk, a conditional
// create is atomic across processes, and the directory holds nothing but the
// objects, laid out as a bucket's keys.
//
// # Layout
//
// A key is a path relative to the root directory: "pg/wals/0000000100000000/
// 000000010000000000000001.gz" is that file. Nothing else is stored beside
// the objects: user metadata and the HTTP-style attributes (content type,
// cache control, ...) are extended attributes of the file, "user.barman-cloud."
// followed by the metadata key, and "user.barman-cloud:" followed by the
// attribute name (content-type, cache-control, content-disposition,
// content-encoding, content-language). A metadata key's "%" and NUL bytes are
// written %25 and %00, the only bytes an attribute name cannot hold as they
// are. On a file system without user extended attributes (ENOTSUP: some
// tmpfs, some network file systems) objects are written without them, and
// Attributes reports no metadata and the default content type; callers that
// need a content digest then read the object.
//
// Copying the directory to a bucket (aws s3 sync, gsutil rsync) gives the
// same keys, without metadata: objects like those Barman itself writes.
//
// # Keys
//
// A directory cannot hold every key a bucket can. Keys that would leave the
// root (a leading "/", a ".." component, a NUL byte) are refused with
// InvalidArgument by every operation. Keys that could only be stored by
// changing their meaning are refused by writes with InvalidArgument and are
// absent (NotFound) for reads: an empty component ("a//b", a trailing "/",
// which a file system would merge into "a/b" and "a"), a "." component, and
// a component starting with ".barman-cloud-tmp-", the names of files being
// written. Such a key therefore never turns silently into another key. The
// tools never make one: a file:// URL has no key prefix, and server names
// cannot contain "/".
// A key cannot be both an object and a "directory" of other keys ("a" and
// "a/b"): writing the second is refused with InvalidArgument.
//
// # Writes
//
// An object is written to a temporary file in its own directory, named
// ".barman-cloud-tmp-" and 16 hexadecimal digits (never a WAL name, hidden
// from listings), with its extended attributes; the file is fsynced and
// then published in one step: with IfNotExist by link(2) to the key's name
// (EEXIST: FailedPrecondition; the kernel decides, atomically across
// processes) and unlink of the temporary name, otherwise by rename(2). On
// a file system without hard links, renameat2(RENAME_NOREPLACE) publishes a
// conditional create; where neither exists, it fails rather than race. The
// key's directory and each directory above it up to the root are then
// fsynced: a directory another process created may not be durable yet.
// A cancelled context, or an error from the source or from a Write, before
// Close removes the temporary file and publishes nothing (directories it
// created stay, unlisted).
//
// Directories are created as needed, mode 0755 less the umask, and files
// mode 0644 less the umask: run from PostgreSQL's archive_command (umask
// 0077) the archive is 0700/0600 like the data directory, by hand (umask
// 022) it is readable as other stores' downloads are. The root directory
// is never created: a missing root is a missing bucket, NotFound.
//
// Temporary files of a writer that was killed remain, hidden; they can be
// removed with find DIR -name '.barman-cloud-tmp-*' -mmin +60 -delete.
// Delete leaves empty directories in place (removing them would race with
// writers creating files in them); listings do not report them.
//
// Paths are resolved through an os.Root: a symbolic link in the directory
// is followed only if it stays inside it. Listings show symbolic links to
// files as objects and skip symbolic links to directories (no loops).
//
// This package uses Linux system calls. It is part of the barman-cloud
// command and has no compatibility promise as a library.
package localfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// tmpPrefix starts the name of every file being written. The dot hides it
// from ls and from anything matching WAL names; listings skip it.
const tmpPrefix = ".barman-cloud-tmp-"

// defaultContentType is reported for objects stored without a content type,
// and is not stored: every barman-cloud object has it.
const defaultContentType = "application/octet-stream"

// OpenBucket returns a bucket over the directory dir. The directory is not
// checked here: while it is missing, every operation fails with NotFound.
func OpenBucket(dir string) (*blob.Bucket, error) {
	b, err := openDriver(dir)
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(b), nil
}

func openDriver(dir string) (*bucket, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localfs: %w", err)
	}
	return &bucket{dir: abs, sys: realSys}, nil
}

type bucket struct {
	dir string
	sys sysOps
}

var _ driver.Bucket = (*bucket)(nil)

// codedError carries the gcerrors code this driver chose for an error.
type codedError struct {
	code gcerrors.ErrorCode
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func coded(code gcerrors.ErrorCode, format string, a ...any) error {
	return &codedError{code: code, err: fmt.Errorf(format, a...)}
}

// ErrorCode maps the system's errors to gcerrors codes.
func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode {
	var ce *codedError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return gcerrors.Unknown
	}
	switch errno {
	case syscall.ENOENT:
		return gcerrors.NotFound
	case syscall.EEXIST:
		return gcerrors.FailedPrecondition
	case syscall.EACCES, syscall.EPERM, syscall.EROFS:
		return gcerrors.PermissionDenied
	case syscall.ENOSPC, syscall.EDQUOT:
		return gcerrors.ResourceExhausted
	case syscall.ENAMETOOLONG:
		return gcerrors.InvalidArgument
	}
	return gcerrors.Unknown
}

// As exposes nothing: the driver has no underlying client.
func (b *bucket) As(any) bool { return false }

// ErrorAs lets callers reach the *fs.PathError or syscall.Errno inside.
func (b *bucket) ErrorAs(err error, target any) bool { return errors.As(err, target) }

func asNothing(any) bool { return false }

func (b *bucket) Close() error { return nil }

// root opens the root directory for one operation. Resolving every path
// through an *os.Root keeps it inside the directory even through symbolic
// links; opening it per operation reports a root removed after OpenBucket
// as missing instead of writing into a deleted directory.
func (b *bucket) root() (*os.Root, error) {
	r, err := os.OpenRoot(b.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, coded(gcerrors.NotFound, "directory %s does not exist", b.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("localfs: %w", err)
	}
	return r, nil
}

// keyProblem says why a key cannot name a file under the root.
type keyProblem int

const (
	keyOK keyProblem = iota
	// keyEscapes: the key would name a path outside the root.
	keyEscapes
	// keyUnstorable: no file can hold this key without changing it.
	keyUnstorable
)

func checkKey(key string) (keyProblem, string) {
	switch {
	case key == "":
		return keyUnstorable, "empty key"
	case strings.HasPrefix(key, "/"):
		return keyEscapes, "absolute path"
	case strings.IndexByte(key, 0) >= 0:
		return keyEscapes, "NUL byte"
	}
	parts := strings.Split(key, "/")
	for _, c := range parts {
		if c == ".." {
			return keyEscapes, `".." component`
		}
	}
	for _, c := range parts {
		switch {
		case c == "":
			return keyUnstorable, `empty path component ("//" or a trailing "/"), which a directory cannot hold`
		case c == ".":
			return keyUnstorable, `"." component`
		case strings.HasPrefix(c, tmpPrefix):
			return keyUnstorable, fmt.Sprintf("component starting with %q, reserved for files being written", tmpPrefix)
		}
	}
	return keyOK, ""
}

// writeKey refuses every key a file cannot hold.
func writeKey(key string) error {
	if p, why := checkKey(key); p != keyOK {
		return coded(gcerrors.InvalidArgument, "invalid key %q: %s", key, why)
	}
	return nil
}

// readKey refuses keys that leave the root; a key no write can have
// created is simply absent.
func readKey(key string) error {
	switch p, why := checkKey(key); p {
	case keyEscapes:
		return coded(gcerrors.InvalidArgument, "invalid key %q: %s", key, why)
	case keyUnstorable:
		return coded(gcerrors.NotFound, "object %q not found", key)
	}
	return nil
}

// splitKey returns the key's directory ("." for the root) and file name.
func splitKey(key string) (dir, name string) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return ".", key
	}
	return key[:i], key[i+1:]
}

// openObject opens key's file for reading. Anything but a regular file (a
// directory: a prefix of other keys) is not an object.
func (b *bucket) openObject(key string) (*os.File, fs.FileInfo, error) {
	if err := readKey(key); err != nil {
		return nil, nil, err
	}
	r, err := b.root()
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	// O_NONBLOCK: a FIFO left in the directory must not hang the reader.
	f, err := r.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil, coded(gcerrors.NotFound, "object %q not found", key)
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = coded(gcerrors.NotFound, "object %q not found (%s is not a regular file)", key, f.Name())
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

func etag(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size())
}

// Attributes returns the file's size and modification time and the
// attributes and metadata stored in its extended attributes.
func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	f, fi, err := b.openObject(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := readAttrs(b.sys.xattr, f)
	if err != nil {
		return nil, fmt.Errorf("reading the extended attributes of %s: %w", f.Name(), err)
	}
	return &driver.Attributes{
		CacheControl:       a.sys["cache-control"],
		ContentDisposition: a.sys["content-disposition"],
		ContentEncoding:    a.sys["content-encoding"],
		ContentLanguage:    a.sys["content-language"],
		ContentType:        a.contentType(),
		Metadata:           a.metadata,
		ModTime:            fi.ModTime(),
		Size:               fi.Size(),
		ETag:               etag(fi),
		AsFunc:             fileInfoAs(fi),
	}, nil
}

// NewRangeReader reads length bytes (all when negative) from offset.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	f, fi, err := b.openObject(key)
	if err != nil {
		return nil, err
	}
	ct, err := readContentType(b.sys.xattr, f)
	if err == nil && opts.BeforeRead != nil {
		err = opts.BeforeRead(asNothing)
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	var r io.Reader = f
	if length >= 0 {
		r = io.LimitReader(f, length)
	}
	return &reader{r: r, f: f, attrs: driver.ReaderAttributes{
		ContentType: ct,
		ModTime:     fi.ModTime(),
		Size:        fi.Size(),
	}}, nil
}

type reader struct {
	r     io.Reader
	f     *os.File
	attrs driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.r.Read(p) }
func (r *reader) Close() error                         { return r.f.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *reader) As(any) bool                          { return false }

// Delete removes key's file; a directory is not an object and is kept.
func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	return b.inKeyDir(key, func(_ *os.Root, dir *os.File, name string) error {
		if opts.BeforeDelete != nil {
			if err := opts.BeforeDelete(asNothing); err != nil {
				return err
			}
		}
		err := b.sys.unlink(dir, name)
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
			return coded(gcerrors.NotFound, "object %q not found", key)
		}
		if err != nil {
			return &fs.PathError{Op: "unlink", Path: filepath.Join(dir.Name(), name), Err: err}
		}
		// A deletion that a crash undoes would bring an expired backup back.
		if err := b.sys.fsync(dir); err != nil {
			return fmt.Errorf("localfs: fsync %s: %w", dir.Name(), err)
		}
		return nil
	})
}

// Copy is not needed by barman-cloud.
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	return coded(gcerrors.Unimplemented, "localfs: Copy is not implemented")
}

// SignedURL has no meaning for a local directory.
func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return "", coded(gcerrors.Unimplemented, "localfs: SignedURL is not supported")
}
