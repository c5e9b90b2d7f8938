// Package faultproxy is an HTTP proxy for tests that stands between a
// tool and a real storage server (MinIO, Azurite, fake-gcs-server) and
// breaks some of the requests on purpose: connection resets before the
// request reaches the server, after the server acted on it, or in the
// middle of a request or answer body; bursts of error answers shaped as
// each provider sends them (S3 SlowDown, Azure ServerBusy, GCS
// backendError); stalls (a request read and never answered); slow
// transfers; and a callback in the middle of an upload (to kill the
// server, or signal the tool, at a chosen byte).
//
// It listens on 127.0.0.1 only and forwards requests as they are, Host
// header included, so that signatures (S3's SigV4 signs the host) stay
// valid: the tool is simply pointed at the proxy's address. Which requests
// are broken, how, and how many times is set per test with Rules; the
// proxy counts what it injected.
//
// Like many load balancers, it answers "Expect: 100-continue" itself
// (Go's server does when the body is first read) and does not pass the
// header on: a server that refuses a request on its headers alone (a 412
// to a conditional create) answers while the client is still sending the
// body, and may close the connection under it. The tools must cope with
// that too.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Flavor is the provider whose error answers the proxy imitates.
type Flavor int

const (
	S3 Flavor = iota
	Azure
	GCS
)

func (f Flavor) String() string {
	return [...]string{"s3", "azure", "gcs"}[f]
}

// Kind is what a fault does to a request.
type Kind int

const (
	// Pass forwards the request; with Fault.Rate it is throttled, with
	// Fault.Do a callback runs in the middle of its body.
	Pass Kind = iota
	// ResetBeforeForward reads the request and resets the client's
	// connection: the server never sees the request.
	ResetBeforeForward
	// ResetAfterForward forwards the request and waits for the server's
	// whole answer (the server has acted: an object may be committed),
	// then resets the client's connection instead of relaying it.
	ResetAfterForward
	// ResetMidBody forwards the request body up to Fault.After bytes, then
	// breaks off both connections: the server gets a truncated body, the
	// client a reset. A request whose body is shorter passes untouched.
	ResetMidBody
	// CutResponse forwards the request, relays Fault.After bytes of the
	// answer's body, then resets the client's connection. An answer whose
	// body is shorter passes untouched.
	CutResponse
	// Unavailable answers Fault.Status (503 unless set) with the
	// provider's error body, without forwarding the request.
	Unavailable
	// Stall reads the request and never answers; the connection is held
	// until the client gives up (or the proxy is closed).
	Stall
)

func (k Kind) String() string {
	return [...]string{"pass", "reset before forwarding", "reset after forwarding", "reset in the request body",
		"cut in the answer body", "error answer", "stall"}[k]
}

// Fault is what happens to a matching request.
type Fault struct {
	Kind Kind
	// After is a number of body bytes: where ResetMidBody and CutResponse
	// break off, and where Do is called.
	After int64
	// Status is Unavailable's HTTP status: 503 (the default), 500 or 429.
	Status int
	// Rate, when positive, throttles the forwarded request and answer
	// bodies to Rate bytes per second.
	Rate int64
	// Do, with Pass, is called once After bytes of the request body have
	// been forwarded, before any more is: the request is in flight, the
	// server has part of the body. A request whose body is not longer
	// than After passes untouched.
	Do func()
}

// Rule applies a Fault to some requests.
type Rule struct {
	// Name labels the rule in the log and in Counts.
	Name string
	// Match selects the requests; nil matches every request.
	Match func(*http.Request) bool
	// Skip is the number of matching requests let through before the
	// first injection.
	Skip int
	// Times is the number of injections; 0 means every matching request
	// after Skip.
	Times int
	Fault Fault

	seen, injected int // under Proxy.mu
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is http://127.0.0.1:PORT; Addr is 127.0.0.1:PORT.
	URL, Addr string
	// Logf, when set, receives one line per injected fault.
	Logf func(format string, args ...any)

	upstream string // scheme://host:port
	flavor   Flavor
	srv      *http.Server
	tr       *http.Transport
	done     chan struct{}

	mu       sync.Mutex
	rules    []*Rule
	requests int
	counts   map[string]int
	total    int
}

