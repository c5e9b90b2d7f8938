package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/retry"
)

// objectServer serves one S3 object with range reads, and answers each
// GET as the next of its plans says: cut after so many bytes of the body,
// a 503, or the whole range.
type objectServer struct {
	data  []byte
	mtime time.Time

	mu     sync.Mutex
	plans  []plan // one per GET, in order; then whole answers
	ranges []string
}

type plan struct {
	cutAfter int // bytes of the body sent before the connection is cut; -1: all
	status   int // an error answer instead
	resize   int // a different object size from now on
}

func (o *objectServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "unexpected", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	p := plan{cutAfter: -1}
	if len(o.plans) > 0 {
		p, o.plans = o.plans[0], o.plans[1:]
	}
	o.ranges = append(o.ranges, r.Header.Get("Range"))
	if p.resize > 0 {
		o.data = o.data[:p.resize]
	}
	data := o.data
	o.mu.Unlock()
	if p.status != 0 {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(p.status)
		fmt.Fprintf(w, "<Error><Code>SlowDown</Code><Message>slow down</Message></Error>")
		return
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		s, _ := strings.CutSuffix(strings.TrimPrefix(rg, "bytes="), "-")
		start, _ = strconv.Atoi(s)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
	}
	body := data[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Last-Modified", o.mtime.UTC().Format(http.TimeFormat))
	w.Header().Set("ETag", `"e"`)
	if r.Header.Get("Range") != "" {
		w.WriteHeader(http.StatusPartialContent)
	}
	if p.cutAfter >= 0 && p.cutAfter < len(body) {
		w.Write(body[:p.cutAfter])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection is cut
	}
	w.Write(body)
}

func s3Env(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_MAX_ATTEMPTS": "",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
}

// TestDownload: cut transfers resume where they stopped, with a fresh
// retry budget after progress; failures without progress use up the
// budget; an object that changes size is refused; a writer's error ends
// the download at once.
func TestDownload(t *testing.T) {
	s3Env(t)
	data := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	const tries = 3
	for _, tc := range []struct {
		name   string
		plans  []plan
		w      io.Writer
		ranges []string // the Range headers of the GETs
		err    error    // nil: the whole object
	}{
		{name: "whole", ranges: []string{""}},
		{
			name: "cut three times, resumed",
			// More cuts than tries: each made progress.
			plans:  []plan{{cutAfter: 1000}, {cutAfter: 1 << 20}, {cutAfter: 5}, {cutAfter: 0}},
			ranges: []string{"", "bytes=1000-", "bytes=1049576-", "bytes=1049581-", "bytes=1049581-"},
		},
		{
			name:   "503 then cut, resumed",
			plans:  []plan{{status: 503}, {cutAfter: 100}, {status: 503}, {status: 503}},
			ranges: []string{"", "", "bytes=100-", "bytes=100-", "bytes=100-"},
		},
		{
			name:  "no progress through every try",
			plans: []plan{{cutAfter: 10}, {cutAfter: 0}, {cutAfter: 0}, {cutAfter: 0}, {cutAfter: 0}},
			err:   ErrUnreachable,
		},
		{
			name:  "503 through every try",
			plans: []plan{{status: 503}, {status: 503}, {status: 503}},
			err:   ErrUnavailable,
		},
		{
			name:  "the object shrinks",
			plans: []plan{{cutAfter: 10}, {resize: 1 << 20}},
			err:   ErrObjectChanged,
		},
		{
			name: "writer fails",
			w:    failingWriter{},
			err:  errDiskFull,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &objectServer{data: data, mtime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), plans: tc.plans}
			srv := httptest.NewServer(o)
			defer srv.Close()
			s, err := Open(context.Background(), Location{Provider: S3, Bucket: "b"},
				Options{EndpointURL: srv.URL, Retry: retry.Policy{Tries: tries, Initial: time.Millisecond, Max: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var got bytes.Buffer
			w := tc.w
			if w == nil {
				w = &got
			}
			n, err := s.Download(context.Background(), "k", w)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Download: %v, want %v", err, tc.err)
				}
				if tc.name == "writer fails" && len(o.ranges) != 1 {
					t.Errorf("%d requests after a writer error, want 1", len(o.ranges))
				}
				return
			}
			if err != nil || n != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("Download: %d bytes, %v; got %d bytes, equal %v", n, err, got.Len(), bytes.Equal(got.Bytes(), data))
			}
			if fmt.Sprint(o.ranges) != fmt.Sprint(tc.ranges) {
				t.Errorf("ranges %q, want %q", o.ranges, tc.ranges)
			}
		})
	}
}

var errDiskFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }
