//go:build integration

package integration

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// TestWALRestoreUnchecksummed restores, on each server, objects that carry
// no recorded SHA-256 (as Barman writes them), stored under the name of a
// real segment: what is not that segment is refused (exit 4, nothing at
// WAL_DEST) whatever its compression, and an object Barman's own
// barman-cloud-wal-archive wrote (S3, Azure; on GCS, for which Debian's
// Barman has no client, one stored the same way) is restored byte for
// byte, saying at INFO what it checked instead of a checksum.
func TestWALRestoreUnchecksummed(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[5]
	base := filepath.Base(seg)
	good := waRead(t, seg)
	higher := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(higher[4:], 2) // xlp_tli: timeline 2
	bad := []struct {
		name, msg string
		data      []byte
	}{
		{"truncated by 1 MiB", "is not a WAL segment size", good[:len(good)-1<<20]},
		{"another segment's bytes", "the file holds another segment", waRead(t, wals.Segments[6])},
		{"a higher timeline's segment", "the header names timeline 2, the file name timeline 1", higher},
	}
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			for _, b := range bad {
				for _, alg := range []*compress.Algorithm{nil, compress.Gzip} {
					prefix := harness.UniquePrefix(t)
					ext, data := "", b.data
					if alg != nil {
						ext, data = alg.Ext, waCompress(t, alg, b.data)
					}
					rsPut(t, p, prefix, waKey(prefix, base, ext), data)
					dir := t.TempDir()
					r := targets.Run(t, p, "barman-cloud-wal-restore", p.URL(prefix), "pg", base, filepath.Join(dir, "RECOVERYXLOG"))
					if r.Code != 4 || !strings.Contains(r.Stderr, b.msg) || !strings.Contains(r.Stderr, "nothing restored") {
						t.Errorf("%s%s: exit %d, want 4 saying %q:\n%s", b.name, ext, r.Code, b.msg, r.Stderr)
					}
					rsAssertEmpty(t, dir)
				}
			}

			prefix := harness.UniquePrefix(t)
			if p.Name == "gcs" {
				rsPut(t, p, prefix, waKey(prefix, base, ".gz"), waCompress(t, compress.Gzip, good))
			} else {
				tg := map[string]oracle.Target{"s3": oracle.S3(t), "azure": oracle.Azure(t)}[p.Name]
				if r := waBarman(t, tg, waBarmanArchive, "--gzip", tg.URL(prefix), "pg", seg); r.Code != 0 {
					t.Fatalf("Barman's archive: exit %d\n%s", r.Code, r.Stderr)
				}
				if o := waObjects(t, tg, prefix, waKey(prefix, base, ".gz"))[waKey(prefix, base, ".gz")]; o.Metadata[waChecksumKey(tg)] != "" {
					t.Fatalf("Barman's object records a checksum: %v", o.Metadata)
				}
			}
			dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
			r := targets.Run(t, p, "barman-cloud-wal-restore", "-v", p.URL(prefix), "pg", base, dest)
			if r.Code != 0 {
				t.Fatalf("Barman's object: exit %d\n%s", r.Code, r.Stderr)
			}
			rsAssertRestored(t, seg, dest)
			if !strings.Contains(r.Stderr, "has no recorded sha256 (archived by Barman?): checked its size and page header instead") {
				t.Errorf("no INFO line about the missing checksum:\n%s", r.Stderr)
			}
		})
	}
}

// waCompress is data compressed with alg.
func waCompress(t *testing.T, alg *compress.Algorithm, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := alg.NewWriter(&buf, compress.Medium)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}
