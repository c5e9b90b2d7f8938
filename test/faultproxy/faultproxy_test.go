package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upstream is a tiny object store: PUT stores the body under the path
// (only when it arrived whole), GET returns it.
type upstream struct {
	mu      sync.Mutex
	objects map[string][]byte
	hosts   []string
	srv     *httptest.Server
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{objects: map[string][]byte{}}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hosts = append(u.hosts, r.Host)
		u.mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			b, err := io.ReadAll(r.Body)
			if err != nil || int64(len(b)) != r.ContentLength {
				return // a cut body is never stored
			}
			u.mu.Lock()
			u.objects[r.URL.Path] = b
			u.mu.Unlock()
		case http.MethodGet:
			u.mu.Lock()
			b, ok := u.objects[r.URL.Path]
			u.mu.Unlock()
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) object(path string) ([]byte, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, ok := u.objects[path]
	return b, ok
}

func newProxy(t *testing.T, u *upstream, f Flavor) *Proxy {
	p, err := New(u.srv.URL, f)
	if err != nil {
		t.Fatal(err)
	}
	p.Logf = t.Logf
	t.Cleanup(func() { p.Close() })
	return p
}

// client does not retry and has no keep-alive, so that each request is
// one connection the proxy may break.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func put(p *Proxy, path string, body []byte) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodPut, p.URL+path, bytes.NewReader(body))
	res, err := client.Do(req)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return res, err
}

func get(p *Proxy, path string) ([]byte, int, error) {
	res, err := client.Get(p.URL + path)
	if err != nil {
		return nil, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return b, res.StatusCode, err
}

var payload = bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB

// isReset: the client saw its connection broken. Which error it gets
// depends on what it was doing: reading (reset, EOF), writing (broken
// pipe), or writing when its reader had already closed the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func TestPassThrough(t *testing.T) {
	u := newUpstream(t)
	p := newProxy(t, u, S3)
	if _, err := put(p, "/b/k", payload); err != nil {
		t.Fatal(err)
	}
	b, status, err := get(p, "/b/k")
	if err != nil || status != 200 || !bytes.Equal(b, payload) {
		t.Fatalf("GET: %d, %d bytes, %v", status, len(b), err)
	}
	if u.hosts[0] != p.Addr {
		t.Errorf("the server saw Host %q, want the proxy's %q (signatures cover it)", u.hosts[0], p.Addr)
	}
	if p.Injected() != 0 || p.Requests() != 2 {
		t.Errorf("injected %d, requests %d", p.Injected(), p.Requests())
	}
}

func TestResets(t *testing.T) {
	for _, tc := range []struct {
		kind   Kind
		stored bool // the server got the whole request
	}{
		{ResetBeforeForward, false},
		{ResetAfterForward, true},
		{ResetMidBody, false},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			u := newUpstream(t)
			p := newProxy(t, u, S3)
			p.SetRules(&Rule{Name: "r", Times: 1, Fault: Fault{Kind: tc.kind, After: 100 << 10}})
			_, err := put(p, "/b/k", payload)
			if !isReset(err) {
				t.Fatalf("PUT: %v, want a reset", err)
			}
			if _, ok := u.object("/b/k"); ok != tc.stored {
				t.Errorf("stored %v, want %v", ok, tc.stored)
			}
			if _, err := put(p, "/b/k2", payload); err != nil {
				t.Errorf("Times 1: the second request failed too: %v", err)
			}
			if p.Injected() != 1 || p.Counts()["r"] != 1 {
				t.Errorf("injected %d (%v), want 1", p.Injected(), p.Counts())
			}
		})
	}
}

// TestResetMidBodyShort: a body shorter than After passes, and the
// injection is kept for the next request.
func TestResetMidBodyShort(t *testing.T) {
	u := newUpstream(t)
	p := newProxy(t, u, S3)
	p.SetRules(&Rule{Name: "r", Times: 1, Fault: Fault{Kind: ResetMidBody, After: 100 << 10}})
	if _, err := put(p, "/b/small", payload[:1000]); err != nil {
		t.Fatal(err)
	}
	if _, err := put(p, "/b/big", payload); !isReset(err) {
		t.Fatalf("big PUT: %v, want a reset", err)
	}
	if p.Injected() != 1 {
		t.Errorf("injected %d", p.Injected())
	}
}

func TestCutResponse(t *testing.T) {
	u := newUpstream(t)
	p := newProxy(t, u, S3)
	put(p, "/b/k", payload)
	p.SetRules(&Rule{Name: "cut", Times: 1, Match: func(r *http.Request) bool { return r.Method == http.MethodGet },
		Fault: Fault{Kind: CutResponse, After: 300 << 10}})
	b, _, err := get(p, "/b/k")
	if !isReset(err) || len(b) > 300<<10 {
		t.Fatalf("GET: %d bytes, %v; want a reset after at most 300 KiB", len(b), err)
	}
	if b, _, err := get(p, "/b/k"); err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("second GET: %d bytes, %v", len(b), err)
	}
}

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		flavor Flavor
		status int
		want   string
	}{
		{S3, 0, "<Code>SlowDown</Code>"},
		{S3, 500, "<Code>InternalError</Code>"},
		{Azure, 0, "<Code>ServerBusy</Code>"},
		{GCS, 0, `"reason":"backendError"`},
		{GCS, 429, `"reason":"rateLimitExceeded"`},
	} {
		t.Run(tc.flavor.String(), func(t *testing.T) {
			u := newUpstream(t)
			p := newProxy(t, u, tc.flavor)
			p.SetRules(&Rule{Name: "busy", Skip: 1, Times: 2, Fault: Fault{Kind: Unavailable, Status: tc.status}})
			want := tc.status
			if want == 0 {
				want = 503
			}
			for i, wantStatus := range []int{404, want, want, 404} {
				b, status, err := get(p, "/b/missing")
				if err != nil || status != wantStatus {
					t.Fatalf("request %d: %d, %v; want %d", i, status, err, wantStatus)
				}
				if status == want && !strings.Contains(string(b), tc.want) {
					t.Errorf("body %q lacks %q", b, tc.want)
				}
			}
			if p.Injected() != 2 {
				t.Errorf("injected %d", p.Injected())
			}
		})
	}
}

func TestStall(t *testing.T) {
	u := newUpstream(t)
	p := newProxy(t, u, S3)
	p.SetRules(&Rule{Name: "stall", Times: 1, Fault: Fault{Kind: Stall}})
	c := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	if _, err := c.Get(p.URL + "/b/k"); err == nil {
		t.Fatal("a stalled request was answered")
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("answered after %s", time.Since(start))
	}
}

func TestSlowAndTrigger(t *testing.T) {
	u := newUpstream(t)
	p := newProxy(t, u, S3)
	var at []byte
	fired := 0
	p.SetRules(&Rule{Name: "slow", Times: 1, Fault: Fault{Kind: Pass, Rate: 4 << 20, After: 512 << 10, Do: func() {
		fired++
		at, _ = u.object("/b/k")
	}}})
	start := time.Now()
	if _, err := put(p, "/b/k", payload); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("1 MiB at 4 MiB/s took %s", d)
	}
	if fired != 1 || at != nil {
		t.Errorf("callback ran %d times; object stored before it: %v", fired, at != nil)
	}
	if b, _ := u.object("/b/k"); !bytes.Equal(b, payload) {
		t.Errorf("stored %d bytes", len(b))
	}
}
