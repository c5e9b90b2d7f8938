package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/tags"
)

// TestMemStore checks that a memory store behaves as the tools expect of
// any store.
func TestMemStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore(Location{Provider: S3, Bucket: "b", Prefix: "p/"})
	defer s.Close()
	data := randomData(1000)
	o := WriteOptions{UploadOptions: UploadOptions{IfNotExist: true, Tags: tags.List{{Key: "env", Value: "test"}},
		Metadata: map[string]string{"m": "1"}}, PartSize: 64, Jobs: 3}

	// A Writer in parts: the object appears whole at Close.
	w, err := s.NewWriter(ctx, "p/srv/base/1/data.tar", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got := s.OpenUploads(); !slices.Equal(got, []string{"p/srv/base/1/data.tar"}) {
		t.Errorf("open uploads before Close: %q", got)
	}
	if ok, _ := s.Bucket.Exists(ctx, "p/srv/base/1/data.tar"); ok {
		t.Error("the object is visible before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := s.NewReader(ctx, "p/srv/base/1/data.tar")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data) {
		t.Error("the object differs from what was written")
	}
	md, err := s.Metadata(ctx, "p/srv/base/1/data.tar")
	if err != nil || md["m"] != "1" || md["tag-env"] != "test" {
		t.Errorf("metadata %v, %v", md, err)
	}

	// The conditional create, in parts and in one request.
	for _, size := range []int{1000, 10} {
		_, err = writeAll(t, s, "p/srv/base/1/data.tar", randomData(size), o)
		if !errors.Is(err, ErrExists) {
			t.Errorf("second create of %d bytes: %v, want ErrExists", size, err)
		}
	}

	// Abort leaves nothing.
	w, err = s.NewWriter(ctx, "p/srv/base/2/data.tar", o)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Abort(errors.New("stop"))
	if ok, _ := s.Bucket.Exists(ctx, "p/srv/base/2/data.tar"); ok {
		t.Error("an aborted object exists")
	}
	if got := s.OpenUploads(); len(got) != 0 {
		t.Errorf("open uploads: %q", got)
	}

	// Listing with a delimiter skips the "directories".
	if err := s.Upload(ctx, "p/srv/base/1/backup.info", bytes.NewReader([]byte("x")), 1, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "p/srv/base/1/", "/")
	if err != nil || len(objs) != 2 {
		t.Errorf("listing: %v, %v", objs, err)
	}
	if objs, _ := s.List(ctx, "p/srv/base/", "/"); len(objs) != 0 {
		t.Errorf("listing with a delimiter shows %v", objs)
	}

	// Deleting a key that is gone is no error.
	deleted, err := s.Delete(ctx, []string{"p/srv/base/1/backup.info", "p/none", "p/srv/base/1/data.tar"}, 2)
	if err != nil || len(deleted) != 3 {
		t.Errorf("Delete: %q, %v", deleted, err)
	}
}
