package gcsrest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

func TestUploadRequest(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	const key = "p/pg/wals/0000000100000000/000000010000000000000001.gz"
	body := bytes.Repeat([]byte("wal"), 100000)
	md := map[string]string{"barman-cloud-sha256": "abc", "env": "prod"}
	for _, tc := range []struct {
		name       string
		ifNotExist bool
		kms        string
		md         map[string]string // WriteOptions.Metadata
		wantQuery  url.Values
		wantMD     map[string]any
	}{
		{"plain", false, "", nil, url.Values{}, nil},
		{"if not exist", true, "", nil, url.Values{"ifGenerationMatch": {"0"}}, nil},
		{"kms", false, "projects/p/locations/l/keyRings/r/cryptoKeys/k", nil,
			url.Values{"kmsKeyName": {"projects/p/locations/l/keyRings/r/cryptoKeys/k"}}, nil},
		// Barman's tags: keys as given, not lower-cased as gocloud does
		// WriterOptions.Metadata's; they win over WriterOptions.Metadata.
		{"metadata", false, "", map[string]string{"Env": "Test", "env": "prod2", "k 1": "v/1"}, url.Values{},
			map[string]any{"barman-cloud-sha256": "abc", "env": "prod2", "Env": "Test", "k 1": "v/1"}},
	} {
		// What the generated client adds to every upload.
		tc.wantQuery.Set("uploadType", "multipart")
		tc.wantQuery.Set("alt", "json")
		tc.wantQuery.Set("prettyPrint", "false")
		t.Run(tc.name, func(t *testing.T) {
			k := key + "-" + strings.ReplaceAll(tc.name, " ", "-")
			err := b.Upload(context.Background(), k, bytes.NewReader(body), &blob.WriterOptions{
				ContentType: "application/octet-stream",
				Metadata:    md,
				IfNotExist:  tc.ifNotExist,
				BeforeWrite: func(as func(any) bool) error {
					var wo *WriteOptions
					if !as(&wo) {
						return errors.New("no *WriteOptions")
					}
					wo.KMSKeyName = tc.kms
					wo.Metadata = tc.md
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := f.lastUpload()
			if !reflect.DeepEqual(rec.Query, tc.wantQuery) {
				t.Errorf("query %v, want %v", rec.Query, tc.wantQuery)
			}
			if ce := rec.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("Content-Encoding %q sent", ce)
			}
			// Streamed: no length known in advance, chunked.
			if rec.ContentLength != -1 || !reflect.DeepEqual(rec.TransferEncoding, []string{"chunked"}) {
				t.Errorf("Content-Length %d, Transfer-Encoding %v: want a chunked stream", rec.ContentLength, rec.TransferEncoding)
			}
			wantMD := tc.wantMD
			if wantMD == nil {
				wantMD = map[string]any{"barman-cloud-sha256": "abc", "env": "prod"}
			}
			want := map[string]any{"name": k, "contentType": "application/octet-stream", "metadata": wantMD}
			if !reflect.DeepEqual(rec.Resource, want) {
				t.Errorf("object resource %v, want %v", rec.Resource, want)
			}
			if rec.MediaType != "application/octet-stream" || !bytes.Equal(rec.Media, body) {
				t.Errorf("media %q of %d bytes, want application/octet-stream of %d", rec.MediaType, len(rec.Media), len(body))
			}
			if f.object(k) == nil {
				t.Errorf("object %q not stored", k)
			}
		})
	}
}

// TestUploadStoredDiffers: an object the server stored with another
// CRC32C than what was sent is reported and deleted by generation.
func TestUploadStoredDiffers(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	err := b.Upload(context.Background(), "p/k", strings.NewReader("some WAL bytes"), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatalf("intact upload: %v", err)
	}
	f.corrupt = true
	err = b.Upload(context.Background(), "p/k2", strings.NewReader("some WAL bytes"), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err == nil || !strings.Contains(err.Error(), "CRC32C") {
		t.Fatalf("Upload = %v, want a CRC32C mismatch", err)
	}
	if f.object("p/k2") != nil {
		t.Error("the differing object was left")
	}
	log := f.requestLog()
	// The fake gives the bucket's second upload generation 2.
	if last := log[len(log)-1]; !strings.HasPrefix(last, "DELETE ") || !strings.Contains(last, "generation=2") {
		t.Errorf("last request %q, want a delete of generation 2", last)
	}
}

func TestUploadIfNotExistTaken(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx := context.Background()
	opts := &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true}
	if err := b.Upload(ctx, "k", strings.NewReader("one"), opts); err != nil {
		t.Fatal(err)
	}
	err := b.Upload(ctx, "k", strings.NewReader("two"), opts)
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Fatalf("second upload: %v (code %v), want FailedPrecondition", err, gcerrors.Code(err))
	}
	if got := string(f.object("k").data); got != "one" {
		t.Errorf("object holds %q, want the first upload", got)
	}
}

// TestUploadStreams proves the body is sent while the source is read: the
// source withholds its end until the server has received a first part.
func TestUploadStreams(t *testing.T) {
	f := newFakeGCS(t)
	const first = 4 << 20
	arrived := make(chan struct{})
	var once bool
	f.onMedia = func(n int) {
		if n >= first && !once {
			once = true
			close(arrived)
		}
	}
	b := f.bucket(t)
	src := io.MultiReader(bytes.NewReader(make([]byte, first)), readerFunc(func(p []byte) (int, error) {
		select {
		case <-arrived:
			return 0, io.EOF
		case <-time.After(10 * time.Second):
			return 0, errors.New("the first 4 MiB never reached the server: the upload is buffered")
		}
	}))
	if err := b.Upload(context.Background(), "big", src, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}
	if o := f.object("big"); o == nil || len(o.data) != first {
		t.Fatalf("object not stored whole")
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestUploadSourceFailsLeavesNoObject(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	err := b.Upload(context.Background(), "half", &failingReader{n: 3 << 20, err: errSource}, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if !errors.Is(err, errSource) {
		t.Errorf("upload error %v, want the source's error", err)
	}
	// The request may or may not have reached the handler before the
	// transport broke it off; if it did, its body must be incomplete.
	for _, u := range f.settledUploads(t) {
		if u.Err == nil {
			t.Errorf("the server received a complete body")
		}
	}
	if f.object("half") != nil {
		t.Fatal("an object was stored from a failed source")
	}
}

func TestWriteCancelledLeavesNoObject(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.NewWriter(ctx, "cancelled", &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	// The whole media was written: only the context stops the commit.
	cancel()
	if err := w.Close(); err == nil {
		t.Fatal("Close after cancel succeeded")
	}
	for _, u := range f.settledUploads(t) {
		if u.Err == nil {
			t.Errorf("the server received a complete body")
		}
	}
	if f.object("cancelled") != nil {
		t.Fatal("a cancelled write stored an object")
	}
}

func TestWritePath(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx := context.Background()
	if err := b.WriteAll(ctx, "small", []byte("hello"), &blob.WriterOptions{ContentType: "text/plain", CacheControl: "no-cache"}); err != nil {
		t.Fatal(err)
	}
	rec := f.lastUpload()
	if rec.Resource["cacheControl"] != "no-cache" || rec.Resource["md5Hash"] == nil {
		t.Errorf("resource %v lacks cacheControl or md5Hash", rec.Resource)
	}
	// An empty write still creates the object.
	w, err := b.NewWriter(ctx, "empty", &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if o := f.object("empty"); o == nil || len(o.data) != 0 {
		t.Fatalf("empty object: %+v", o)
	}
}

func TestUploadErrorBeforeBody(t *testing.T) {
	f := newFakeGCS(t)
	b := f.client(t).OpenBucket("no-such-bucket")
	defer b.Close()
	err := b.Upload(context.Background(), "k", bytes.NewReader(make([]byte, 8<<20)), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("upload to a missing bucket: %v (code %v), want NotFound", err, gcerrors.Code(err))
	}
}

// TestUploadReturnsAfterLastRead: the generated client reads the media
// from a goroutine of its own, which may outlive the request; Upload must
// not return while it is still reading the caller's reader.
func TestUploadReturnsAfterLastRead(t *testing.T) {
	f := newFakeGCS(t)
	b := f.client(t).OpenBucket("no-such-bucket") // answered before the body is read
	defer b.Close()
	var inRead, readsAfter atomic.Int32
	var returned atomic.Bool
	src := readerFunc(func(p []byte) (int, error) {
		if returned.Load() {
			readsAfter.Add(1)
		}
		inRead.Add(1)
		defer inRead.Add(-1)
		time.Sleep(5 * time.Millisecond)
		return len(p), nil
	})
	err := b.Upload(context.Background(), "k", src, &blob.WriterOptions{ContentType: "application/octet-stream"})
	returned.Store(true)
	if gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("upload to a missing bucket: %v", err)
	}
	if n := inRead.Load(); n != 0 {
		t.Errorf("Upload returned during a read of its source")
	}
	time.Sleep(50 * time.Millisecond)
	if n := readsAfter.Load(); n != 0 {
		t.Errorf("the source was read %d times after Upload returned", n)
	}
}

func TestReadAndAttributes(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx := context.Background()
	content := []byte("abcdefghijklmnopqrstuvwxyz")
	key := "dir/obj"
	if err := b.Upload(ctx, key, bytes.NewReader(content), &blob.WriterOptions{ContentType: "application/octet-stream", Metadata: map[string]string{"barman-cloud-sha256": "x"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offset, length int64
		wantRange      string
	}{
		{0, -1, ""},
		{10, -1, "bytes=10-"},
		{10, 5, "bytes=10-14"},
		{0, 3, "bytes=0-2"},
	} {
		t.Run(fmt.Sprintf("%d+%d", tc.offset, tc.length), func(t *testing.T) {
			var gotRange string
			f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				gotRange = r.Header.Get("Range")
				return false
			})
			defer f.setHook(nil)
			r, err := b.NewRangeReader(ctx, key, tc.offset, tc.length, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			end := int64(len(content))
			if tc.length >= 0 {
				end = tc.offset + tc.length
			}
			if string(got) != string(content[tc.offset:end]) {
				t.Errorf("read %q", got)
			}
			if gotRange != tc.wantRange {
				t.Errorf("Range %q, want %q", gotRange, tc.wantRange)
			}
			if r.Size() != int64(len(content)) || r.ModTime().IsZero() || r.ContentType() != "application/octet-stream" {
				t.Errorf("reader attributes size %d, mod time %v, type %q", r.Size(), r.ModTime(), r.ContentType())
			}
		})
	}
	a, err := b.Attributes(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != int64(len(content)) || a.Metadata["barman-cloud-sha256"] != "x" || a.ETag != `"CAE="` || a.ModTime.IsZero() {
		t.Errorf("attributes %+v", a)
	}
	var o Object
	if !a.As(&o) || o.Name != key {
		t.Errorf("As(*Object): %+v", o)
	}
	if _, err := b.Attributes(ctx, "missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("missing object: %v", err)
	}
	if _, err := b.NewReader(ctx, "missing", nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("reading a missing object: %v", err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("deleting twice: %v", err)
	}
}

// TestKeysAreSentVerbatim checks that any name reaches the server as one
// escaped path segment and comes back unchanged.
func TestKeysAreSentVerbatim(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx := context.Background()
	for _, key := range []string{
		"p/pg/wals/0000000100000000/000000010000000000000001.gz",
		"a//b/../c/./d",
		"sp ace?q=1&x#frag%41+plus",
		"☺/\\back\"quote'",
	} {
		if err := b.Upload(ctx, key, strings.NewReader("x"), &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
			t.Fatalf("%q: %v", key, err)
		}
		if f.lastUpload().Resource["name"] != key {
			t.Errorf("uploaded name %q, want %q", f.lastUpload().Resource["name"], key)
		}
		if _, err := b.Attributes(ctx, key); err != nil {
			t.Errorf("%q: %v", key, err)
		}
		// The name travels as one escaped path segment.
		reqs := f.requestLog()
		last := strings.TrimPrefix(reqs[len(reqs)-1], "GET /storage/v1/b/bkt/o/")
		seg, _, _ := strings.Cut(last, "?")
		if got, err := url.PathUnescape(seg); strings.Contains(seg, "/") || err != nil || got != key {
			t.Errorf("request %q does not carry %q as one path segment", reqs[len(reqs)-1], key)
		}
	}
}

func TestListMergesPrefixesAndPages(t *testing.T) {
	f := newFakeGCS(t)
	var queries []url.Values
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		queries = append(queries, r.URL.Query())
		if r.URL.Query().Get("pageToken") == "" {
			fmt.Fprint(w, `{"items":[{"name":"p/b","size":"3","updated":"2024-01-02T03:04:05.5Z"},{"name":"p/d","size":"1"}],"prefixes":["p/a/","p/c/"],"nextPageToken":"tok 2"}`)
		} else {
			fmt.Fprint(w, `{"items":[{"name":"p/e","size":"2"}]}`)
		}
		return true
	})
	d := f.client(t).Driver(fakeBucket)
	b := blob.NewBucket(d)
	defer b.Close()
	var got []string
	it := b.List(&blob.ListOptions{Prefix: "p/", Delimiter: "/"})
	for {
		o, err := it.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s:%v:%d", o.Key, o.IsDir, o.Size))
	}
	want := []string{"p/a/:true:0", "p/b:false:3", "p/c/:true:0", "p/d:false:1", "p/e:false:2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listing %v, want %v", got, want)
	}
	if len(queries) != 2 || queries[0].Get("prefix") != "p/" || queries[0].Get("delimiter") != "/" || queries[1].Get("pageToken") != "tok 2" {
		t.Errorf("queries %v", queries)
	}
	// A page size reaches the server as maxResults; "" delimiter is not sent.
	queries = nil
	if _, _, err := b.ListPage(context.Background(), blob.FirstPageToken, 7, &blob.ListOptions{Prefix: "p/"}); err != nil {
		t.Fatal(err)
	}
	if queries[0].Get("maxResults") != "7" || queries[0].Has("delimiter") {
		t.Errorf("query %v", queries[0])
	}
}

func TestRetries(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx := context.Background()
	if err := b.Upload(ctx, "k", strings.NewReader("x"), &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}
	fails := 0
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if fails < 2 {
			fails++
			jsonError(w, http.StatusServiceUnavailable, "try again")
			return true
		}
		return false
	})
	if _, err := b.Attributes(ctx, "k"); err != nil {
		t.Fatalf("attributes after two 503s: %v", err)
	}
	// Three 503s in a row exhaust the retries.
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		jsonError(w, http.StatusServiceUnavailable, "down")
		return true
	})
	n := len(f.requestLog())
	if _, err := b.Attributes(ctx, "k"); err == nil {
		t.Fatal("attributes succeeded against a failing server")
	}
	if got := len(f.requestLog()) - n; got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	// An upload is never retried: its body is a stream.
	n = len(f.requestLog())
	if err := b.Upload(ctx, "k2", strings.NewReader("x"), &blob.WriterOptions{ContentType: "application/octet-stream"}); err == nil {
		t.Fatal("upload succeeded against a failing server")
	}
	if got := len(f.requestLog()) - n; got != 1 {
		t.Errorf("upload sent %d requests, want 1", got)
	}
	// Not-found is final.
	f.setHook(nil)
	n = len(f.requestLog())
	b.Attributes(ctx, "missing")
	if got := len(f.requestLog()) - n; got != 1 {
		t.Errorf("a 404 was sent %d times", got)
	}
}

func TestBucketExists(t *testing.T) {
	f := newFakeGCS(t)
	c := f.client(t)
	ctx := context.Background()
	if ok, err := c.BucketExists(ctx, fakeBucket); !ok || err != nil {
		t.Errorf("existing bucket: %v, %v", ok, err)
	}
	if ok, err := c.BucketExists(ctx, "other"); ok || err != nil {
		t.Errorf("missing bucket: %v, %v", ok, err)
	}
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		jsonError(w, http.StatusForbidden, "no storage.buckets.get")
		return true
	})
	ok, err := c.BucketExists(ctx, fakeBucket)
	if ok || ErrorCode(err) != gcerrors.PermissionDenied {
		t.Errorf("forbidden: %v, %v", ok, err)
	}
	// The probe asks for the bucket's name only.
	reqs := f.requestLog()
	if reqs[0] != "GET /storage/v1/b/bkt?alt=json&fields=name&prettyPrint=false" {
		t.Errorf("request %q", reqs[0])
	}
}

