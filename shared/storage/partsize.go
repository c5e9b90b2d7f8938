package storage

import (
	"fmt"
	"math"
)

// Part limits of each provider: how many parts an object may have, the
// smallest and the largest part. The first two are Barman's
// MAX_CHUNKS_PER_FILE and MIN_CHUNK_SIZE of its S3 and Azure interfaces
// (barman/cloud_providers/aws_s3.py, azure_blob_storage.py).
const (
	s3MaxParts    = 10000
	s3MinPart     = 5 << 20
	s3MaxPartSize = 5 << 30

	azureMaxBlocks    = 50000
	azureMinBlock     = 64 << 10
	azureMaxBlockSize = 4000 << 20

	// GCS takes any number of chunks in one resumable session. Barman
	// spools a whole archive and sends it in one request (MAX_CHUNKS_PER_FILE
	// 1, MIN_CHUNK_SIZE 1 TiB); streaming it in chunks needs no disk, and a
	// chunk that fails is sent again alone. Every chunk but the last must be
	// a multiple of 256 KiB; 16 MiB is Google's own clients' default.
	gcsChunkQuantum = 256 << 10
	gcsDefaultChunk = 16 << 20

	// fileDefaultPart is the part size of a file:// store, which writes
	// sequentially and holds no part buffer: it only matters to callers that
	// report it.
	fileDefaultPart = 5 << 20
)

// PartSize is the size of the parts an object of at most maxArchiveSize
// bytes is uploaded in, at least minChunkSize (0: no minimum): Barman's
// CloudUploadController rule, max(2*int(S/MAX_CHUNKS_PER_FILE),
// MIN_CHUNK_SIZE, --min-chunk-size), so that an archive of the largest size
// takes half the parts the provider allows. S3 allows 10,000 parts of at
// least 5 MiB, Azure 50,000 blocks of at least 64 KiB. GCS has no part
// limit: its chunk is 16 MiB or minChunkSize, rounded up to a multiple of
// 256 KiB as GCS requires.
//
// Barman flushes a part when a write starts with more than the chunk size
// buffered, so its parts are the next multiple of tarfile's 64 KiB blocks
// above the chunk (S3 at -S 100GB: chunk 21474836, parts 21495808); a
// Writer flushes a part when it holds exactly the chunk size.
func PartSize(provider Provider, maxArchiveSize, minChunkSize int64) int64 {
	maxArchiveSize = max(maxArchiveSize, 0)
	switch provider {
	case S3:
		// Integer division: int(S/10000) on a float gives the same value
		// for every S below 2^53.
		return max(2*(maxArchiveSize/s3MaxParts), s3MinPart, minChunkSize)
	case Azure:
		return max(2*(maxArchiveSize/azureMaxBlocks), azureMinBlock, minChunkSize)
	case GCS:
		return roundUp(max(gcsDefaultChunk, minChunkSize), gcsChunkQuantum)
	}
	return max(fileDefaultPart, minChunkSize)
}

func roundUp(n, quantum int64) int64 {
	return (n + quantum - 1) / quantum * quantum
}

// partLimits are a provider's bounds on the parts of one object; zero
// fields mean no bound.
type partLimits struct {
	maxParts         int
	minSize, maxSize int64
	quantum          int64 // every part but the last is a multiple of it
}

// fit turns a requested part size (0: PartSize's default for an object of
// unknown size) into one the provider accepts: below the minimum it is
// raised to it, off the quantum it is rounded up; above the maximum it is
// refused, as it would be by the server after the first part.
func (l partLimits) fit(provider Provider, size int64) (int64, error) {
	if size <= 0 {
		size = PartSize(provider, 0, 0)
	}
	size = max(size, l.minSize)
	if l.quantum > 0 {
		size = roundUp(size, l.quantum)
	}
	if l.maxSize > 0 && size > l.maxSize {
		return 0, fmt.Errorf("a part of %d bytes is larger than %s allows (%d)", size, provider, l.maxSize)
	}
	return size, nil
}

