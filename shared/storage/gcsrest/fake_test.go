package gcsrest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gax "github.com/googleapis/gax-go/v2"
	"gocloud.dev/blob"
)

// fakeGCS is a minimal JSON API server for one bucket, "bkt": it stores
// an object only when a multipart upload arrived whole, and records what
// the driver sent.
type fakeGCS struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	objects    map[string]*fakeObject
	generation int64 // the last one given
	uploads    []*uploadRecord
	requests   []string // "METHOD escaped-path?query"
	// hook, when set, may answer a request itself (returning true).
	hook func(w http.ResponseWriter, r *http.Request) bool
	// onMedia is called with the running count of media bytes read.
	onMedia func(n int)
	// corrupt, when set, flips a byte of every object it stores, as a
	// faulty path between the client and the disks would.
	corrupt bool

	// Resumable sessions. cutChunk, when set, is the data-carrying PUT
	// (counting from 1) whose connection is cut instead of answered, after
	// cutKeep bytes of its body were stored; chunks counts them.
	sessions map[string]*fakeSession
	chunks   int
	cutChunk int
	cutKeep  int
	ranges   []string // Content-Range of every PUT to a session
	// batches records the keys of each batch; batchStatus answers the
	// delete of a key with that status instead.
	batches     [][]string
	batchStatus map[string]int
}

// sessionsQuery is the query that opened the (last) session.
func (f *fakeGCS) sessionsQuery(t *testing.T) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.requests {
		if strings.Contains(u, "uploadType=resumable") && !strings.Contains(u, "upload_id") {
			q, err := url.ParseQuery(u[strings.Index(u, "?")+1:])
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
	}
	t.Fatal("no session opened")
	return nil
}

// fakeSession is a resumable upload session.
type fakeSession struct {
	meta      map[string]any
	query     url.Values
	data      []byte
	cancelled bool
}

type fakeObject struct {
	meta    map[string]any
	data    []byte
	updated time.Time
	// gen and metagen are the object's generation and metageneration.
	gen, metagen int64
}

type uploadRecord struct {
	Query            url.Values
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Resource         map[string]any
	MediaType        string
	Media            []byte
	Err              error // nil: the body was complete
	done             chan struct{}
}

const fakeBucket = "bkt"

func newFakeGCS(t *testing.T) *fakeGCS {
	f := &fakeGCS{t: t, objects: map[string]*fakeObject{}, sessions: map[string]*fakeSession{}, batchStatus: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a driver client for the fake, with short retry delays.
func (f *fakeGCS) client(t *testing.T) *Client {
	c, err := NewClientWithHTTP(f.srv.Client(), f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = gax.Backoff{Initial: time.Millisecond, Max: time.Millisecond}
	return c
}

func (f *fakeGCS) bucket(t *testing.T) *blob.Bucket {
	b := f.client(t).OpenBucket(fakeBucket)
	t.Cleanup(func() { b.Close() })
	return b
}

func (f *fakeGCS) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeGCS) object(key string) *fakeObject {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.objects[key]
}

func (f *fakeGCS) lastUpload() *uploadRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.uploads) == 0 {
		f.t.Fatal("no upload request arrived")
	}
	return f.uploads[len(f.uploads)-1]
}

// settledUploads waits until the server has finished reading every
// upload request it received, and returns them.
func (f *fakeGCS) settledUploads(t *testing.T) []*uploadRecord {
	f.mu.Lock()
	ups := append([]*uploadRecord(nil), f.uploads...)
	f.mu.Unlock()
	for _, u := range ups {
		select {
		case <-u.done:
		case <-time.After(10 * time.Second):
			t.Fatal("an upload request is still being read")
		}
	}
	return ups
}

