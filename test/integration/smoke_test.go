//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
)

// TestSmokeS3 archives one real segment to MinIO with gzip and checks that
// the object is at Barman's key and that gzip(1) restores the bytes.
func TestSmokeS3(t *testing.T) {
	endpoint := harness.Env(t, "S3_ENDPOINT_URL")
	bucket := harness.Env(t, "S3_BUCKET")
	wals := harness.WALs(t)
	prefix := harness.UniquePrefix(t)
	seg := wals.Segments[0]
	r := harness.Run(t, nil, harness.Tool(t, "barman-cloud-wal-archive"), "--gzip", "--endpoint-url", endpoint,
		"s3://"+bucket+"/"+prefix, "pg", seg)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	key := prefix + "/pg/wals/0000000100000000/" + filepath.Base(seg) + ".gz"
	out := filepath.Join(t.TempDir(), "obj.gz")
	py := `import boto3,sys; boto3.client("s3", endpoint_url=sys.argv[1]).download_file(sys.argv[2], sys.argv[3], sys.argv[4])`
	if b, err := exec.Command("/usr/bin/python3", "-c", py, endpoint, bucket, key, out).CombinedOutput(); err != nil {
		t.Fatalf("fetching %s with boto3: %v\n%s", key, err, b)
	}
	got, err := exec.Command("gzip", "-dc", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(seg)
	if string(got) != string(want) {
		t.Fatalf("gzip -dc of %s differs from %s", key, seg)
	}
}
