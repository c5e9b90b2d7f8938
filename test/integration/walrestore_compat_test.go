//go:build integration

package integration

import (
	"path/filepath"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// barmanArchive is Debian's Barman 3.4.0 barman-cloud-wal-archive.
const barmanArchive = "/usr/bin/barman-cloud-wal-archive"

// TestWALRestoreFromBarman: WAL files archived by Debian's Barman 3.4.0,
// under every compression it supports (snappy through the PYTHONPATH shim
// testenv/install-barman.sh exports), are restored by ours byte for byte,
// on S3 and on Azure (Barman 3.4.0 cannot reach GCS here: no Python
// client library).
func TestWALRestoreFromBarman(t *testing.T) {
	harness.Env(t, "PYTHONPATH") // the snappy shim
	wals := harness.WALs(t)
	files := []string{wals.Segments[3], wals.Partial, wals.History, wals.Backup}
	for _, p := range oracle.Targets(t)[:2] {
		t.Run(p.Name, func(t *testing.T) {
			for _, c := range []string{"", "--gzip", "--bzip2", "--snappy"} {
				t.Run(rsCompressionName(c), func(t *testing.T) {
					url := p.URL(harness.UniquePrefix(t))
					for _, f := range files {
						args := append(append([]string{}, p.Args...), url, "pg", f)
						if c != "" {
							args = append([]string{c}, args...)
						}
						if r := harness.Run(t, nil, barmanArchive, args...); r.Code != 0 {
							t.Fatalf("Barman archiving %s: exit %d: %s", filepath.Base(f), r.Code, r.Stderr)
						}
					}
					for _, f := range files {
						dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
						r := targets.Run(t, p, "barman-cloud-wal-restore", url, "pg", filepath.Base(f), dest)
						if r.Code != 0 {
							t.Fatalf("restoring %s: exit %d: %s", filepath.Base(f), r.Code, r.Stderr)
						}
						rsAssertRestored(t, f, dest)
					}
				})
			}
		})
	}
}
