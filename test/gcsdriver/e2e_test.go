//go:build integration

package gcsdriver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/barmancloud/barman-cloud/test/harness"
)

// TestArchiveEndToEnd runs barman-cloud wal-archive against fake-gcs-server
// and reads the object back with plain HTTP: Barman's key, the
// barman-cloud-sha256 metadata, no Content-Encoding, and the WAL's bytes
// after decompression.
func TestArchiveEndToEnd(t *testing.T) {
	bucket := harness.Env(t, "GCS_BUCKET")
	seg := harness.WALs(t).Segments[0]
	want, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	for _, tc := range []struct {
		name  string
		flags []string
		ext   string
		plain func(t *testing.T, stored []byte) []byte
	}{
		{"zstd", []string{"--zstd"}, ".zst", func(t *testing.T, stored []byte) []byte {
			d, err := zstd.NewReader(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			out, err := d.DecodeAll(stored, nil)
			if err != nil {
				t.Fatalf("zstd: %v", err)
			}
			return out
		}},
		{"uncompressed", nil, "", func(_ *testing.T, stored []byte) []byte { return stored }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			args := append([]string{"wal-archive", "--cloud-provider", "google-cloud-storage"}, tc.flags...)
			args = append(args, "gs://"+bucket+"/"+prefix, "pg", seg)
			r := harness.Run(t, nil, harness.Tool(t, "barman-cloud"), args...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			if r.Stdout != "" {
				t.Errorf("stdout %q, want nothing", r.Stdout)
			}
			key := prefix + "/pg/wals/0000000100000000/" + filepath.Base(seg) + tc.ext
			o := emulatorObject(t, key)
			if o == nil {
				t.Fatalf("no object at %s", key)
			}
			md, _ := o["metadata"].(map[string]any)
			if md["barman-cloud-sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("metadata %v, want barman-cloud-sha256=%x", md, sum)
			}
			if ce, _ := o["contentEncoding"].(string); ce != "" {
				t.Errorf("content encoding %q", ce)
			}
			if o["contentType"] != "application/octet-stream" {
				t.Errorf("content type %v", o["contentType"])
			}
			if got := tc.plain(t, emulatorMedia(t, key)); !bytes.Equal(got, want) {
				t.Errorf("the object at %s does not restore %s", key, seg)
			}
		})
	}
}

// TestArchiveKMSKeyName: --kms-key-name reaches the upload request.
func TestArchiveKMSKeyName(t *testing.T) {
	p := newRecordingProxy(t)
	bucket := harness.Env(t, "GCS_BUCKET")
	seg := harness.WALs(t).Segments[1]
	prefix := harness.UniquePrefix(t)
	const kms = "projects/p/locations/l/keyRings/r/cryptoKeys/k"
	r := harness.Run(t, []string{"STORAGE_EMULATOR_HOST=" + p.host()}, harness.Tool(t, "barman-cloud-wal-archive"),
		"--cloud-provider", "google-cloud-storage", "--gzip", "--kms-key-name", kms, "gs://"+bucket+"/"+prefix, "pg", seg)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queries) != 1 || p.queries[0].Get("kmsKeyName") != kms || p.queries[0].Get("ifGenerationMatch") != "0" {
		t.Errorf("upload queries %v, want kmsKeyName=%s and ifGenerationMatch=0", p.queries, kms)
	}
	if emulatorObject(t, prefix+"/pg/wals/0000000100000000/"+filepath.Base(seg)+".gz") == nil {
		t.Error("the object is not in the emulator")
	}
}
