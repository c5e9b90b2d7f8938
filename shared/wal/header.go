package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// XLOG_PAGE_MAGIC of each PostgreSQL major version since 9.4
// (src/include/access/xlog_internal.h).
var pageMagic = map[uint16]string{
	0xD07E: "9.4", 0xD087: "9.5", 0xD093: "9.6", 0xD097: "10", 0xD098: "11",
	0xD101: "12", 0xD106: "13", 0xD10D: "14", 0xD110: "15", 0xD113: "16",
	0xD116: "17", 0xD118: "18",
}

// LongHeaderSize is the number of bytes CheckSegment needs: the long page
// header that starts every WAL segment (XLogLongPageHeaderData).
const LongHeaderSize = 40

const xlpLongHeader = 0x0002

// ValidSegmentSize reports whether n is a WAL segment size PostgreSQL
// accepts: a power of two from 1 MiB to 1 GiB.
func ValidSegmentSize(n int64) bool {
	return n >= 1<<20 && n <= 1<<30 && n&(n-1) == 0
}

// UnknownMagicError is returned by CheckSegment for a page header whose
// magic number belongs to no known PostgreSQL version: perhaps a newer one.
// Callers treat it as a warning.
type UnknownMagicError struct{ Magic uint16 }

func (e *UnknownMagicError) Error() string {
	return fmt.Sprintf("unknown WAL page magic 0x%04X (a PostgreSQL version newer than this tool?): header not checked", e.Magic)
}

// CheckSegment checks that a segment (or .partial) file of size bytes,
// whose first bytes are hdr, is the segment its name says: a valid segment
// size, a long page header whose segment size is the file size, whose page
// address is the start of the named segment, and whose timeline is the
// named one or an ancestor (the first segment of a timeline created by a
// promotion starts with pages copied from the parent timeline).
func CheckSegment(n Name, size int64, hdr []byte) error {
	if n.Kind != Segment && n.Kind != Partial {
		return fmt.Errorf("%s is not a WAL segment", n.Base)
	}
	if !ValidSegmentSize(size) {
		return fmt.Errorf("%s: size %d is not a WAL segment size (a power of two from 1 MiB to 1 GiB)", n.Base, size)
	}
	if len(hdr) < LongHeaderSize {
		return fmt.Errorf("%s: too short for a WAL page header", n.Base)
	}
	// WAL is written in the server's byte order.
	var bo binary.ByteOrder = binary.LittleEndian
	magic := bo.Uint16(hdr)
	if _, ok := pageMagic[magic]; !ok {
		if _, ok := pageMagic[binary.BigEndian.Uint16(hdr)]; ok {
			bo, magic = binary.BigEndian, binary.BigEndian.Uint16(hdr)
		} else {
			return &UnknownMagicError{Magic: magic}
		}
	}
	info := bo.Uint16(hdr[2:])
	tli := bo.Uint32(hdr[4:])
	pageAddr := bo.Uint64(hdr[8:])
	segSize := bo.Uint32(hdr[32:])
	if info&xlpLongHeader == 0 {
		return fmt.Errorf("%s: the first page has no long header: not the start of a WAL segment", n.Base)
	}
	if int64(segSize) != size {
		return fmt.Errorf("%s: the header says segment size %d, the file has %d bytes", n.Base, segSize, size)
	}
	segsPerID := uint64(1<<32) / uint64(size)
	want := (uint64(n.Log)*segsPerID + uint64(n.Seg)) * uint64(size)
	if n.Seg >= uint32(segsPerID) {
		return fmt.Errorf("%s: segment number %08X is out of range for %d-byte segments", n.Base, n.Seg, size)
	}
	if pageAddr != want {
		return fmt.Errorf("%s: the header is for WAL location %X/%X, not %X/%X: the file holds another segment",
			n.Base, pageAddr>>32, uint32(pageAddr), want>>32, uint32(want))
	}
	if tli == 0 || tli > n.Timeline {
		return fmt.Errorf("%s: the header names timeline %d, the file name timeline %d", n.Base, tli, n.Timeline)
	}
	return nil
}

// CheckText checks a history or backup label file, whose first bytes are
// head: PostgreSQL writes both as text.
func CheckText(n Name, size int64, head []byte) error {
	switch {
	case size == 0:
		return fmt.Errorf("%s: empty file", n.Base)
	case bytes.IndexByte(head, 0) >= 0:
		return fmt.Errorf("%s: binary data in a %s file", n.Base, n.Kind)
	case n.Kind == Backup && !bytes.HasPrefix(head, []byte("START WAL LOCATION:")):
		return fmt.Errorf("%s: not a backup history file (no START WAL LOCATION)", n.Base)
	}
	return nil
}
