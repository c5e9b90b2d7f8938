package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// maxAlloc is what decoding one object may allocate in all, whatever the
// object claims: the largest window or dictionary a legitimate archive
// needs, plus room for the decoder's own buffers. zstd's window goes up
// to 128 MiB (level 22), xz's dictionary to 64 MiB (preset 9); the other
// formats have small fixed block sizes.
func maxAlloc(a *Algorithm) uint64 {
	switch a {
	case Zstd:
		return 128<<20 + 16<<20
	case XZ:
		return 64<<20 + 16<<20
	}
	return 16 << 20
}

// hostile are small objects whose headers claim huge windows, dictionaries,
// blocks or chunks: each must fail (or decode a little) within maxAlloc.
func hostile(t testing.TB) map[string]struct {
	alg  *Algorithm
	data []byte
} {
	t.Helper()
	zstdFrame := func(header ...byte) []byte {
		// One RLE block of 128 KiB - 1 bytes, last in its frame.
		blk := uint32(1) | 1<<1 | (128<<10-1)<<3
		return append(append([]byte{0x28, 0xb5, 0x2f, 0xfd}, header...), byte(blk), byte(blk>>8), byte(blk>>16), 'A')
	}
	fcs := func(n uint64) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	// xz: stream header (CRC32 check), then a block header with one LZMA2
	// filter whose dictionary-size byte is dict, then one stored chunk.
	xzBlock := func(dict byte) []byte {
		var b bytes.Buffer
		b.Write([]byte{0xfd, '7', 'z', 'X', 'Z', 0, 0x00, 0x01})
		binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE([]byte{0x00, 0x01}))
		bh := []byte{2, 0x00, 0x21, 0x01, dict, 0, 0, 0}
		b.Write(bh)
		binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(bh))
		b.Write([]byte{0x01, 0x00, 0x00, 'A', 0x00})
		return b.Bytes()
	}
	// lz4: a frame header for 4 MiB blocks, then a block claiming size
	// (with the "stored" bit when stored).
	lzHeader := []byte{0x04, 0x22, 0x4d, 0x18, 0, 0, 0}
	lzHeader[4] = 0x60 // FLG: version 1, independent blocks, no checksums
	lzHeader[5] = 0x70 // BD: 4 MiB blocks
	lzHeader[6] = lz4HeaderChecksum(t, lzHeader[4:6])
	lzBlock := func(size uint32) []byte {
		return binary.LittleEndian.AppendUint32(append([]byte{}, lzHeader...), size)
	}
	snappyChunk := func(typ byte, n int) []byte {
		return append([]byte("\xff\x06\x00\x00sNaPpY"), typ, byte(n), byte(n>>8), byte(n>>16), 0, 0, 0, 0)
	}
	return map[string]struct {
		alg  *Algorithm
		data []byte
	}{
		"zstd window 2 TiB":                   {Zstd, zstdFrame(0x00, 0xf8)},
		"zstd window 256 MiB":                 {Zstd, zstdFrame(0x00, (28-10)<<3)},
		"zstd window 128 MiB":                 {Zstd, zstdFrame(0x00, (27-10)<<3)},
		"zstd single segment, 1 TiB content":  {Zstd, zstdFrame(append([]byte{0xe0}, fcs(1<<40)...)...)},
		"zstd single segment, 64 MiB content": {Zstd, zstdFrame(append([]byte{0xe0}, fcs(64<<20)...)...)},
		"xz dictionary 4 GiB":                 {XZ, xzBlock(40)},
		"xz dictionary 1 GiB":                 {XZ, xzBlock(36)},
		"xz dictionary 96 MiB":                {XZ, xzBlock(29)},
		"xz dictionary 64 MiB":                {XZ, xzBlock(28)},
		"lz4 block 2 GiB, compressed":         {LZ4, lzBlock(0x7fffffff)},
		"lz4 block 2 GiB, stored":             {LZ4, lzBlock(0xffffffff)},
		"lz4 block 4 MiB, stored, absent":     {LZ4, lzBlock(1<<31 | 4<<20)},
		"snappy chunk 16 MiB, compressed":     {Snappy, snappyChunk(0x00, 1<<24-1)},
		"snappy chunk 16 MiB, skippable":      {Snappy, snappyChunk(0x80, 1<<24-1)},
		"bzip2 900k blocks":                   {Bzip2, []byte("BZh91AY&SY\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")},
		"gzip header with 64 KiB extra field": {Gzip, []byte{0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff}},
		"gzip endless file name":              {Gzip, append([]byte{0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 0xff}, bytes.Repeat([]byte{'n'}, 1<<20)...)},
	}
}

// lz4HeaderChecksum is the frame descriptor's HC byte: the second byte of
// xxHash32 of the descriptor. It is found by trying every value, which
// keeps xxHash out of this test.
func lz4HeaderChecksum(t testing.TB, desc []byte) byte {
	for hc := 0; hc < 256; hc++ {
		frame := append(append([]byte{0x04, 0x22, 0x4d, 0x18}, desc...), byte(hc), 0, 0, 0, 0)
		if _, err := decompress(LZ4, frame); err == nil {
			return byte(hc)
		}
	}
	t.Fatal("no lz4 header checksum fits")
	return 0
}

// readAll reads a's decoding of data as restore does, up to limit bytes,
// and returns what it read, the error, and the bytes allocated meanwhile.
func readAll(a *Algorithm, data []byte, limit int64) (n int64, err error, alloc uint64) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	r, err := a.NewReader(bytes.NewReader(data))
	if err == nil {
		n, err = io.CopyBuffer(io.Discard, io.LimitReader(onlyReader{r}, limit), make([]byte, 32<<10))
		r.Close()
	}
	runtime.ReadMemStats(&m1)
	return n, err, m1.TotalAlloc - m0.TotalAlloc
}

type onlyReader struct{ io.Reader }

// TestHostileHeadersBoundedMemory: an object that claims a huge window,
// dictionary, block or chunk fails with a CorruptError, or decodes what
// it holds, without allocating more than maxAlloc.
func TestHostileHeadersBoundedMemory(t *testing.T) {
	for name, h := range hostile(t) {
		n, err, alloc := readAll(h.alg, h.data, 64<<20)
		t.Logf("%s: %d bytes in, %d out, allocated %.1f MiB: %v", name, len(h.data), n, float64(alloc)/(1<<20), err)
		if alloc > maxAlloc(h.alg) {
			t.Errorf("%s: allocated %d MiB, more than %d MiB", name, alloc>>20, maxAlloc(h.alg)>>20)
		}
		var ce *CorruptError
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("%s: error %T %v is not a CorruptError", name, err, err)
		}
	}
}

// TestXZFromOtherEncoders decodes what xz-utils 5.4 and Python's lzma
// (Barman's encoder) write, with every check type, several blocks, two
// streams with padding, and the largest preset: the xz decoder restores
// them all. A dictionary beyond preset 9's 64 MiB, which neither writes
// unless told to, is refused (testdata/xz/README).
func TestXZFromOtherEncoders(t *testing.T) {
	want := sample()
	files, err := filepath.Glob("testdata/xz/*.xz")
	if err != nil || len(files) < 9 {
		t.Fatalf("testdata/xz: %d files, %v", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decompress(XZ, data)
		if strings.Contains(f, "dict96MiB") {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Errorf("%s: %d bytes, %v; want a CorruptError", f, len(got), err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d-byte sample", f, len(got), err, len(want))
		}
	}
}
