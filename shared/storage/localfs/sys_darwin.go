package localfs

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// renameNoReplace is Linux's renameat2 flag; macOS file systems have hard
// links, which publish files without it.
func renameNoReplace(dir *os.File, oldname, newname string) error {
	return unix.ENOTSUP
}

// errNoAttr is getxattr's answer for an attribute that is not set.
var errNoAttr = unix.ENOATTR

// ctime is a file's status-change time.
func ctime(st *syscall.Stat_t) time.Time { return time.Unix(st.Ctimespec.Sec, st.Ctimespec.Nsec) }
