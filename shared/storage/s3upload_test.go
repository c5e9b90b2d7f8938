package storage

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/tags"
)

// fakeS3 records the requests of uploads and deletes and keeps the
// objects and the multipart upload they make, as far as the S3 code
// needs. Its fields after mu may be set by a test before the first request.
type fakeS3 struct {
	mu       sync.Mutex
	objects  map[string][]byte
	parts    map[int][]byte
	requests []string // "METHOD query-keys"
	headers  []http.Header
	// completeStatus, when set, is the answer to CompleteMultipartUpload.
	completeStatus int
	// partDelay is how long a part upload takes once its body is read.
	partDelay time.Duration
	// failPart is how many times part N fails with 500 InternalError
	// before it is stored; refusePart answers part N with 403.
	failPart   map[int]int
	refusePart map[int]bool
	// deleteDenied answers DeleteObjects with an error for these keys
	// (once for InternalError); missingMD5 answers it with 400
	// MissingContentMD5.
	deleteDenied map[string]string
	missingMD5   bool
	// discard keeps no part data (a memory measurement).
	discard bool

	// What happened.
	inflight, maxInflight int
	attempts              map[int]int // part number: uploads
	open                  bool        // a multipart upload is open
	deleteBatches         [][]string
	deleteHeaders         []http.Header
}

