// Package gcsrest is a gocloud.dev/blob driver for Google Cloud Storage
// built on Google's generated JSON API client, google.golang.org/api/
// storage/v1.
//
// It exists to keep the binary small and quick to start: the official
// client (cloud.google.com/go/storage, behind gocloud's gcsblob) added
// about 20 MB to the binary and 14 MB to its start-up memory, for a tool
// that runs once per WAL segment as PostgreSQL's archive_command; the
// generated client costs about a tenth of that here.
//
// Only what Barman's tools need is here: streamed single-request uploads,
// resumable uploads in chunks (resumable.go), ranged reads, attributes,
// paged listings, deletes one by one or in batches (batch.go), copies and
// a bucket existence check. Object names are sent as they are, never rewritten, so
// an object has exactly the key Barman's Python client would give it.
package gcsrest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gax "github.com/googleapis/gax-go/v2"
	"gocloud.dev/gcerrors"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
	"google.golang.org/api/storage/v1"
	htransport "google.golang.org/api/transport/http"
)

const (
	// ScopeReadWrite is the OAuth2 scope requested from Application Default
	// Credentials: read, write and delete objects, read bucket metadata.
	ScopeReadWrite = storage.DevstorageReadWriteScope
	// DefaultEndpoint is where the JSON API lives.
	DefaultEndpoint = "https://storage.googleapis.com"

	userAgent = "barman-cloud-go gcsrest"
	// responseHeaderTimeout is how long a request may wait for the
	// response once its body is sent; Google's Python client gives a
	// request 60 s too.
	responseHeaderTimeout = 60 * time.Second
	// defaultRetries is how many times a read, a listing or a bucket
	// check is sent again after a 429 or 5xx answer, unless WithRetries
	// says otherwise.
	defaultRetries = 2
)

// Client is a JSON API service for one endpoint.
type Client struct {
	svc      *storage.Service
	tr       *http.Transport // nil when the caller gave the HTTP client
	hc       *http.Client
	endpoint string // scheme://host[:port], no trailing slash
	// backoff spaces the retries of idempotent requests, at most retries
	// of them.
	backoff gax.Backoff
	retries int
	// emulator: the endpoint is STORAGE_EMULATOR_HOST's (see Upload).
	emulator bool
}

// Option configures NewClient.
type Option func(*config)

type config struct {
	tr      *http.Transport
	retries int
}

// WithTransport makes the client send its requests through tr, instead of
// a transport that waits at most a minute for a response's headers.
func WithTransport(tr *http.Transport) Option {
	return func(c *config) { c.tr = tr }
}

// WithRetries sets how many times a read, a listing or a bucket check is
// sent again after a 429 or 5xx answer (2 by default); 0 turns the
// client's own retries off, for a caller that retries whole operations.
func WithRetries(n int) Option {
	return func(c *config) { c.retries = max(n, 0) }
}

// NewClient returns a client for Google Cloud Storage. With emulatorHost
// (STORAGE_EMULATOR_HOST: host:port, or a URL with an http or https
// scheme) it talks to that endpoint without authentication, as Google's
// client libraries do. Otherwise it finds Application Default Credentials:
// GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file, then the metadata
// server. Tokens are fetched when the first request needs one.
func NewClient(ctx context.Context, emulatorHost string, opts ...Option) (*Client, error) {
	cfg := config{retries: defaultRetries}
	for _, o := range opts {
		o(&cfg)
	}
	tr := cfg.tr
	if tr == nil {
		tr = newTransport()
	}
	var (
		c   *Client
		err error
	)
	if emulatorHost != "" {
		endpoint, eerr := EmulatorEndpoint(emulatorHost)
		if eerr != nil {
			return nil, eerr
		}
		c, err = newClient(ctx, &http.Client{Transport: tr}, tr, endpoint)
		if c != nil {
			c.emulator = true
		}
	} else {
		c, err = newADCClient(ctx, tr, DefaultEndpoint)
	}
	if err != nil {
		return nil, err
	}
	c.retries = cfg.retries
	return c, nil
}

// newADCClient authenticates with Application Default Credentials, found
// by golang.org/x/oauth2/google; the transport package adds the token and
// the credentials' quota project (X-Goog-User-Project) to each request.
func newADCClient(ctx context.Context, tr *http.Transport, endpoint string) (*Client, error) {
	creds, err := google.FindDefaultCredentials(ctx, ScopeReadWrite)
	if err != nil {
		return nil, err
	}
	rt, err := htransport.NewTransport(ctx, tr, option.WithCredentials(creds), option.WithTelemetryDisabled())
	if err != nil {
		return nil, fmt.Errorf("gcsrest: %w", err)
	}
	return newClient(ctx, &http.Client{Transport: rt}, tr, endpoint)
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
	return newClient(context.Background(), hc, nil, e)
}

func newClient(ctx context.Context, hc *http.Client, tr *http.Transport, endpoint string) (*Client, error) {
	guarded := *hc
	guarded.Transport = &guardTransport{base: hc.Transport}
	svc, err := storage.NewService(ctx, option.WithHTTPClient(&guarded), option.WithEndpoint(endpoint+"/storage/v1/"))
	if err != nil {
		return nil, fmt.Errorf("gcsrest: %w", err)
	}
	svc.UserAgent = userAgent
	return &Client{
		svc:      svc,
		tr:       tr,
		hc:       hc,
		endpoint: endpoint,
		backoff:  gax.Backoff{Initial: 500 * time.Millisecond, Max: 2 * time.Second, Multiplier: 4},
		retries:  defaultRetries,
	}, nil
}

func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = responseHeaderTimeout
	return tr
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
	case strings.Trim(u.Path, "/") != "":
		// The generated client sends uploads to /upload/storage/v1 at
		// the root of the host, whatever path the JSON API has.
		return "", bad("a path is not supported")
	}
	return u.Scheme + "://" + u.Host, nil
}

// Endpoint is the scheme://host[:port] requests go to.
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
	err := c.retry(ctx, func(ctx context.Context) error {
		_, err := c.svc.Buckets.Get(bucket).Fields("name").Context(ctx).Do()
		return err
	})
	if err != nil {
		if ErrorCode(err) == gcerrors.NotFound {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// retry runs an idempotent call, again after a 429 or 5xx answer, at most
// c.retries times. The generated client retries only uploads by itself.
func (c *Client) retry(ctx context.Context, call func(context.Context) error) error {
	return gax.Invoke(ctx, func(ctx context.Context, _ gax.CallSettings) error { return call(ctx) },
		gax.WithRetry(func() gax.Retryer {
			return &limitedRetryer{
				Retryer: gax.OnHTTPCodes(c.backoff, http.StatusTooManyRequests, http.StatusInternalServerError,
					http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
				left: c.retries,
			}
		}))
}

// limitedRetryer stops a gax retryer after a number of retries: gax's own
// retry only until the context ends, and the tools run without a deadline.
type limitedRetryer struct {
	gax.Retryer
	left int
}

func (r *limitedRetryer) Retry(err error) (time.Duration, bool) {
	if r.left == 0 {
		return 0, false
	}
	r.left--
	return r.Retryer.Retry(err)
}
