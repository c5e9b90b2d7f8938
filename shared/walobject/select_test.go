package walobject

import (
	"reflect"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// TestSelect runs every row of the spec's restore-selection tables (§5.3,
// §8.7) with dir = p/srv/wals/0000000100000000/ and X the requested
// segment, plus the cases where this implementation deliberately differs
// from Barman.
func TestSelect(t *testing.T) {
	const (
		dir = "p/srv/wals/0000000100000000/"
		X   = "000000010000000000000001"
	)
	type skip = Skipped
	tests := []struct {
		name      string
		request   string // WAL name; X when empty
		dir       string // dir when empty
		listing   []string
		noPartial bool
		want      string // chosen key relative to the directory; "" = not found
		alg       *compress.Algorithm
		kind      wal.Kind
		skipped   []skip // keys relative to the directory
	}{
		{name: "exact only", listing: []string{X}, want: X, kind: wal.Segment},
		{name: "compressed copy wins over exact", listing: []string{X, X + ".gz"}, want: X + ".gz", alg: compress.Gzip, kind: wal.Segment},
		{name: "partial wins over the full segment", listing: []string{X, X + ".partial"}, want: X + ".partial", kind: wal.Partial},
		{name: "partial served for the segment", listing: []string{X + ".partial"}, want: X + ".partial", kind: wal.Partial},
		{name: "partial with --no-partial", listing: []string{X + ".partial"}, noPartial: true,
			skipped: []skip{{X + ".partial", SkipPartial}}},
		{name: "compressed partial", listing: []string{X + ".partial.gz"}, want: X + ".partial.gz", alg: compress.Gzip, kind: wal.Partial},
		{name: "first in name order", listing: []string{X + ".bz2", X + ".gz"}, want: X + ".bz2", alg: compress.Bzip2, kind: wal.Segment},
		{name: "compression of a skipped backup label does not leak", listing: []string{X, X + ".00000028.backup.gz"},
			want: X, kind: wal.Segment, skipped: []skip{{X + ".00000028.backup.gz", SkipBackup}}},
		{name: "backup labels only", listing: []string{X + ".00000028.backup", X + ".00000028.backup.gz"},
			skipped: []skip{{X + ".00000028.backup", SkipBackup}, {X + ".00000028.backup.gz", SkipBackup}}},
		{name: "unknown files", listing: []string{X + ".zst.gz", X + ".tmp"},
			skipped: []skip{{X + ".zst.gz", SkipUnknown}, {X + ".tmp", SkipUnknown}}},
		{name: "partial requested by name", request: X + ".partial", listing: []string{X + ".partial"}, want: X + ".partial", kind: wal.Partial},
		{name: "partial requested by name, --no-partial", request: X + ".partial", listing: []string{X + ".partial"}, noPartial: true,
			want: X + ".partial", kind: wal.Partial},
		{name: "backup label requested by name", request: X + ".00000028.backup", listing: []string{X + ".00000028.backup"},
			want: X + ".00000028.backup", kind: wal.Backup},
		{name: "history, gzip", request: "00000002.history", dir: "p/srv/wals/", listing: []string{"00000002.history.gz"},
			want: "00000002.history.gz", alg: compress.Gzip, kind: wal.History},
		{name: "upstream test: partial", dir: "testfolder/test-server/wals/000000080000ABFF/", request: "000000080000ABFF000000C1",
			listing: []string{"000000080000ABFF000000C1.partial"}, want: "000000080000ABFF000000C1.partial", kind: wal.Partial},
		{name: "upstream test: partial, --no-partial", dir: "testfolder/test-server/wals/000000080000ABFF/", request: "000000080000ABFF000000C1",
			listing: []string{"000000080000ABFF000000C1.partial"}, noPartial: true,
			skipped: []skip{{"000000080000ABFF000000C1.partial", SkipPartial}}},

		// Beyond the spec's tables.
		{name: "empty listing", listing: nil},
		{name: "exact is the fallback after skips", listing: []string{X, X + ".00000028.backup", X + ".partial"}, noPartial: true,
			want: X, kind: wal.Segment, skipped: []skip{{X + ".00000028.backup", SkipBackup}, {X + ".partial", SkipPartial}}},
		{name: "compressed copy after a skipped partial", listing: []string{X + ".gz", X + ".partial"}, noPartial: true,
			want: X + ".gz", alg: compress.Gzip, kind: wal.Segment},
		{name: "partial sorts before snappy, xz and zstd copies", listing: []string{X + ".partial", X + ".snappy", X + ".xz", X + ".zst"},
			want: X + ".partial", kind: wal.Partial},
		{name: "unknown file then a valid copy", listing: []string{X + ".foo", X + ".lz4"}, want: X + ".lz4", alg: compress.LZ4, kind: wal.Segment,
			skipped: []skip{{X + ".foo", SkipUnknown}}},
		{name: "every suffix: xz", listing: []string{X + ".xz"}, want: X + ".xz", alg: compress.XZ, kind: wal.Segment},
		{name: "every suffix: snappy", listing: []string{X + ".snappy"}, want: X + ".snappy", alg: compress.Snappy, kind: wal.Segment},
		{name: "every suffix: zstd", listing: []string{X + ".zst"}, want: X + ".zst", alg: compress.Zstd, kind: wal.Segment},
		{name: "two suffixes are unknown", listing: []string{X + ".gz.gz"}, skipped: []skip{{X + ".gz.gz", SkipUnknown}}},
		{name: "upper-case suffix is unknown", listing: []string{X + ".GZ"}, skipped: []skip{{X + ".GZ", SkipUnknown}}},

		// Deliberate differences from Barman: a compressed copy of the
		// requested file is that file, whatever its kind.
		{name: "compressed backup label requested by name", request: X + ".00000028.backup",
			listing: []string{X + ".00000028.backup", X + ".00000028.backup.gz"}, want: X + ".00000028.backup.gz", alg: compress.Gzip, kind: wal.Backup},
		{name: "only a compressed backup label, requested by name", request: X + ".00000028.backup",
			listing: []string{X + ".00000028.backup.bz2"}, want: X + ".00000028.backup.bz2", alg: compress.Bzip2, kind: wal.Backup},
		{name: "compressed partial requested by name, --no-partial", request: X + ".partial", noPartial: true,
			listing: []string{X + ".partial.zst"}, want: X + ".partial.zst", alg: compress.Zstd, kind: wal.Partial},
		{name: "another backup label still skipped when one is requested", request: X + ".00000028.backup",
			listing: []string{X + ".00000028.backup.00000030.backup"}, skipped: []skip{{X + ".00000028.backup.00000030.backup", SkipUnknown}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, req := dir, X
			if tc.dir != "" {
				d = tc.dir
			}
			if tc.request != "" {
				req = tc.request
			}
			var objs []storage.Object
			for i, k := range tc.listing {
				objs = append(objs, storage.Object{Key: d + k, Size: int64(100 + i)})
			}
			got := Select(objs, d+req, tc.noPartial)
			if got.Found != (tc.want != "") {
				t.Fatalf("found = %v (%+v), want %q", got.Found, got.Candidate, tc.want)
			}
			if tc.want != "" {
				if got.Candidate.Key != d+tc.want {
					t.Errorf("chose %s, want %s", got.Candidate.Key, d+tc.want)
				}
				if got.Candidate.Compression != tc.alg {
					t.Errorf("compression %v, want %v", got.Candidate.Compression, tc.alg)
				}
				if got.Name.Kind != tc.kind {
					t.Errorf("kind %v, want %v", got.Name.Kind, tc.kind)
				}
				for _, o := range objs {
					if o.Key == got.Candidate.Key && o.Size != got.Candidate.Size {
						t.Errorf("size %d, want the listed %d", got.Candidate.Size, o.Size)
					}
				}
			}
			var wantSkipped []Skipped
			for _, s := range tc.skipped {
				wantSkipped = append(wantSkipped, Skipped{Key: d + s.Key, Reason: s.Reason})
			}
			if !reflect.DeepEqual(got.Skipped, wantSkipped) {
				t.Errorf("skipped %v, want %v", got.Skipped, wantSkipped)
			}
		})
	}
}

// TestSelectIgnoresForeignKeys: only keys under the requested name count,
// whatever a provider returns.
func TestSelectIgnoresForeignKeys(t *testing.T) {
	exact := "p/srv/wals/0000000100000000/000000010000000000000001"
	objs := []storage.Object{{Key: "p/srv/wals/0000000100000000/000000010000000000000002.gz"}}
	if got := Select(objs, exact, false); got.Found || got.Skipped != nil {
		t.Fatalf("got %+v", got)
	}
}