func newFakeS3(t *testing.T, opts ...Options) (*fakeS3, *Store) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
	f := &fakeS3{objects: map[string][]byte{}, parts: map[int][]byte{}, attempts: map[int]int{},
		failPart: map[int]int{}, refusePart: map[int]bool{}, deleteDenied: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.EndpointURL = srv.URL
	s, err := Open(context.Background(), Location{Provider: S3, Bucket: "b"}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return f, s
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	isPart := r.Method == http.MethodPut && q.Has("partNumber")
	if isPart {
		f.mu.Lock()
		f.inflight++
		f.maxInflight = max(f.maxInflight, f.inflight)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.inflight--
			f.mu.Unlock()
		}()
	}
	var body []byte
	var err error
	if isPart && f.discard {
		_, err = io.Copy(io.Discard, r.Body)
	} else {
		body, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return
	}
	if isPart {
		time.Sleep(f.partDelay)
	}
	var keys []string
	for _, k := range []string{"uploads", "partNumber", "uploadId", "delete"} {
		if q.Has(k) {
			keys = append(keys, k)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+strings.Join(keys, ","))
	f.headers = append(f.headers, r.Header.Clone())
	key := strings.TrimPrefix(r.URL.Path, "/b/")
	switch {
	case r.Method == http.MethodPut && !q.Has("partNumber"):
		f.objects[key] = body
		w.Header().Set("ETag", `"put"`)
	case r.Method == http.MethodPost && q.Has("uploads"):
		f.open = true
		fmt.Fprintf(w, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>%s</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>`, key)
	case r.Method == http.MethodPut:
		var n int
		fmt.Sscan(q.Get("partNumber"), &n)
		f.attempts[n]++
		switch {
		case f.refusePart[n]:
			s3ErrorAnswer(w, http.StatusForbidden, "AccessDenied")
			return
		case f.failPart[n] > 0:
			f.failPart[n]--
			s3ErrorAnswer(w, http.StatusInternalServerError, "InternalError")
			return
		}
		f.parts[n] = body
		w.Header().Set("ETag", fmt.Sprintf(`"part%d"`, n))
	case r.Method == http.MethodPost && q.Has("uploadId"):
		if f.completeStatus != 0 {
			w.WriteHeader(f.completeStatus)
			fmt.Fprint(w, `<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`)
			return
		}
		var all []byte
		for i := 1; i <= len(f.parts); i++ {
			all = append(all, f.parts[i]...)
		}
		f.objects[key] = all
		f.open = false
		fmt.Fprint(w, `<CompleteMultipartUploadResult><ETag>"mpu"</ETag></CompleteMultipartUploadResult>`)
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		f.parts = map[int][]byte{}
		f.open = false
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && q.Has("delete"):
		f.deleteObjects(w, r, body)
	case r.Method == http.MethodDelete:
		delete(f.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unexpected", http.StatusBadRequest)
	}
}

// deleteObjects answers DeleteObjects (quiet): errors only.
func (f *fakeS3) deleteObjects(w http.ResponseWriter, r *http.Request, body []byte) {
	f.deleteHeaders = append(f.deleteHeaders, r.Header.Clone())
	if f.missingMD5 {
		s3ErrorAnswer(w, http.StatusBadRequest, "MissingContentMD5")
		return
	}
	var req struct {
		Objects []struct{ Key string } `xml:"Object"`
		Quiet   bool
	}
	if err := xml.Unmarshal(body, &req); err != nil || !req.Quiet {
		http.Error(w, "bad delete request", http.StatusBadRequest)
		return
	}
	var batch []string
	fmt.Fprint(w, `<DeleteResult>`)
	for _, o := range req.Objects {
		batch = append(batch, o.Key)
		if code, ok := f.deleteDenied[o.Key]; ok {
			fmt.Fprintf(w, `<Error><Key>%s</Key><Code>%s</Code><Message>no</Message></Error>`, o.Key, code)
			if code == "InternalError" {
				delete(f.deleteDenied, o.Key)
			}
			continue
		}
		delete(f.objects, o.Key)
	}
	fmt.Fprint(w, `</DeleteResult>`)
	f.deleteBatches = append(f.deleteBatches, batch)
}

func s3ErrorAnswer(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

// oneWay hides a reader's io.Seeker (a compressed stream has none).
type oneWay struct{ io.Reader }

func TestS3StreamShapes(t *testing.T) {
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.New(rand.NewSource(int64(n))).Read(b)
		return b
	}
	for _, tt := range []struct {
		name     string
		size     int
		requests []string
	}{
		{"empty", 0, []string{"PUT "}},
		{"small", 100 << 10, []string{"PUT "}},
		{"one part exactly", s3PartSize, []string{"POST uploads", "PUT partNumber,uploadId", "POST uploadId"}},
		{"three parts", 2*s3PartSize + 12345, []string{"POST uploads", "PUT partNumber,uploadId", "PUT partNumber,uploadId", "PUT partNumber,uploadId", "POST uploadId"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFakeS3(t)
			data := random(tt.size)
			err := s.Upload(context.Background(), "p/k", oneWay{bytes.NewReader(data)}, -1, UploadOptions{
				IfNotExist: true, Metadata: map[string]string{"barman-cloud-sha256": "abc"}, Tags: tags.List{{Key: "k 1", Value: "v/1"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(f.requests, "; ") != strings.Join(tt.requests, "; ") {
				t.Errorf("requests %q, want %q", f.requests, tt.requests)
			}
			if !bytes.Equal(f.objects["p/k"], data) {
				t.Errorf("object holds %d bytes, want the %d sent", len(f.objects["p/k"]), len(data))
			}
			first, last := f.headers[0], f.headers[len(f.headers)-1]
			if first.Get("X-Amz-Tagging") != "k+1=v%2F1" || first.Get("X-Amz-Meta-Barman-Cloud-Sha256") != "abc" {
				t.Errorf("tags/metadata not on the first request: %v", first)
			}
			// The conditional create is on the request that makes the
			// object appear.
			if last.Get("If-None-Match") != "*" {
				t.Errorf("no If-None-Match on the %s request", f.requests[len(f.requests)-1])
			}
		})
	}
}

// failAfter returns its data then fails.
type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestS3StreamAbortsOnFailure(t *testing.T) {
	boom := errors.New("compressor failed")
	t.Run("source fails after two parts", func(t *testing.T) {
		f, s := newFakeS3(t)
		src := &failAfter{r: bytes.NewReader(make([]byte, 2*s3PartSize+10)), err: boom}
		err := s.Upload(context.Background(), "p/k", src, -1, UploadOptions{IfNotExist: true})
		if !errors.Is(err, boom) {
			t.Fatalf("Upload: %v, want the source's error", err)
		}
		if _, ok := f.objects["p/k"]; ok {
			t.Error("an object was made")
		}
		if got := f.requests[len(f.requests)-1]; got != "DELETE uploadId" {
			t.Errorf("last request %q, want the abort", got)
		}
	})
	t.Run("key taken at completion", func(t *testing.T) {
		f, s := newFakeS3(t)
		f.completeStatus = http.StatusPreconditionFailed
		err := s.Upload(context.Background(), "p/k", oneWay{bytes.NewReader(make([]byte, s3PartSize+1))}, -1, UploadOptions{IfNotExist: true})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Upload: %v, want ErrExists", err)
		}
		if got := f.requests[len(f.requests)-1]; got != "DELETE uploadId" {
			t.Errorf("last request %q, want the abort", got)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		f, s := newFakeS3(t)
		ctx, cancel := context.WithCancel(context.Background())
		// Cancel while the second part is being read, as SIGTERM would.
		src := io.MultiReader(bytes.NewReader(make([]byte, s3PartSize)), readerFunc(func(p []byte) (int, error) {
			cancel()
			return 0, context.Canceled
		}))
		err := s.Upload(ctx, "p/k", src, -1, UploadOptions{})
		if err == nil {
			t.Fatal("Upload succeeded")
		}
		if got := f.requests[len(f.requests)-1]; got != "DELETE uploadId" {
			t.Errorf("last request %q, want the abort even though the context was cancelled", got)
		}
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
