package localfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"golang.org/x/sys/unix"
)

const walKey = "pg/wals/0000000100000000/000000010000000000000001.gz"

var octet = &blob.WriterOptions{ContentType: defaultContentType}

// newBucket returns a bucket over a fresh directory, with sys applied to
// its system calls.
func newBucket(t *testing.T, change func(*sysOps)) (*blob.Bucket, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "archive")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	drv, err := openDriver(dir)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(&drv.sys)
	}
	b := blob.NewBucket(drv)
	t.Cleanup(func() { b.Close() })
	return b, dir
}

// files lists every file and directory under dir, hidden ones included,
// as relative paths ("d/" for directories).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeys(t *testing.T) {
	const (
		ok   = gcerrors.OK
		inv  = gcerrors.InvalidArgument
		miss = gcerrors.NotFound
	)
	tests := []struct {
		key         string
		write, read gcerrors.ErrorCode // read: after a successful write, OK
	}{
		{walKey, ok, ok},
		{"a", ok, ok},
		{".hidden", ok, ok},
		{"a/.b", ok, ok},
		{"...", ok, ok},
		{"a/..b/c..", ok, ok},
		{`back\slash`, ok, ok},
		{"sp ace/☺/\x01\x1f", ok, ok},
		{".barman-cloud-tmp", ok, ok}, // not the reserved prefix: it lacks the "-"
		// Keys that would leave the root: refused by every operation.
		{"/etc/passwd", inv, inv},
		{"../outside", inv, inv},
		{"a/../../outside", inv, inv},
		{"a/..", inv, inv},
		{"..", inv, inv},
		{"a\x00b", inv, inv},
		{"..//a", inv, inv},
		// Keys no file can hold: refused by writes, absent for reads.
		{"", inv, miss},
		{"a//b", inv, miss},
		{"a/", inv, miss},
		{"a/./b", inv, miss},
		{".", inv, miss},
		{"./a", inv, miss},
		{tmpPrefix + "0123456789abcdef", inv, miss},
		{"a/" + tmpPrefix + "x", inv, miss},
		// The keys of drivertest's TestKeys that unsupportedConformance
		// leaves out.
		{"weird-keys../foo/../bar/../../baz../", inv, inv},                           // dotdotslash
		{"weird-keys\x00\x01\x02\x03\x04\x05\x06\x07\b\t\n\v\f\r\x0e\x0f", inv, inv}, // ascii-1
		{"weird-keysfoo//bar///baz", inv, miss},                                      // repeatedfwdslashes
		{"weird-keys !\"#$%&'()*+,-./", inv, miss},                                   // ascii-3
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.key), func(t *testing.T) {
			b, dir := newBucket(t, nil)
			ctx := context.Background()
			err := b.WriteAll(ctx, tc.key, []byte("x"), octet)
			if got := gcerrors.Code(err); got != tc.write {
				t.Fatalf("WriteAll: code %v (%v), want %v", got, err, tc.write)
			}
			if err != nil && !strings.Contains(err.Error(), "invalid key") {
				t.Errorf("WriteAll error %q does not say the key is invalid", err)
			}
			_, err = b.ReadAll(ctx, tc.key)
			if got := gcerrors.Code(err); got != tc.read {
				t.Errorf("ReadAll: code %v (%v), want %v", got, err, tc.read)
			}
			_, err = b.Attributes(ctx, tc.key)
			if got := gcerrors.Code(err); got != tc.read {
				t.Errorf("Attributes: code %v (%v), want %v", got, err, tc.read)
			}
			err = b.Delete(ctx, tc.key)
			if got := gcerrors.Code(err); got != tc.read {
				t.Errorf("Delete: code %v (%v), want %v", got, err, tc.read)
			}
			// Nothing was created beside the root, and a refused key
			// created nothing at all.
			got := files(t, filepath.Dir(dir))
			for _, f := range got {
				if !strings.HasPrefix(f, "archive/") {
					t.Errorf("a file outside the root: %q", f)
				}
			}
			if tc.write != ok && len(got) != 1 {
				t.Errorf("a refused key left files: %q", got)
			}
		})
	}
}