func (f *fakeGCS) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"message":%q,"reason":"test"}]}}`, code, msg, msg)
}

func (f *fakeGCS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	const (
		upload  = "/upload/storage/v1/b/" + fakeBucket + "/o"
		objects = "/storage/v1/b/" + fakeBucket + "/o/"
		bucket  = "/storage/v1/b/"
	)
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == upload && r.URL.Query().Get("uploadType") == "resumable":
		f.startSession(w, r)
	case p == upload && r.URL.Query().Has("upload_id"):
		f.session(w, r)
	case r.Method == http.MethodPost && p == "/batch/storage/v1":
		f.batch(w, r)
	case r.Method == http.MethodPost && p == upload:
		f.upload(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/upload/storage/v1/b/"):
		// Answer before reading the body, as a front end may.
		jsonError(w, http.StatusNotFound, "The specified bucket does not exist.")
	case strings.HasPrefix(p, objects):
		f.serveObject(w, r, strings.TrimPrefix(p, objects))
	case r.Method == http.MethodGet && strings.HasPrefix(p, bucket) && !strings.Contains(strings.TrimPrefix(p, bucket), "/"):
		if strings.TrimPrefix(p, bucket) != fakeBucket {
			jsonError(w, http.StatusNotFound, "The specified bucket does not exist.")
			return
		}
		fmt.Fprintf(w, `{"name":%q}`, fakeBucket)
	default:
		jsonError(w, http.StatusNotImplemented, "fake: "+r.Method+" "+p)
	}
}

func (f *fakeGCS) upload(w http.ResponseWriter, r *http.Request) {
	rec := &uploadRecord{Query: r.URL.Query(), Header: r.Header.Clone(), ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, done: make(chan struct{})}
	f.mu.Lock()
	f.uploads = append(f.uploads, rec)
	f.mu.Unlock()
	defer close(rec.done)
	rec.Err = func() error {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/related" {
			return fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			return err
		}
		if err := json.NewDecoder(part).Decode(&rec.Resource); err != nil {
			return err
		}
		if part, err = mr.NextPart(); err != nil {
			return err
		}
		rec.MediaType = part.Header.Get("Content-Type")
		var media bytes.Buffer
		buf := make([]byte, 32<<10)
		for {
			n, err := part.Read(buf)
			media.Write(buf[:n])
			if f.onMedia != nil && n > 0 {
				f.onMedia(media.Len())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		rec.Media = media.Bytes()
		// Only the closing boundary proves the body is complete.
		if _, err := mr.NextPart(); err != io.EOF {
			return fmt.Errorf("no closing boundary: %v", err)
		}
		return nil
	}()
	if rec.Err != nil {
		jsonError(w, http.StatusBadRequest, "incomplete upload: "+rec.Err.Error())
		return
	}
	name, _ := rec.Resource["name"].(string)
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec.Query.Get("ifGenerationMatch") == "0" && f.objects[name] != nil {
		jsonError(w, http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
		return
	}
	data := rec.Media
	if f.corrupt && len(data) > 0 {
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 1
	}
	f.generation++
	o := &fakeObject{meta: rec.Resource, data: data, updated: time.Now(), gen: f.generation, metagen: 1}
	f.objects[name] = o
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(o.resource(name))
}

func (f *fakeGCS) startSession(w http.ResponseWriter, r *http.Request) {
	var meta map[string]any
	if err := json.NewDecoder(r.Body).Decode(&meta); err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.mu.Lock()
	id := fmt.Sprint(len(f.sessions) + 1)
	f.sessions[id] = &fakeSession{meta: meta, query: r.URL.Query()}
	f.mu.Unlock()
	w.Header().Set("Location", f.srv.URL+"/upload/storage/v1/b/"+fakeBucket+"/o?uploadType=resumable&upload_id="+id)
}

// session answers a request to a resumable session as GCS does: a chunk
// may overlap what the session holds (the overlap is ignored), "bytes
// */TOTAL" finalizes or asks, 308 (or 200 with X-Http-Status-Code-Override
// when asked) gives the range held, 499 answers a cancel.
func (f *fakeGCS) session(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	ss := f.sessions[r.URL.Query().Get("upload_id")]
	if ss == nil || ss.cancelled {
		jsonError(w, http.StatusNotFound, "no such session")
		return
	}
	if r.Method == http.MethodDelete {
		ss.cancelled = true
		w.WriteHeader(499)
		return
	}
	cr := r.Header.Get("Content-Range")
	f.ranges = append(f.ranges, cr)
	var start, end, total int64 = -1, -1, -1
	rng, tot, _ := strings.Cut(strings.TrimPrefix(cr, "bytes "), "/")
	if tot != "*" {
		fmt.Sscan(tot, &total)
	}
	if rng != "*" {
		fmt.Sscanf(rng, "%d-%d", &start, &end)
		if start > int64(len(ss.data)) || end-start+1 != int64(len(body)) {
			jsonError(w, http.StatusBadRequest, "bad range "+cr)
			return
		}
		f.chunks++
		if f.chunks == f.cutChunk {
			keep := body[:min(f.cutKeep, len(body))]
			if skip := int64(len(ss.data)) - start; skip < int64(len(keep)) {
				ss.data = append(ss.data, keep[skip:]...)
			}
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		ss.data = append(ss.data, body[int64(len(ss.data))-start:]...)
	}
	if total >= 0 && int64(len(ss.data)) == total {
		name, _ := ss.meta["name"].(string)
		if ss.query.Get("ifGenerationMatch") == "0" && f.objects[name] != nil {
			jsonError(w, http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
			return
		}
		data := ss.data
		if f.corrupt && len(data) > 0 {
			data = append([]byte(nil), data...)
			data[len(data)/2] ^= 1
		}
		o := &fakeObject{meta: ss.meta, data: data, updated: time.Now()}
		f.objects[name] = o
		delete(f.sessions, r.URL.Query().Get("upload_id"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(o.resource(name))
		return
	}
	if len(ss.data) > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", len(ss.data)-1))
	}
	if r.Header.Get("X-GUploader-No-308") == "yes" {
		w.Header().Set("X-Http-Status-Code-Override", "308")
		return
	}
	w.WriteHeader(http.StatusPermanentRedirect)
}

// batch answers a JSON batch of deletes.
func (f *fakeGCS) batch(w http.ResponseWriter, r *http.Request) {
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, params["boundary"])
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		req, err := http.ReadRequest(bufio.NewReader(part))
		if err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
		name, _ := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/storage/v1/b/"+fakeBucket+"/o/"))
		keys = append(keys, name)
		status := http.StatusNoContent
		switch {
		case f.batchStatus[name] != 0:
			status = f.batchStatus[name]
		case req.Method != http.MethodDelete:
			status = http.StatusBadRequest
		case f.objects[name] == nil:
			status = http.StatusNotFound
		default:
			delete(f.objects, name)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		h.Set("Content-ID", "<response-"+strings.Trim(part.Header.Get("Content-ID"), "<>")+">")
		pw, _ := mw.CreatePart(h)
		if status == http.StatusNoContent {
			fmt.Fprintf(pw, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		msg := fmt.Sprintf(`{"error":{"code":%d,"message":"status %d","errors":[{"message":"status %d","reason":"r%d"}]}}`, status, status, status, status)
		fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), len(msg), msg)
	}
	mw.Close()
	f.batches = append(f.batches, keys)
}

func (o *fakeObject) resource(name string) map[string]any {
	res := map[string]any{
		"name": name, "bucket": fakeBucket, "size": fmt.Sprint(len(o.data)),
		"updated": o.updated.UTC().Format(time.RFC3339Nano), "timeCreated": o.updated.UTC().Format(time.RFC3339Nano),
		"etag": "CAE=", "generation": fmt.Sprint(o.gen), "metageneration": fmt.Sprint(o.metagen), "crc32c": crc32cOf(o.data),
	}
	for _, k := range []string{"contentType", "metadata", "cacheControl", "contentEncoding"} {
		if v, ok := o.meta[k]; ok {
			res[k] = v
		}
	}
	return res
}

func (f *fakeGCS) serveObject(w http.ResponseWriter, r *http.Request, name string) {
	f.mu.Lock()
	o := f.objects[name]
	q := r.URL.Query()
	failed := o != nil && ((q.Has("ifGenerationMatch") && q.Get("ifGenerationMatch") != fmt.Sprint(o.gen)) ||
		(q.Has("ifMetagenerationMatch") && q.Get("ifMetagenerationMatch") != fmt.Sprint(o.metagen)))
	if !failed && o != nil {
		switch r.Method {
		case http.MethodDelete:
			delete(f.objects, name)
		case http.MethodPatch:
			var patch map[string]any
			json.NewDecoder(r.Body).Decode(&patch)
			if md, ok := patch["metadata"].(map[string]any); ok {
				merged, _ := o.meta["metadata"].(map[string]any)
				if merged == nil {
					merged = map[string]any{}
				}
				for k, v := range md {
					merged[k] = v
				}
				o.meta["metadata"] = merged
			}
			o.metagen++
		}
	}
	f.mu.Unlock()
	if o == nil {
		jsonError(w, http.StatusNotFound, "No such object: "+fakeBucket+"/"+name)
		return
	}
	if failed {
		jsonError(w, http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
		return
	}
	switch {
	case r.Method == http.MethodPatch:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(o.resource(name))
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Query().Get("alt") == "media":
		if ct, ok := o.meta["contentType"].(string); ok {
			w.Header().Set("Content-Type", ct)
		}
		http.ServeContent(w, r, "", o.updated, bytes.NewReader(o.data))
	case r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(o.resource(name))
	default:
		jsonError(w, http.StatusNotImplemented, "fake: "+r.Method)
	}
}

// failingReader yields n bytes of data, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = 'x'
	}
	r.n -= len(p)
	return len(p), nil
}

var errSource = errors.New("source broke")

// crc32cOf is the object resource's crc32c: base64 of the big-endian
// CRC-32C.
func crc32cOf(b []byte) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(sum[:])
}
