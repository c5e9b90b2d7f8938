package localfs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing"

	"gocloud.dev/blob"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/storage/localfs"
	"github.com/barmancloud/barman-cloud/shared/walobject"
)

const key = "pg/wals/0000000100000000/000000010000000000000001"

func openStore(t *testing.T, dir string) *storage.Store {
	t.Helper()
	loc, err := storage.ParseURL(storage.S3, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), loc, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// allFiles lists the regular files under dir, hidden ones included.
func allFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	return out
}

// brokenSource fails after some data, as a WAL file that cannot be read
// to the end or a failing compressor would.
type brokenSource struct{ n int }

var errBroken = errors.New("read error in the middle of the WAL")

func (s *brokenSource) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, errBroken
	}
	n := min(len(p), s.n)
	s.n -= n
	return n, nil
}

// TestStore exercises the file store the way the tools use it.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	ctx := context.Background()
	up := storage.UploadOptions{IfNotExist: true, Metadata: map[string]string{"barman-cloud-sha256": "00ff"}}

	// A source that fails leaves nothing, whether its size is known or not.
	for _, size := range []int64{-1, 4 << 20} {
		err := s.Upload(ctx, key, &brokenSource{n: 1 << 20}, size, up)
		if !errors.Is(err, errBroken) {
			t.Errorf("Upload of a failing source (size %d): %v, want its error", size, err)
		}
		if got := allFiles(t, dir); len(got) != 0 {
			t.Errorf("files after a failed upload: %q", got)
		}
	}

	if err := s.Upload(ctx, key, bytes.NewReader([]byte("wal")), 3, up); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(ctx, key, bytes.NewReader([]byte("other")), 5, up); !errors.Is(err, storage.ErrExists) {
		t.Errorf("second conditional upload: %v, want ErrExists", err)
	}
	md, err := s.Metadata(ctx, key)
	if err != nil || md["barman-cloud-sha256"] != "00ff" {
		t.Errorf("Metadata = %v, %v", md, err)
	}
	objs, err := s.List(ctx, "pg/wals/", "")
	if err != nil || len(objs) != 1 || objs[0].Key != key || objs[0].Size != 3 {
		t.Errorf("List = %v, %v", objs, err)
	}
	if got := allFiles(t, dir); len(got) != 1 || got[0] != key {
		t.Errorf("files: %q, want only the object (no sidecar, no temporary file)", got)
	}
}

// TestStoreMissingDirectory: a missing directory is a missing bucket (exit
// status 1), also when it disappears after the store was opened, and it is
// never created.
func TestStoreMissingDirectory(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "archive")
	s := openStore(t, dir)
	err := s.Upload(ctx, key, bytes.NewReader([]byte("wal")), 3, storage.UploadOptions{IfNotExist: true})
	if !errors.Is(err, storage.ErrBucketMissing) {
		t.Errorf("Upload to a missing directory: %v, want a missing bucket", err)
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	err = s.Upload(ctx, key, bytes.NewReader([]byte("wal")), 3, storage.UploadOptions{IfNotExist: true})
	if !errors.Is(err, storage.ErrBucketMissing) {
		t.Errorf("Upload to a removed directory: %v, want a missing bucket", err)
	}
	if _, err := s.List(ctx, "pg/", "/"); !errors.Is(err, storage.ErrBucketMissing) {
		t.Errorf("List of a removed directory: %v, want a missing bucket", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the directory was created: %v", err)
	}
}

// TestWithoutXattrsCallersReadContent: where objects have no metadata,
// walobject identifies an archived WAL by reading it.
func TestWithoutXattrsCallersReadContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := localfs.OpenBucketWithoutXattrs(dir)
	s := &storage.Store{Loc: storage.Location{Provider: storage.File, Bucket: dir}, Bucket: b}
	defer s.Close()
	content := []byte("the WAL")
	sum := sha256.Sum256(content)
	err := b.WriteAll(ctx, key, content, &blob.WriterOptions{ContentType: "application/octet-stream", Metadata: walobject.Metadata(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	if md, err := s.Metadata(ctx, key); err != nil || len(md) != 0 {
		t.Fatalf("Metadata = %v, %v; want none", md, err)
	}
	cands, err := walobject.Find(ctx, s, path.Dir(key)+"/", path.Base(key))
	if err != nil || len(cands) != 1 {
		t.Fatalf("Find = %v, %v", cands, err)
	}
	same, how, err := walobject.SameContent(ctx, s, cands[0], sum[:], int64(len(content)))
	if err != nil || !same || how != "sha256 "+hex.EncodeToString(sum[:]) {
		t.Errorf("SameContent = %v, %q, %v; want true from the content", same, how, err)
	}
	other := sha256.Sum256([]byte("other WAL"))
	if same, _, err := walobject.SameContent(ctx, s, cands[0], other[:], int64(len(content))); err != nil || same {
		t.Errorf("SameContent with another digest = %v, %v; want false", same, err)
	}
}
