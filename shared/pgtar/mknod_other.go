//go:build !linux

package pgtar

import (
	"errors"
	"fmt"
)

// mknodat: macOS has no mknodat or mkfifoat, and a path-based mkfifo
// would not be confined to the destination; PostgreSQL data directories
// hold no FIFOs or devices.
func mknodat(dirfd int, name string, mode uint32, dev uint64) error {
	return fmt.Errorf("FIFO and device members: %w on this platform", errors.ErrUnsupported)
}
