package compress

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

// FuzzParseLevel: --compression-level's parser never panics, and every
// level it accepts resolves inside each algorithm's bounds, and reads
// back the same from its String form.
func FuzzParseLevel(f *testing.F) {
	for _, v := range levelVectors {
		f.Add(v.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLevel(s)
		if err != nil {
			return
		}
		back, err := ParseLevel(l.String())
		if err != nil {
			t.Fatalf("ParseLevel(%q) = %v, whose String %q does not parse: %v", s, l, l.String(), err)
		}
		for _, a := range All {
			n, _ := a.Resolve(l)
			if a.HasLevels && (n < a.Min || n > a.Max) {
				t.Fatalf("%s: level %q resolves to %d, outside [%d, %d]", a.Name, s, n, a.Min, a.Max)
			}
			if m, _ := a.Resolve(back); m != n {
				t.Fatalf("%s: level %q resolves to %d, its String %q to %d", a.Name, s, n, l.String(), m)
			}
		}
	})
}

// fuzzMaxOut is how much of a fuzzed object's decoding is read: enough to
// cross block and window boundaries, small enough to keep each run fast.
const fuzzMaxOut = 4 << 20

// FuzzNewReader: every decompressor, on any bytes, never panics, never
// stops making progress, fails only with a CorruptError (the source here
// never fails), and allocates no more than maxAlloc whatever the bytes
// claim. alg picks the algorithm.
func FuzzNewReader(f *testing.F) {
	small := sample()[:6000]
	for i, a := range All {
		good := compressWith(f, a, Medium, small)
		f.Add(uint8(i), good)
		f.Add(uint8(i), good[:len(good)/2])
		f.Add(uint8(i), append(append([]byte{}, good...), good...))
		flipped := append([]byte{}, good...)
		flipped[len(flipped)*2/3] ^= 0x40
		f.Add(uint8(i), flipped)
		f.Add(uint8(i), append([]byte{}, a.Magic()...))
	}
	for _, h := range hostile(f) {
		for i, a := range All {
			if a == h.alg {
				f.Add(uint8(i), h.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, alg uint8, data []byte) {
		a := All[int(alg)%len(All)]
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		r, err := a.NewReader(bytes.NewReader(data))
		if err == nil {
			buf := make([]byte, 32<<10)
			var total, stalls int
			for total < fuzzMaxOut {
				var n int
				n, err = r.Read(buf)
				total += n
				if n == 0 && err == nil {
					if stalls++; stalls > 1000 {
						t.Fatalf("%s: 1000 reads in a row returned nothing and no error", a.Name)
					}
					continue
				}
				stalls = 0
				if err != nil {
					break
				}
			}
			r.Close()
		}
		runtime.ReadMemStats(&m1)
		if err != nil && err != io.EOF {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("%s: error %T %v is not a CorruptError", a.Name, err, err)
			}
		}
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > maxAlloc(a) {
			t.Fatalf("%s: %d bytes allocated %d MiB, more than %d MiB", a.Name, len(data), alloc>>20, maxAlloc(a)>>20)
		}
	})
}
