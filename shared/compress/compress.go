// Package compress provides the compression formats Barman's cloud tools
// use for WAL files, by name and by object-name suffix, with Barman's
// compression levels (barman/compression.py, barman/cloud.py
// ALLOWED_COMPRESSIONS).
//
// Every writer and reader streams: memory does not depend on the size of
// the data. Readers reject truncated or corrupt input with an error rather
// than returning short data, wherever the format makes that possible.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package compress

import (
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/golang/snappy"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	xi2xz "github.com/xi2/xz"
)

// Algorithm is one compression format.
type Algorithm struct {
	Name string // Barman's name: "gzip", "bzip2", "xz", "snappy", "zstd", "lz4"
	Ext  string // the object-name suffix: ".gz", ".bz2", ".xz", ".snappy", ".zst", ".lz4"

	// Barman's level bounds and named levels; HasLevels is false for snappy,
	// which ignores --compression-level.
	HasLevels         bool
	Min, Max          int
	Low, Medium, High int
	// Default is the level used when none is given, Medium unless the
	// algorithm says otherwise (lz4).
	Default   *int
	newWriter func(w io.Writer, level int) (io.WriteCloser, error)
	// serialWriter, when set, is newWriter on one core (NewSerialWriter).
	serialWriter func(w io.Writer, level int) (io.WriteCloser, error)
	newReader    func(r io.Reader) (io.ReadCloser, error)
	magic        []byte
}

// All lists the algorithms in the order of Barman's suffix table, which is
// the order restore tests suffixes in.
var All = []*Algorithm{Gzip, Bzip2, XZ, Snappy, Zstd, LZ4}

