// Package waltest makes WAL segments for the tests of the tools: files of
// a valid segment size whose first page header names the segment, as the
// archive and restore checks (wal.CheckSegment) want them, with content
// that tells one seed from another.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package waltest

import (
	"encoding/binary"
	"fmt"
	"math/rand"

	"github.com/barmancloud/barman-cloud/shared/wal"
)

// pageMagic is PostgreSQL 15's XLOG_PAGE_MAGIC.
const pageMagic = 0xD110

// Segment returns a size-byte segment (a power of two from 1 MiB) for the
// segment or .partial named name, whose first page header says timeline
// tli (0: the name's), and partly compressible content drawn from seed:
// 512 random bytes at the start of every 4 KiB, the header written over
// the first ones.
func Segment(name string, size int, tli uint32, seed int64) []byte {
	n, err := wal.Parse(name)
	if err != nil || (n.Kind != wal.Segment && n.Kind != wal.Partial) {
		panic(fmt.Sprintf("waltest: %q is not a segment name", name))
	}
	if tli == 0 {
		tli = n.Timeline
	}
	b := make([]byte, size)
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < size; i += 4096 {
		rng.Read(b[i:min(i+512, size)])
	}
	segsPerID := uint64(1<<32) / uint64(size)
	binary.LittleEndian.PutUint16(b, pageMagic)
	binary.LittleEndian.PutUint16(b[2:], 0x0002) // XLP_LONG_HEADER
	binary.LittleEndian.PutUint32(b[4:], tli)
	binary.LittleEndian.PutUint64(b[8:], (uint64(n.Log)*segsPerID+uint64(n.Seg))*uint64(size))
	binary.LittleEndian.PutUint32(b[32:], uint32(size))
	binary.LittleEndian.PutUint32(b[36:], 8192) // XLOG_BLCKSZ
	return b
}
