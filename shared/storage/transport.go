package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// DefaultReadTimeout is how long a connection may go without sending or
// receiving a byte before its request fails: botocore's default read
// timeout, which Barman's --read-timeout overrides.
const DefaultReadTimeout = 60 * time.Second

// newHTTPClient is the HTTP client of every provider. Its one timeout is
// an inactivity window per connection (see stallConn): a transfer that
// keeps moving is never cut short, however long it takes, and one that
// stops moving in either direction fails after readTimeout, to be retried.
// A deadline on the whole request (http.Client.Timeout) would do the
// opposite: cut a healthy upload of a large segment on a slow link.
func newHTTPClient(readTimeout time.Duration) *http.Client {
	return &http.Client{Transport: newTransport(readTimeout)}
}

func newTransport(readTimeout time.Duration) *http.Transport {
	if readTimeout <= 0 {
		readTimeout = DefaultReadTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: readTimeout, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newStallConn(c, readTimeout), nil
	}
	// An idle pooled connection is closed before its inactivity window
	// could fail the next request sent on it.
	tr.IdleConnTimeout = min(tr.IdleConnTimeout, readTimeout/2)
	return tr
}

// stallConn fails a connection on which nothing moves for timeout: no
// byte read and no byte written. Every read or write that makes progress
// pushes both deadlines forward. Pushing the read deadline on writes
// matters: net/http's transport reads a connection for the response while
// it is still sending the request body, and a plain per-read timeout (as
// the AWS SDK's own) would fail an upload that takes longer than the
// timeout to send.
type stallConn struct {
	net.Conn
	timeout time.Duration
}

func newStallConn(c net.Conn, timeout time.Duration) *stallConn {
	s := &stallConn{Conn: c, timeout: timeout}
	s.extend()
	return s
}

func (c *stallConn) extend() {
	d := time.Now().Add(c.timeout)
	c.Conn.SetReadDeadline(d)
	c.Conn.SetWriteDeadline(d)
}

func (c *stallConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.extend()
	}
	return n, c.stalled(err)
}

func (c *stallConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.extend()
	}
	return n, c.stalled(err)
}

func (c *stallConn) stalled(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &StallError{After: c.timeout, err: err}
	}
	return err
}

// StallError reports a connection on which nothing was sent or received
// for Timeout (--read-timeout).
type StallError struct {
	After time.Duration
	err   error
}

func (e *StallError) Error() string {
	return fmt.Sprintf("no data sent or received for %s (--read-timeout)", e.After)
}

func (e *StallError) Unwrap() error { return e.err }

// Timeout makes it a net.Error timeout.
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return true }
