package localfs

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// renameNoReplace publishes a file where hard links are not supported.
func renameNoReplace(dir *os.File, oldname, newname string) error {
	fd := int(dir.Fd())
	return unix.Renameat2(fd, oldname, fd, newname, unix.RENAME_NOREPLACE)
}

// errNoAttr is getxattr's answer for an attribute that is not set.
var errNoAttr = unix.ENODATA

// ctime is a file's status-change time.
func ctime(st *syscall.Stat_t) time.Time { return time.Unix(st.Ctim.Sec, st.Ctim.Nsec) }
