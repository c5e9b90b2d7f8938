//go:build integration

package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// TestContentSHA256: on S3 over HTTP, an upload given the body's SHA-256
// is signed with it, and the server refuses a body that does not match:
// wal-archive relies on that instead of hashing the body as it is sent.
func TestContentSHA256(t *testing.T) {
	tg := oracle.S3(t)
	prefix := harness.UniquePrefix(t)
	s := open(t, tg, prefix, "", noRetries)
	if !s.ChecksContentSHA256() {
		t.Fatalf("S3 at %s: ChecksContentSHA256 is false", harness.Env(t, "S3_ENDPOINT_URL"))
	}
	body := []byte("a WAL segment, say")
	right := sha256.Sum256(body)
	wrong := sha256.Sum256([]byte("other bytes"))
	ctx := context.Background()
	if err := s.Upload(ctx, prefix+"/right", bytes.NewReader(body), int64(len(body)), storage.UploadOptions{ContentSHA256: right[:]}); err != nil {
		t.Fatalf("upload with the right digest: %v", err)
	}
	if err := s.Upload(ctx, prefix+"/wrong", bytes.NewReader(body), int64(len(body)), storage.UploadOptions{ContentSHA256: wrong[:]}); err == nil {
		t.Fatal("upload with a wrong digest succeeded")
	}
	if keys := tg.Keys(t, prefix+"/"); len(keys) != 1 || keys[0] != prefix+"/right" {
		t.Fatalf("objects %v, want only %s/right", keys, prefix)
	}
}
