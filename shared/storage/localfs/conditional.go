package localfs

// Versions, and the operations conditional on them, for barman-cloud's
// rule of one content per WAL name (see storage.Store.DeleteIfVersion).
//
// An object's version is its inode number and status-change time (ctime):
// a new object is a new inode, and Touch moves the ctime. Nothing else this
// package does changes an object's ctime once it is published (extended
// attributes are written before), so a version is stable until someone
// replaces, touches or deletes the object. Delete-if-version and Touch both
// run under an exclusive flock(2) of the key's directory, so one cannot slip
// between the other's check and its change; the only residual window is
// with processes that change files without that lock: a blind rename over
// the key (--overwrite, or a person) between the check and the unlink, whose
// new file would then be removed.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"gocloud.dev/gcerrors"
	"golang.org/x/sys/unix"
)

// Version is the version token of a file an Attributes or listing reported
// (through As(*fs.FileInfo)): its inode number and ctime, "ino.ctime" in
// hexadecimal; "" when the file info has no system stat.
func Version(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(st.Ino), 16) + "." + strconv.FormatInt(ctime(st).UnixNano(), 16)
}

// fileInfoAs exposes fi to As(*fs.FileInfo).
func fileInfoAs(fi fs.FileInfo) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*fs.FileInfo)
		if ok {
			*p = fi
		}
		return ok
	}
}

type committedKey struct{}

// WithCommitted returns a context under which a write that publishes its
// object calls fn with the version it published ("" when another file had
// replaced it by the time it looked).
func WithCommitted(ctx context.Context, fn func(version string)) context.Context {
	return context.WithValue(ctx, committedKey{}, fn)
}

// reportCommitted tells the caller the version of the file w published:
// written is the temporary file's information, taken before it was closed.
func (w *writer) reportCommitted(written fs.FileInfo) {
	fn, ok := w.ctx.Value(committedKey{}).(func(string))
	if !ok {
		return
	}
	v := ""
	if fi, err := w.root.Lstat(w.key); err == nil && written != nil && os.SameFile(fi, written) {
		v = Version(fi)
	}
	fn(v)
}

// errChanged is the answer to a conditional operation on a file that no
// longer has the version named.
func errChanged(key string) error {
	return coded(gcerrors.FailedPrecondition, "object %q was replaced or changed", key)
}

// DeleteVersion removes key in the directory dir only while it has
// version: FailedPrecondition when it has another, NotFound when it is
// gone.
func DeleteVersion(ctx context.Context, dir, key, version string) error {
	b, err := openDriver(dir)
	if err != nil {
		return err
	}
	return b.locked(key, func(r *os.Root, d *os.File, name string) error {
		if err := b.checkVersion(r, key, version); err != nil {
			return err
		}
		if err := b.sys.unlink(d, name); err != nil {
			return &fs.PathError{Op: "unlink", Path: d.Name() + "/" + name, Err: err}
		}
		if err := b.sys.fsync(d); err != nil {
			return fmt.Errorf("localfs: fsync %s: %w", d.Name(), err)
		}
		return nil
	})
}

// Touch sets the user metadata md on key in the directory dir (other
// metadata is kept, the content and modification time too) while it has
// version, which moves its ctime, and returns its new version. Where the
// file system has no extended attributes md is dropped, and the file's
// mode is set to what it is, which moves the ctime too. Either is done as
// many times as the file system's clock needs to move the ctime.
func Touch(ctx context.Context, dir, key, version string, md map[string]string) (string, error) {
	b, err := openDriver(dir)
	if err != nil {
		return "", err
	}
	var nv string
	err = b.locked(key, func(r *os.Root, d *os.File, name string) error {
		if err := b.checkVersion(r, key, version); err != nil {
			return err
		}
		f, fi, err := b.openObject(key)
		if err != nil {
			return err
		}
		defer f.Close()
		for i := 0; ; i++ {
			ok, err := writeAttrs(b.sys.xattr, f, attrs{metadata: md})
			if err == nil && (!ok || len(md) == 0) {
				err = f.Chmod(fi.Mode().Perm())
			}
			if err != nil {
				return err
			}
			if fi, err = f.Stat(); err != nil {
				return err
			}
			if nv = Version(fi); nv != version {
				return nil
			}
			if i == 1000 {
				return fmt.Errorf("localfs: the ctime of %s does not change", f.Name())
			}
			// A coarse file system clock has not ticked yet.
			if err := sleep(ctx, time.Millisecond); err != nil {
				return err
			}
		}
	})
	return nv, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// checkVersion fails unless key is a regular file with version.
func (b *bucket) checkVersion(r *os.Root, key, version string) error {
	fi, err := r.Lstat(key)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return coded(gcerrors.NotFound, "object %q not found", key)
	case err != nil:
		return err
	case !fi.Mode().IsRegular() || Version(fi) != version:
		return errChanged(key)
	}
	return nil
}

// locked runs fn with the key's directory held under an exclusive flock.
func (b *bucket) locked(key string, fn func(r *os.Root, dir *os.File, name string) error) error {
	return b.inKeyDir(key, func(r *os.Root, d *os.File, name string) error {
		fd := int(d.Fd())
		if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
			return fmt.Errorf("localfs: locking %s: %w", d.Name(), err)
		}
		defer unix.Flock(fd, unix.LOCK_UN)
		return fn(r, d, name)
	})
}

// inKeyDir runs fn with the key's directory open: a key whose directory
// does not exist names no object.
func (b *bucket) inKeyDir(key string, fn func(r *os.Root, dir *os.File, name string) error) error {
	if err := readKey(key); err != nil {
		return err
	}
	r, err := b.root()
	if err != nil {
		return err
	}
	defer r.Close()
	dirName, name := splitKey(key)
	d, err := r.Open(dirName)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return coded(gcerrors.NotFound, "object %q not found", key)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(r, d, name)
}

// Code is the gcerrors code of an error of DeleteVersion or Touch, which
// are not reached through a blob.Bucket that would give it.
func Code(err error) gcerrors.ErrorCode {
	return (&bucket{}).ErrorCode(err)
}
