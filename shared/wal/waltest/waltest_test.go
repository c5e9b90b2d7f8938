package waltest

import (
	"bytes"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/wal"
)

// TestSegment: what Segment makes passes the archive's check under its own
// name only, and seeds make different contents.
func TestSegment(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		tli  uint32
		as   string
		ok   bool
	}{
		{"000000010000000000000001", 1 << 20, 0, "000000010000000000000001", true},
		{"000000010000000A000000FF", 1 << 20, 0, "000000010000000A000000FF", true},
		{"000000020000000000000003.partial", 16 << 20, 0, "000000020000000000000003.partial", true},
		{"000000020000000000000003", 16 << 20, 1, "000000020000000000000003", true},
		{"000000010000000000000001", 1 << 20, 0, "000000010000000000000002", false},
		{"000000020000000000000003", 1 << 20, 0, "000000010000000000000003", false},
	} {
		b := Segment(tc.name, tc.size, tc.tli, 1)
		n, err := wal.Parse(tc.as)
		if err != nil {
			t.Fatal(err)
		}
		if err := wal.CheckSegment(n, int64(len(b)), b); (err == nil) != tc.ok {
			t.Errorf("%s checked as %s: %v, want ok=%v", tc.name, tc.as, err, tc.ok)
		}
	}
	if bytes.Equal(Segment("000000010000000000000001", 1<<20, 0, 1), Segment("000000010000000000000001", 1<<20, 0, 2)) {
		t.Error("two seeds, one content")
	}
}
