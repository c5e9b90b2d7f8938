//go:build integration

// Package oracle reads what the test servers hold, and decodes it, with
// tools that share no code with barman-cloud: Debian's boto3 and
// azure-storage-blob for S3 and Azure, curl on the GCS JSON API, and the
// gzip, bzip2, xz, zstd and lz4 command-line decoders (python3-snappy for
// snappy). A test that checks barman-cloud's objects through barman-cloud's
// own storage code would not notice a mistake made on both sides.
package oracle

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
)

//go:embed oracle.py
var script string

// Python is Debian's interpreter, the one with python3-boto3, python3-azure
// and python3-snappy (a python3 earlier in PATH, such as pyenv's, has none
// of them).
const Python = "/usr/bin/python3"

// Object is an object as the server reports it.
type Object struct {
	Key             string            `json:"key"`
	Size            int64             `json:"size"`
	ContentType     string            `json:"content_type"`
	ContentEncoding string            `json:"content_encoding"`
	Metadata        map[string]string `json:"metadata"`
	// Tags are S3 object tags or Azure blob index tags, sorted by key
	// (GCS has none: Barman sends tags there as metadata).
	Tags            [][2]string `json:"tags"`
	SSE             string      `json:"sse"`
	SSEKMSKeyID     string      `json:"sse_kms_key_id"`
	EncryptionScope string      `json:"encryption_scope"`
	ETag            string      `json:"etag"`
	Blocks          int         `json:"blocks"` // Azure: committed blocks (0: one Put Blob)
	// Created is Azure's creation time of the blob, which a metadata write
	// keeps and a new upload resets.
	Created string `json:"created"`
	File    string `json:"file"` // the body, when asked for
}

