package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/tags"
)

// TestFileStoreWriter: a file:// Writer writes straight to a temporary
// file, publishes it at Close, removes it on Abort or cancel, and creates
// conditionally; Delete unlinks, a missing file is deleted already.
func TestFileStoreWriter(t *testing.T) {
	dir := t.TempDir()
	loc, err := ParseURL(S3, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := randomData(3 << 20)
	o := WriteOptions{UploadOptions: UploadOptions{IfNotExist: true, Tags: tags.List{{Key: "k", Value: "v"}}}, Jobs: 4}
	if _, err := writeAll(t, s, "srv/base/1/data.tar", data, o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "srv/base/1/data.tar"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file: %d bytes, %v", len(got), err)
	}
	if _, err := writeAll(t, s, "srv/base/1/data.tar", data[:10], o); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}

	for _, how := range []string{"Abort", "cancel"} {
		ctx, cancel := context.WithCancel(context.Background())
		w, err := s.NewWriter(ctx, "srv/base/2/data.tar", o)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if how == "Abort" {
			w.Abort(errors.New("stop"))
		} else {
			cancel()
		}
		if err := w.Close(); err == nil {
			t.Errorf("%s: Close succeeded", how)
		}
		cancel()
		entries, _ := os.ReadDir(filepath.Join(dir, "srv/base/2"))
		if len(entries) > 0 {
			t.Errorf("%s: left %v", how, entries)
		}
	}

	deleted, err := s.Delete(context.Background(), []string{"srv/base/1/data.tar", "srv/none"}, 0)
	if err != nil || !slices.Equal(deleted, []string{"srv/base/1/data.tar", "srv/none"}) {
		t.Errorf("Delete: %q, %v", deleted, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "srv/base/1/data.tar")); !os.IsNotExist(err) {
		t.Errorf("the file is still there: %v", err)
	}

	// A store whose directory is missing refuses writes and deletes.
	loc.Bucket = filepath.Join(dir, "missing")
	gone, err := Open(context.Background(), loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.NewWriter(context.Background(), "k", o); err == nil {
		t.Error("NewWriter on a missing directory succeeded")
	}
	if _, err := gone.Delete(context.Background(), []string{"k"}, 0); err == nil {
		t.Error("Delete on a missing directory succeeded")
	}
}