func TestUnimplementedAndAs(t *testing.T) {
	f := newFakeGCS(t)
	b := f.bucket(t)
	ctx := context.Background()
	if _, err := b.SignedURL(ctx, "k", nil); gcerrors.Code(err) != gcerrors.Unimplemented {
		t.Errorf("SignedURL: %v", err)
	}
	var c *Client
	if !b.As(&c) || c == nil {
		t.Error("Bucket.As(**Client) failed")
	}
	_, err := b.Attributes(ctx, "missing")
	var gerr *googleapi.Error
	if !b.ErrorAs(err, &gerr) || gerr.Code != http.StatusNotFound {
		t.Errorf("ErrorAs(**googleapi.Error): %v", err)
	}
}

func TestCopy(t *testing.T) {
	f := newFakeGCS(t)
	calls := 0
	var paths []string
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		calls++
		paths = append(paths, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		if calls == 1 {
			fmt.Fprint(w, `{"done":false,"rewriteToken":"t1"}`)
		} else {
			fmt.Fprint(w, `{"done":true}`)
		}
		return true
	})
	b := f.bucket(t)
	if err := b.Copy(context.Background(), "d/st", "s/rc", nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"/storage/v1/b/bkt/o/s%2Frc/rewriteTo/b/bkt/o/d%2Fst?alt=json&prettyPrint=false",
		"/storage/v1/b/bkt/o/s%2Frc/rewriteTo/b/bkt/o/d%2Fst?alt=json&prettyPrint=false&rewriteToken=t1"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("requests %v, want %v", paths, want)
	}
}

