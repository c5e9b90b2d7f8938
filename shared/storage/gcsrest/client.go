// Package gcsrest is a gocloud.dev/blob driver for Google Cloud Storage that
// speaks the JSON API with net/http and golang.org/x/oauth2/google.
//
// It exists to keep the binary small and quick to start: the official
// client (cloud.google.com/go/storage) and even Google's generated REST
// client (google.golang.org/api/storage/v1, through google.golang.org/api/
// option and transport/http) link gRPC, OpenTelemetry and their
// dependencies, which roughly doubled the size and start-up memory of a
// tool that runs once per WAL segment as PostgreSQL's archive_command.
//
// Only what Barman's tools need is here: streamed single-request uploads,
// ranged reads, attributes, paged listings, deletes, copies and a bucket
// existence check. Object names are sent as they are, never escaped or
// rewritten, so an object has exactly the key Barman's Python client would
// give it.
package gcsrest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/googleapi"
)

const (
	// ScopeReadWrite is the OAuth2 scope requested from Application Default
	// Credentials: read, write and delete objects, read bucket metadata.
	ScopeReadWrite = "https://www.googleapis.com/auth/devstorage.read_write"
	// DefaultEndpoint is where the JSON API lives.
	DefaultEndpoint = "https://storage.googleapis.com"

	userAgent = "barman-cloud-go gcsrest"
	// maxErrorBody bounds what is kept of an error response's body: a
	// proxy may answer with a whole HTML page.
	maxErrorBody = 64 << 10
	// responseHeaderTimeout is how long a request may wait for the
	// response once its body is sent; Google's Python client gives a
	// request 60 s too.
	responseHeaderTimeout = 60 * time.Second
)

// Client sends JSON API requests to one endpoint.
type Client struct {
	hc       *http.Client
	tr       *http.Transport // nil when the caller gave the client
	endpoint string          // scheme://host[/path], no trailing slash
	// header is added to every request (the quota project).
	header http.Header
	// retryDelays are the waits before each retry of an idempotent
	// request; its length is the number of retries.
	retryDelays []time.Duration
}

// NewClient returns a client for Google Cloud Storage. With emulatorHost
// (STORAGE_EMULATOR_HOST: host:port, or a URL with an http or https
// scheme) it talks to that endpoint without authentication, as Google's
// client libraries do. Otherwise it finds Application Default Credentials:
// GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file, then the metadata
// server. Tokens are fetched when the first request needs one.
func NewClient(ctx context.Context, emulatorHost string) (*Client, error) {
	tr := newTransport()
	if emulatorHost != "" {
		endpoint, err := EmulatorEndpoint(emulatorHost)
		if err != nil {
			return nil, err
		}
		c := newClient(&http.Client{Transport: tr}, endpoint, nil)
		c.tr = tr
		return c, nil
	}
	c, err := newADCClient(ctx, tr, DefaultEndpoint)
	if err != nil {
		return nil, err
	}
	c.tr = tr
	return c, nil
}

// newADCClient authenticates with Application Default Credentials.
func newADCClient(ctx context.Context, tr *http.Transport, endpoint string) (*Client, error) {
	creds, err := google.FindDefaultCredentials(ctx, ScopeReadWrite)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &oauth2.Transport{Source: creds.TokenSource, Base: tr}}
	var header http.Header
	if q := quotaProject(creds.JSON); q != "" {
		header = http.Header{"X-Goog-User-Project": {q}}
	}
	return newClient(hc, endpoint, header), nil
}

// NewClientWithHTTP returns a client that sends its requests with hc, which
// must add any authentication itself, to endpoint (as for emulatorHost in
// NewClient; "" means DefaultEndpoint).
func NewClientWithHTTP(hc *http.Client, endpoint string) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	e, err := parseEndpoint("endpoint", endpoint)
	if err != nil {
		return nil, err
	}
	return newClient(hc, e, nil), nil
}

func newClient(hc *http.Client, endpoint string, header http.Header) *Client {
	return &Client{
		hc:          hc,
		endpoint:    endpoint,
		header:      header,
		retryDelays: []time.Duration{500 * time.Millisecond, 2 * time.Second},
	}
}