// New starts a proxy on 127.0.0.1 that forwards to upstream
// (http://HOST:PORT) and answers errors the flavor's way.
func New(upstream string, flavor Flavor) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		Addr:     l.Addr().String(),
		URL:      "http://" + l.Addr().String(),
		upstream: strings.TrimRight(upstream, "/"),
		flavor:   flavor,
		done:     make(chan struct{}),
		counts:   map[string]int{},
		tr: &http.Transport{
			// The server's own connections: no proxy from the environment,
			// no compression negotiated behind the client's back.
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			DisableCompression:  true,
			MaxIdleConnsPerHost: 16,
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(l)
	return p, nil
}

// Close stops the proxy, ends stalled requests and closes every
// connection.
func (p *Proxy) Close() error {
	close(p.done)
	err := p.srv.Close()
	p.tr.CloseIdleConnections()
	return err
}

// SetRules replaces the rules; the first rule that matches a request and
// still has injections to make decides its fate.
func (p *Proxy) SetRules(rules ...*Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
}

// Injected is the number of faults injected since the proxy started.
func (p *Proxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// Counts is the number of faults injected per rule name.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Requests is the number of requests the proxy received.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// pick finds the rule for r and reserves an injection; release undoes the
// reservation of a fault that did not happen (a body too short).
func (p *Proxy) pick(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	for _, rule := range p.rules {
		if rule.Match != nil && !rule.Match(r) {
			continue
		}
		rule.seen++
		if rule.seen <= rule.Skip || (rule.Times > 0 && rule.injected >= rule.Times) {
			continue
		}
		rule.injected++
		return rule
	}
	return nil
}

func (p *Proxy) release(rule *Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rule.injected--
}

// injected counts a fault that happened.
func (p *Proxy) injected(rule *Rule, r *http.Request, what string) {
	p.mu.Lock()
	p.counts[rule.Name]++
	p.total++
	p.mu.Unlock()
	if p.Logf != nil {
		p.Logf("faultproxy: %s: %s %s: %s", rule.Name, r.Method, r.URL.RequestURI(), what)
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rule := p.pick(r)
	if rule == nil {
		p.forward(w, r, Fault{}, nil)
		return
	}
	f := rule.Fault
	switch f.Kind {
	case ResetBeforeForward:
		io.Copy(io.Discard, r.Body)
		p.injected(rule, r, f.Kind.String())
		resetClient(w)
	case Unavailable:
		// The whole body is read first, so the client sees the answer,
		// not a reset caused by unread data.
		io.Copy(io.Discard, r.Body)
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		p.injected(rule, r, fmt.Sprintf("%s %d", f.Kind, status))
		p.errorAnswer(w, r, status)
	case Stall:
		io.Copy(io.Discard, r.Body)
		p.injected(rule, r, f.Kind.String())
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
	default:
		p.forward(w, r, f, rule)
	}
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1), nor is Expect: the
// proxy has already said "continue" by reading the body.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

// forward sends r upstream and relays the answer, applying f (rule is nil
// for a request no rule picked).
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, f Fault, rule *Rule) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var body io.Reader = r.Body
	var (
		cut     *cutReader
		trigger *triggerReader
	)
	if rule != nil {
		switch {
		case f.Kind == ResetMidBody:
			cut = &cutReader{r: r.Body, left: f.After}
			body = cut
		case f.Do != nil:
			trigger = &triggerReader{r: r.Body, left: f.After, do: func() {
				p.injected(rule, r, fmt.Sprintf("callback after %d bytes of the body", f.After))
				f.Do()
			}}
			body = trigger
		}
		if f.Rate > 0 {
			body = &throttled{r: body, rate: f.Rate}
		}
	}
	if r.ContentLength == 0 {
		body = nil
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, p.upstream+r.URL.RequestURI(), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Host = r.Host
	out.ContentLength = r.ContentLength
	res, err := p.tr.RoundTrip(out)
	if cut != nil && cut.fired {
		p.injected(rule, r, fmt.Sprintf("%s after %d bytes", f.Kind, f.After))
		if res != nil {
			res.Body.Close()
		}
		resetClient(w)
		return
	}
	if (cut != nil && !cut.fired) || (trigger != nil && !trigger.done) {
		p.release(rule) // the body was shorter than After
	}
	if err != nil {
		// The server is gone (killed, or it broke the connection): the
		// client sees what it would see without the proxy.
		resetClient(w)
		return
	}
	defer res.Body.Close()
	if rule != nil && f.Kind == ResetAfterForward {
		io.Copy(io.Discard, res.Body)
		p.injected(rule, r, fmt.Sprintf("%s (the server answered %d)", f.Kind, res.StatusCode))
		resetClient(w)
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	var src io.Reader = res.Body
	if rule != nil && f.Kind == CutResponse {
		n, err := io.CopyN(w, res.Body, f.After)
		if n == f.After && err == nil {
			// Only cut when more was to come.
			if extra, _ := res.Body.Read(make([]byte, 1)); extra > 0 {
				http.NewResponseController(w).Flush()
				p.injected(rule, r, fmt.Sprintf("%s after %d bytes", f.Kind, f.After))
				resetClient(w)
				return
			}
		}
		p.release(rule)
		return
	}
	if rule != nil && f.Rate > 0 {
		if f.Do == nil {
			p.injected(rule, r, fmt.Sprintf("throttled to %d bytes/s", f.Rate))
		}
		src = &throttled{r: src, rate: f.Rate}
		flushCopy(w, src)
		return
	}
	io.Copy(w, src)
}

// flushCopy relays an answer chunk by chunk, so that a slow answer
// reaches the client slowly rather than all at once at the end.
func flushCopy(w http.ResponseWriter, r io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// resetClient drops the client's connection with a TCP reset (SO_LINGER
// 0), as a crashed server or a middlebox does.
func resetClient(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("faultproxy: cannot take over the connection: %v", err))
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// errBodyCut is how a cutReader ends the body it forwards.
var errBodyCut = errors.New("faultproxy: request body cut")

// cutReader passes left bytes, then fails.
type cutReader struct {
	r     io.Reader
	left  int64
	fired bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.fired = true
		return 0, errBodyCut
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	return n, err
}

// triggerReader calls do once left bytes have passed, before passing on
// any more (a body of exactly left bytes does not call it).
type triggerReader struct {
	r    io.Reader
	left int64
	do   func()
	done bool
}

func (t *triggerReader) Read(p []byte) (int, error) {
	if !t.done && t.left <= 0 {
		t.done = true
		t.do()
	}
	if !t.done {
		p = p[:min(int64(len(p)), t.left)]
	}
	n, err := t.r.Read(p)
	t.left -= int64(n)
	return n, err
}

// throttled reads at most rate bytes per second.
type throttled struct {
	r     io.Reader
	rate  int64
	start time.Time
	n     int64
}

func (t *throttled) Read(p []byte) (int, error) {
	if t.start.IsZero() {
		t.start = time.Now()
	}
	chunk := max(t.rate/20, 1) // about 20 reads a second
	n, err := t.r.Read(p[:min(int64(len(p)), chunk)])
	t.n += int64(n)
	if due := t.start.Add(time.Duration(float64(t.n) / float64(t.rate) * float64(time.Second))); time.Until(due) > 0 {
		time.Sleep(time.Until(due))
	}
	return n, err
}

// errorAnswer writes the provider's answer for status.
func (p *Proxy) errorAnswer(w http.ResponseWriter, r *http.Request, status int) {
	id := "faultproxy-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var ctype, body string
	switch p.flavor {
	case S3:
		code, msg := "SlowDown", "Please reduce your request rate."
		switch status {
		case http.StatusInternalServerError:
			code, msg = "InternalError", "We encountered an internal error. Please try again."
		case http.StatusTooManyRequests:
			code, msg = "TooManyRequests", "Too many requests."
		}
		w.Header().Set("x-amz-request-id", id)
		ctype = "application/xml"
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>%s</RequestId></Error>`,
			code, msg, r.URL.Path, id)
	case Azure:
		code, msg := "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
		if status == http.StatusInternalServerError {
			code, msg = "InternalError", "The server encountered an internal error. Please retry the request."
		}
		w.Header().Set("x-ms-error-code", code)
		w.Header().Set("x-ms-request-id", id)
		w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
		ctype = "application/xml"
		body = fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s`+"\n"+`RequestId:%s</Message></Error>`,
			code, msg, id)
	case GCS:
		reason, msg := "backendError", "Backend Error"
		switch status {
		case http.StatusTooManyRequests:
			reason, msg = "rateLimitExceeded", "The rate of change requests to the object is too high."
		case http.StatusInternalServerError:
			reason, msg = "internalError", "Internal Error"
		}
		ctype = "application/json; charset=UTF-8"
		body = fmt.Sprintf(`{"error":{"code":%d,"message":%q,"errors":[{"message":%q,"domain":"global","reason":%q}]}}`,
			status, msg, msg, reason)
	}
	if r.Method == http.MethodHead {
		body = ""
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}
