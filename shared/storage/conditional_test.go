package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func openDir(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	loc, err := ParseURL(S3, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// TestConditionalFile runs the versioned operations on a directory store:
// the version Create reports is the one listings and Stat report; Touch
// gives a new one and keeps the content and the time; DeleteIfVersion
// removes only the version named.
func TestConditionalFile(t *testing.T) {
	ctx := context.Background()
	s, dir := openDir(t)
	const key = "pg/wals/0000000100000000/000000010000000000000001.gz"
	v1, err := s.Create(ctx, key, bytes.NewReader([]byte("one")), 3, UploadOptions{Metadata: map[string]string{"k": "v"}})
	if err != nil || v1 == "" {
		t.Fatalf("Create: %q, %v", v1, err)
	}
	if _, err := s.Create(ctx, key, bytes.NewReader([]byte("two")), 3, UploadOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	objs, err := s.List(ctx, "pg/", "")
	if err != nil || len(objs) != 1 || objs[0].Version != v1 || objs[0].ModTime.IsZero() {
		t.Fatalf("listing %+v, %v; want version %s", objs, err, v1)
	}
	info, err := s.Stat(ctx, key)
	if err != nil || info.Version != v1 || info.Metadata["k"] != "v" || info.Size != 3 || !info.ModTime.Equal(objs[0].ModTime) {
		t.Fatalf("Stat %+v, %v", info, err)
	}
	v2, err := s.Touch(ctx, key, v1, map[string]string{"w": "x"})
	if err != nil || v2 == v1 || v2 == "" {
		t.Fatalf("Touch: %q, %v", v2, err)
	}
	if _, err := s.Touch(ctx, key, v1, map[string]string{"w": "x"}); !errors.Is(err, ErrVersionChanged) {
		t.Errorf("Touch of the old version: %v", err)
	}
	after, _ := s.Stat(ctx, key)
	if after.Version != v2 || !after.ModTime.Equal(info.ModTime) || after.Metadata["k"] != "v" || after.Metadata["w"] != "x" {
		t.Errorf("after Touch: %+v", after)
	}
	if err := s.DeleteIfVersion(ctx, key, v1); !errors.Is(err, ErrVersionChanged) {
		t.Errorf("DeleteIfVersion of the old version: %v", err)
	}
	if err := s.DeleteIfVersion(ctx, key, ""); !errors.Is(err, ErrVersionChanged) {
		t.Errorf("DeleteIfVersion of no version: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, key)); err != nil || string(b) != "one" {
		t.Fatalf("after refused deletes: %q, %v", b, err)
	}
	if err := s.DeleteIfVersion(ctx, key, v2); err != nil {
		t.Errorf("DeleteIfVersion: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, key)); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
	if err := s.DeleteIfVersion(ctx, key, v2); err != nil {
		t.Errorf("DeleteIfVersion of a deleted object: %v", err)
	}
	if _, err := s.Touch(ctx, key, v2, nil); !IsNotFound(err) {
		t.Errorf("Touch of a deleted object: %v", err)
	}
	// A new object under the same key is a new version.
	v3, err := s.Create(ctx, key, bytes.NewReader([]byte("three")), 5, UploadOptions{})
	if err != nil || v3 == v1 || v3 == v2 {
		t.Fatalf("Create again: %q, %v", v3, err)
	}
}

// TestTouchAgainstDelete races a claim and a conditional delete of one
// version many times: exactly one of them wins each time.
func TestTouchAgainstDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := openDir(t)
	const key = "k/obj"
	for i := 0; i < 50; i++ {
		v, err := s.Create(ctx, key, bytes.NewReader([]byte("x")), 1, UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var terr, derr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _, terr = s.Touch(ctx, key, v, nil) }()
		go func() { defer wg.Done(); derr = s.DeleteIfVersion(ctx, key, v) }()
		wg.Wait()
		if (terr == nil) == (derr == nil) {
			t.Fatalf("round %d: touch %v, delete %v: want exactly one to succeed", i, terr, derr)
		}
		if terr == nil {
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("round %d: claimed, then gone: %v", i, err)
			}
			if err := s.DeleteIfVersion(ctx, key, info.Version); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestAzureMetadataName: the names gocloud's azureblob driver gives
// metadata keys (as the servers report ours: see test/integration).
func TestAzureMetadataName(t *testing.T) {
	for k, want := range map[string]string{
		"barman-cloud-sha256": "barman__0x2d__cloud__0x2d__sha256",
		"barman-cloud-writer": "barman__0x2d__cloud__0x2d__writer",
		"plain_Name9":         "plain_Name9",
		"9lives":              "__0x39__lives",
		"é":                   "__0xe9__",
	} {
		if got := azureMetadataName(k); got != want {
			t.Errorf("%q: %q, want %q", k, got, want)
		}
	}
}