func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = responseHeaderTimeout
	return tr
}

// quotaProject is the quota_project_id of a credentials file, sent as
// X-Goog-User-Project the way Google's libraries do.
func quotaProject(credsJSON []byte) string {
	if len(credsJSON) == 0 {
		return ""
	}
	var f struct {
		QuotaProjectID string `json:"quota_project_id"`
	}
	if json.Unmarshal(credsJSON, &f) != nil {
		return ""
	}
	return f.QuotaProjectID
}

// EmulatorEndpoint turns a STORAGE_EMULATOR_HOST value into the endpoint
// the API paths are appended to: "host:port" means http://host:port, as in
// Google's Go and Python clients; "http://host:port" and
// "https://host:port" are taken as they are.
func EmulatorEndpoint(host string) (string, error) {
	return parseEndpoint("STORAGE_EMULATOR_HOST", host)
}

func parseEndpoint(what, host string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%s %q is not host:port or an http(s)://host:port URL: %s", what, host, why)
	}
	raw := strings.TrimSpace(host)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", bad(err.Error())
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("the scheme must be http or https")
	case u.Host == "" || u.Hostname() == "":
		return "", bad("no host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", bad("only a scheme, a host and a port are allowed")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// Endpoint is the base URL requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// Close releases idle connections.
func (c *Client) Close() error {
	if c.tr != nil {
		c.tr.CloseIdleConnections()
	} else {
		c.hc.CloseIdleConnections()
	}
	return nil
}

// BucketExists asks for the bucket's metadata: 404 means it does not exist.
// It needs the storage.buckets.get permission, as Barman's check does.
func (c *Client) BucketExists(ctx context.Context, bucket string) (bool, error) {
	res, err := c.do(ctx, http.MethodGet, c.bucketURL(bucket), url.Values{"fields": {"name"}}, nil, nil, true)
	if err != nil {
		var gerr *googleapi.Error
		if errors.As(err, &gerr) && gerr.Code == http.StatusNotFound {
			return false, nil
		}
		return false, err
	}
	drain(res)
	return true, nil
}

func (c *Client) bucketURL(bucket string) string {
	return c.endpoint + "/storage/v1/b/" + escapePathSegment(bucket)
}

func (c *Client) objectURL(bucket, object string) string {
	return c.bucketURL(bucket) + "/o/" + escapePathSegment(object)
}

func (c *Client) uploadURL(bucket string) string {
	return c.endpoint + "/upload/storage/v1/b/" + escapePathSegment(bucket) + "/o"
}

// escapePathSegment percent-encodes everything but RFC 3986's unreserved
// characters, so that any object name ("/", "?", "%", "..", spaces, control
// characters) reaches the server as one path segment, unchanged.
func escapePathSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// do sends one request and returns the response when its status is 2xx;
// any other status becomes a *googleapi.Error. An idempotent request
// without a body is retried on 429 and 5xx answers.
func (c *Client) do(ctx context.Context, method, rawURL string, query url.Values, header http.Header, body io.Reader, idempotent bool) (*http.Response, error) {
	if len(query) > 0 {
		rawURL += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
		if err != nil {
			return nil, err
		}
		for k, v := range c.header {
			req.Header[k] = v
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", userAgent)
		res, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 && res.StatusCode <= 299 {
			return res, nil
		}
		err = responseError(res)
		if !idempotent || body != nil || attempt >= len(c.retryDelays) || !retryable(res.StatusCode) {
			return nil, err
		}
		t := time.NewTimer(c.retryDelays[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// responseError reads and closes a failed response's body and returns the
// *googleapi.Error it describes.
func responseError(res *http.Response) error {
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	if err := googleapi.CheckResponseWithBody(res, body); err != nil {
		return err
	}
	return &googleapi.Error{Code: res.StatusCode, Header: res.Header}
}

// drain reads what is left of a response's body (so its connection can be
// reused) and closes it.
func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
}
