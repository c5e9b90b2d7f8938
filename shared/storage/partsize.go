package storage

import "fmt"

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
