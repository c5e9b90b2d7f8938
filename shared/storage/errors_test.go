package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/api/googleapi"

	"github.com/barmancloud/barman-cloud/shared/compress"
)

// s3Error is an S3 error answer as the AWS SDK returns it.
func s3Error(status int, code string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "m"},
		},
	}}
}

// s3ErrorWrapping is an S3 answer whose body could not be read.
func s3ErrorWrapping(status int, err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      err,
		},
	}}
}

func opError(errno syscall.Errno) error {
	return &url.Error{Op: "Put", URL: "http://127.0.0.1:9000/b/k?X-Amz-Signature=secret", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}}
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		reason string // "" for a permanent error
	}{
		{"S3 SlowDown", s3Error(503, "SlowDown"), "HTTP 503 SlowDown"},
		{"S3 500", s3Error(500, "InternalError"), "HTTP 500 InternalError"},
		{"S3 RequestTimeout (400)", s3Error(400, "RequestTimeout"), "HTTP 400 RequestTimeout"},
		{"S3 InternalError in a 200", s3Error(200, "InternalError"), "HTTP 200 InternalError"},
		{"S3 conditional write race (409)", s3Error(409, "ConditionalRequestConflict"), "HTTP 409 ConditionalRequestConflict"},
		{"S3 429", s3Error(429, ""), "HTTP 429"},
		{"Azure ServerBusy", &azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"}, "HTTP 503 ServerBusy"},
		{"Azure OperationTimedOut", &azcore.ResponseError{StatusCode: 500, ErrorCode: "OperationTimedOut"}, "HTTP 500 OperationTimedOut"},
		{"GCS 503", &googleapi.Error{Code: 503, Errors: []googleapi.ErrorItem{{Reason: "backendError"}}}, "HTTP 503 backendError"},
		{"GCS 429", &googleapi.Error{Code: 429, Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}}, "HTTP 429 rateLimitExceeded"},
		{"wrapped", fmt.Errorf("x: %w", s3Error(503, "SlowDown")), "HTTP 503 SlowDown"},
		{"reset", opError(syscall.ECONNRESET), "connection reset by peer"},
		{"refused", opError(syscall.ECONNREFUSED), "connection refused"},
		{"broken pipe", opError(syscall.EPIPE), "broken pipe"},
		{"closed before answering", &url.Error{Op: "Get", URL: "u", Err: io.EOF}, "the server closed the connection"},
		{"body cut short", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), "connection closed in the middle of a transfer"},
		{"stalled", &url.Error{Op: "Get", URL: "u", Err: &StallError{After: 60e9}}, "no data sent or received for 1m0s (--read-timeout)"},
		{"S3 200 whose body was cut", fmt.Errorf("deserialization failed: %w", s3ErrorWrapping(200, io.ErrUnexpectedEOF)), "connection closed in the middle of a transfer"},
		{"S3 412 whose body could not be read", s3ErrorWrapping(412, &net.OpError{Op: "read", Err: errors.New("use of closed network connection")}), ""},
		{"temporary DNS failure", &net.DNSError{Err: "x", Name: "h", IsTemporary: true}, "temporary DNS failure"},

		{"S3 403", s3Error(403, "AccessDenied"), ""},
		{"S3 404", s3Error(404, "NoSuchKey"), ""},
		{"S3 412", s3Error(412, "PreconditionFailed"), ""},
		{"S3 400", s3Error(400, "InvalidArgument"), ""},
		{"Azure 409 BlobAlreadyExists", &azcore.ResponseError{StatusCode: 409, ErrorCode: "BlobAlreadyExists"}, ""},
		{"Azure 403", &azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthenticationFailed"}, ""},
		{"GCS 401", &googleapi.Error{Code: 401}, ""},
		{"exists", fmt.Errorf("%w: k", ErrExists), ""},
		{"corrupt data", &compress.CorruptError{Alg: "gzip", Err: io.ErrUnexpectedEOF}, ""},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), ""},
		{"out of time", &url.Error{Op: "Put", URL: "u", Err: context.DeadlineExceeded}, ""},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, ""},
		{"bad certificate", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, ""},
		{"disk full", &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, ""},
		{"plain error", errors.New("the WAL file changed while it was being archived"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, ok := Transient(tc.err)
			if ok != (tc.reason != "") || reason != tc.reason {
				t.Errorf("Transient(%v) = %q, %v; want %q", tc.err, reason, ok, tc.reason)
			}
		})
	}
}

