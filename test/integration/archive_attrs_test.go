//go:build integration

package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// waTags is a tag list as the oracle reports it: sorted by key.
func waTags(kv ...string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, [2]string{kv[i], kv[i+1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// waObjectTags are the tags of an object: S3 object tags, Azure blob
// index tags, or on GCS the custom metadata besides our checksum and
// writer token.
func waObjectTags(tg oracle.Target, o oracle.Object) [][2]string {
	if tg.Name != "gcs" {
		return o.Tags
	}
	var kv []string
	for k, v := range o.Metadata {
		if k != waChecksumKey(tg) && k != waWriterKey(tg) {
			kv = append(kv, k, v)
		}
	}
	return waTags(kv...)
}

// waMultipart reports whether an object was stored in several parts (S3)
// or blocks (Azure); GCS uploads are always one request.
func waMultipart(tg oracle.Target, o oracle.Object) bool {
	switch tg.Name {
	case "s3":
		return strings.Contains(o.ETag, "-") // MinIO's ETag of a multipart upload: MD5-PARTS
	case "azure":
		return o.Blocks > 1
	}
	return false
}

// TestArchiveTags checks that tags reach each server the way Barman sends
// them (spec §2.3, §4, §8.4): S3 object tags, Azure blob index tags, GCS
// custom metadata; the history tags replace the WAL tags for .history
// files only; both the repeatable --tag/--history-tag and the deprecated
// --tags/--history-tags forms; uploads in one request and in several
// (multipart on S3, blocks on Azure), which the SDKs send differently.
func TestArchiveTags(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[2]
	big := waIncompressible(t, wals.Segments[3], t.TempDir())
	walTags := waTags("env", "test", "k 1", "v/1", "Up.Case:x", "a=b+c")
	type file struct {
		path      string
		tags      [][2]string
		multipart bool // S3 and Azure must have stored it in parts
	}
	cases := []struct {
		name  string
		comp  string
		args  []string // after the compression option, before the positionals
		after []string // after the positionals (the nargs forms must come last)
		files []file
	}{{
		// " k 1 , v/1 " is trimmed (check_tag); the space, "/", "=" and
		// "+" need URL-encoding in x-amz-tagging and x-ms-tags.
		name: "tag", comp: "none",
		args: []string{"--tag", "env,test", "--tag", " k 1 , v/1 ", "--tag", "Up.Case:x,a=b+c", "--history-tag", "h,1"},
		files: []file{
			{path: seg, tags: walTags, multipart: false},
			{path: wals.History, tags: waTags("h", "1")},
			{path: wals.Partial, tags: walTags},
			{path: wals.Backup, tags: walTags},
		},
	}, {
		// Spec §8.4's vector [("k 1","v/1"),("a","b+c")] → k+1=v%2F1&a=b%2Bc.
		name: "tags-deprecated", comp: "gzip",
		after: []string{"--tags", "k 1,v/1", "a,b+c", "--history-tags", "h 2,x=y"},
		files: []file{
			{path: seg, tags: waTags("k 1", "v/1", "a", "b+c")},
			{path: wals.History, tags: waTags("h 2", "x=y")},
		},
	}, {
		// Without history tags a history file gets the WAL tags.
		name: "history-without-history-tags", comp: "snappy",
		args:  []string{"--tag", "a,b"},
		files: []file{{path: wals.History, tags: waTags("a", "b")}},
	}, {
		// Incompressible: several parts on S3, several blocks on Azure,
		// whatever the compression.
		name: "tag-multipart", comp: "lz4",
		args:  []string{"--tag", "env,test", "--tag", "k 1,v/1"},
		files: []file{{path: big, tags: waTags("env", "test", "k 1", "v/1"), multipart: true}},
	}}
	for _, tg := range oracle.Targets(t) {
		for _, tc := range cases {
			t.Run(tg.Name+"/"+tc.name, func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				c := oracle.CompressionNamed(tc.comp)
				var keys []string
				for _, f := range tc.files {
					args := append(append(c.Args(), tc.args...), tg.URL(prefix), "pg", f.path)
					waMustArchive(t, tg, append(args, tc.after...)...)
					keys = append(keys, waKey(prefix, filepath.Base(f.path), c.Suffix))
				}
				objs := waObjects(t, tg, prefix, keys...)
				for i, f := range tc.files {
					o := objs[keys[i]]
					waCheckObject(t, tg, o, c, waRead(t, f.path))
					if got := waObjectTags(tg, o); fmt.Sprint(got) != fmt.Sprint(f.tags) {
						t.Errorf("%s: tags %q, want %q", o.Key, got, f.tags)
					}
					if f.multipart && tg.Name != "gcs" && !waMultipart(tg, o) {
						t.Errorf("%s: stored in one request (ETag %s, %d blocks): this case is meant to test tags on a multipart upload", o.Key, o.ETag, o.Blocks)
					}
				}
			})
		}
	}
}

// TestArchiveS3Encryption checks that -e and --sse-kms-key-id reach MinIO
// (started with the KMS key testenv-key) on each way an object goes up:
// one PutObject streamed from the file (no compression), the transfer
// manager's single PutObject (a compressed stream) and its multipart
// upload (an incompressible segment).
func TestArchiveS3Encryption(t *testing.T) {
	wals := harness.WALs(t)
	tg := oracle.S3(t)
	seg := wals.Segments[2]
	big := waIncompressible(t, wals.Segments[3], t.TempDir())
	cases := []struct {
		name      string
		comp      string
		path      string
		args      []string
		sse       string
		kmsKey    string // what MinIO reports as SSEKMSKeyId
		multipart bool
	}{
		{name: "AES256-put", comp: "none", path: seg, args: []string{"-e", "AES256"}, sse: "AES256"},
		{name: "AES256-stream", comp: "gzip", path: seg, args: []string{"-e", "AES256"}, sse: "AES256"},
		{name: "AES256-multipart", comp: "zstd", path: big, args: []string{"-e", "AES256"}, sse: "AES256", multipart: true},
		{name: "kms-put", comp: "none", path: seg, args: []string{"-e", "aws:kms"}, sse: "aws:kms"},
		{name: "kms-key-put", comp: "none", path: seg, args: []string{"-e", "aws:kms", "--sse-kms-key-id", "testenv-key"}, sse: "aws:kms", kmsKey: "arn:aws:kms:testenv-key"},
		{name: "kms-key-stream", comp: "bzip2", path: wals.History, args: []string{"--encryption=aws:kms", "--sse-kms-key-id=testenv-key"}, sse: "aws:kms", kmsKey: "arn:aws:kms:testenv-key"},
		{name: "kms-key-multipart", comp: "snappy", path: big, args: []string{"-e", "aws:kms", "--sse-kms-key-id", "testenv-key"}, sse: "aws:kms", kmsKey: "arn:aws:kms:testenv-key", multipart: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			c := oracle.CompressionNamed(tc.comp)
			waMustArchive(t, tg, append(append(c.Args(), tc.args...), tg.URL(prefix), "pg", tc.path)...)
			key := waKey(prefix, filepath.Base(tc.path), c.Suffix)
			o := waObjects(t, tg, prefix, key)[key]
			waCheckObject(t, tg, o, c, waRead(t, tc.path))
			if o.SSE != tc.sse {
				t.Errorf("ServerSideEncryption %q, want %q", o.SSE, tc.sse)
			}
			if tc.kmsKey != "" && o.SSEKMSKeyID != tc.kmsKey {
				t.Errorf("SSEKMSKeyId %q, want %q", o.SSEKMSKeyID, tc.kmsKey)
			}
			if tc.multipart != waMultipart(tg, o) {
				t.Errorf("multipart: %v, want %v (ETag %s)", !tc.multipart, tc.multipart, o.ETag)
			}
		})
	}
}

// TestArchiveS3EncryptionErrors: a KMS key id without aws:kms is refused
// before any request (Barman: exit 4), and a key the server does not know
// is an error of the upload (exit 4), not a missing bucket, on either
// upload path. Nothing is stored.
func TestArchiveS3EncryptionErrors(t *testing.T) {
	wals := harness.WALs(t)
	tg := oracle.S3(t)
	cases := []struct {
		name string
		args []string
		code int
		msgs []string
	}{
		{"key-without-kms", []string{"--sse-kms-key-id", "testenv-key"}, 4, []string{`Encryption type must be "aws:kms" if SSE KMS Key ID is specified`}},
		{"key-with-AES256", []string{"-e", "AES256", "--sse-kms-key-id", "testenv-key"}, 4, []string{`Encryption type must be "aws:kms"`}},
		{"unknown-key-put", []string{"-e", "aws:kms", "--sse-kms-key-id", "no-such-key"}, 4, []string{"KeyNotFound"}},
		{"unknown-key-stream", []string{"--gzip", "-e", "aws:kms", "--sse-kms-key-id", "no-such-key"}, 4, []string{"KeyNotFound"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			r := waArchive(t, tg, nil, append(tc.args, tg.URL(prefix), "pg", wals.Segments[2])...)
			waWantFailure(t, r, tc.code, tc.msgs...)
			if strings.Contains(r.Stderr, "Bucket "+tg.Bucket+" does not exist") {
				t.Errorf("the error is reported as a missing bucket: %s", r.Stderr)
			}
			waNothingUnder(t, tg, prefix)
		})
	}
}

// TestArchiveAzureEncryptionScope checks that --encryption-scope reaches
// the service as x-ms-encryption-scope on every write request. Azurite
// accepts the header and ignores it (Get Blob Properties reports no scope),
// so an httptest server stands in for the Blob service here, reached
// through a connection string as Azurite is.
func TestArchiveAzureEncryptionScope(t *testing.T) {
	wals := harness.WALs(t)
	type request struct{ method, comp, scope string }
	var (
		mu     sync.Mutex
		reqs   []request
		stored = map[string]int64{} // committed blobs and their sizes
		blocks int64                // the bytes of the blocks staged
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		comp := r.URL.Query().Get("comp")
		name := strings.TrimPrefix(r.URL.Path, "/devstoreaccount1/scoped/")
		mu.Lock()
		reqs = append(reqs, request{r.Method, comp, r.Header.Get("x-ms-encryption-scope")})
		switch {
		case r.Method == http.MethodPut && comp == "block":
			blocks += n
		case r.Method == http.MethodPut && comp == "blocklist":
			stored[name], blocks = blocks, 0
		case r.Method == http.MethodPut:
			stored[name] = n
		}
		var listed strings.Builder
		for k, size := range stored {
			if strings.HasPrefix(k, r.URL.Query().Get("prefix")) {
				fmt.Fprintf(&listed, `<Blob><Name>%s</Name><Properties><Creation-Time>Mon, 01 Jan 2024 00:00:00 GMT</Creation-Time><Last-Modified>Mon, 01 Jan 2024 00:00:00 GMT</Last-Modified><Etag>0x8DC0000000000</Etag><Content-Length>%d</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>`, k, size)
			}
		}
		mu.Unlock()
		w.Header().Set("x-ms-request-id", "00000000-0000-0000-0000-000000000000")
		w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
		switch {
		case r.Method == http.MethodGet && comp == "list":
			// The blobs stored so far: the archiver lists after its upload.
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://%s/devstoreaccount1" ContainerName="scoped"><Prefix>%s</Prefix><Delimiter>/</Delimiter><Blobs>%s</Blobs><NextMarker /></EnumerationResults>`,
				r.Host, r.URL.Query().Get("prefix"), listed.String())
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"0x8DC0000000000"`)
			w.Header().Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
			w.Header().Set("x-ms-request-server-encrypted", "true")
			if s := r.Header.Get("x-ms-encryption-scope"); s != "" {
				w.Header().Set("x-ms-encryption-scope", s)
			}
			w.WriteHeader(http.StatusCreated)
		default:
			http.Error(w, "unexpected request", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + oracle.AzureConnectionString(srv.URL+"/devstoreaccount1", oracle.AzuriteKey)}
	tg := oracle.Azure(t)
	url := srv.URL + "/devstoreaccount1/scoped/p"
	for _, f := range []string{wals.History, wals.Segments[2]} { // one Put Blob; Put Blocks and a Put Block List
		r := waArchive(t, tg, env, "--encryption-scope", "scope-1", url, "pg", f)
		if r.Code != 0 {
			t.Fatalf("archive %s: exit %d\n%s", f, r.Code, r.Stderr)
		}
	}
	var puts []string
	for _, q := range reqs {
		if q.method != http.MethodPut {
			continue
		}
		puts = append(puts, q.comp)
		if q.scope != "scope-1" {
			t.Errorf("PUT comp=%q: x-ms-encryption-scope %q, want scope-1", q.comp, q.scope)
		}
	}
	// The history file in one Put Blob; the 16 MiB segment in 4 MiB blocks.
	if got := strings.Join(puts, ","); got != ",block,block,block,block,blocklist" {
		t.Errorf("write requests (comp=): %s", got)
	}
}
