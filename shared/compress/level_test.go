package compress

import (
	"bytes"
	"github.com/klauspost/compress/zstd"
	"io"
	"testing"
)

// levelVectors are spec §2.5's and §8.3's; they seed FuzzParseLevel too.
var levelVectors = []struct {
	in   string
	want string // "" = error
}{
	{"HIGH", "high"}, {"low", "low"}, {"Medium", "medium"}, {"", "medium"},
	{"-5", "-5"}, {"5", "5"}, {"007", "7"}, {"100", "100"},
	{"--5", ""}, {"+5", ""}, {"-", ""}, {" 5", ""}, {"5.0", ""}, {"fast", ""}, {"0x5", ""},
	{"99999999999999999999999", "9223372036854775807"},
}

func TestParseLevel(t *testing.T) {
	for _, tt := range levelVectors {
		l, err := ParseLevel(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseLevel(%q) = %v, want error", tt.in, l)
			} else if want := "invalid parse_compression_level value: '" + tt.in + "'"; err.Error() != want {
				t.Errorf("ParseLevel(%q) error %q, want %q", tt.in, err, want)
			}
			continue
		}
		if err != nil || l.String() != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %s", tt.in, l, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		alg     *Algorithm
		level   string
		want    int
		clamped bool
	}{
		{Gzip, "100", 9, true}, {Gzip, "-100", 1, true}, {Gzip, "", 6, false}, {Gzip, "low", 1, false}, {Gzip, "high", 9, false},
		{Bzip2, "medium", 5, false}, {Bzip2, "high", 9, false}, {Bzip2, "low", 1, false},
		{XZ, "medium", 3, false}, {XZ, "high", 5, false}, {XZ, "0", 1, true},
		{Zstd, "-100", -22, true}, {Zstd, "100", 22, true}, {Zstd, "medium", 4, false}, {Zstd, "high", 9, false}, {Zstd, "low", 1, false},
		{LZ4, "HIGH", 10, false}, {LZ4, "medium", 6, false}, {LZ4, "low", 0, false}, {LZ4, "17", 16, true},
		{Gzip, "99999999999999999999999", 9, true}, {Zstd, "-99999999999999999999999", -22, true},
	}
	for _, tt := range tests {
		l, err := ParseLevel(tt.level)
		if err != nil {
			t.Fatal(err)
		}
		if got, clamped := tt.alg.Resolve(l); got != tt.want || clamped != tt.clamped {
			t.Errorf("%s.Resolve(%q) = %d, %v; want %d, %v", tt.alg.Name, tt.level, got, clamped, tt.want, tt.clamped)
		}
	}
}

// TestLZ4DefaultIsFast: without a level, lz4 runs its fast compressor
// (a deliberate difference from Barman, whose default "medium" is liblz4's
// level 6); an explicit "medium" still means 6, and other algorithms'
// default is their medium.
func TestLZ4DefaultIsFast(t *testing.T) {
	if n, _ := LZ4.Resolve(Default); n != 0 {
		t.Errorf("lz4 default resolves to %d, want 0", n)
	}
	if n, _ := LZ4.Resolve(Medium); n != 6 {
		t.Errorf("lz4 medium resolves to %d, want 6", n)
	}
	for _, a := range All {
		if a == LZ4 {
			continue
		}
		if d, _ := a.Resolve(Default); d != a.Medium {
			t.Errorf("%s default resolves to %d, want medium %d", a.Name, d, a.Medium)
		}
	}
}

// TestSerialWriterRoundTrip: the one-core writers produce the same format.
func TestSerialWriterRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("serial writer of WAL, "), 50000)
	for _, a := range All {
		var buf bytes.Buffer
		w, err := a.NewSerialWriter(&buf, Default)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), a.Magic()) {
			t.Errorf("%s: header % x", a.Name, buf.Bytes()[:4])
		}
		r, err := a.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: round trip failed: %v", a.Name, err)
		}
	}
}

// TestZstdSerialWindow: the serial zstd writer (one per --jobs stream)
// declares a window of at most 1 MiB, the plain one at most 4 MiB: what
// bounds each stream's encoder memory.
func TestZstdSerialWindow(t *testing.T) {
	data := bytes.Repeat([]byte("zstd window of a WAL stream, "), 400000)
	for _, c := range []struct {
		serial bool
		max    uint64
	}{{false, zstdWindow}, {true, zstdSerialWindow}} {
		var buf bytes.Buffer
		newWriter := Zstd.NewWriter
		if c.serial {
			newWriter = Zstd.NewSerialWriter
		}
		w, err := newWriter(&buf, Default)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		var h zstd.Header
		if err := h.Decode(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		if h.WindowSize == 0 || h.WindowSize > c.max {
			t.Errorf("serial %v: window %d, want at most %d", c.serial, h.WindowSize, c.max)
		}
	}
}