var (
	Gzip = &Algorithm{
		Name: "gzip", Ext: ".gz", HasLevels: true,
		Min: 1, Max: 9, Low: 1, Medium: 6, High: 9,
		magic: []byte{0x1f, 0x8b},
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// pgzip deflates 256 KiB blocks on every core and joins them
			// into one ordinary gzip member: the same size as a single
			// deflate stream, in half the time on two cores (76 ms vs
			// 128 ms for a 16 MiB segment at level 6), for ~5 MB of
			// buffers.
			zw, err := pgzip.NewWriterLevel(w, level)
			if err != nil {
				return nil, err
			}
			return zw, zw.SetConcurrency(256<<10, min(max(runtime.GOMAXPROCS(0), 2), 4))
		},
		serialWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// The same deflate stream format (one member, OS 255), on the
			// calling goroutine, with no block buffers.
			return gzip.NewWriterLevel(w, level)
		},
		newReader: func(r io.Reader) (io.ReadCloser, error) {
			// Multi-member streams are read whole, as Python's gzip does.
			return gzip.NewReader(r)
		},
	}
	Bzip2 = &Algorithm{
		Name: "bzip2", Ext: ".bz2", HasLevels: true,
		Min: 1, Max: 9, Low: 1, Medium: 5, High: 9,
		magic: []byte("BZh"),
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// The standard library only decodes bzip2.
			return dsbzip2.NewWriter(w, &dsbzip2.WriterConfig{Level: level})
		},
		newReader: func(r io.Reader) (io.ReadCloser, error) {
			// compress/bzip2 reads concatenated streams, like Python's bz2.
			return io.NopCloser(bzip2.NewReader(r)), nil
		},
	}
	XZ = &Algorithm{
		Name: "xz", Ext: ".xz", HasLevels: true,
		Min: 1, Max: 9, Low: 1, Medium: 3, High: 5,
		magic: []byte{0xfd, '7', 'z', 'X', 'Z', 0},
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// ulikunitz/xz has no presets: a level chooses liblzma's
			// dictionary size for that preset, the part of a preset that
			// matters most for WAL data. CRC64 is the default check, as
			// Python's lzma writes.
			return xz.WriterConfig{DictCap: xzDictCap[level]}.NewWriter(w)
		},
		newReader: func(r io.Reader) (io.ReadCloser, error) {
			// xi2/xz (a port of xz-embedded) rather than ulikunitz/xz,
			// which allocates whatever dictionary a block header claims,
			// up to 4 GiB for a 30-byte object. xzMaxDict is the largest
			// any xz preset uses; xz-embedded refuses more.
			zr, err := xi2xz.NewReader(r, xzMaxDict)
			if err != nil {
				return nil, err
			}
			return io.NopCloser(zr), nil
		},
	}
	Snappy = &Algorithm{
		Name: "snappy", Ext: ".snappy",
		magic: []byte("\xff\x06\x00\x00sNaPpY"),
		newWriter: func(w io.Writer, _ int) (io.WriteCloser, error) {
			// The framing format, as python-snappy's stream_compress writes.
			return snappy.NewBufferedWriter(w), nil
		},
		newReader: func(r io.Reader) (io.ReadCloser, error) {
			return io.NopCloser(snappy.NewReader(r)), nil
		},
	}
	Zstd = &Algorithm{
		Name: "zstd", Ext: ".zst", HasLevels: true,
		Min: -22, Max: 22, Low: 1, Medium: 4, High: 9,
		magic: []byte{0x28, 0xb5, 0x2f, 0xfd},
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// One frame, no goroutines: an archive_command compresses one
			// segment and exits. Levels below 1 (zstd's negative "fast"
			// levels) map to the fastest encoder. The window is capped at
			// 4 MiB and the encoder asked to save memory: the default 8 MiB
			// window and buffers cost ~17 MB of allocations for a 16 MiB
			// segment, ~6 MB this way, for the same output size on WAL data
			// (measured on real segments: within 0.1%).
			return newZstdWriter(w, level, zstdWindow)
		},
		serialWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// For callers that compress several segments at once (wal-archive
			// --jobs): a 1 MiB window, so that each stream holds about 1.5 MiB
			// of encoder state instead of ~4 (issue 11: memory grows by at
			// most one part buffer per job).
			return newZstdWriter(w, level, zstdSerialWindow)
		},
		newReader: func(r io.Reader) (io.ReadCloser, error) {
			// Level 22 needs a 128 MiB window; refuse more, so a hostile
			// object cannot make restore allocate without bound.
			d, err := zstd.NewReader(r,
				zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxWindow(1<<27),
				zstd.WithDecoderLowmem(true))
			if err != nil {
				return nil, err
			}
			return zstdReadCloser{d}, nil
		},
	}
	LZ4 = &Algorithm{
		Name: "lz4", Ext: ".lz4", HasLevels: true,
		Min: 0, Max: 16, Low: 0, Medium: 6, High: 10,
		// Without --compression-level, lz4 runs its fast compressor (level
		// 0, Barman's "low"), where Barman's default "medium" is liblz4's
		// high-compression level 6: lz4 is chosen for speed, and level 6
		// drains a busy primary's WAL at a third of the rate for ~10% fewer
		// bytes. A deliberate difference; "--compression-level medium"
		// still means 6.
		Default: ptr(0),
		magic:   []byte{0x04, 0x22, 0x4d, 0x18},
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			zw := lz4.NewWriter(w)
			err := zw.Apply(
				lz4.CompressionLevelOption(lz4Level(level)),
				lz4.BlockSizeOption(lz4.Block64Kb), // python-lz4's default
				lz4.ConcurrencyOption(1))
			return zw, err
		},
		newReader: func(r io.Reader) (io.ReadCloser, error) {
			return io.NopCloser(lz4.NewReader(r)), nil
		},
	}
)

func ptr(n int) *int { return &n }

func newZstdWriter(w io.Writer, level, window int) (io.WriteCloser, error) {
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(window),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true))
}

// zstdWindow is the encoder's window size (see Zstd); zstdSerialWindow
// its window in NewSerialWriter.
const (
	zstdWindow       = 4 << 20
	zstdSerialWindow = 1 << 20
)

// xzMaxDict is liblzma's dictionary size for preset 9, the largest of its
// presets and of xzDictCap: what restore accepts.
const xzMaxDict = 64 << 20

