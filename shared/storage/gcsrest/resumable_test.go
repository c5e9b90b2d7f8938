package gcsrest

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/api/googleapi"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// writeChunks sends data in chunks of size q, the last one final, trying
// each chunk again once after a failure; it returns the chunks' errors.
func writeChunks(t *testing.T, up *Upload, data []byte, q int, finalEmpty bool) []error {
	t.Helper()
	var errs []error
	for off := 0; off < len(data) || (finalEmpty && off == len(data)); off += q {
		end := min(off+q, len(data))
		final := end == len(data) && !finalEmpty || off == len(data)
		err := up.WriteChunk(context.Background(), int64(off), data[off:end], final)
		if err != nil {
			errs = append(errs, err)
			err = up.WriteChunk(context.Background(), int64(off), data[off:end], final)
		}
		if err != nil {
			t.Fatalf("chunk at %d: %v (before: %v)", off, err, errs)
		}
		if off == len(data) {
			break
		}
	}
	return errs
}

func TestResumableUpload(t *testing.T) {
	const q = ChunkQuantum
	data := randomBytes(3*q + 1000)
	for _, tc := range []struct {
		name       string
		emulator   bool
		finalEmpty bool // the data ends on a chunk boundary: an empty last request
		size       int  // of the data, when not len(data)
		cutChunk   int  // the chunk request cut
		cutKeep    int  // bytes of it the session keeps
		ranges     []string
	}{
		{name: "in order", ranges: []string{"bytes 0-262143/*", "bytes 262144-524287/*", "bytes 524288-786431/*", "bytes 786432-787431/787432"}},
		{name: "empty last request", finalEmpty: true, size: 2 * q,
			ranges: []string{"bytes 0-262143/*", "bytes 262144-524287/*", "bytes */524288"}},
		{name: "a chunk cut, part of it kept: status, then the rest", cutChunk: 2, cutKeep: 100000,
			ranges: []string{"bytes 0-262143/*", "bytes 262144-524287/*", "bytes */*", "bytes 362144-524287/*", "bytes 524288-786431/*", "bytes 786432-787431/787432"}},
		{name: "the last chunk cut, all of it kept: status finds the object", cutChunk: 4, cutKeep: 1000,
			ranges: []string{"bytes 0-262143/*", "bytes 262144-524287/*", "bytes 524288-786431/*", "bytes 786432-787431/787432", "bytes */787432"}},
		{name: "emulator: the cut chunk sent again whole", emulator: true, cutChunk: 2,
			ranges: []string{"bytes 0-262143/*", "bytes 262144-524287/*", "bytes 262144-524287/*", "bytes 524288-786431/*", "bytes 786432-787431/787432"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGCS(t)
			f.cutChunk, f.cutKeep = tc.cutChunk, tc.cutKeep
			c := f.client(t)
			c.emulator = tc.emulator
			d := data
			if tc.size > 0 {
				d = data[:tc.size]
			}
			up, err := c.StartUpload(context.Background(), fakeBucket, "p/k", ResumableOptions{
				ContentType: "application/octet-stream", Metadata: map[string]string{"Env": "x"},
				KMSKeyName: "projects/p/k", IfNotExist: true})
			if err != nil {
				t.Fatal(err)
			}
			errs := writeChunks(t, up, d, q, tc.finalEmpty)
			if (tc.cutChunk > 0) != (len(errs) == 1) {
				t.Errorf("chunk errors %v", errs)
			}
			if !slices.Equal(f.ranges, tc.ranges) {
				t.Errorf("Content-Ranges\n%q, want\n%q", f.ranges, tc.ranges)
			}
			o := f.object("p/k")
			if o == nil || !bytes.Equal(o.data, d) {
				t.Fatal("the object differs from what was sent")
			}
			if up.Object() == nil || up.Object().Size != uint64(len(d)) {
				t.Errorf("Object() = %v", up.Object())
			}
			md, _ := o.meta["metadata"].(map[string]any)
			if md["Env"] != "x" || o.meta["contentType"] != "application/octet-stream" {
				t.Errorf("resource %v", o.meta)
			}
			q := f.sessionsQuery(t)
			if q.Get("ifGenerationMatch") != "0" || q.Get("kmsKeyName") != "projects/p/k" || q.Get("name") != "p/k" {
				t.Errorf("session query %v", q)
			}
		})
	}
}

