//go:build integration

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// hdVariants are the ways TestCorruptObjectsOnServers damages an object
// our wal-archive wrote, through each provider's own client: the object
// keeps its metadata (barman-cloud-sha256) unless the variant is about
// the metadata. want is the exit status of wal-restore, and message a
// part of its ERROR line.
var hdVariants = []struct {
	name    string
	want    int
	message string // "" when it depends on the format
}{
	{"truncated", 4, ""},
	{"flipped", 4, ""},
	{"wrong sha256", 4, "but the archive recorded"},
	{"garbage sha256", 4, "invalid barman-cloud-sha256 metadata"},
}

// hdReplace is run by /usr/bin/python3 with a provider name and its
// address; it reads a JSON list of {src, dst, variant, sum} on stdin, and
// for each writes to dst a damaged copy of src with src's metadata, the
// metadata value equal to sum (the key is spelled per provider: Azure's
// is escaped by gocloud) being replaced for the sha256 variants. It uses
// boto3 for S3, the Azure SDK for Azure and plain HTTP for fake-gcs-server:
// clients independent of ours.
const hdReplace = `
import json, os, sys, urllib.parse, urllib.request, uuid

provider, where = sys.argv[1], sys.argv[2]
ops = json.load(sys.stdin)

def damage(data, md, op):
    md = dict(md)
    v = op["variant"]
    if v == "intact":
        pass
    elif v == "truncated":
        data = data[: len(data) // 2]
    elif v == "flipped":
        b = bytearray(data)
        for at in (len(b) // 3, len(b) // 2, 2 * len(b) // 3):
            b[at] ^= 0x55
        data = bytes(b)
    else:
        keys = [k for k, val in md.items() if val == op["sum"]]
        if len(keys) != 1:
            sys.exit("%s: no metadata value %s in %r" % (op["src"], op["sum"], md))
        md[keys[0]] = "00" * 32 if v == "wrong sha256" else "not-a-digest"
    return data, md

if provider == "s3":
    import boto3
    bucket = sys.argv[3]
    s3 = boto3.client("s3", endpoint_url=where)
    for op in ops:
        obj = s3.get_object(Bucket=bucket, Key=op["src"])
        data, md = damage(obj["Body"].read(), obj["Metadata"], op)
        s3.put_object(Bucket=bucket, Key=op["dst"], Body=data, Metadata=md)
elif provider == "azure":
    from azure.storage.blob import BlobServiceClient
    c = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"]).get_container_client(where)
    for op in ops:
        src = c.get_blob_client(op["src"])
        data, md = damage(src.download_blob().readall(), src.get_blob_properties().metadata, op)
        c.upload_blob(op["dst"], data, metadata=md, overwrite=True)
elif provider == "gcs":
    bucket = sys.argv[3]
    def get(path):
        with urllib.request.urlopen(where + path) as r:
            return r.read()
    for op in ops:
        name = urllib.parse.quote(op["src"], safe="")
        attrs = json.loads(get("/storage/v1/b/%s/o/%s" % (bucket, name)))
        data, md = damage(get("/download/storage/v1/b/%s/o/%s?alt=media" % (bucket, name)), attrs.get("metadata", {}), op)
        boundary = uuid.uuid4().hex
        body = b"".join([
            b"--" + boundary.encode() + b"\r\nContent-Type: application/json\r\n\r\n",
            json.dumps({"name": op["dst"], "metadata": md}).encode(),
            b"\r\n--" + boundary.encode() + b"\r\nContent-Type: application/octet-stream\r\n\r\n",
            data,
            b"\r\n--" + boundary.encode() + b"--\r\n",
        ])
        req = urllib.request.Request(where + "/upload/storage/v1/b/%s/o?uploadType=multipart" % bucket, data=body, method="POST",
                                     headers={"Content-Type": "multipart/related; boundary=" + boundary})
        urllib.request.urlopen(req).read()
else:
    sys.exit("unknown provider " + provider)
`

// hdOp is one damaged copy for hdReplace to write.
type hdOp struct {
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	Variant string `json:"variant"`
	Sum     string `json:"sum"`
}