// Streamed objects of unknown size whose parts grow (WriteOptions.MaxSize)
// start at these sizes: S3's smallest part; Azure's SDK default block (its
// 64 KiB smallest block would mean thousands of requests for a small
// archive, and is what Barman's rule gives only below -S 3.2GB); for GCS,
// whose chunks never need to grow, half its clients' usual 16 MiB: its
// chunks go one at a time, and the two buffers of 8 MiB (one sent, one
// filled) keep a backup's memory in line with the other providers'.
const (
	s3StreamPart    = s3MinPart
	azureStreamPart = 4 << 20
	gcsStreamChunk  = 8 << 20
)

// StreamPartSize is the size of the first part of a Writer whose parts grow
// (WriteOptions.MaxSize) on provider, at least minChunkSize
// (--min-chunk-size; 0: no minimum): S3 5 MiB, Azure 4 MiB, GCS 8 MiB
// (rounded up to its 256 KiB quantum), a file:// store 5 MiB.
//
// This replaces Barman's one part size for the largest archive expected
// (PartSize): at the default -S 100GB that is 20.5 MiB on S3, and the Jobs+1
// part buffers of a Writer would hold over 100 MiB at -J 4 for an archive of
// any size. Starting small and growing keeps the buffers at the first size
// for every archive below tens of gigabytes, and the provider's part limit
// still holds the largest (see partSchedule).
func StreamPartSize(provider Provider, minChunkSize int64) int64 {
	switch provider {
	case S3:
		return max(s3StreamPart, minChunkSize)
	case Azure:
		return max(azureStreamPart, minChunkSize)
	case GCS:
		return roundUp(max(gcsStreamChunk, minChunkSize), gcsChunkQuantum)
	}
	return PartSize(provider, 0, minChunkSize)
}

// partSchedule is the size of each part of one object: first for the first
// every parts, then twice that for the next every parts, and so on, up to
// the provider's largest part; every 0 means all parts are first.
//
// Deliberate difference from Barman, whose parts all have the size
// PartSize gives for the largest archive: S3 and Azure accept parts of
// different sizes in one object (only the last may be below S3's 5 MiB),
// and an archive is usually far smaller than --max-archive-size.
type partSchedule struct {
	first int64
	every int
	max   int64 // the provider's largest part; 0: no bound
}

// newSchedule returns the parts for an object of at most maxSize bytes
// (0 or less: unknown, all parts first) under l: a constant size when
// l.maxParts parts of first hold maxSize; else the fewest doublings L such
// that L groups of l.maxParts/L parts, each twice the size of the group
// before, hold it. So an object of up to (l.maxParts/L)·first bytes is sent
// in parts of first: with S3 and maxSize 200 GiB (twice the default -S, the
// margin Barman's rule gives), 5 groups of 2000 parts of 5, 10, 20, 40 and
// 80 MiB; an archive below 10 GiB never has a part above 5 MiB.
func newSchedule(l partLimits, first, maxSize int64) partSchedule {
	s := partSchedule{first: first, max: l.maxSize}
	if maxSize <= 0 || l.maxParts == 0 || first >= (maxSize+int64(l.maxParts)-1)/int64(l.maxParts) {
		return s
	}
	// 62 doublings overflow any size: more groups cannot help.
	for groups := 2; groups <= min(l.maxParts, 62); groups++ {
		s.every = l.maxParts / groups
		if s.capacity(l.maxParts) >= maxSize {
			return s
		}
	}
	// Larger than the provider can hold even so: double at every part up
	// to the largest part, the most it can hold.
	s.every = 1
	return s
}

// size is the size of part n (from 1).
func (s partSchedule) size(n int) int64 {
	if s.every == 0 || n <= s.every {
		return s.first
	}
	size := s.first
	for g := (n - 1) / s.every; g > 0; g-- {
		if s.max > 0 && size >= s.max/2 {
			return s.max
		}
		if size > math.MaxInt64/2 {
			return math.MaxInt64
		}
		size *= 2
	}
	return size
}

// capacity is how many bytes parts parts hold, saturating at MaxInt64.
func (s partSchedule) capacity(parts int) int64 {
	var total int64
	for n := 1; n <= parts; {
		size := s.size(n)
		// The parts of n's group that remain, at most parts.
		count := parts - n + 1
		if s.every > 0 {
			count = min(count, s.every-(n-1)%s.every)
		}
		if size > 0 && int64(count) > (math.MaxInt64-total)/size {
			return math.MaxInt64
		}
		total += int64(count) * size
		n += count
	}
	return total
}
