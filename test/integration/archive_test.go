//go:build integration

package integration

import (
	"path/filepath"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// TestArchiveProviderCompression archives a real segment, .history,
// .backup and .partial file to each provider with each compression, then
// fetches every object with the provider's own client (boto3, the Azure
// SDK for Python, curl on the GCS JSON API) and decodes it with Debian's
// decoders: each must be at Barman's key and give back the file's bytes.
func TestArchiveProviderCompression(t *testing.T) {
	wals := harness.WALs(t)
	files := []string{wals.Segments[1], wals.History, wals.Backup, wals.Partial}
	for _, tg := range oracle.Targets(t) {
		for _, c := range oracle.Compressions {
			t.Run(tg.Name+"/"+c.Label(), func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				var keys []string
				want := map[string][]byte{}
				for _, f := range files {
					waMustArchive(t, tg, append(c.Args(), tg.URL(prefix), "pg", f)...)
					k := waKey(prefix, filepath.Base(f), c.Suffix)
					keys = append(keys, k)
					want[k] = waRead(t, f)
				}
				for k, o := range waObjects(t, tg, prefix, keys...) {
					waCheckObject(t, tg, o, c, want[k])
				}
			})
		}
	}
}

// TestArchiveKeyLayout checks the parts of Barman's key construction
// (spec §3.1, §3.4, §8.2) that the names of real WAL files do not reach:
// a lower-case segment name (the hash directory is upper-cased, the name
// kept) and a URL whose path ends with "/" (kept by S3 and Azure, stripped
// by GCS: either way one "/" between prefix and server).
func TestArchiveKeyLayout(t *testing.T) {
	wals := harness.WALs(t)
	dir := t.TempDir()
	lower := waRelocate(t, wals.Segments[0], dir, "000000010000000a000000ff")
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			waMustArchive(t, tg, "--zstd", tg.URL(prefix)+"/", "pg", lower)
			waMustArchive(t, tg, tg.URL(prefix)+"/", "pg", wals.History)
			objs := waObjects(t, tg, prefix,
				prefix+"/pg/wals/000000010000000A/000000010000000a000000ff.zst",
				prefix+"/pg/wals/00000002.history")
			zstd := oracle.CompressionNamed("zstd")
			waCheckObject(t, tg, objs[prefix+"/pg/wals/000000010000000A/000000010000000a000000ff.zst"], zstd, waRead(t, lower))
			waCheckObject(t, tg, objs[prefix+"/pg/wals/00000002.history"], oracle.CompressionNamed("none"), waRead(t, wals.History))
		})
	}
}
