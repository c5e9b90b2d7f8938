package wal

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// The first 40 bytes of real PostgreSQL 15 segments (made by
// testenv/make-wals.sh): 000000010000000000000003 (a page whose first
// record continues from the previous segment) and 000000010000000000000009.
var (
	realHeader3 = mustHex("10d10600010000000000000300000000" + "00000000000000001e799b59693e016b" + "0000000100200000")
	realHeader9 = mustHex("10d10200010000000000000900000000" + "00000000000000001e799b59693e016b" + "0000000100200000")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func header(magic uint16, info uint16, tli uint32, pageAddr uint64, segSize uint32) []byte {
	h := make([]byte, LongHeaderSize)
	binary.LittleEndian.PutUint16(h, magic)
	binary.LittleEndian.PutUint16(h[2:], info)
	binary.LittleEndian.PutUint32(h[4:], tli)
	binary.LittleEndian.PutUint64(h[8:], pageAddr)
	binary.LittleEndian.PutUint32(h[32:], segSize)
	binary.LittleEndian.PutUint32(h[36:], 8192)
	return h
}

func TestCheckSegment(t *testing.T) {
	const mib16 = 16 << 20
	be := make([]byte, LongHeaderSize)
	binary.BigEndian.PutUint16(be, 0xD110)
	binary.BigEndian.PutUint16(be[2:], 2)
	binary.BigEndian.PutUint32(be[4:], 1)
	binary.BigEndian.PutUint64(be[8:], 3*mib16)
	binary.BigEndian.PutUint32(be[32:], mib16)
	tests := []struct {
		name    string
		size    int64
		hdr     []byte
		wantErr string // "" = valid
	}{
		{"000000010000000000000003", mib16, realHeader3, ""},
		{"000000010000000000000009", mib16, realHeader9, ""},
		{"000000010000000000000009.partial", mib16, realHeader9, ""},
		{"000000010000000000000003", mib16, be, ""},
		// A segment under another name: wrong page address.
		{"000000010000000000000004", mib16, realHeader3, "holds another segment"},
		{"000000010000000100000003", mib16, realHeader3, "holds another segment"},
		// The first segment of timeline 2 starts with timeline 1's pages.
		{"000000020000000000000003", mib16, realHeader3, ""},
		// But a timeline 2 segment is never named for timeline 1.
		{"000000010000000000000003", mib16, header(0xD110, 2, 2, 3*mib16, mib16), "timeline 2"},
		{"000000010000000000000003", mib16 / 2, realHeader3, "the header says segment size 16777216"},
		{"000000010000000000000003", 3 << 20, realHeader3, "is not a WAL segment size"},
		{"000000010000000000000003", 2 << 30, realHeader3, "is not a WAL segment size"},
		{"000000010000000000000003", mib16, header(0xD110, 0, 1, 3*mib16, mib16), "no long header"},
		{"000000010000000000000003", mib16, header(0xD110, 2, 1, 3*mib16, 1<<20), "segment size"},
		{"000000010000000000000003", mib16, realHeader3[:20], "too short"},
		{"0000000100000000000000FF", mib16, header(0xD110, 2, 1, 255*mib16, mib16), ""},
		{"000000010000000000000100", mib16, header(0xD110, 2, 1, 256*mib16, mib16), "out of range"},
		// 1 GiB segments: four per 4 GiB "log".
		{"000000010000000500000003", 1 << 30, header(0xD116, 2, 1, 5<<32|3<<30, 1<<30), ""},
		{"00000001000000000000000A", mib16, header(0xD118, 2, 1, 10*mib16, mib16), ""},
	}
	for _, tt := range tests {
		n, err := Parse(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckSegment(n, tt.size, tt.hdr)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckSegment(%s, %d): %v", tt.name, tt.size, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckSegment(%s, %d) = %v, want error containing %q", tt.name, tt.size, err, tt.wantErr)
		}
	}
}

func TestCheckSegmentUnknownMagic(t *testing.T) {
	n, _ := Parse("000000010000000000000003")
	err := CheckSegment(n, 16<<20, header(0xD200, 2, 1, 3<<24, 16<<20))
	var um *UnknownMagicError
	if !errors.As(err, &um) || um.Magic != 0xD200 {
		t.Errorf("got %v, want UnknownMagicError", err)
	}
}

func TestCheckText(t *testing.T) {
	h, _ := Parse("00000002.history")
	b, _ := Parse("000000010000000000000009.00000028.backup")
	if err := CheckText(h, 41, []byte("1\t0/A000000\tno recovery target specified\n")); err != nil {
		t.Error(err)
	}
	if err := CheckText(b, 322, []byte("START WAL LOCATION: 0/9000028 (file 000000010000000000000009)\n")); err != nil {
		t.Error(err)
	}
	if err := CheckText(h, 0, nil); err == nil {
		t.Error("empty history accepted")
	}
	if err := CheckText(h, 3, []byte{1, 0, 2}); err == nil {
		t.Error("binary history accepted")
	}
	if err := CheckText(b, 5, []byte("hello")); err == nil {
		t.Error("bogus backup label accepted")
	}
	if !ValidSegmentSize(1<<20) || !ValidSegmentSize(1<<30) || ValidSegmentSize(1<<19) || ValidSegmentSize(1<<31) || ValidSegmentSize(0) {
		t.Error("ValidSegmentSize")
	}
}
