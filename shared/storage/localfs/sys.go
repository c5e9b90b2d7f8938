package localfs

import (
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// sysOps are the system calls whose effects tests must observe or replace:
// durability (fsync) and the file system's abilities (hard links, extended
// attributes) cannot be checked from the outside or varied on one machine.
type sysOps struct {
	// fsync flushes a file or a directory.
	fsync func(f *os.File) error
	// link, rename, renameNoReplace and unlink act on names in dir, which
	// keeps them inside the directory the root resolved.
	link            func(dir *os.File, oldname, newname string) error
	rename          func(dir *os.File, oldname, newname string) error
	renameNoReplace func(dir *os.File, oldname, newname string) error
	unlink          func(dir *os.File, name string) error
	xattr           xattrOps
}

// xattrOps reads and writes extended attributes of an open file. Each
// returns unix.ENOTSUP where the file system has none.
type xattrOps interface {
	set(f *os.File, name string, value []byte) error
	list(f *os.File) ([]string, error)
	get(f *os.File, name string) ([]byte, error)
}

var realSys = sysOps{
	fsync: (*os.File).Sync,
	link: func(dir *os.File, oldname, newname string) error {
		fd := int(dir.Fd())
		return unix.Linkat(fd, oldname, fd, newname, 0)
	},
	rename: func(dir *os.File, oldname, newname string) error {
		fd := int(dir.Fd())
		return unix.Renameat(fd, oldname, fd, newname)
	},
	renameNoReplace: renameNoReplace,
	unlink: func(dir *os.File, name string) error {
		return unix.Unlinkat(int(dir.Fd()), name, 0)
	},
	xattr: realXattr{},
}

type realXattr struct{}

func (realXattr) set(f *os.File, name string, value []byte) error {
	return unix.Fsetxattr(int(f.Fd()), name, value, 0)
}

func (realXattr) list(f *os.File) ([]string, error) {
	fd := int(f.Fd())
	for {
		n, err := unix.Flistxattr(fd, nil)
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = unix.Flistxattr(fd, buf)
		if errors.Is(err, unix.ERANGE) {
			continue // an attribute was added meanwhile
		}
		if err != nil {
			return nil, err
		}
		return strings.Split(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00"), nil
	}
}

func (realXattr) get(f *os.File, name string) ([]byte, error) {
	fd := int(f.Fd())
	for {
		n, err := unix.Fgetxattr(fd, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = unix.Fgetxattr(fd, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// unsupported reports whether err means the file system lacks the feature
// asked for (hard links, extended attributes, renameat2 flags).
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.ENOSYS)
}
