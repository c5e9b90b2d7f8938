// Package catalogtest stores the spec's backup catalog C (§11.1,
// backupinfotest.CatalogC) in a store, for the tests of the tools that
// list, show, keep, delete and restore backups.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package catalogtest

import (
	"context"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// Put stores data at key.
func Put(t testing.TB, s *storage.Store, key, data string) {
	t.Helper()
	if err := s.Upload(context.Background(), key, strings.NewReader(data), int64(len(data)), storage.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
}

// FixtureC writes catalog C for server into s: every backup's backup.info
// and a data.tar.gz, and the keep annotations as Barman writes them.
func FixtureC(t testing.TB, s *storage.Store, server string) {
	t.Helper()
	base := wal.PyJoin(s.Loc.Prefix, server, "base")
	for _, b := range backupinfotest.CatalogC() {
		Put(t, s, wal.PyJoin(base, b.ID, "backup.info"), string(b.Info))
		Put(t, s, wal.PyJoin(base, b.ID, "data.tar.gz"), "tar")
		if b.Keep != "" {
			Put(t, s, retention.AnnotationKey(s.Loc.Prefix, server, b.ID), b.Keep)
		}
	}
}

// FileStore opens a new file:// store in a temporary directory and returns
// it with its URL; it is closed when the test ends.
func FileStore(t testing.TB) (*storage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), storage.Location{Provider: storage.File, Bucket: dir}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, "file://" + dir
}

// WALKeysC are the WAL objects of catalog C (§11.1), relative to WALS/.
var WALKeysC = []string{
	"0000000100000000/000000010000000000000001.gz",
	"0000000100000000/000000010000000000000002.gz",
	"0000000100000000/000000010000000000000002.00000028.backup.gz",
	"0000000100000000/000000010000000000000003.gz",
	"0000000100000000/000000010000000000000010.gz",
	"0000000100000000/000000010000000000000011.gz",
	"0000000100000000/000000010000000000000012.gz",
	"0000000100000000/000000010000000000000030.gz",
	"0000000100000000/garbage.txt",
	"0000000100000001/000000010000000100000005.gz",
	"0000000100000001/000000010000000100000006.partial",
	"0000000200000001/000000020000000100000010.gz",
	"00000002.history.gz",
}

// FixtureCWALs writes the WAL objects of catalog C for server into s.
func FixtureCWALs(t testing.TB, s *storage.Store, server string) {
	t.Helper()
	for _, k := range WALKeysC {
		Put(t, s, wal.WalsDir(s.Loc.Prefix, server)+k, "wal")
	}
}
