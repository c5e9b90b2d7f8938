//go:build integration

package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// Debian's Barman 3.4.0 client, installed by testenv/install-barman.sh.
const (
	waBarmanArchive = "/usr/bin/barman-cloud-wal-archive"
	waBarmanRestore = "/usr/bin/barman-cloud-wal-restore"
)

// waBarman runs one of Barman's tools against tg (S3 or Azure: Debian
// has no google-cloud-storage module for Python). Its snappy support needs
// install-barman.sh's shim on PYTHONPATH, which testenv.sh exports.
func waBarman(t *testing.T, tg oracle.Target, tool string, args ...string) harness.Result {
	t.Helper()
	if !strings.Contains(os.Getenv("PYTHONPATH"), "pyshim") {
		t.Fatalf("PYTHONPATH (%q) lacks install-barman.sh's snappy shim", os.Getenv("PYTHONPATH"))
	}
	return waRun(t, nil, tool, append(append([]string{}, tg.Args...), args...)...)
}

// TestCompatBarmanRestore: what our wal-archive stores, Barman 3.4.0's
// barman-cloud-wal-restore restores byte for byte, with every compression
// 3.4.0 reads (it knows only .gz, .bz2 and .snappy, spec §5.4), on S3 and
// Azure, for a segment, a history file and a partial segment (which
// PostgreSQL asks for by its segment name).
func TestCompatBarmanRestore(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	partialSeg := strings.TrimSuffix(filepath.Base(wals.Partial), ".partial")
	if filepath.Base(seg) == partialSeg {
		t.Fatalf("%s is also the partial segment: pick another segment", seg)
	}
	restores := []struct{ name, want string }{
		{filepath.Base(seg), seg},
		{filepath.Base(wals.History), wals.History},
		{partialSeg, wals.Partial},
	}
	for _, tg := range []oracle.Target{oracle.S3(t), oracle.Azure(t)} {
		for _, comp := range []string{"none", "gzip", "bzip2", "snappy"} {
			t.Run(tg.Name+"/"+comp, func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				c := oracle.CompressionNamed(comp)
				for _, f := range []string{seg, wals.History, wals.Partial} {
					waMustArchive(t, tg, append(c.Args(), tg.URL(prefix), "pg", f)...)
				}
				for _, r := range restores {
					dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
					res := waBarman(t, tg, waBarmanRestore, tg.URL(prefix), "pg", r.name, dest)
					if res.Code != 0 {
						t.Errorf("Barman's restore of %s: exit %d\n%s", r.name, res.Code, res.Stderr)
						continue
					}
					if got, want := waRead(t, dest), waRead(t, r.want); !bytes.Equal(got, want) {
						t.Errorf("Barman restored %s as %d bytes that differ from the %d bytes of %s", r.name, len(got), len(want), r.want)
					}
				}
			})
		}
	}
}

// TestCompatBarmanArchived: a WAL Barman 3.4.0 archived (gzip, no checksum
// metadata) counts for our wal-archive's rule of one content per WAL name:
// a file with the same name and other content, under another compression
// (or none), fails with exit 1 and leaves nothing of its own; the same
// file succeeds and leaves a second copy beside Barman's. Barman's object
// is never touched. The comparisons have to decompress Barman's object: it
// carries no digest. Our wal-restore then serves the first copy stored,
// and warns that the others could not be compared without a checksum.
func TestCompatBarmanArchived(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	base := filepath.Base(seg)
	variant := waVariant(t, seg, t.TempDir(), 3)
	for _, tg := range []oracle.Target{oracle.S3(t), oracle.Azure(t)} {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			if r := waBarman(t, tg, waBarmanArchive, "--gzip", tg.URL(prefix), "pg", seg); r.Code != 0 {
				t.Fatalf("Barman's archive: exit %d\n%s", r.Code, r.Stderr)
			}
			key := waKey(prefix, base, ".gz")
			barman := waObjects(t, tg, prefix, key)[key]
			if _, ok := barman.Metadata[waChecksumKey(tg)]; ok {
				t.Fatalf("Barman's object has our checksum metadata: %v", barman.Metadata)
			}
			barmanData := barman.Data(t)
			keys := []string{key}
			for _, comp := range []string{"none", "bzip2"} {
				c := oracle.CompressionNamed(comp)
				r := waArchive(t, tg, nil, append(c.Args(), tg.URL(prefix), "pg", variant)...)
				waWantFailure(t, r, 1, "with different content", "refusing to overwrite")
				waObjects(t, tg, prefix, keys...)

				r = waArchive(t, tg, nil, append(c.Args(), tg.URL(prefix), "pg", seg)...)
				if r.Code != 0 || r.Stderr != "" {
					t.Errorf("same WAL, %s: exit %d\n%s", comp, r.Code, r.Stderr)
				}
				keys = append(keys, waKey(prefix, base, c.Suffix))
				objs := waObjects(t, tg, prefix, keys...)
				if o := objs[key]; o.ETag != barman.ETag || !bytes.Equal(o.Data(t), barmanData) {
					t.Errorf("%s: Barman's object changed (ETag %s, was %s)", comp, o.ETag, barman.ETag)
				}
				waCheckObject(t, tg, objs[waKey(prefix, base, c.Suffix)], c, waRead(t, seg))
			}
			dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
			r := waRun(t, nil, harness.Tool(t, "barman-cloud-wal-restore"), append(append([]string{}, tg.Args...), tg.URL(prefix), "pg", base, dest)...)
			if r.Code != 0 || !bytes.Equal(waRead(t, dest), waRead(t, seg)) {
				t.Fatalf("restore: exit %d\n%s", r.Code, r.Stderr)
			}
			// Barman's copy was stored first, but Azure dates objects to the
			// second: within one, the first name (ours, uncompressed) goes first.
			if !strings.Contains(r.Stderr, "the copy the storage recorded first") || !strings.Contains(r.Stderr, "cannot be compared") {
				t.Errorf("restore: stderr\n%s", r.Stderr)
			}
		})
	}
}
