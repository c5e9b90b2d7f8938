package storage

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// slowReader yields n chunks of size bytes, one every interval.
type slowReader struct {
	n, size  int
	interval time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.interval)
	s.n--
	return copy(p, bytes.Repeat([]byte{'x'}, min(s.size, len(p)))), nil
}

// TestStallConnProgress: a transfer that keeps moving is never cut short
// by the inactivity window, in either direction, even when it takes many
// times the window; in particular an upload whose body takes longer than
// the window to send (a per-read deadline, as the AWS SDK's, fails it:
// the transport reads the connection for the answer while it sends).
func TestStallConnProgress(t *testing.T) {
	const window = 150 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			t.Errorf("server reading the body: %v", err)
		}
		if r.URL.Path == "/download" {
			// Answer slowly: 12 chunks, 50 ms apart.
			for i := 0; i < 12; i++ {
				w.Write([]byte("chunk"))
				w.(http.Flusher).Flush()
				time.Sleep(50 * time.Millisecond)
			}
			return
		}
		io.WriteString(w, strings.Repeat("y", int(n%7)))
	}))
	defer srv.Close()
	c := &http.Client{Transport: newTransport(window)}

	start := time.Now()
	body := &slowReader{n: 12, size: 1000, interval: 50 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/upload", body)
	req.ContentLength = 12000
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("slow upload (%s): %v", time.Since(start), err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if time.Since(start) < 4*window {
		t.Fatalf("the upload took %s: it did not outlast the window", time.Since(start))
	}

	start = time.Now()
	res, err = c.Get(srv.URL + "/download")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || len(b) != 60 {
		t.Fatalf("slow download (%s): %d bytes, %v", time.Since(start), len(b), err)
	}
}

// TestStallConnStalls: a server that accepts and never answers, or stops
// in the middle of an answer, fails the request after the window, with a
// StallError that Transient retries.
func TestStallConnStalls(t *testing.T) {
	const window = 150 * time.Millisecond
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/half" {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("half"))
			w.(http.Flusher).Flush()
		}
		<-release
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers
	c := &http.Client{Transport: newTransport(window)}
	for _, path := range []string{"/never", "/half"} {
		start := time.Now()
		res, err := c.Get(srv.URL + path)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		elapsed := time.Since(start)
		var stall *StallError
		if !errors.As(err, &stall) {
			t.Fatalf("%s: %v, want a StallError", path, err)
		}
		if elapsed < window || elapsed > 10*window {
			t.Errorf("%s: failed after %s, want about %s", path, elapsed, window)
		}
		if reason, ok := Transient(err); !ok || !strings.Contains(reason, "no data sent or received for 150ms") {
			t.Errorf("%s: Transient = %q, %v", path, reason, ok)
		}
	}
}

// TestStallConnIdlePool: a pooled connection left idle longer than the
// window is not handed to the next request to fail on it.
func TestStallConnIdlePool(t *testing.T) {
	const window = 100 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c := &http.Client{Transport: newTransport(window)}
	for i := 0; i < 3; i++ {
		res, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		time.Sleep(2 * window)
	}
}

// TestDialRefused: a refused connection is a transient network error.
func TestDialRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &http.Client{Transport: newTransport(time.Second)}
	_, err = c.Get("http://" + addr)
	if reason, ok := Transient(err); !ok || reason != "connection refused" {
		t.Errorf("refused: Transient(%v) = %q, %v", err, reason, ok)
	}
	if !IsNetwork(err) {
		t.Errorf("refused: not a network error: %v", err)
	}
}