// Data reads the object's body saved by Objects.
func (o Object) Data(t testing.TB) []byte {
	t.Helper()
	if o.File == "" {
		t.Fatalf("%s: body not fetched", o.Key)
	}
	b, err := os.ReadFile(o.File)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Target is one provider's test server, as barman-cloud and Barman reach it.
type Target struct {
	Name   string   // "s3", "azure", "gcs"
	Args   []string // the tools' options selecting the provider and its endpoint
	Bucket string   // the bucket (container) testenv.sh created

	endpoint string // S3: the endpoint URL; Azure: the account URL; GCS: host:port
}

// S3 is MinIO.
func S3(t testing.TB) Target {
	ep := harness.Env(t, "S3_ENDPOINT_URL")
	return Target{Name: "s3", Args: []string{"--endpoint-url", ep}, Bucket: harness.Env(t, "S3_BUCKET"), endpoint: ep}
}

// Azure is Azurite, reached through AZURE_STORAGE_CONNECTION_STRING.
func Azure(t testing.TB) Target {
	harness.Env(t, "AZURE_STORAGE_CONNECTION_STRING")
	u := harness.Env(t, "BARMAN_AZURE_URL") // http://HOST:PORT/ACCOUNT/CONTAINER
	i := strings.LastIndexByte(u, '/')
	return Target{Name: "azure", Args: []string{"--cloud-provider", "azure-blob-storage"}, Bucket: u[i+1:], endpoint: u[:i]}
}

// GCS is fake-gcs-server, reached through STORAGE_EMULATOR_HOST.
func GCS(t testing.TB) Target {
	return Target{Name: "gcs", Args: []string{"--cloud-provider", "google-cloud-storage"},
		Bucket: harness.Env(t, "GCS_BUCKET"), endpoint: harness.Env(t, "STORAGE_EMULATOR_HOST")}
}

// Targets are the three providers.
func Targets(t testing.TB) []Target { return []Target{S3(t), Azure(t), GCS(t)} }

// URL is the destination URL of prefix in the target's bucket.
func (tg Target) URL(prefix string) string { return tg.BucketURL(tg.Bucket, prefix) }

// BucketURL is the destination URL of prefix in another bucket.
func (tg Target) BucketURL(bucket, prefix string) string {
	switch tg.Name {
	case "s3":
		return "s3://" + bucket + "/" + prefix
	case "azure":
		return tg.endpoint + "/" + bucket + "/" + prefix
	}
	return "gs://" + bucket + "/" + prefix
}

// Missing is the URL of a bucket (container) that does not exist.
func (tg Target) Missing() string { return tg.BucketURL("barman-missing-bucket", "p") }

// Via returns the options and environment that point the tools at
// host:port (a fault proxy, or a port where nothing listens) instead of
// the target's server.
func (tg Target) Via(hostport string) (args, env []string) {
	switch tg.Name {
	case "s3":
		return []string{"--endpoint-url", "http://" + hostport}, nil
	case "azure":
		return tg.Args, []string{"AZURE_STORAGE_CONNECTION_STRING=" + AzureConnectionString("http://"+hostport+"/devstoreaccount1", AzuriteKey)}
	}
	return tg.Args, []string{"STORAGE_EMULATOR_HOST=" + hostport}
}

// AzuriteKey is Azurite's well-known account key.
const AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// AzureConnectionString is a connection string for account devstoreaccount1
// at blobEndpoint with key.
func AzureConnectionString(blobEndpoint, key string) string {
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + key + ";BlobEndpoint=" + blobEndpoint + ";"
}

// Objects lists every object under prefix (recursively), with its
// attributes and, when data is true, its body.
func (tg Target) Objects(t testing.TB, prefix string, data bool) []Object {
	t.Helper()
	outdir := "-"
	if data {
		outdir = t.TempDir()
	}
	var objs []Object
	switch tg.Name {
	case "s3":
		py(t, &objs, "s3", tg.endpoint, tg.Bucket, prefix, outdir)
	case "azure":
		py(t, &objs, "azure", tg.Bucket, prefix, outdir)
	default:
		objs = gcsObjects(t, tg.endpoint, tg.Bucket, prefix, outdir)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs
}

// Keys lists the keys under prefix.
func (tg Target) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	for _, o := range tg.Objects(t, prefix, false) {
		keys = append(keys, o.Key)
	}
	return keys
}

// BucketExists asks the server whether bucket exists.
func (tg Target) BucketExists(t testing.TB, bucket string) bool {
	t.Helper()
	var ok bool
	switch tg.Name {
	case "s3":
		py(t, &ok, "s3-bucket", tg.endpoint, bucket)
	case "azure":
		py(t, &ok, "azure-container", bucket)
	default:
		code := curl(t, "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://"+tg.endpoint+"/storage/v1/b/"+url.PathEscape(bucket))
		switch string(code) {
		case "200":
			ok = true
		case "404":
		default:
			t.Fatalf("GCS bucket %s: HTTP status %s", bucket, code)
		}
	}
	return ok
}

// OpenUploads lists the keys under prefix of the S3 multipart uploads
// that were neither completed nor aborted (S3 only: Azure's uncommitted
// blocks and GCS's resumable sessions cannot be listed).
func (tg Target) OpenUploads(t testing.TB, prefix string) []string {
	t.Helper()
	if tg.Name != "s3" {
		t.Fatalf("%s has no listing of unfinished uploads", tg.Name)
	}
	var keys []string
	py(t, &keys, "s3-uploads", tg.endpoint, tg.Bucket, prefix)
	return keys
}

func py(t testing.TB, v any, args ...string) {
	t.Helper()
	cmd := exec.Command(Python, append([]string{"-c", script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle.py %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("oracle.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func curl(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("curl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// gcsObjects lists and fetches objects through the GCS JSON API.
func gcsObjects(t testing.TB, hostport, bucket, prefix, outdir string) []Object {
	t.Helper()
	base := "http://" + hostport + "/storage/v1/b/" + url.PathEscape(bucket) + "/o"
	var objs []Object
	token := ""
	for {
		q := url.Values{"prefix": {prefix}}
		if token != "" {
			q.Set("pageToken", token)
		}
		var page struct {
			Items []struct {
				Name            string            `json:"name"`
				Size            json.Number       `json:"size"`
				ContentType     string            `json:"contentType"`
				ContentEncoding string            `json:"contentEncoding"`
				Metadata        map[string]string `json:"metadata"`
				ETag            string            `json:"etag"`
				Generation      string            `json:"generation"`
			} `json:"items"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(curl(t, "-sfS", base+"?"+q.Encode()), &page); err != nil {
			t.Fatalf("GCS listing of %s: %v", prefix, err)
		}
		for _, it := range page.Items {
			size, err := it.Size.Int64()
			if err != nil {
				t.Fatalf("GCS object %s: size %q", it.Name, it.Size)
			}
			o := Object{Key: it.Name, Size: size, ContentType: it.ContentType, ContentEncoding: it.ContentEncoding,
				Metadata: it.Metadata, ETag: it.ETag + "/" + it.Generation}
			if outdir != "-" {
				o.File = filepath.Join(outdir, fmt.Sprint(len(objs)))
				curl(t, "-sfS", "-o", o.File, base+"/"+url.PathEscape(it.Name)+"?alt=media")
			}
			objs = append(objs, o)
		}
		if token = page.NextPageToken; token == "" {
			return objs
		}
	}
}

// Compression is how barman-cloud names an algorithm (its option) and the
// object suffix it gives.
type Compression struct {
	Name   string // "" for none; else the option without "--"
	Suffix string
	Magic  []byte // the stream's first bytes (spec §8.6)
}

// Compressions are the seven choices of barman-cloud-wal-archive.
var Compressions = []Compression{
	{Name: ""},
	{Name: "gzip", Suffix: ".gz", Magic: []byte{0x1f, 0x8b, 0x08}},
	{Name: "bzip2", Suffix: ".bz2", Magic: []byte("BZh")},
	{Name: "xz", Suffix: ".xz", Magic: []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{Name: "snappy", Suffix: ".snappy", Magic: []byte{0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'}},
	{Name: "zstd", Suffix: ".zst", Magic: []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{Name: "lz4", Suffix: ".lz4", Magic: []byte{0x04, 0x22, 0x4d, 0x18}},
}

// Label names the compression in test names.
func (c Compression) Label() string {
	if c.Name == "" {
		return "none"
	}
	return c.Name
}

// Args is the archiver's option for the compression.
func (c Compression) Args() []string {
	if c.Name == "" {
		return nil
	}
	return []string{"--" + c.Name}
}

// snappyDecode is python-snappy's framing-format decoder; it needs the
// crc32c shim install-barman.sh puts on PYTHONPATH (python3-snappy 0.5.3's
// own CRC fails on Python 3.11).
const snappyDecode = `import sys, snappy; snappy.stream_decompress(sys.stdin.buffer, sys.stdout.buffer)`

// Decode decompresses data with an independent decoder, after checking the
// stream starts with the format's magic bytes (lz4 -d, for one, also reads
// the legacy format).
func (c Compression) Decode(t testing.TB, data []byte) []byte {
	t.Helper()
	if c.Name == "" {
		return data
	}
	if !bytes.HasPrefix(data, c.Magic) {
		n := min(len(data), 16)
		t.Fatalf("%s stream starts with % x, want % x", c.Name, data[:n], c.Magic)
	}
	var cmd *exec.Cmd
	switch c.Name {
	case "gzip", "bzip2", "xz", "zstd", "lz4":
		cmd = exec.Command(c.Name, "-d", "-c")
	case "snappy":
		if !strings.Contains(os.Getenv("PYTHONPATH"), "pyshim") {
			t.Fatalf("PYTHONPATH (%q) lacks install-barman.sh's snappy shim", os.Getenv("PYTHONPATH"))
		}
		cmd = exec.Command(Python, "-c", snappyDecode)
	default:
		t.Fatalf("no decoder for %q", c.Name)
	}
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.Bytes())
	}
	return out
}

// ClosedPort returns 127.0.0.1:PORT where nothing listens (a port the
// kernel just handed out and that was closed again).
func ClosedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Unresolvable is a host name that cannot resolve (RFC 2606 reserves
// .invalid).
const Unresolvable = "barman-cloud-test.invalid"

// CompressionNamed returns the compression called name ("" or "none": none).
func CompressionNamed(name string) Compression {
	if name == "none" {
		name = ""
	}
	for _, c := range Compressions {
		if c.Name == name {
			return c
		}
	}
	panic("unknown compression " + name)
}
