package storage

import "testing"

// TestPartSize checks the chunk sizes of spec §11.7 (Barman's
// CloudUploadController rule) and the GCS and file:// choices.
func TestPartSize(t *testing.T) {
	const (
		GB = 1 << 30
		MB = 1 << 20
		TB = 1 << 40
	)
	for _, tc := range []struct {
		name     string
		provider Provider
		size     int64
		minChunk int64
		want     int64
	}{
		{"S3 -S 100GB", S3, 100 * GB, 0, 21474836},
		{"Azure -S 100GB", Azure, 100 * GB, 0, 4294966},
		{"S3 -S 4MB: S3's smallest part", S3, 4 * MB, 0, 5242880},
		{"S3 -S 2TB, from the uncapped size", S3, 2 * TB, 0, 439804650},
		{"S3 --min-chunk-size above the rule", S3, 100 * GB, 64 * MB, 64 * MB},
		{"Azure -S 1MB: Azure's smallest block", Azure, MB, 0, 64 << 10},
		{"Azure --min-chunk-size", Azure, 100 * GB, 5 * MB, 5 * MB},
		{"GCS: 16 MiB whatever the size", GCS, 1 * TB, 0, 16 * MB},
		{"GCS --min-chunk-size, rounded up to 256 KiB", GCS, 100 * GB, 20000000, 77 * 256 << 10},
		{"GCS --min-chunk-size on a multiple", GCS, 100 * GB, 32 * MB, 32 * MB},
		{"file", File, 100 * GB, 0, 5 * MB},
		{"file --min-chunk-size", File, 100 * GB, 7 * MB, 7 * MB},
		{"negative size", S3, -1, 0, 5 * MB},
	} {
		if got := PartSize(tc.provider, tc.size, tc.minChunk); got != tc.want {
			t.Errorf("%s: PartSize = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestPartLimitsFit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider Provider
		limits   partLimits
		size     int64
		want     int64 // 0: an error
	}{
		{"S3 default", S3, s3Limits, 0, 5 << 20},
		{"S3 below the smallest part", S3, s3Limits, 1 << 10, 5 << 20},
		{"S3 as asked", S3, s3Limits, 21474836, 21474836},
		{"S3 above the largest part", S3, s3Limits, 6 << 30, 0},
		{"Azure below the smallest block", Azure, azureLimits, 1, 64 << 10},
		{"Azure above the largest block", Azure, azureLimits, 4001 << 20, 0},
		{"GCS default", GCS, gcsLimits, 0, 16 << 20},
		{"GCS rounded up", GCS, gcsLimits, 300 << 10, 512 << 10},
		{"GCS below the quantum", GCS, gcsLimits, 1, 256 << 10},
	} {
		got, err := tc.limits.fit(tc.provider, tc.size)
		switch {
		case tc.want == 0 && err == nil:
			t.Errorf("%s: fit(%d) = %d, want an error", tc.name, tc.size, got)
		case tc.want != 0 && (err != nil || got != tc.want):
			t.Errorf("%s: fit(%d) = %d, %v; want %d", tc.name, tc.size, got, err, tc.want)
		}
	}
}