// TestEmptyComponents shows what becomes of "a//b": it is refused, and it
// never aliases "a/b", which a file system path would make of it.
func TestEmptyComponents(t *testing.T) {
	b, _ := newBucket(t, nil)
	ctx := context.Background()
	err := b.WriteAll(ctx, "a//b", []byte("double"), octet)
	if gcerrors.Code(err) != gcerrors.InvalidArgument || !strings.Contains(err.Error(), "empty path component") {
		t.Fatalf(`WriteAll("a//b") = %v, want InvalidArgument naming the empty path component`, err)
	}
	if err := b.WriteAll(ctx, "a/b", []byte("single"), octet); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadAll(ctx, "a//b"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf(`ReadAll("a//b") = %v, want NotFound (not the content of "a/b")`, err)
	}
	for _, prefix := range []string{"a//", "a//b", "/a"} {
		objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: prefix})
		if err != nil || len(objs) != 0 {
			t.Errorf("List(prefix %q) = %v, %v; want nothing", prefix, objs, err)
		}
	}
	got, err := b.ReadAll(ctx, "a/b")
	if err != nil || string(got) != "single" {
		t.Errorf(`ReadAll("a/b") = %q, %v`, got, err)
	}
}

// TestLayout checks what a write leaves on disk: the object under its key,
// modes from the umask, metadata in extended attributes, nothing else.
func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		umask             int
		fileMode, dirMode fs.FileMode
	}{
		{0o022, 0o644, 0o755},
		{0o077, 0o600, 0o700}, // PostgreSQL's archive_command
	} {
		t.Run(fmt.Sprintf("umask %03o", tc.umask), func(t *testing.T) {
			old := syscall.Umask(tc.umask)
			defer syscall.Umask(old)
			b, dir := newBucket(t, nil)
			ctx := context.Background()
			md := map[string]string{"barman-cloud-sha256": "ab12", "50%": "a\x00b", "a\x00b": "nul"}
			if err := b.WriteAll(ctx, walKey, []byte("wal"), &blob.WriterOptions{ContentType: defaultContentType, Metadata: md}); err != nil {
				t.Fatal(err)
			}
			want := []string{"pg/", "pg/wals/", "pg/wals/0000000100000000/", "pg/wals/0000000100000000/000000010000000000000001.gz"}
			if got := files(t, dir); !slices.Equal(got, want) {
				t.Errorf("files: %q, want %q", got, want)
			}
			p := filepath.Join(dir, walKey)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.fileMode {
				t.Errorf("file mode %v, want %v", fi.Mode().Perm(), tc.fileMode)
			}
			for _, d := range want[:3] {
				if fi, _ := os.Stat(filepath.Join(dir, d)); fi.Mode().Perm() != tc.dirMode {
					t.Errorf("%s: mode %v, want %v", d, fi.Mode().Perm(), tc.dirMode)
				}
			}
			// The attribute names are documented: other tools may read them.
			buf := make([]byte, 100)
			n, err := unix.Getxattr(p, "user.barman-cloud.barman-cloud-sha256", buf)
			if err != nil || string(buf[:n]) != "ab12" {
				t.Errorf("user.barman-cloud.barman-cloud-sha256 = %q, %v", buf[:n], err)
			}
			if _, err := unix.Getxattr(p, "user.barman-cloud.50%25", buf); err != nil {
				t.Errorf("user.barman-cloud.50%%25: %v", err)
			}
			if _, err := unix.Getxattr(p, sysXattrPrefix+contentTypeName, buf); !errors.Is(err, unix.ENODATA) {
				t.Errorf("the default content type was stored (%v)", err)
			}
			a, err := b.Attributes(ctx, walKey)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.Metadata) != fmt.Sprint(md) || a.Size != 3 || a.ContentType != defaultContentType {
				t.Errorf("Attributes: metadata %q size %d type %q", a.Metadata, a.Size, a.ContentType)
			}
		})
	}
}

