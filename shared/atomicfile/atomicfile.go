// Package atomicfile writes and moves small local files so that a crash
// (a kill, a power loss) at any moment leaves either the old state or the
// new one, complete, never a torn file: write to a temporary name in the
// same directory, flush it, rename it, flush the directory.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// TempMarker is part of every temporary file's name (".NAME" + TempMarker
// + 12 hex digits), so that one left by a killed process can be
// recognised and removed by RemoveStaleTemps.
const TempMarker = ".atomic-tmp-"

// WriteFile writes data to path atomically and durably: when it returns
// nil, path holds data and survives a crash; when it fails, or the process
// dies half-way, path is untouched (a temporary file may be left behind,
// for RemoveStaleTemps).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, tmp, err := CreateTemp(dir, base, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("flushing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	return Rename(tmp, path)
}

// CreateTemp creates a new temporary file for base in dir, named so that
// RemoveStaleTemps recognises it.
func CreateTemp(dir, base string, perm fs.FileMode) (*os.File, string, error) {
	for tries := 0; ; tries++ {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, "", err
		}
		tmp := filepath.Join(dir, "."+base+TempMarker+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) && tries < 100 {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("creating a temporary file in %s: %w", dir, err)
		}
		return f, tmp, nil
	}
}

// Rename renames from to to and flushes the directory of to (and of from,
// when it differs), so the rename survives a crash. Both must be on one
// file system. The file itself must already be flushed.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(to)); err != nil {
		return fmt.Errorf("flushing the directory of %s: %w", to, err)
	}
	if filepath.Dir(from) != filepath.Dir(to) {
		if err := SyncDir(filepath.Dir(from)); err != nil {
			return fmt.Errorf("flushing the directory of %s: %w", from, err)
		}
	}
	return nil
}

// Remove removes path and flushes its directory; a missing path is no
// error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir flushes a directory, making the creations, renames and removals
// in it durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	err = f.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		// The file system cannot sync a directory (some network and FUSE
		// file systems): the rename is as durable as it can make it.
		return nil
	}
	return err
}

// IsTemp reports whether name is a temporary name CreateTemp makes.
func IsTemp(name string) bool {
	i := strings.LastIndex(name, TempMarker)
	if !strings.HasPrefix(name, ".") || i < 1 {
		return false
	}
	suffix := name[i+len(TempMarker):]
	if len(suffix) != 12 {
		return false
	}
	for _, c := range suffix {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// RemoveStaleTemps removes the temporary files in dir that are older than
// age (a younger one may still be being written): those of processes
// killed before they could rename or remove them. It returns the names
// removed.
func RemoveStaleTemps(dir string, age time.Duration) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !IsTemp(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed
}