// TestResumableFailures: a taken key, a corrupt object, a cancel.
func TestResumableFailures(t *testing.T) {
	data := randomBytes(ChunkQuantum + 5)
	t.Run("key taken", func(t *testing.T) {
		f := newFakeGCS(t)
		f.objects["p/k"] = &fakeObject{data: []byte("old")}
		up, err := f.client(t).StartUpload(context.Background(), fakeBucket, "p/k", ResumableOptions{IfNotExist: true})
		if err != nil {
			t.Fatal(err)
		}
		up.WriteChunk(context.Background(), 0, data[:ChunkQuantum], false)
		err = up.WriteChunk(context.Background(), ChunkQuantum, data[ChunkQuantum:], true)
		var g *googleapi.Error
		if !errors.As(err, &g) || g.Code != http.StatusPreconditionFailed {
			t.Errorf("last chunk: %v, want 412", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		f := newFakeGCS(t)
		f.corrupt = true
		up, err := f.client(t).StartUpload(context.Background(), fakeBucket, "p/k", ResumableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		up.WriteChunk(context.Background(), 0, data[:ChunkQuantum], false)
		if err := up.WriteChunk(context.Background(), ChunkQuantum, data[ChunkQuantum:], true); err == nil {
			t.Error("a corrupt object was accepted")
		}
		if f.object("p/k") != nil {
			t.Error("the corrupt object was not deleted")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		f := newFakeGCS(t)
		up, err := f.client(t).StartUpload(context.Background(), fakeBucket, "p/k", ResumableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		up.WriteChunk(context.Background(), 0, data[:ChunkQuantum], false)
		if err := up.Cancel(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := up.WriteChunk(context.Background(), ChunkQuantum, data[ChunkQuantum:], true); err == nil {
			t.Error("a cancelled session took the last chunk")
		}
		if f.object("p/k") != nil {
			t.Error("a cancelled session made an object")
		}
	})
	t.Run("out of order", func(t *testing.T) {
		f := newFakeGCS(t)
		up, err := f.client(t).StartUpload(context.Background(), fakeBucket, "p/k", ResumableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := up.WriteChunk(context.Background(), ChunkQuantum, data[ChunkQuantum:], true); err == nil {
			t.Error("a chunk after a gap was sent")
		}
	})
}

func TestDeleteObjects(t *testing.T) {
	f := newFakeGCS(t)
	for _, k := range []string{"a/1", "a/2 x", "a/3%"} {
		f.objects[k] = &fakeObject{data: []byte(k)}
	}
	f.batchStatus["a/4"] = http.StatusForbidden
	keys := []string{"a/1", "a/2 x", "gone", "a/3%", "a/4"}
	errs, err := f.client(t).DeleteObjects(context.Background(), fakeBucket, keys)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := []int{0, 0, http.StatusNotFound, 0, http.StatusForbidden}
	for i, e := range errs {
		var g *googleapi.Error
		status := 0
		if errors.As(e, &g) {
			status = g.Code
		} else if e != nil {
			t.Errorf("%s: %v", keys[i], e)
		}
		if status != wantStatus[i] {
			t.Errorf("%s: status %d, want %d", keys[i], status, wantStatus[i])
		}
	}
	if len(f.batches) != 1 || !slices.Equal(f.batches[0], keys) {
		t.Errorf("batches %q", f.batches)
	}
	if len(f.objects) != 0 {
		t.Errorf("objects left: %v", f.objects)
	}
	if _, err := f.client(t).DeleteObjects(context.Background(), fakeBucket, make([]string, MaxBatch+1)); err == nil {
		t.Error("a batch of 101 was sent")
	}
}
