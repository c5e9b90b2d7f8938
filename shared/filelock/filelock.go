// Package filelock is advisory locking of files between processes
// (flock(2)): the kernel releases a lock when its holder dies, so a lock
// left by a killed process never has to be guessed stale.
//
// A lock file may be removed by its holder when it is done (Lock.Release),
// so that a directory of per-item locks does not grow: a process that
// opened the file before it was removed would then lock an inode no longer
// reachable by its name, so Acquire and TryAcquire lock only the file that
// is under the name when they hold the lock, and try again otherwise.
package filelock

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Lock is a held exclusive lock on the file at Path.
type Lock struct {
	Path string
	f    *os.File
}

// File is the open lock file, for a holder that writes into it what it
// is doing (the lock does not cover the content).
func (l *Lock) File() *os.File { return l.f }

// ErrHeld is TryAcquire's answer when another process holds the lock.
var ErrHeld = errors.New("the lock is held by another process")

// TryAcquire takes the exclusive lock on path (created if missing)
// without waiting, or returns ErrHeld.
func TryAcquire(path string) (*Lock, error) {
	return acquire(context.Background(), path, false)
}

// Acquire takes the exclusive lock on path (created if missing), waiting
// while another process holds it, until ctx ends.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, true)
}

func acquire(ctx context.Context, path string, wait bool) (*Lock, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := flock(ctx, f, wait); err != nil {
			if ctx.Err() == nil {
				f.Close()
			}
			// Else a goroutine may still be waiting on f's descriptor: it
			// is left open, so that its number cannot be reused for another
			// file the wait would then lock.
			return nil, err
		}
		if same(f, path) {
			return &Lock{Path: path, f: f}, nil
		}
		// Removed (or replaced) by the holder we waited for: lock the file
		// now under the name.
		f.Close()
	}
}

func flock(ctx context.Context, f *os.File, wait bool) error {
	if !wait {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return ErrHeld
		}
		return err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
		return nil
	}
	// A blocking flock cannot be interrupted by ctx: it waits in a
	// goroutine, which a cancelled caller leaves behind with the file
	// open (acquire); the process is ending then.
	done := make(chan error, 1)
	fd := int(f.Fd())
	go func() { done <- unix.Flock(fd, unix.LOCK_EX) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// same reports whether the open file f is the file now at path.
func same(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// Release removes the lock file and releases the lock, in that order: a
// waiter that opened the file before it was removed finds, once it holds
// the lock, that the name is no longer its file.
func (l *Lock) Release() error {
	err := os.Remove(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Unlock releases the lock and keeps the file.
func (l *Lock) Unlock() error { return l.f.Close() }

// Held reports whether a process holds the lock on path now (false when
// there is no such file).
func Held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