// noXattr is a file system without user extended attributes.
type noXattr struct{}

func (noXattr) set(*os.File, string, []byte) error   { return unix.ENOTSUP }
func (noXattr) list(*os.File) ([]string, error)      { return nil, unix.ENOTSUP }
func (noXattr) get(*os.File, string) ([]byte, error) { return nil, unix.ENOTSUP }

func TestWithoutExtendedAttributes(t *testing.T) {
	b, dir := newBucket(t, func(s *sysOps) { s.xattr = noXattr{} })
	ctx := context.Background()
	err := b.WriteAll(ctx, "k", []byte("data"), &blob.WriterOptions{
		ContentType: "text/plain", Metadata: map[string]string{"barman-cloud-sha256": "ab12"},
	})
	if err != nil {
		t.Fatalf("a write without extended attributes failed: %v", err)
	}
	a, err := b.Attributes(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if a.Metadata != nil || a.ContentType != defaultContentType || a.Size != 4 {
		t.Errorf("Attributes: metadata %v, type %q, size %d; want none, the default, 4", a.Metadata, a.ContentType, a.Size)
	}
	r, err := b.NewReader(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if r.ContentType() != defaultContentType {
		t.Errorf("reader content type %q", r.ContentType())
	}
	if got := files(t, dir); !slices.Equal(got, []string{"k"}) {
		t.Errorf("files: %q, want only the object", got)
	}
	// The object itself has no attributes either.
	if n, err := unix.Listxattr(filepath.Join(dir, "k"), nil); n != 0 || err != nil {
		t.Errorf("listxattr: %d bytes, %v", n, err)
	}
}

// failXattr fails with an error other than "unsupported".
type failXattr struct{ noXattr }

func (failXattr) set(*os.File, string, []byte) error { return unix.E2BIG }

func TestExtendedAttributeErrorFailsWrite(t *testing.T) {
	b, dir := newBucket(t, func(s *sysOps) { s.xattr = failXattr{} })
	err := b.WriteAll(context.Background(), "k", []byte("data"), &blob.WriterOptions{
		ContentType: defaultContentType, Metadata: map[string]string{"a": "b"},
	})
	if !errors.Is(err, unix.E2BIG) {
		t.Errorf("WriteAll = %v, want E2BIG", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files: %q, want none", got)
	}
}

func TestIfNotExist(t *testing.T) {
	for _, tc := range []struct {
		name string
		sys  func(*sysOps)
	}{
		{"link", nil},
		{"no hard links: renameat2", func(s *sysOps) {
			s.link = func(*os.File, string, string) error { return unix.EPERM }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, dir := newBucket(t, tc.sys)
			ctx := context.Background()
			opts := &blob.WriterOptions{ContentType: defaultContentType, IfNotExist: true}
			if err := b.WriteAll(ctx, walKey, []byte("first"), opts); err != nil {
				t.Fatal(err)
			}
			err := b.WriteAll(ctx, walKey, []byte("second"), opts)
			if gcerrors.Code(err) != gcerrors.FailedPrecondition {
				t.Errorf("second conditional write: %v, want FailedPrecondition", err)
			}
			if got, _ := b.ReadAll(ctx, walKey); string(got) != "first" {
				t.Errorf("content %q, want the first", got)
			}
			// An unconditional write replaces the object.
			if err := b.WriteAll(ctx, walKey, []byte("third"), octet); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.ReadAll(ctx, walKey); string(got) != "third" {
				t.Errorf("content %q, want the third", got)
			}
			if got := files(t, filepath.Join(dir, filepath.Dir(walKey))); !slices.Equal(got, []string{filepath.Base(walKey)}) {
				t.Errorf("files: %q", got)
			}
		})
	}
	t.Run("neither link nor renameat2", func(t *testing.T) {
		b, dir := newBucket(t, func(s *sysOps) {
			s.link = func(*os.File, string, string) error { return unix.EPERM }
			s.renameNoReplace = func(*os.File, string, string) error { return unix.EINVAL }
		})
		err := b.WriteAll(context.Background(), "k", []byte("x"), &blob.WriterOptions{ContentType: defaultContentType, IfNotExist: true})
		if gcerrors.Code(err) != gcerrors.Unimplemented {
			t.Errorf("WriteAll = %v, want Unimplemented", err)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("files: %q, want none", got)
		}
	})
}

// TestObjectsAndDirectories: a directory store cannot hold "a" and "a/b".
func TestObjectsAndDirectories(t *testing.T) {
	ctx := context.Background()
	for _, ifNotExist := range []bool{false, true} {
		b, _ := newBucket(t, nil)
		opts := &blob.WriterOptions{ContentType: defaultContentType, IfNotExist: ifNotExist}
		if err := b.WriteAll(ctx, "a/b", []byte("x"), opts); err != nil {
			t.Fatal(err)
		}
		err := b.WriteAll(ctx, "a", []byte("x"), opts)
		if gcerrors.Code(err) != gcerrors.InvalidArgument || !strings.Contains(err.Error(), "directory") {
			t.Errorf("IfNotExist %v: writing over a directory: %v, want InvalidArgument", ifNotExist, err)
		}
		if err := b.WriteAll(ctx, "c", []byte("x"), opts); err != nil {
			t.Fatal(err)
		}
		err = b.WriteAll(ctx, "c/d/e", []byte("x"), opts)
		if gcerrors.Code(err) != gcerrors.InvalidArgument || !strings.Contains(err.Error(), `"c" is an object`) {
			t.Errorf("IfNotExist %v: writing under an object: %v, want InvalidArgument", ifNotExist, err)
		}
		for _, key := range []string{"a", "c/d"} {
			if _, err := b.ReadAll(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
				t.Errorf("ReadAll(%q) = %v, want NotFound", key, err)
			}
			if err := b.Delete(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
				t.Errorf("Delete(%q) = %v, want NotFound", key, err)
			}
		}
	}
}

// failingReader returns n bytes, then an error.
type failingReader struct{ n int }

var errSource = errors.New("source failed")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errSource
	}
	n := min(len(p), r.n)
	clear(p[:n])
	r.n -= n
	return n, nil
}

// TestFailedWriteLeavesNothing: a source error, a cancelled context or a
// failing fsync before the object is published leave no object and no
// temporary file, and keep an object being replaced.
func TestFailedWriteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		sys   func(*sysOps)
		write func(b *blob.Bucket, key string) error
		want  error
	}{
		{"source error in Upload", nil, func(b *blob.Bucket, key string) error {
			return b.Upload(ctx, key, &failingReader{n: 1 << 20}, octet)
		}, errSource},
		{"source error in Upload, conditional", nil, func(b *blob.Bucket, key string) error {
			return b.Upload(ctx, key, &failingReader{n: 1 << 20}, &blob.WriterOptions{ContentType: defaultContentType, IfNotExist: true})
		}, errSource},
		{"context cancelled before Close", nil, func(b *blob.Bucket, key string) error {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			w, err := b.NewWriter(cctx, key, octet)
			if err != nil {
				return err
			}
			if _, err := w.Write(make([]byte, 1<<20)); err != nil {
				return err
			}
			cancel()
			return w.Close()
		}, context.Canceled},
		{"context cancelled during Upload", nil, func(b *blob.Bucket, key string) error {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			return b.Upload(cctx, key, readerFunc(func(p []byte) (int, error) {
				cancel()
				return len(p), nil
			}), octet)
		}, context.Canceled},
		{"fsync fails", func(s *sysOps) {
			s.fsync = func(*os.File) error { return syscall.EIO }
		}, func(b *blob.Bucket, key string) error {
			return b.WriteAll(ctx, key, []byte("data"), octet)
		}, syscall.EIO},
	}
	for _, tc := range tests {
		for _, existed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, existed %v", tc.name, existed), func(t *testing.T) {
				b, dir := newBucket(t, nil)
				want := []string(nil)
				if existed {
					if err := b.WriteAll(ctx, walKey, []byte("old"), octet); err != nil {
						t.Fatal(err)
					}
				}
				want = files(t, dir)
				if tc.sys != nil {
					drv, _ := openDriver(dir)
					tc.sys(&drv.sys)
					b = blob.NewBucket(drv)
					defer b.Close()
				}
				if err := tc.write(b, walKey); !errors.Is(err, tc.want) {
					t.Fatalf("write: %v, want %v", err, tc.want)
				}
				got, err := b.ReadAll(ctx, walKey)
				if existed && string(got) != "old" {
					t.Errorf("the old object was changed: %q, %v", got, err)
				}
				if !existed && gcerrors.Code(err) != gcerrors.NotFound {
					t.Errorf("ReadAll = %d bytes, %v; want NotFound", len(got), err)
				}
				// Directories created for the key may stay: they are not
				// listed, and removing them would race with other writers.
				if got := nonDirs(files(t, dir)); !slices.Equal(got, nonDirs(want)) {
					t.Errorf("files: %q, want %q", got, nonDirs(want))
				}
			})
		}
	}
}

