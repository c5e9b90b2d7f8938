package storage

import (
	"testing"

	"pgregory.net/rapid"
)

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

// TestStreamPartSize: the first part of a growing Writer per provider, and
// --min-chunk-size above it.
func TestStreamPartSize(t *testing.T) {
	for _, tc := range []struct {
		provider Provider
		minChunk int64
		want     int64
	}{
		{S3, 0, 5 << 20},
		{S3, 64 << 20, 64 << 20},
		{Azure, 0, 4 << 20},
		{Azure, 1 << 20, 4 << 20},
		{GCS, 0, 8 << 20},
		{GCS, 20000000, 77 * 256 << 10},
		{File, 0, 5 << 20},
	} {
		if got := StreamPartSize(tc.provider, tc.minChunk); got != tc.want {
			t.Errorf("StreamPartSize(%s, %d) = %d, want %d", tc.provider, tc.minChunk, got, tc.want)
		}
	}
}

// TestPartSchedule checks the growing part sizes against hand-computed
// schedules: the group length, sizes at the group boundaries, and that the
// part limit holds the expected size.
func TestPartSchedule(t *testing.T) {
	const (
		MiB = int64(1) << 20
		GiB = int64(1) << 30
	)
	for _, tc := range []struct {
		name    string
		limits  partLimits
		first   int64
		maxSize int64
		every   int           // 0: constant
		sizes   map[int]int64 // part number: size
	}{
		{"unknown size: constant", s3Limits, 5 * MiB, 0, 0, map[int]int64{1: 5 * MiB, 10000: 5 * MiB}},
		{"S3, 10,000 parts of 5 MiB hold it", s3Limits, 5 * MiB, 48 * GiB, 0, map[int]int64{10000: 5 * MiB}},
		// 2 × -S 100GB: 4 groups of 2500 hold 5 MiB·2500·15 = 183 GiB,
		// not enough; 5 groups of 2000 hold 5 MiB·2000·31 = 303 GiB.
		{"S3, twice the default -S", s3Limits, 5 * MiB, 200 * GiB, 2000,
			map[int]int64{1: 5 * MiB, 2000: 5 * MiB, 2001: 10 * MiB, 4001: 20 * MiB, 6001: 40 * MiB, 8001: 80 * MiB, 10000: 80 * MiB}},
		// 50,000 blocks of 4 MiB are 195 GiB: two groups of 25,000.
		{"Azure, twice the default -S", azureLimits, 4 * MiB, 200 * GiB, 25000,
			map[int]int64{25000: 4 * MiB, 25001: 8 * MiB, 50000: 8 * MiB}},
		{"no part limit (GCS): constant", gcsLimits, 16 * MiB, 1 << 50, 0, map[int]int64{100000: 16 * MiB}},
		// More than 10,000 parts of 5 GiB: double at every part, capped.
		{"beyond what S3 holds", s3Limits, 5 * MiB, 60000 * GiB, 1,
			map[int]int64{1: 5 * MiB, 2: 10 * MiB, 11: 5 * GiB, 10000: 5 * GiB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule(tc.limits, tc.first, tc.maxSize)
			if s.every != tc.every {
				t.Errorf("a group of %d parts, want %d", s.every, tc.every)
			}
			for n, want := range tc.sizes {
				if got := s.size(n); got != want {
					t.Errorf("part %d: %d bytes, want %d", n, got, want)
				}
			}
			if tc.limits.maxParts > 0 && tc.maxSize <= int64(tc.limits.maxParts)*tc.limits.maxSize {
				if c := s.capacity(tc.limits.maxParts); c < tc.maxSize {
					t.Errorf("%d parts hold %d bytes, less than %d", tc.limits.maxParts, c, tc.maxSize)
				}
			}
		})
	}
}

// TestPartScheduleProperties: for any first size and expected size, part
// sizes never shrink, stay within the provider's bounds, are constant
// when the part limit allows it, and the part limit holds the expected
// size whenever doubling at every part could.
func TestPartScheduleProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := rapid.SampledFrom([]partLimits{s3Limits, azureLimits}).Draw(t, "limits")
		first := rapid.Int64Range(l.minSize, 64<<20).Draw(t, "first")
		maxSize := rapid.Int64Range(0, int64(l.maxParts)*l.maxSize).Draw(t, "maxSize")
		s := newSchedule(l, first, maxSize)
		if first*int64(l.maxParts) >= maxSize && s.every != 0 {
			t.Fatalf("parts grow though %d parts of %d hold %d", l.maxParts, first, maxSize)
		}
		prev := first
		for _, n := range []int{1, 2, 3, 10, 100, 1000, l.maxParts / 3, l.maxParts / 2, l.maxParts - 1, l.maxParts} {
			size := s.size(n)
			if size < prev || size > l.maxSize {
				t.Fatalf("part %d: %d bytes (previous %d, largest %d)", n, size, prev, l.maxSize)
			}
			prev = size
		}
		most := partSchedule{first: first, every: 1, max: l.maxSize}
		if c := s.capacity(l.maxParts); c < maxSize && most.capacity(l.maxParts) >= maxSize {
			t.Fatalf("%d parts hold %d bytes, less than %d (every %d)", l.maxParts, c, maxSize, s.every)
		}
	})
}
