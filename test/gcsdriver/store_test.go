//go:build integration

package gcsdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/blob"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// openStore opens gs://GCS_BUCKET/prefix the way the tools do, with
// STORAGE_EMULATOR_HOST set to emulatorHost.
func openStore(t *testing.T, emulatorHost, prefix string, opts storage.Options) *storage.Store {
	t.Helper()
	loc, err := storage.ParseURL(storage.GCS, "gs://"+harness.Env(t, "GCS_BUCKET")+"/"+prefix)
	if err != nil {
		t.Fatal(err)
	}
	opts.LookupEnv = func(name string) (string, bool) {
		if name == "STORAGE_EMULATOR_HOST" {
			return emulatorHost, true
		}
		return "", false
	}
	s, err := storage.Open(context.Background(), loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// emulatorObject reads an object's resource straight from the emulator's
// JSON API; nil when it does not exist.
func emulatorObject(t *testing.T, key string) map[string]any {
	t.Helper()
	u := harness.Env(t, "GCS_ENDPOINT_URL") + "/storage/v1/b/" + harness.Env(t, "GCS_BUCKET") + "/o/" + url.PathEscape(key)
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %s", u, res.Status, b)
	}
	var o map[string]any
	if err := json.NewDecoder(res.Body).Decode(&o); err != nil {
		t.Fatal(err)
	}
	return o
}

// emulatorMedia downloads an object's content straight from the emulator.
func emulatorMedia(t *testing.T, key string) []byte {
	t.Helper()
	u := harness.Env(t, "GCS_ENDPOINT_URL") + "/storage/v1/b/" + harness.Env(t, "GCS_BUCKET") + "/o/" + url.PathEscape(key) + "?alt=media"
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", u, res.Status, err)
	}
	return b
}

var octet = storage.UploadOptions{}

func TestMetadataRoundTrip(t *testing.T) {
	prefix := harness.UniquePrefix(t)
	s := openStore(t, harness.Env(t, "STORAGE_EMULATOR_HOST"), prefix, storage.Options{})
	ctx := context.Background()
	key := prefix + "/pg/wals/0000000100000000/000000010000000000000001.gz"
	up := storage.UploadOptions{
		Tags:     tags.List{{Key: "env", Value: "prod"}, {Key: "team", Value: "db ops"}},
		Metadata: map[string]string{"barman-cloud-sha256": strings.Repeat("ab", 32)},
	}
	if err := s.Upload(ctx, key, strings.NewReader("payload"), -1, up); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"env": "prod", "team": "db ops", "barman-cloud-sha256": strings.Repeat("ab", 32)}
	got, err := s.Metadata(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metadata through the driver %v, want %v", got, want)
	}
	// What the server holds, read without the driver.
	o := emulatorObject(t, key)
	if o == nil {
		t.Fatalf("%s is not in the emulator", key)
	}
	md, _ := o["metadata"].(map[string]any)
	if len(md) != len(want) {
		t.Errorf("server metadata %v, want %v", md, want)
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("server metadata %s=%v, want %q", k, md[k], v)
		}
	}
	if o["name"] != key || o["contentType"] != "application/octet-stream" || o["contentEncoding"] != nil && o["contentEncoding"] != "" {
		t.Errorf("server object name %v, content type %v, content encoding %v", o["name"], o["contentType"], o["contentEncoding"])
	}
}

func TestIfNotExistOnExistingKey(t *testing.T) {
	prefix := harness.UniquePrefix(t)
	s := openStore(t, harness.Env(t, "STORAGE_EMULATOR_HOST"), prefix, storage.Options{})
	ctx := context.Background()
	key := prefix + "/obj"
	if err := s.Upload(ctx, key, strings.NewReader("first"), -1, storage.UploadOptions{IfNotExist: true}); err != nil {
		t.Fatal(err)
	}
	err := s.Upload(ctx, key, strings.NewReader("second"), -1, storage.UploadOptions{IfNotExist: true})
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("conditional upload over an existing key: %v, want ErrExists", err)
	}
	if got := string(emulatorMedia(t, key)); got != "first" {
		t.Errorf("the object holds %q, want the first upload", got)
	}
	// Without the condition the object is replaced.
	if err := s.Upload(ctx, key, strings.NewReader("third"), -1, octet); err != nil {
		t.Fatal(err)
	}
	if got := string(emulatorMedia(t, key)); got != "third" {
		t.Errorf("the object holds %q after an unconditional upload", got)
	}
}