// liblzma's dictionary size for presets 1..9.
var xzDictCap = [10]int{0, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}

// lz4Level maps liblz4's levels (below 3 is the fast compressor, 3 to 12
// high compression) onto pierrec/lz4's, whose high-compression levels stop
// at 9.
func lz4Level(n int) lz4.CompressionLevel {
	switch {
	case n < 3:
		return lz4.Fast
	case n >= 9:
		return lz4.Level9
	}
	return []lz4.CompressionLevel{lz4.Level3, lz4.Level4, lz4.Level5, lz4.Level6, lz4.Level7, lz4.Level8}[n-3]
}

type zstdReadCloser struct{ *zstd.Decoder }

func (z zstdReadCloser) Close() error { z.Decoder.Close(); return nil }

// ByName returns the algorithm Barman calls name.
func ByName(name string) (*Algorithm, bool) {
	for _, a := range All {
		if a.Name == name {
			return a, true
		}
	}
	return nil, false
}

// ByExt returns the algorithm whose suffix is ext (with its dot).
func ByExt(ext string) (*Algorithm, bool) {
	for _, a := range All {
		if a.Ext == ext {
			return a, true
		}
	}
	return nil, false
}

// SplitExt strips one known compression suffix from name, testing suffixes
// in Barman's table order. It returns name unchanged and nil when none
// matches.
func SplitExt(name string) (string, *Algorithm) {
	for _, a := range All {
		if strings.HasSuffix(name, a.Ext) {
			return strings.TrimSuffix(name, a.Ext), a
		}
	}
	return name, nil
}

// Magic is the first bytes of every stream this algorithm writes.
func (a *Algorithm) Magic() []byte { return a.magic }

// NewWriter compresses into w at Barman's level l for this algorithm. The
// caller must Close the writer to flush the stream's end; closing it does
// not close w.
func (a *Algorithm) NewWriter(w io.Writer, l Level) (io.WriteCloser, error) {
	n, _ := a.Resolve(l)
	return a.newWriter(w, n)
}

// NewSerialWriter is NewWriter with a compressor that runs on the calling
// goroutine only (gzip otherwise fans out over up to four cores): for
// callers that compress several streams at once.
func (a *Algorithm) NewSerialWriter(w io.Writer, l Level) (io.WriteCloser, error) {
	n, _ := a.Resolve(l)
	if a.serialWriter != nil {
		return a.serialWriter(w, n)
	}
	return a.newWriter(w, n)
}

// NewReader decompresses r. A stream that ends early or fails its checks
// makes Read return an error.
func (a *Algorithm) NewReader(r io.Reader) (io.ReadCloser, error) {
	zr, err := a.newReader(r)
	if err != nil {
		return nil, &CorruptError{Alg: a.Name, Err: err}
	}
	return &checkedReader{a: a, r: zr}, nil
}

// CorruptError reports data that does not decode.
type CorruptError struct {
	Alg string
	Err error
}

func (e *CorruptError) Error() string { return fmt.Sprintf("invalid %s data: %v", e.Alg, e.Err) }
func (e *CorruptError) Unwrap() error { return e.Err }

// checkedReader turns decoder errors into CorruptError, so callers can tell
// corrupt data from a failing download. Errors from the underlying reader
// pass through the decoders unchanged and are returned as they are.
type checkedReader struct {
	a *Algorithm
	r io.ReadCloser
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && !errors.As(err, new(*SourceError)) {
		var ce *CorruptError
		if !errors.As(err, &ce) {
			err = &CorruptError{Alg: c.a.Name, Err: err}
		}
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.r.Close() }

// SourceError marks an error of the compressed source (a download that
// failed), so that it is not reported as corrupt data. Wrap a source reader
// with Source to get it.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Source wraps r so that its errors reach the caller of a decompressing
// reader as *SourceError rather than as corrupt data.
func Source(r io.Reader) io.Reader { return sourceReader{r} }

type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &SourceError{err}
	}
	return n, err
}
