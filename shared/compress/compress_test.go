package compress

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
)

// sample is the spec's 40 KiB pattern: (4096 zero bytes + 1024 random) x 8.
func sample() []byte {
	rnd := rand.New(rand.NewSource(1))
	var b bytes.Buffer
	for i := 0; i < 8; i++ {
		b.Write(make([]byte, 4096))
		r := make([]byte, 1024)
		rnd.Read(r)
		b.Write(r)
	}
	return b.Bytes()
}

func compressWith(t testing.TB, a *Algorithm, l Level, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := a.NewWriter(&buf, l)
	if err != nil {
		t.Fatalf("%s NewWriter: %v", a.Name, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("%s Write: %v", a.Name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s Close: %v", a.Name, err)
	}
	return buf.Bytes()
}

func decompress(a *Algorithm, data []byte) ([]byte, error) {
	r, err := a.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestRoundTripAllLevels(t *testing.T) {
	data := sample()
	for _, a := range All {
		levels := []Level{Medium, {named: "low"}, {named: "high"}, Num(a.Min - 1), Num(a.Max + 1), Num(a.Min), Num(a.Max)}
		for _, l := range levels {
			c := compressWith(t, a, l, data)
			if !bytes.HasPrefix(c, a.Magic()) {
				t.Errorf("%s level %v: header % x, want prefix % x", a.Name, l, c[:8], a.Magic())
			}
			got, err := decompress(a, c)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s level %v: round trip failed: %v (len %d)", a.Name, l, err, len(got))
			}
		}
	}
}

func TestHeaders(t *testing.T) {
	data := sample()
	// gzip: FLG 0 (no name), OS 255 like Python; bzip2 block size digit = level.
	gz := compressWith(t, Gzip, Medium, data)
	if gz[2] != 8 || gz[3] != 0 {
		t.Errorf("gzip header % x", gz[:10])
	}
	for l, want := range map[string]string{"medium": "BZh5", "high": "BZh9", "low": "BZh1"} {
		lv, _ := ParseLevel(l)
		if got := string(compressWith(t, Bzip2, lv, data)[:4]); got != want {
			t.Errorf("bzip2 %s header %q, want %q", l, got, want)
		}
	}
	// xz stream flags 00 04: CRC64.
	if x := compressWith(t, XZ, Medium, data); x[6] != 0 || x[7] != 4 {
		t.Errorf("xz stream flags % x, want 00 04", x[6:8])
	}
}

func TestConcatenatedStreams(t *testing.T) {
	a, b := []byte("first part "), []byte("second part")
	for _, alg := range All {
		// For snappy, two framed streams back to back are one stream with a
		// repeated identifier chunk, which readers accept.
		c := append(compressWith(t, alg, Medium, a), compressWith(t, alg, Medium, b)...)
		got, err := decompress(alg, c)
		if err != nil || string(got) != string(a)+string(b) {
			t.Errorf("%s: concatenated streams gave %q, %v", alg.Name, got, err)
		}
	}
}

func TestTruncatedIsAnError(t *testing.T) {
	data := sample()
	for _, a := range All {
		c := compressWith(t, a, Medium, data)
		// Cuts inside a chunk or block. (A snappy stream cut exactly at a
		// chunk boundary cannot be detected by the format itself; restore
		// checks sizes and checksums for that.)
		for _, cut := range []int{len(c) / 2, len(c) - 1} {
			got, err := decompress(a, c[:cut])
			if err == nil {
				t.Errorf("%s truncated to %d/%d: no error, %d bytes", a.Name, cut, len(c), len(got))
				continue
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Errorf("%s truncated: error %T %v is not a CorruptError", a.Name, err, err)
			}
		}
	}
}

func TestSourceErrorsPassThrough(t *testing.T) {
	boom := errors.New("connection reset")
	for _, a := range All {
		c := compressWith(t, a, Medium, sample())
		src := io.MultiReader(bytes.NewReader(c[:len(c)/2]), errReader{boom})
		r, err := a.NewReader(Source(src))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if !errors.Is(err, boom) {
			t.Errorf("%s: got %v, want the source error", a.Name, err)
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			t.Errorf("%s: source error reported as corrupt data: %v", a.Name, err)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestEmptyInput(t *testing.T) {
	for _, a := range All {
		c := compressWith(t, a, Medium, nil)
		got, err := decompress(a, c)
		if err != nil || len(got) != 0 {
			t.Errorf("%s: empty round trip gave %d bytes, %v", a.Name, len(got), err)
		}
	}
}

func TestByNameAndExt(t *testing.T) {
	for _, a := range All {
		if b, ok := ByName(a.Name); !ok || b != a {
			t.Errorf("ByName(%q)", a.Name)
		}
		if b, ok := ByExt(a.Ext); !ok || b != a {
			t.Errorf("ByExt(%q)", a.Ext)
		}
	}
	for _, tt := range []struct{ in, base, alg string }{
		{"X.gz", "X", "gzip"},
		{"X.partial.bz2", "X.partial", "bzip2"},
		{"X.zst.gz", "X.zst", "gzip"},
		{"X.tmp", "X.tmp", ""},
		{"X", "X", ""},
		{"X.lz4", "X", "lz4"},
		{"X.snappy", "X", "snappy"},
		{"X.xz", "X", "xz"},
	} {
		base, a := SplitExt(tt.in)
		name := ""
		if a != nil {
			name = a.Name
		}
		if base != tt.base || name != tt.alg {
			t.Errorf("SplitExt(%q) = %q, %q; want %q, %q", tt.in, base, name, tt.base, tt.alg)
		}
	}
	if _, ok := ByName("brotli"); ok {
		t.Error("ByName(brotli) found")
	}
}
