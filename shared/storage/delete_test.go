package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func keysN(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("pfx/srv/wals/%04d", i)
	}
	return keys
}

func batchSizes(batches [][]string) []int {
	var n []int
	for _, b := range batches {
		n = append(n, len(b))
	}
	return n
}

// TestDeleteS3Batches: keys go in DeleteObjects requests of the batch
// size, clamped to 1..1000, in order, each with a Content-MD5.
func TestDeleteS3Batches(t *testing.T) {
	for _, tc := range []struct {
		keys, batch int
		want        []int
	}{
		{2500, 0, []int{1000, 1000, 500}},
		{2500, 1000, []int{1000, 1000, 500}},
		{2500, 5000, []int{1000, 1000, 500}},
		{7, 3, []int{3, 3, 1}},
		{3, -4, []int{1, 1, 1}},
		{0, 10, nil},
	} {
		t.Run(fmt.Sprintf("%d keys by %d", tc.keys, tc.batch), func(t *testing.T) {
			f, s := newFakeS3(t)
			keys := keysN(tc.keys)
			for _, k := range keys[:len(keys)/2] {
				f.objects[k] = []byte("x") // the others are already gone
			}
			deleted, err := s.Delete(context.Background(), keys, tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(deleted, keys) {
				t.Errorf("deleted %d keys, want the %d given in order", len(deleted), len(keys))
			}
			if got := batchSizes(f.deleteBatches); !slices.Equal(got, tc.want) {
				t.Errorf("batches of %v, want %v", got, tc.want)
			}
			if !slices.Equal(slices.Concat(f.deleteBatches...), keys) {
				t.Error("keys not sent in the order given")
			}
			for _, h := range f.deleteHeaders {
				if h.Get("Content-Md5") == "" || h.Get("X-Amz-Checksum-Crc32") == "" {
					t.Errorf("DeleteObjects without Content-MD5 and a CRC32: %v", h)
				}
			}
			if len(f.objects) != 0 {
				t.Errorf("%d objects left", len(f.objects))
			}
		})
	}
}

// TestDeleteS3Errors: a key refused stops the deletion after its batch,
// with the keys deleted so far; a key that met a transient error is sent
// again alone.
func TestDeleteS3Errors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		f, s := newFakeS3(t, fastRetries)
		keys := keysN(10)
		f.deleteDenied[keys[5]] = "AccessDenied"
		deleted, err := s.Delete(context.Background(), keys, 4)
		var de *DeleteError
		if !errors.As(err, &de) || de.Key != keys[5] || de.Code != "AccessDenied" {
			t.Fatalf("Delete: %v, want a DeleteError for %s", err, keys[5])
		}
		want := `Bulk deletion of object pfx/srv/wals/0005 failed with error code: "AccessDenied", message: "no"`
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		if wantDeleted := slices.Concat(keys[:5], keys[6:8]); !slices.Equal(deleted, wantDeleted) {
			t.Errorf("deleted %q, want %q", deleted, wantDeleted)
		}
		if got := batchSizes(f.deleteBatches); !slices.Equal(got, []int{4, 4}) {
			t.Errorf("batches %v: the third should not be sent", got)
		}
		if k := KindOf(err); k != Other && k != Denied {
			t.Errorf("kind %v: a refused key is no unreachable storage", k)
		}
	})
	t.Run("transient", func(t *testing.T) {
		f, s := newFakeS3(t, fastRetries)
		keys := keysN(6)
		f.deleteDenied[keys[1]] = "InternalError"
		deleted, err := s.Delete(context.Background(), keys, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(deleted) != 6 {
			t.Errorf("deleted %q", deleted)
		}
		if len(f.deleteBatches) != 2 || !slices.Equal(f.deleteBatches[1], keys[1:2]) {
			t.Errorf("batches %q, want the failed key sent again alone", f.deleteBatches)
		}
	})
	t.Run("MissingContentMD5", func(t *testing.T) {
		f, s := newFakeS3(t, fastRetries)
		f.missingMD5 = true
		keys := keysN(3)
		deleted, err := s.Delete(context.Background(), keys, 0)
		if err != nil || !slices.Equal(deleted, keys) {
			t.Fatalf("Delete: %q, %v", deleted, err)
		}
		if got := count(f.requests, "DELETE "); got != 3 {
			t.Errorf("%d DeleteObject requests, want one per key: %q", got, f.requests)
		}
	})
}

// TestDeletePrefix lists and deletes everything under a prefix, and
// refuses a prefix that is not a "directory".
func TestDeletePrefix(t *testing.T) {
	s := NewMemStore(Location{Provider: GCS, Bucket: "b"})
	ctx := context.Background()
	for _, k := range []string{"p/wals/0000000100000001/a", "p/wals/0000000100000001/b", "p/wals/0000000100000002/c", "p/base/x"} {
		if err := s.Upload(ctx, k, strings.NewReader(k), -1, UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "/", "p/wals/0000000100000001"} {
		if _, err := s.DeletePrefix(ctx, bad, 0); err == nil {
			t.Errorf("DeletePrefix(%q) accepted", bad)
		}
	}
	deleted, err := s.DeletePrefix(ctx, "p/wals/", 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p/wals/0000000100000001/a", "p/wals/0000000100000001/b", "p/wals/0000000100000002/c"}; !slices.Equal(deleted, want) {
		t.Errorf("deleted %q, want %q", deleted, want)
	}
	left, err := s.List(ctx, "p/", "")
	if err != nil || len(left) != 1 || left[0].Key != "p/base/x" {
		t.Errorf("left %v, %v", left, err)
	}
}
