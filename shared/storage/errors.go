package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"

	"github.com/barmancloud/barman-cloud/shared/compress"
)

// IsNetwork reports whether err means the storage could not be reached:
// connection refused or reset, DNS failure, TLS failure, timeout, and no
// HTTP answer came back. Provider SDKs wrap these; errors.As finds them
// through the wrapping.
func IsNetwork(err error) bool {
	if err == nil {
		return false
	}
	if status, _ := httpStatus(err); status >= 400 {
		// The storage answered with an error; a connection closed while
		// its body was read does not make it unreachable.
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
	if c := gcerrors.Code(err); c != gcerrors.Unknown {
		return c
	}
	// An SDK's error that reached us without gocloud: its answer says.
	switch status, code := httpStatus(err); {
	case code == "NoSuchKey", code == "NoSuchBucket", code == "NotFound", code == "BlobNotFound", code == "ContainerNotFound",
		status == http.StatusNotFound && code == "":
		return gcerrors.NotFound
	}
	return gcerrors.Unknown
}

// IsNotFound reports whether err means the object (or bucket) is not there.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrBucketMissing) {
		return true
	}
	return err != nil && !IsNetwork(err) && errorCode(err) == gcerrors.NotFound
}

// MissingBucketError is the error that says s's bucket (container,
// directory) does not exist.
func (s *Store) MissingBucketError() *BucketMissingError {
	return &BucketMissingError{Bucket: s.Loc.Bucket, Directory: s.Loc.Provider == File}
}

// Transient reports whether err is worth another attempt, with a short
// reason for the log that quotes no part of the error's own text (SDK
// errors may quote a request URL, and a SAS token rides in the query).
//
// Transient are: throttling (HTTP 429, S3 SlowDown, Azure ServerBusy),
// server errors (5xx), S3's and Azure's request timeouts, and connections
// refused, reset, cut short or gone silent (--read-timeout). Anything else
// is final: other 4xx answers (bad request, credentials, permissions, not
// found, conflicts, failed preconditions), ErrExists, corrupt data,
// checksum mismatches, local file errors, TLS and DNS name errors, and a
// cancelled or expired context.
func Transient(err error) (string, bool) {
	var ce *compress.CorruptError
	switch {
	case err == nil, errors.Is(err, ErrExists), errors.As(err, &ce),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "", false
	}
	// An error answer is judged by its status. A successful one whose
	// body could not be read (cut short) is judged as the connection.
	if status, code := httpStatus(err); status >= 400 || transientCodes[code] {
		switch {
		case status == http.StatusTooManyRequests, status >= 500 && status <= 599,
			status == http.StatusRequestTimeout, transientCodes[code]:
			reason := "HTTP " + strconv.Itoa(status)
			if code != "" {
				reason += " " + code
			}
			return reason, true
		}
		return "", false
	}
	var (
		stall   *StallError
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
		netErr  net.Error
		urlErr  *url.Error
	)
	switch {
	case errors.As(err, &stall):
		return stall.Error(), true
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &recErr):
		return "", false
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout || dnsErr.IsTemporary {
			return "temporary DNS failure", true
		}
		return "", false
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer", true
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe", true
	case errors.Is(err, syscall.ECONNABORTED):
		return "connection aborted", true
	case errors.Is(err, syscall.ETIMEDOUT):
		return "connection timed out", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable", true
	case errors.Is(err, io.ErrUnexpectedEOF):
		// A response body shorter than its Content-Length: the
		// connection was cut. (Decoders' own truncation errors are
		// CorruptErrors, handled above.)
		return "connection closed in the middle of a transfer", true
	case errors.As(err, &urlErr) && errors.Is(urlErr.Err, io.EOF):
		return "the server closed the connection", true
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout", true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return "network error", true
	}
	return "", false
}

// transientCodes are the providers' error codes for throttling and
// timeouts that may come with a status other than 429 or 5xx (S3 sends
// RequestTimeout with 400, and an InternalError inside a 200 answer to
// CompleteMultipartUpload). ConditionalRequestConflict is S3's 409 for
// two conditional writes racing on one key: unlike a conflict of content,
// trying again settles it (the next attempt meets the winner's object).
var transientCodes = map[string]bool{
	"SlowDown": true, "RequestTimeout": true, "Throttling": true, "ThrottlingException": true,
	"RequestLimitExceeded": true, "ServerBusy": true, "OperationTimedOut": true,
	"InternalError": true, "rateLimitExceeded": true, "userRateLimitExceeded": true,
	"ConditionalRequestConflict": true,
}

// httpStatus is the HTTP status and the provider's error code of an
// error answer, or 0 when err is not one.
func httpStatus(err error) (int, string) {
	var (
		az  *azcore.ResponseError
		g   *googleapi.Error
		api smithy.APIError
		st  interface{ HTTPStatusCode() int }
	)
	switch {
	case errors.As(err, &az):
		return az.StatusCode, az.ErrorCode
	case errors.As(err, &g):
		code := ""
		if len(g.Errors) > 0 {
			code = g.Errors[0].Reason
		}
		return g.Code, code
	case errors.As(err, &st):
		code := ""
		if errors.As(err, &api) {
			code = api.ErrorCode()
		}
		return st.HTTPStatusCode(), code
	}
	return 0, ""
}

// isUnavailable reports an error answer that Transient retries: the
// storage answered, but only to say it cannot serve now.
func isUnavailable(err error) bool {
	status, _ := httpStatus(err)
	if status == 0 {
		return false
	}
	_, ok := Transient(err)
	return ok
}
