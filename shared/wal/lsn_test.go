package wal

import "testing"

func TestParseLSN(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want LSN
		ok   bool
	}{
		{"0/2000028", 0x2000028, true},
		{"0/0", 0, true},
		{"16/B374D848", 0x16B374D848, true},
		{"FFFFFFFF/FFFFFFFF", 0xFFFFFFFFFFFFFFFF, true},
		{"a/b", 0xA0000000B, true},
		{"00000000/00000001", 1, true},
		{"", 0, false},
		{"0", 0, false},
		{"0/", 0, false},
		{"/0", 0, false},
		{"0/0/0", 0, false},
		{"100000000/0", 0, false},
		{"0/123456789", 0, false},
		{"0x1/0", 0, false},
		{"-1/0", 0, false},
		{"+1/0", 0, false},
		{" 0/1", 0, false},
		{"0/1 ", 0, false},
		{"0/1_0", 0, false},
		{"g/0", 0, false},
	} {
		got, err := ParseLSN(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseLSN(%q) = %#x, %v; want %#x, ok=%v", tt.in, uint64(got), err, uint64(tt.want), tt.ok)
		}
		if tt.ok {
			// String is the inverse for PostgreSQL's own spelling.
			if back, _ := ParseLSN(got.String()); back != got {
				t.Errorf("ParseLSN(%q).String() = %q does not parse back", tt.in, got.String())
			}
		}
	}
}

func TestLSNString(t *testing.T) {
	for _, tt := range []struct {
		lsn  LSN
		want string
	}{
		{0, "0/0"},
		{0x2000028, "0/2000028"},
		{0x16B374D848, "16/B374D848"},
		{0xFFFFFFFFFFFFFFFF, "FFFFFFFF/FFFFFFFF"},
	} {
		if got := tt.lsn.String(); got != tt.want {
			t.Errorf("LSN(%#x).String() = %q, want %q", uint64(tt.lsn), got, tt.want)
		}
	}
}

// TestFileNameOffset: location_to_xlogfile_name_offset, for a backup's
// begin position (just after a checkpoint's page header) and end position,
// including an LSN on a segment boundary, which names the segment starting
// there for begin and end alike.
func TestFileNameOffset(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		lsn     string
		tli     uint32
		segSize int64
		name    string
		offset  int64
	}{
		// §3.3: begin 0/2000028 and end 0/3000100 with 16 MiB segments.
		{"0/2000028", 1, 16 * mib, "000000010000000000000002", 40},
		{"0/3000100", 1, 16 * mib, "000000010000000000000003", 256},
		// On a boundary: the segment that starts there (not the one
		// PostgreSQL < 17's pg_walfile_name names, ...02).
		{"0/3000000", 1, 16 * mib, "000000010000000000000003", 0},
		{"0/2FFFFFF", 1, 16 * mib, "000000010000000000000002", 16*mib - 1},
		{"0/0", 1, 16 * mib, "000000010000000000000000", 0},
		// The last segment of a log file, and the first of the next.
		{"1/FFFFFFFF", 2, 16 * mib, "0000000200000001000000FF", 16*mib - 1},
		{"2/0", 2, 16 * mib, "000000020000000200000000", 0},
		// Other segment sizes.
		{"0/3000148", 3, 1 * mib, "000000030000000000000030", 0x148},
		{"0/300000", 1, 1 * mib, "000000010000000000000003", 0},
		{"2/C0000001", 1, 1024 * mib, "000000010000000200000003", 1},
		{"A/7FFFFFFF", 0xABCDEF01, 64 * mib, "ABCDEF010000000A0000001F", 64*mib - 1},
	} {
		lsn, err := ParseLSN(tt.lsn)
		if err != nil {
			t.Fatal(err)
		}
		name, offset, err := lsn.FileNameOffset(tt.tli, tt.segSize)
		if err != nil || name != tt.name || offset != tt.offset {
			t.Errorf("%s on timeline %d, %d-byte segments = %s, %d, %v; want %s, %d", tt.lsn, tt.tli, tt.segSize, name, offset, err, tt.name, tt.offset)
		}
	}
	for _, size := range []int64{0, -1, 1 << 19, 3 << 20, 2 << 30} {
		if _, _, err := LSN(0x2000028).FileNameOffset(1, size); err == nil {
			t.Errorf("segment size %d accepted", size)
		}
	}
}

func TestPreviousSegmentName(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		name    string
		segSize int64
		want    string // "" = error
	}{
		{"000000010000000000000003", 16 * mib, "000000010000000000000002"},
		{"0000000100000000000000ff", 16 * mib, "0000000100000000000000FE"},
		{"000000020000000100000000", 16 * mib, "0000000200000000000000FF"},
		{"000000020000000100000000", 1 * mib, "000000020000000000000FFF"},
		{"000000020000000100000000", 1024 * mib, "000000020000000000000003"},
		{"000000010000000000000000", 16 * mib, ""},
		{"000000010000000000000003.partial", 16 * mib, ""},
		{"00000001.history", 16 * mib, ""},
		{"nonsense", 16 * mib, ""},
		{"000000010000000000000003", 0, ""},
	} {
		got, err := PreviousSegmentName(tt.name, tt.segSize)
		if (err == nil) != (tt.want != "") || got != tt.want {
			t.Errorf("PreviousSegmentName(%q, %d) = %q, %v; want %q", tt.name, tt.segSize, got, err, tt.want)
		}
	}
}

func TestNextSegmentName(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want string
	}{
		{"000000010000000000000001", 16 << 20, "000000010000000000000002"},
		{"0000000100000000000000FF", 16 << 20, "000000010000000100000000"},
		{"0000000200000003000000FE", 16 << 20, "0000000200000003000000FF"},
		{"000000010000000000000FFF", 1 << 20, "000000010000000100000000"},
		{"000000010000000000000003", 1 << 30, "000000010000000100000000"},
	} {
		got, err := NextSegmentName(tc.name, tc.size)
		if err != nil || got != tc.want {
			t.Errorf("NextSegmentName(%s, %d) = %s, %v; want %s", tc.name, tc.size, got, err, tc.want)
		}
		if back, _ := PreviousSegmentName(got, tc.size); back != tc.name {
			t.Errorf("PreviousSegmentName(%s) = %s, want %s", got, back, tc.name)
		}
	}
	for _, bad := range []string{"00000001.history", "000000010000000000000001.partial"} {
		if _, err := NextSegmentName(bad, 16<<20); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
