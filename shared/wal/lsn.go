package wal

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a PostgreSQL WAL location (XLogRecPtr): a byte position in the
// WAL stream.
type LSN uint64

// ParseLSN parses the text form PostgreSQL gives a pg_lsn, "%X/%X" (the
// high and low 32 bits, e.g. "0/2000028"), as barman/xlog.py parse_lsn.
// It takes one to eight hex digits on each side and nothing else: Python's
// int(x, 16) would also take "0x" prefixes, signs, underscores and
// surrounding blanks, none of which PostgreSQL ever prints.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, errH := parseHex32(hi)
	l, errL := parseHex32(lo)
	if !ok || errH != nil || errL != nil {
		return 0, fmt.Errorf("invalid LSN %q: want two hexadecimal numbers of up to 8 digits separated by \"/\"", s)
	}
	return LSN(uint64(h)<<32 | uint64(l)), nil
}

func parseHex32(s string) (uint32, error) {
	if len(s) == 0 || len(s) > 8 || !isHex(s) {
		return 0, fmt.Errorf("not 1 to 8 hexadecimal digits: %q", s)
	}
	v, err := strconv.ParseUint(s, 16, 32)
	return uint32(v), err
}

// String is the "%X/%X" form (barman/xlog.py format_lsn).
func (l LSN) String() string {
	return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF)
}

// FileNameOffset is the name of the WAL segment holding l on timeline tli,
// for segments of segSize bytes, and l's offset in it: Barman's
// location_to_xlogfile_name_offset (barman/xlog.py), which computes
// begin_wal/begin_offset and end_wal/end_offset of a backup alike.
//
// An LSN on a segment boundary names the segment that starts there, with
// offset 0. That is also what pg_walfile_name_offset does from PostgreSQL
// 17 on; before 17 the server names the previous segment (the one that
// ends there), so Barman's client-side end_wal of a stop position on a
// boundary is one segment after what the server would have said.
func (l LSN) FileNameOffset(tli uint32, segSize int64) (string, int64, error) {
	if !ValidSegmentSize(segSize) {
		return "", 0, fmt.Errorf("invalid WAL segment size %d: want a power of two from 1 MiB to 1 GiB", segSize)
	}
	log := uint64(l) >> 32
	seg := (uint64(l) & 0xFFFFFFFF) / uint64(segSize)
	return fmt.Sprintf("%08X%08X%08X", tli, log, seg), int64(uint64(l) % uint64(segSize)), nil
}

// PreviousSegmentName is the name of the segment before the segment name
// (same timeline), for segments of segSize bytes: barman/xlog.py
// previous_segment_name. It is an error for the very first segment, which
// Barman would have named with a log number of -1.
func PreviousSegmentName(name string, segSize int64) (string, error) {
	n, err := parseSegment(name, segSize)
	if err != nil {
		return "", err
	}
	log, seg := n.Log, n.Seg
	switch {
	case seg > 0:
		seg--
	case log > 0:
		// The last segment of the previous log file: segments run from 0 to
		// 2^32/segSize - 1 (Barman's xlog_segments_per_file, which is
		// 0xFFFFFFFF // segSize).
		log--
		seg = uint32(0xFFFFFFFF / uint64(segSize))
	default:
		return "", fmt.Errorf("%s is the first WAL segment of its timeline: it has no predecessor", name)
	}
	return fmt.Sprintf("%08X%08X%08X", n.Timeline, log, seg), nil
}

// NextSegmentName is the name of the segment after the segment name (same
// timeline), for segments of segSize bytes: the inverse of
// PreviousSegmentName.
func NextSegmentName(name string, segSize int64) (string, error) {
	n, err := parseSegment(name, segSize)
	if err != nil {
		return "", err
	}
	log, seg := n.Log, n.Seg+1
	if uint64(seg) > 0xFFFFFFFF/uint64(segSize) {
		if log == 0xFFFFFFFF {
			return "", fmt.Errorf("%s is the last WAL segment of its timeline", name)
		}
		log, seg = log+1, 0
	}
	return fmt.Sprintf("%08X%08X%08X", n.Timeline, log, seg), nil
}

// parseSegment parses name, which must be a segment's, for segments of
// segSize bytes (a valid size).
func parseSegment(name string, segSize int64) (Name, error) {
	n, err := Parse(name)
	if err != nil {
		return Name{}, err
	}
	if n.Kind != Segment {
		return Name{}, fmt.Errorf("%s is not a WAL segment name", name)
	}
	if !ValidSegmentSize(segSize) {
		return Name{}, fmt.Errorf("invalid WAL segment size %d: want a power of two from 1 MiB to 1 GiB", segSize)
	}
	return n, nil
}