func TestListWithDelimiter(t *testing.T) {
	prefix := harness.UniquePrefix(t)
	s := openStore(t, harness.Env(t, "STORAGE_EMULATOR_HOST"), prefix, storage.Options{})
	ctx := context.Background()
	for _, k := range []string{"p/b/x", "p/a", "p/e", "p/b/y", "p/c/z/deep", "pq"} {
		if err := s.Upload(ctx, prefix+"/"+k, strings.NewReader(k), -1, octet); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(objs []storage.Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, strings.TrimPrefix(o.Key, prefix+"/"))
		}
		return out
	}
	flat, err := s.List(ctx, prefix+"/p/", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p/a", "p/b/x", "p/b/y", "p/c/z/deep", "p/e"}; !reflect.DeepEqual(keys(flat), want) {
		t.Errorf("recursive listing %v, want %v", keys(flat), want)
	}
	top, err := s.List(ctx, prefix+"/p/", "/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p/a", "p/e"}; !reflect.DeepEqual(keys(top), want) {
		t.Errorf("listing with delimiter %v, want %v", keys(top), want)
	}
	// The "directories" themselves, through the bucket.
	it := s.Bucket.List(&blob.ListOptions{Prefix: prefix + "/p/", Delimiter: "/"})
	var got []string
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		k := strings.TrimPrefix(o.Key, prefix+"/")
		if o.IsDir {
			k += " (dir)"
		}
		got = append(got, k)
	}
	if want := []string{"p/a", "p/b/ (dir)", "p/c/ (dir)", "p/e"}; !reflect.DeepEqual(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	// More objects than one page: every one is listed once, in order.
	var many []string
	for i := 0; i < 25; i++ {
		k := prefix + "/m/" + string(rune('a'+i))
		many = append(many, k)
		if err := s.Upload(ctx, k, strings.NewReader("x"), -1, octet); err != nil {
			t.Fatal(err)
		}
	}
	var paged []string
	token := blob.FirstPageToken
	for {
		objs, next, err := s.Bucket.ListPage(ctx, token, 10, &blob.ListOptions{Prefix: prefix + "/m/"})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) > 10 {
			t.Errorf("page of %d objects, asked for 10", len(objs))
		}
		for _, o := range objs {
			paged = append(paged, o.Key)
		}
		if len(next) == 0 {
			break
		}
		token = next
	}
	if !reflect.DeepEqual(paged, many) {
		t.Errorf("paged listing %v, want %v", paged, many)
	}
}

// TestFailingSourceLeavesNoObject: an upload whose reader fails half-way
// reports the reader's error and leaves nothing under the key.
func TestFailingSourceLeavesNoObject(t *testing.T) {
	prefix := harness.UniquePrefix(t)
	s := openStore(t, harness.Env(t, "STORAGE_EMULATOR_HOST"), prefix, storage.Options{})
	ctx := context.Background()
	key := prefix + "/half"
	errBroken := errors.New("disk read failed")
	src := io.MultiReader(bytes.NewReader(make([]byte, 8<<20)), errReader{errBroken})
	err := s.Upload(ctx, key, src, -1, storage.UploadOptions{Metadata: map[string]string{"barman-cloud-sha256": "00"}})
	if !errors.Is(err, errBroken) {
		t.Errorf("upload error %v, want the source's", err)
	}
	if o := emulatorObject(t, key); o != nil {
		t.Fatalf("a failed upload left %v", o)
	}
	if _, err := s.Metadata(ctx, key); !storage.IsNotFound(err) {
		t.Errorf("metadata of the failed upload: %v, want not found", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestBucketExists(t *testing.T) {
	host := harness.Env(t, "STORAGE_EMULATOR_HOST")
	if ok, err := openStore(t, host, "x", storage.Options{}).BucketExists(context.Background()); !ok || err != nil {
		t.Errorf("GCS_BUCKET: %v, %v", ok, err)
	}
	loc, _ := storage.ParseURL(storage.GCS, "gs://no-such-bucket-gcsdriver/x")
	s, err := storage.Open(context.Background(), loc, storage.Options{LookupEnv: func(n string) (string, bool) {
		return host, n == "STORAGE_EMULATOR_HOST"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.BucketExists(context.Background()); ok || err != nil {
		t.Errorf("missing bucket: %v, %v", ok, err)
	}
}

// recordingProxy forwards to fake-gcs-server and records each upload's
// query: the emulator accepts kmsKeyName but does not keep it.
type recordingProxy struct {
	srv     *httptest.Server
	mu      sync.Mutex
	queries []url.Values
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	target, err := url.Parse(harness.Env(t, "GCS_ENDPOINT_URL"))
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/upload/") {
			p.mu.Lock()
			p.queries = append(p.queries, r.URL.Query())
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *recordingProxy) host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

func TestKMSKeyNameReachesServer(t *testing.T) {
	p := newRecordingProxy(t)
	prefix := harness.UniquePrefix(t)
	const kms = "projects/p/locations/europe-west1/keyRings/barman/cryptoKeys/wal"
	s := openStore(t, p.host(), prefix, storage.Options{KMSKeyName: kms})
	key := prefix + "/enc"
	if err := s.Upload(context.Background(), key, strings.NewReader("secret"), -1, octet); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queries) != 1 || p.queries[0].Get("kmsKeyName") != kms {
		t.Fatalf("upload queries %v, want kmsKeyName=%s", p.queries, kms)
	}
	if got := string(emulatorMedia(t, key)); got != "secret" {
		t.Errorf("stored %q", got)
	}
}