// TestClassify: each error gets its kind, and a message an operator acts
// on, without the SDK's request ids or the request's URL.
func TestClassify(t *testing.T) {
	s := &Store{Loc: Location{Bucket: "b", Provider: S3}}
	for _, tc := range []struct {
		err      error
		bucketOp bool
		kind     error // nil: Other
		msg      string
	}{
		{s3Error(503, "SlowDown"), false, ErrUnavailable, "the storage is unavailable: it answered HTTP 503 SlowDown"},
		{&azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"}, false, ErrUnavailable, "the storage is unavailable: it answered HTTP 503 ServerBusy"},
		{&googleapi.Error{Code: 500}, false, ErrUnavailable, "the storage is unavailable: it answered HTTP 500"},
		{opError(syscall.ECONNRESET), false, ErrUnreachable, "cannot reach the storage: connection reset"},
		{opError(syscall.ECONNREFUSED), false, ErrUnreachable, "cannot reach the storage: connection refused"},
		{&url.Error{Op: "Get", URL: "https://h/?sig=secret", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, false, ErrUnreachable,
			"cannot reach the storage: the endpoint does not speak TLS: an http:// endpoint given as https://?"},
		{&url.Error{Op: "Get", URL: "u", Err: &net.DNSError{Err: "no such host", Name: "nohost.invalid", IsNotFound: true}}, false, ErrUnreachable, "cannot reach the storage: cannot resolve the host name nohost.invalid"},
		{s3Error(403, "SignatureDoesNotMatch"), false, ErrDenied, "the storage rejected the credentials (SignatureDoesNotMatch)"},
		{s3Error(403, "AccessDenied"), false, ErrDenied, "the storage denied access (AccessDenied): the credentials do not allow this operation"},
		{&azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthenticationFailed"}, false, ErrDenied, "the storage rejected the credentials (AuthenticationFailed)"},
		{&googleapi.Error{Code: 401}, false, ErrDenied, "the storage rejected the credentials (HTTP 401)"},
		{s3Error(404, "NoSuchKey"), false, ErrNotFound, "not found: the storage answered HTTP 404 NoSuchKey"},
		{s3Error(404, "NoSuchBucket"), true, ErrBucketMissing, "Bucket b does not exist"},
		{&BucketMissingError{Bucket: "/x", Directory: true}, true, ErrBucketMissing, "Directory /x does not exist"},
		{s3ErrorWrapping(412, &net.OpError{Op: "read", Err: errors.New("use of closed network connection")}), false, nil, "the storage answered HTTP 412"},
		{&googleapi.Error{Code: 400, Message: "Invalid argument."}, false, nil, "the storage answered HTTP 400: Invalid argument."},
		{s3Error(400, "InvalidArgument"), false, nil, "the storage answered HTTP 400 InvalidArgument: m"},
		{errors.New("local trouble"), false, nil, "local trouble"},
	} {
		err := s.classify(tc.err, tc.bucketOp)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("classify(%v) = %v, not a *Error", tc.err, err)
			continue
		}
		for _, k := range []error{ErrUnreachable, ErrUnavailable, ErrBucketMissing, ErrNotFound, ErrDenied, ErrExists} {
			if errors.Is(err, k) != (k == tc.kind) {
				t.Errorf("classify(%v): errors.Is(%v) = %v", tc.err, k, errors.Is(err, k))
			}
		}
		if e.Msg != tc.msg {
			t.Errorf("classify(%v): message %q, want %q", tc.err, e.Msg, tc.msg)
		}
		if strings.Contains(e.Msg, "secret") {
			t.Errorf("classify(%v): message %q quotes the URL", tc.err, e.Msg)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("classify(%v): the provider's error is not in the chain", tc.err)
		}
	}
}
