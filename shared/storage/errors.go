package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	"gocloud.dev/gcerrors"

	"github.com/barmancloud/barman-cloud/shared/exitcode"
)

// BucketMissingError reports a bucket, container or directory that does
// not exist. It is never created: a typo in a URL must not silently start
// a new archive somewhere else.
type BucketMissingError struct {
	Bucket    string
	Directory bool // a file store's directory
}

func (e *BucketMissingError) Error() string {
	if e.Directory {
		return fmt.Sprintf("Directory %s does not exist", e.Bucket)
	}
	return fmt.Sprintf("Bucket %s does not exist", e.Bucket)
}

// IsNetwork reports whether err means the storage could not be reached:
// connection refused or reset, DNS failure, TLS failure, timeout. Provider
// SDKs wrap these; errors.As finds them through the wrapping.
func IsNetwork(err error) bool {
	if err == nil {
		return false
	}
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
		urlErr  *url.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &opErr), errors.As(err, &dnsErr), errors.As(err, &certErr),
		errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &recErr):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ETIMEDOUT):
		return true
	case errors.As(err, &urlErr) && (errors.Is(urlErr.Err, io.EOF) || errors.Is(urlErr.Err, io.ErrUnexpectedEOF)):
		// The server closed the connection before answering.
		return true
	}
	return false
}

// codedError is a provider error classified by this package, for the
// calls that bypass gocloud (which classifies its own as gcerrors codes).
type codedError struct {
	code gcerrors.ErrorCode
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// errorCode is gcerrors.Code for gocloud's errors and ours.
func errorCode(err error) gcerrors.ErrorCode {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return gcerrors.Code(err)
}

// IsNotFound reports whether err means the object (or bucket) is not there.
func IsNotFound(err error) bool {
	var bm *BucketMissingError
	if errors.As(err, &bm) {
		return true
	}
	return err != nil && !IsNetwork(err) && errorCode(err) == gcerrors.NotFound
}

// classify gives err its exit status: unreachable storage 2, a missing
// bucket 1, anything else 4. bucketOp is true for operations where "not
// found" can only mean the bucket (uploads and listings).
func (s *Store) classify(err error, bucketOp bool) error {
	var bm *BucketMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(*exitcode.Error)):
		return err
	case IsNetwork(err):
		return exitcode.Wrap(exitcode.Network, fmt.Errorf("can't connect to cloud provider: %w", err))
	case errors.As(err, &bm):
		return exitcode.Wrap(exitcode.Failure, err)
	case bucketOp && errorCode(err) == gcerrors.NotFound:
		return exitcode.Wrap(exitcode.Failure, fmt.Errorf("%w: %v", s.missing(), err))
	}
	return exitcode.Wrap(exitcode.General, err)
}

func (s *Store) missing() *BucketMissingError {
	return &BucketMissingError{Bucket: s.Loc.Bucket, Directory: s.Loc.Provider == File}
}
