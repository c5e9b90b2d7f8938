package pgtar

import "golang.org/x/sys/unix"

// mknodat makes a FIFO or device file in the directory dirfd.
func mknodat(dirfd int, name string, mode uint32, dev uint64) error {
	return unix.Mknodat(dirfd, name, mode, int(dev))
}
