package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/retry"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

// fastRetries retry at once, so that tests of retries take no time.
var fastRetries = Options{Retry: retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond}}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// writeAll writes data to a new Writer in pieces of uneven sizes, as a tar
// writer and a compressor would, and closes it.
func writeAll(t *testing.T, s *Store, key string, data []byte, o WriteOptions) (*Writer, error) {
	t.Helper()
	w, err := s.NewWriter(context.Background(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		n := min(len(data), 70000+len(data)%5000)
		if _, err := w.Write(data[:n]); err != nil {
			w.Abort(err)
			return w, err
		}
		data = data[n:]
	}
	return w, w.Close()
}

// count tallies the requests of a fake by kind.
func count(requests []string, kind string) int {
	n := 0
	for _, r := range requests {
		if r == kind {
			n++
		}
	}
	return n
}

func TestWriterS3Parts(t *testing.T) {
	const part = 5 << 20
	for _, tc := range []struct {
		name      string
		size      int
		jobs      int
		requests  []string // in order, for the sequential shapes
		partSizes []int
	}{
		{"smaller than a part: one PutObject", part - 1, 4, []string{"PUT "}, nil},
		{"empty", 0, 2, []string{"PUT "}, nil},
		{"exactly one part", part, 1, []string{"POST uploads", "PUT partNumber,uploadId", "POST uploadId"}, []int{part}},
		{"three parts and a bit, one job", 3*part + 10, 1, nil, []int{part, part, part, 10}},
		{"nine parts, four jobs", 9*part - 7, 4, nil, []int{part, part, part, part, part, part, part, part, part - 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newFakeS3(t)
			f.partDelay = 50 * time.Millisecond
			data := randomData(tc.size)
			o := WriteOptions{UploadOptions: UploadOptions{IfNotExist: true, Tags: tags.List{{Key: "k", Value: "v"}},
				Metadata: map[string]string{"m": "1"}}, PartSize: part, Jobs: tc.jobs}
			w, err := writeAll(t, s, "p/k", data, o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.objects["p/k"], data) {
				t.Fatalf("object holds %d bytes, want the %d written", len(f.objects["p/k"]), len(data))
			}
			if tc.requests != nil && strings.Join(f.requests, "; ") != strings.Join(tc.requests, "; ") {
				t.Errorf("requests %q, want %q", f.requests, tc.requests)
			}
			for i, want := range tc.partSizes {
				if got := len(f.parts[i+1]); got != want {
					t.Errorf("part %d: %d bytes, want %d", i+1, got, want)
				}
				if f.attempts[i+1] != 1 {
					t.Errorf("part %d sent %d times", i+1, f.attempts[i+1])
				}
			}
			if len(f.parts) != len(tc.partSizes) {
				t.Errorf("%d parts, want %d", len(f.parts), len(tc.partSizes))
			}
			// Tags and metadata on the request that creates the object or
			// the upload, the conditional create on the one that makes it
			// appear.
			first, last := f.headers[0], f.headers[len(f.headers)-1]
			if first.Get("X-Amz-Tagging") != "k=v" || first.Get("X-Amz-Meta-M") != "1" {
				t.Errorf("tags/metadata not on %s: %v", f.requests[0], first)
			}
			if last.Get("If-None-Match") != "*" {
				t.Errorf("no If-None-Match on %s", f.requests[len(f.requests)-1])
			}
			if tc.partSizes != nil && first.Get("X-Amz-Checksum-Algorithm") != "CRC32" {
				t.Errorf("CreateMultipartUpload without the CRC32 algorithm: %v", first)
			}
			// The concurrency bound is reached, not exceeded; the buffers
			// never exceed Jobs+1.
			wantInflight := min(tc.jobs, len(tc.partSizes))
			if f.maxInflight != wantInflight {
				t.Errorf("at most %d parts in flight, want %d", f.maxInflight, wantInflight)
			}
			if w.allocated > tc.jobs+1 {
				t.Errorf("%d part buffers, more than Jobs+1 = %d", w.allocated, tc.jobs+1)
			}
		})
	}
}

// TestWriterS3PartRetried: a part that fails twice is sent again alone,
// from its buffer, while the others are sent once.
func TestWriterS3PartRetried(t *testing.T) {
	const part = 5 << 20
	f, s := newFakeS3(t, fastRetries)
	f.failPart[2] = 2
	data := randomData(4*part + 1)
	if _, err := writeAll(t, s, "p/k", data, WriteOptions{PartSize: part, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.objects["p/k"], data) {
		t.Fatal("the object differs from what was written")
	}
	want := map[int]int{1: 1, 2: 3, 3: 1, 4: 1, 5: 1}
	for n, a := range want {
		if f.attempts[n] != a {
			t.Errorf("part %d sent %d times, want %d (attempts %v)", n, f.attempts[n], a, f.attempts)
		}
	}
	if got := count(f.requests, "POST uploads"); got != 1 {
		t.Errorf("%d multipart uploads started, want 1", got)
	}
}

// TestWriterS3Aborts: a failed part, a cancelled context, a failed source
// and Abort all abort the multipart upload, with a context that is not
// cancelled, and leave no object.
func TestWriterS3Aborts(t *testing.T) {
	const part = 5 << 20
	boom := errors.New("tar writer failed")
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f *fakeS3, s *Store) error
		want error // what Close returns (errors.Is), nil: any error
	}{
		{"a part refused", func(t *testing.T, f *fakeS3, s *Store) error {
			f.refusePart[2] = true
			_, err := writeAll(t, s, "p/k", randomData(4*part), WriteOptions{PartSize: part, Jobs: 2})
			return err
		}, nil},
		{"context cancelled after two parts", func(t *testing.T, f *fakeS3, s *Store) error {
			ctx, cancel := context.WithCancel(context.Background())
			w, err := s.NewWriter(ctx, "p/k", WriteOptions{PartSize: part, Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(randomData(2*part + 100)); err != nil {
				t.Fatal(err)
			}
			cancel()
			w.Write(make([]byte, part)) // fails or not, depending on timing
			return w.Close()
		}, context.Canceled},
		{"source fails", func(t *testing.T, f *fakeS3, s *Store) error {
			w, err := s.NewWriter(context.Background(), "p/k", WriteOptions{PartSize: part, Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.ReadFrom(&failAfter{r: bytes.NewReader(make([]byte, 2*part+5)), err: boom}); !errors.Is(err, boom) {
				t.Fatalf("ReadFrom: %v, want the source's error", err)
			}
			return w.Close()
		}, boom},
		{"Abort", func(t *testing.T, f *fakeS3, s *Store) error {
			w, err := s.NewWriter(context.Background(), "p/k", WriteOptions{PartSize: part, Jobs: 3})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(randomData(3 * part))
			if err := w.Abort(boom); err != nil {
				t.Errorf("Abort: %v", err)
			}
			return w.Close()
		}, boom},
		{"key taken at completion", func(t *testing.T, f *fakeS3, s *Store) error {
			f.completeStatus = 412
			_, err := writeAll(t, s, "p/k", randomData(part+1), WriteOptions{UploadOptions: UploadOptions{IfNotExist: true}, PartSize: part})
			return err
		}, ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newFakeS3(t, fastRetries)
			err := tc.run(t, f, s)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Close: %v, want %v", err, tc.want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.objects["p/k"]; ok {
				t.Error("an object was made")
			}
			if f.open {
				t.Errorf("the multipart upload is still open; requests %q", f.requests)
			}
			if got := f.requests[len(f.requests)-1]; got != "DELETE uploadId" {
				t.Errorf("last request %q, want the abort", got)
			}
		})
	}
}

// TestWriterMemoryBound measures the memory a large upload takes: the
// bytes allocated while 30 parts go through 3 jobs (to a server that keeps
// nothing) are the Jobs+1 part buffers and little more, far below the
// object's size.
func TestWriterMemoryBound(t *testing.T) {
	const (
		part  = 5 << 20
		parts = 30
		jobs  = 3
	)
	f, s := newFakeS3(t)
	f.partDelay, f.discard = 5*time.Millisecond, true
	chunk := randomData(1 << 20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, err := s.NewWriter(context.Background(), "p/big", WriteOptions{PartSize: part, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	for range parts * part / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if w.allocated != jobs+1 {
		t.Errorf("%d part buffers, want Jobs+1 = %d", w.allocated, jobs+1)
	}
	if f.attempts[parts] != 1 || f.attempts[parts+1] != 0 {
		t.Fatalf("parts sent: %v, want %d", f.attempts, parts)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	buffers := uint64((jobs + 1) * part)
	t.Logf("allocated %.1f MiB (client and server) for a %d MiB object; the part buffers are %d MiB",
		float64(allocated)/(1<<20), parts*part>>20, buffers>>20)
	if allocated > buffers+8<<20 {
		t.Errorf("allocated %d bytes, more than the %d of the part buffers and 8 MiB", allocated, buffers)
	}
}

// TestWriterS3Limits: a part size the provider refuses is refused before
// anything is sent; one too small is raised; too many parts fail.
func TestWriterS3Limits(t *testing.T) {
	_, s := newFakeS3(t)
	if _, err := s.NewWriter(context.Background(), "k", WriteOptions{PartSize: 6 << 30}); err == nil {
		t.Error("a 6 GiB part was accepted")
	}
	w, err := s.NewWriter(context.Background(), "k", WriteOptions{PartSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if w.partSize != 5<<20 {
		t.Errorf("part size %d, want S3's smallest part", w.partSize)
	}
	w.Abort(nil)
	m := NewMemStore(Location{Provider: S3})
	m.wp.limits.maxParts = 3
	if _, err := writeAll(t, m, "k", make([]byte, 45), WriteOptions{PartSize: 10, Jobs: 2}); err == nil || !strings.Contains(fmt.Sprint(err), "more than 3 parts") {
		t.Errorf("an object of 5 parts with a limit of 3: %v", err)
	}
	if open := m.OpenUploads(); len(open) > 0 {
		t.Errorf("uploads left open: %q", open)
	}
}

// TestWriterWriteAfterClose: a closed Writer refuses data and Close
// returns the same result again.
func TestWriterWriteAfterClose(t *testing.T) {
	_, s := newFakeS3(t)
	w, err := writeAll(t, s, "k", []byte("x"), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("y")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := io.Copy(w, strings.NewReader("z")); err == nil {
		t.Error("ReadFrom after Close succeeded")
	}
}

// TestWriterGrowingParts: with MaxSize beyond what the part limit holds
// at PartSize, parts double per group, each buffer of the new size
// replacing one of the old, never more than Jobs+1 buffers; the object is
// whole.
func TestWriterGrowingParts(t *testing.T) {
	const part = 5 << 20
	f, s := newFakeS3(t)
	// 4 parts: 4 of 5 MiB hold 20 MiB, 2 groups of 2 hold 30 MiB, 4
	// groups of 1 hold 75 MiB ≥ 40 MiB: 5, 10, 20, 40 MiB.
	s.wp.limits.maxParts = 4
	data := randomData(3*part + 7)
	w, err := writeAll(t, s, "p/k", data, WriteOptions{PartSize: part, MaxSize: 8 * part, Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.objects["p/k"], data) {
		t.Fatal("the object differs from what was written")
	}
	want := []int{part, 2 * part, 7}
	if len(f.parts) != len(want) {
		t.Fatalf("%d parts, want %d", len(f.parts), len(want))
	}
	for i, n := range want {
		if got := len(f.parts[i+1]); got != n {
			t.Errorf("part %d: %d bytes, want %d", i+1, got, n)
		}
	}
	if w.allocated > 2 {
		t.Errorf("%d part buffers, more than Jobs+1 = 2", w.allocated)
	}
	if w.SendTime() <= 0 {
		t.Errorf("SendTime %v after three parts", w.SendTime())
	}
}

// TestWriterGrowingMemStore: a memory store with a part limit grows its
// parts the same way; the object is whole and no upload stays open.
func TestWriterGrowingMemStore(t *testing.T) {
	m := NewMemStore(Location{Provider: S3})
	m.wp.limits.maxParts = 10
	data := randomData(300)
	// 10 parts of 10 hold 100; 4 groups of 2 (10, 20, 40, 80) hold 300:
	// parts 10, 10, 20, 20, 40, 40, 80, 80.
	w, err := writeAll(t, m, "k", data, WriteOptions{PartSize: 10, MaxSize: 300, Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if w.parts != 8 {
		t.Errorf("%d parts, want 8", w.parts)
	}
	r, err := m.NewReader(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); !bytes.Equal(got, data) {
		t.Error("the object differs from what was written")
	}
	if open := m.OpenUploads(); len(open) > 0 {
		t.Errorf("uploads left open: %q", open)
	}
}

// TestWriterBuffersShared: Writers that share Buffers, one after the
// other, reuse the first one's part buffers instead of allocating theirs;
// buffers too small for the parts asked are not used.
func TestWriterBuffersShared(t *testing.T) {
	m := NewMemStore(Location{Provider: S3})
	pool := &Buffers{}
	o := WriteOptions{PartSize: 100, Jobs: 2, Buffers: pool}
	w, err := writeAll(t, m, "a", randomData(1000), o)
	if err != nil {
		t.Fatal(err)
	}
	made := w.allocated
	if n := len(pool.free); n != made || made == 0 {
		t.Fatalf("%d buffers back in the pool after the first Writer, want the %d it made", n, made)
	}
	first := map[*byte]bool{}
	for _, b := range pool.free {
		first[&b[:1][0]] = true
	}
	w, err = m.NewWriter(context.Background(), "b", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomData(250)); err != nil {
		t.Fatal(err)
	}
	if !first[&w.buf[:1][0]] {
		t.Error("the second Writer allocated a buffer of its own")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, want := len(pool.free), max(made, w.allocated); n != want {
		t.Errorf("%d buffers in the pool after the second Writer, want %d", n, want)
	}
	// Parts larger than the pooled buffers: they are not taken.
	if got := pool.get(101); got != nil {
		t.Errorf("a buffer of %d bytes for parts of 101", cap(got))
	}
	if len(pool.free) != 0 {
		t.Errorf("%d buffers too small kept in the pool", len(pool.free))
	}
}