// bodyRecorder is a transport that ignores request contexts and reads each
// request body to its end, as a slow network might: it shows what a server
// would have received.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies []recordedBody
}

type recordedBody struct {
	complete bool // ended with the closing boundary
	err      error
}

func (br *bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var rb recordedBody
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
		rb = recordedBody{complete: bytes.HasSuffix(b, []byte("\r\n--"+params["boundary"]+"--\r\n")), err: err}
	}
	br.mu.Lock()
	br.bodies = append(br.bodies, rb)
	br.mu.Unlock()
	if rb.err != nil {
		return nil, rb.err
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: req}, nil
}

// TestCancelledUploadNeverEnds: once the context is done, the closing
// boundary is not sent, even by a transport that has not noticed yet.
func TestCancelledUploadNeverEnds(t *testing.T) {
	opts := &blob.WriterOptions{ContentType: "application/octet-stream"}
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, cancel func(), b *blob.Bucket) error
	}{
		{"write then cancel", func(ctx context.Context, cancel func(), b *blob.Bucket) error {
			w, err := b.NewWriter(ctx, "k", opts)
			if err != nil {
				return err
			}
			if _, err := w.Write([]byte("data")); err != nil {
				return err
			}
			cancel()
			return w.Close()
		}},
		{"cancel as the source ends", func(ctx context.Context, cancel func(), b *blob.Bucket) error {
			src := io.MultiReader(strings.NewReader("data"), readerFunc(func([]byte) (int, error) {
				cancel()
				return 0, io.EOF
			}))
			return b.Upload(ctx, "k", src, opts)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := &bodyRecorder{}
			c, err := NewClientWithHTTP(&http.Client{Transport: br}, "http://gcs.invalid")
			if err != nil {
				t.Fatal(err)
			}
			b := c.OpenBucket("bkt")
			defer b.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := tc.run(ctx, cancel, b); err == nil {
				t.Error("the cancelled upload reported success")
			}
			br.mu.Lock()
			defer br.mu.Unlock()
			for _, rb := range br.bodies {
				if rb.complete {
					t.Error("a complete body was sent after the context was cancelled")
				}
			}
		})
	}
}