// hdDamage writes the damaged copies through the provider's own client.
func hdDamage(t *testing.T, p oracle.Target, ops []hdOp) {
	t.Helper()
	args := []string{"-c", hdReplace, p.Name}
	switch p.Name {
	case "s3":
		args = append(args, harness.Env(t, "S3_ENDPOINT_URL"), harness.Env(t, "S3_BUCKET"))
	case "azure":
		args = append(args, harness.Env(t, "AZURE_CONTAINER"))
	case "gcs":
		args = append(args, harness.Env(t, "GCS_ENDPOINT_URL"), harness.Env(t, "GCS_BUCKET"))
	}
	in, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", args...)
	cmd.Stdin = bytes.NewReader(in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("damaging objects with the %s client: %v\n%s", p.Name, err, out)
	}
}

// hdAssertClean checks what a failed restore must leave: nothing in the
// destination directory (no WAL_DEST, no temporary file), nothing on
// stdout, and no sign of a panic.
func hdAssertClean(t *testing.T, what, dir string, r harness.Result) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%s: %d files left in the destination directory (first %s)", what, len(entries), entries[0].Name())
	}
	if r.Stdout != "" {
		t.Errorf("%s: stdout %q", what, r.Stdout)
	}
	if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
		t.Errorf("%s: %s", what, r.Stderr)
	}
}

// TestCorruptObjectsOnServers archives a real WAL segment with our
// wal-archive under every compression on each real server, has the
// provider's own client store damaged copies of the object (cut in half,
// with three bytes flipped, with a wrong or garbled barman-cloud-sha256
// metadata value), and restores each with our wal-restore: every one
// fails with exit status 4 and one ERROR line, leaves nothing at WAL_DEST,
// and does not panic. An intact copy made the same way restores, which
// shows the copies keep the metadata restore checks.
func TestCorruptObjectsOnServers(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	content, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(content)
	sum := hex.EncodeToString(digest[:])
	base := filepath.Base(seg)
	tried := 0
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			key := func(variant, comp string) string {
				ext := map[string]string{"none": "", "gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "snappy": ".snappy", "zstd": ".zst", "lz4": ".lz4"}[comp]
				return prefix + "/" + comp + "-" + strings.ReplaceAll(variant, " ", "-") + "/pg/wals/0000000100000000/" + base + ext
			}
			var ops []hdOp
			for _, c := range rsCompressions {
				comp := rsCompressionName(c)
				args := []string{p.URL(prefix + "/" + comp + "-original"), "pg", seg}
				if c != "" {
					args = append([]string{c}, args...)
				}
				if r := targets.Run(t, p, "barman-cloud-wal-archive", args...); r.Code != 0 {
					t.Fatalf("archiving with %s: exit %d: %s", comp, r.Code, r.Stderr)
				}
				for _, v := range append([]string{"intact"}, hdVariantNames()...) {
					ops = append(ops, hdOp{Src: key("original", comp), Dst: key(v, comp), Variant: v, Sum: sum})
				}
			}
			hdDamage(t, p, ops)

			for _, c := range rsCompressions {
				comp := rsCompressionName(c)
				dir := t.TempDir()
				dest := filepath.Join(dir, "RECOVERYXLOG")
				r := targets.Run(t, p, "barman-cloud-wal-restore", p.URL(prefix+"/"+comp+"-intact"), "pg", base, dest)
				if r.Code != 0 {
					t.Fatalf("%s, intact copy: exit %d: %s", comp, r.Code, r.Stderr)
				}
				rsAssertRestored(t, seg, dest)
				os.Remove(dest)
				for _, v := range hdVariants {
					what := comp + ", " + v.name
					r := targets.Run(t, p, "barman-cloud-wal-restore", p.URL(prefix+"/"+comp+"-"+strings.ReplaceAll(v.name, " ", "-")), "pg", base, dest)
					tried++
					if r.Code != v.want || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, "ERROR: ") || !strings.Contains(r.Stderr, v.message) {
						t.Errorf("%s: exit %d, stderr %q; want %d and one ERROR line with %q", what, r.Code, r.Stderr, v.want, v.message)
					}
					t.Logf("%s: exit %d: %s", what, r.Code, hdErrorText(r.Stderr))
					hdAssertClean(t, what, dir, r)
				}
			}
		})
	}
	t.Logf("%d damaged objects restored", tried)
}

func hdVariantNames() []string {
	var names []string
	for _, v := range hdVariants {
		names = append(names, v.name)
	}
	return names
}

// hdErrorText is the message of a log line, without its time stamp.
func hdErrorText(stderr string) string {
	if _, msg, ok := strings.Cut(strings.TrimSpace(stderr), "ERROR: "); ok {
		return msg
	}
	return strings.TrimSpace(stderr)
}