func nonDirs(paths []string) []string {
	return slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return strings.HasSuffix(p, "/") })
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestWriteInProgressIsHidden: until Close, the temporary file is on disk
// but neither listed nor readable, and the old object (if any) stays.
func TestWriteInProgressIsHidden(t *testing.T) {
	b, dir := newBucket(t, nil)
	ctx := context.Background()
	w, err := b.NewWriter(ctx, walKey, octet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	all := files(t, dir)
	tmp := all[len(all)-1]
	if !strings.HasPrefix(filepath.Base(tmp), tmpPrefix) || filepath.Dir(tmp) != filepath.Dir(walKey) {
		t.Fatalf("files during the write: %q; want a temporary file beside the key", all)
	}
	for _, delim := range []string{"", "/"} {
		objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Delimiter: delim})
		if err != nil || len(objs) != 0 {
			t.Errorf("List(delimiter %q) during the write = %v, %v; want nothing", delim, objs, err)
		}
	}
	if _, err := b.ReadAll(ctx, tmp); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("reading the temporary file by name: %v, want NotFound", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); got[len(got)-1] != walKey {
		t.Errorf("files after Close: %q", got)
	}
}

// TestDurability checks the order of flushes: the data before the name is
// published, then the directories that hold the name, up to the root.
func TestDurability(t *testing.T) {
	for _, ifNotExist := range []bool{true, false} {
		t.Run(fmt.Sprintf("IfNotExist %v", ifNotExist), func(t *testing.T) {
			var events []string
			var root string
			rel := func(f *os.File) string {
				r, _ := filepath.Rel(root, f.Name())
				if strings.HasPrefix(filepath.Base(r), tmpPrefix) {
					return filepath.Join(filepath.Dir(r), "TMP")
				}
				return r
			}
			b, dir := newBucket(t, func(s *sysOps) {
				link, rename := s.link, s.rename
				s.fsync = func(f *os.File) error {
					events = append(events, "fsync "+rel(f))
					return f.Sync()
				}
				s.link = func(d *os.File, o, n string) error {
					events = append(events, "link "+rel(d)+"/"+n)
					return link(d, o, n)
				}
				s.rename = func(d *os.File, o, n string) error {
					events = append(events, "rename "+rel(d)+"/"+n)
					return rename(d, o, n)
				}
			})
			root = dir
			err := b.WriteAll(context.Background(), walKey, []byte("wal"), &blob.WriterOptions{ContentType: defaultContentType, IfNotExist: ifNotExist})
			if err != nil {
				t.Fatal(err)
			}
			publish := "rename pg/wals/0000000100000000/000000010000000000000001.gz"
			if ifNotExist {
				publish = "link pg/wals/0000000100000000/000000010000000000000001.gz"
			}
			want := []string{
				"fsync pg/wals/0000000100000000/TMP",
				publish,
				"fsync pg/wals/0000000100000000",
				"fsync pg/wals",
				"fsync pg",
				"fsync .",
			}
			if !slices.Equal(events, want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestMissingRoot(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "missing")
	b, err := OpenBucket(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	checks := map[string]error{
		"WriteAll": b.WriteAll(ctx, walKey, []byte("x"), octet),
		"ReadAll":  func() error { _, err := b.ReadAll(ctx, walKey); return err }(),
		"List":     func() error { _, _, err := b.ListPage(ctx, blob.FirstPageToken, 1, nil); return err }(),
		"Delete":   b.Delete(ctx, walKey),
	}
	for op, err := range checks {
		if gcerrors.Code(err) != gcerrors.NotFound {
			t.Errorf("%s: %v, want NotFound", op, err)
		}
	}
	if ok, err := b.IsAccessible(ctx); ok || err != nil {
		t.Errorf("IsAccessible = %v, %v", ok, err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the root was created: %v", err)
	}
	// A root removed while a write is under way is not recreated either.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := b.NewWriter(ctx, "a/b", octet)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Close in a removed directory: %v, want NotFound", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the root was created: %v", err)
	}
}

func TestErrorCode(t *testing.T) {
	drv, _ := openDriver(t.TempDir())
	pe := func(errno syscall.Errno) error { return &fs.PathError{Op: "open", Path: "x", Err: errno} }
	tests := []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{pe(syscall.ENOENT), gcerrors.NotFound},
		{pe(syscall.EEXIST), gcerrors.FailedPrecondition},
		{pe(syscall.EACCES), gcerrors.PermissionDenied},
		{pe(syscall.EPERM), gcerrors.PermissionDenied},
		{pe(syscall.EROFS), gcerrors.PermissionDenied},
		{pe(syscall.ENOSPC), gcerrors.ResourceExhausted},
		{pe(syscall.ENAMETOOLONG), gcerrors.InvalidArgument},
		{pe(syscall.EIO), gcerrors.Unknown},
		{fmt.Errorf("wrapped: %w", syscall.EEXIST), gcerrors.FailedPrecondition},
		{fmt.Errorf("x: %w", context.Canceled), gcerrors.Canceled},
		{coded(gcerrors.Unimplemented, "no"), gcerrors.Unimplemented},
		{errors.New("other"), gcerrors.Unknown},
	}
	for _, tc := range tests {
		if got := drv.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	b, dir := newBucket(t, nil)
	ctx := context.Background()
	content := []byte("0123456789")
	if err := b.WriteAll(ctx, "d/k", content, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key            string
		offset, length int64
		want           string
		code           gcerrors.ErrorCode
	}{
		{"d/k", 0, -1, "0123456789", gcerrors.OK},
		{"d/k", 3, 4, "3456", gcerrors.OK},
		{"d/k", 8, 10, "89", gcerrors.OK},
		{"d/k", 20, -1, "", gcerrors.OK},
		{"d", 0, -1, "", gcerrors.NotFound},     // a directory
		{"d/k/x", 0, -1, "", gcerrors.NotFound}, // under an object
		{"fifo", 0, -1, "", gcerrors.NotFound},  // not a regular file; must not block
		{"nope", 0, -1, "", gcerrors.NotFound},
	}
	for _, tc := range tests {
		r, err := b.NewRangeReader(ctx, tc.key, tc.offset, tc.length, nil)
		if gcerrors.Code(err) != tc.code {
			t.Errorf("NewRangeReader(%q, %d, %d): %v, want %v", tc.key, tc.offset, tc.length, err, tc.code)
			continue
		}
		if err != nil {
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != tc.want {
			t.Errorf("NewRangeReader(%q, %d, %d) read %q, %v; want %q", tc.key, tc.offset, tc.length, got, err, tc.want)
		}
		if r.Size() != int64(len(content)) || r.ContentType() != "text/plain" {
			t.Errorf("reader size %d type %q", r.Size(), r.ContentType())
		}
	}
}
