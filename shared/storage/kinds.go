package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// Kind is what went wrong with a storage operation, as far as a caller
// needs to tell: whether the storage was reached at all, whether the
// bucket or the object is missing, whether the credentials were refused.
// A caller tests for a kind with errors.Is and the Err* sentinels; the
// exit status of each kind is decided by the tools' one table
// (cloudcli), never here.
type Kind int

const (
	// Other is any other error answer, or a local error.
	Other Kind = iota
	// Unreachable: no answer came back (connection refused or reset, DNS,
	// TLS, no progress for --read-timeout, out of time).
	Unreachable
	// Unavailable: the storage answered, but only to say it could not
	// serve (throttling, 5xx), through every retry.
	Unavailable
	// BucketMissing: the bucket, container or directory does not exist.
	BucketMissing
	// NotFound: the object does not exist.
	NotFound
	// Exists: a conditional create found the key taken.
	Exists
	// Denied: the credentials were refused, or do not allow the operation.
	Denied
)

// Sentinels for errors.Is, one per kind.
var (
	ErrUnreachable   = errors.New("the storage could not be reached")
	ErrUnavailable   = errors.New("the storage is unavailable")
	ErrBucketMissing = errors.New("the bucket does not exist")
	ErrNotFound      = errors.New("object not found")
	ErrDenied        = errors.New("access denied")
	// ErrExists is returned by Upload with IfNotExist when the key is taken.
	ErrExists = errors.New("object already exists")
)

var sentinels = map[Kind]error{
	Unreachable: ErrUnreachable, Unavailable: ErrUnavailable, BucketMissing: ErrBucketMissing,
	NotFound: ErrNotFound, Exists: ErrExists, Denied: ErrDenied,
}

// Error is a classified storage error. Its message is the cause in words
// an operator acts on ("the storage rejected the credentials
// (SignatureDoesNotMatch)"); the provider's own error, with its request
// ids and URLs, is kept in Err for the verbose log (see Detail).
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool { return target != nil && sentinels[e.Kind] == target }

// KindOf is the kind of err: that of the first *Error in its chain, Other
// when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// Detail is the provider's own error behind the first *Error in err's
// chain, for the verbose log; "" when there is none.
func Detail(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Err != nil && e.Err.Error() != e.Msg {
		return e.Err.Error()
	}
	return ""
}

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

// Is makes it an ErrBucketMissing.
func (e *BucketMissingError) Is(target error) bool { return target == ErrBucketMissing }

// classify gives err its kind and its operator's wording. bucketOp is true
// for operations where "not found" can only mean the bucket (uploads and
// listings).
func (s *Store) classify(err error, bucketOp bool) error {
	var (
		bm *BucketMissingError
		ke *Error
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ke):
		return err
	case errors.Is(err, ErrExists):
		return &Error{Kind: Exists, Msg: err.Error(), Err: err}
	case IsNetwork(err):
		return &Error{Kind: Unreachable, Msg: "cannot reach the storage: " + networkCause(err), Err: err}
	case isUnavailable(err):
		reason, _ := Transient(err)
		return &Error{Kind: Unavailable, Msg: "the storage is unavailable: it answered " + reason, Err: err}
	case errors.As(err, &bm):
		return &Error{Kind: BucketMissing, Msg: bm.Error(), Err: err}
	case errorCode(err) == gcerrors.NotFound && bucketOp:
		bm := s.MissingBucketError()
		return &Error{Kind: BucketMissing, Msg: bm.Error(), Err: fmt.Errorf("%w: %w", bm, err)}
	case errorCode(err) == gcerrors.NotFound:
		return &Error{Kind: NotFound, Msg: "not found" + answered(err), Err: err}
	}
	msg, ok := denied(err)
	kind := Other
	if ok {
		kind = Denied
	} else {
		msg = otherCause(err)
	}
	if errors.As(err, new(*DeleteError)) {
		// Barman's own words for the keys a batch could not delete, which
		// name them.
		msg = err.Error()
	}
	return &Error{Kind: kind, Msg: msg, Err: err}
}

// ReadError classifies an error met while reading an object's body: the
// connection failing there is the storage being unreachable, as it is
// before the answer. Other errors (corrupt data, local ones) are returned
// as they are.
func ReadError(err error) error {
	if err != nil && IsNetwork(err) {
		return &Error{Kind: Unreachable, Msg: "cannot reach the storage: " + networkCause(err), Err: err}
	}
	return err
}

// answered is ": the storage answered HTTP 404 NoSuchKey", or "" for an
// error that is no answer.
func answered(err error) string {
	status, code := httpStatus(err)
	if status == 0 {
		return ""
	}
	s := ": the storage answered HTTP " + strconv.Itoa(status)
	if code != "" {
		s += " " + code
	}
	return s
}

// denied words an answer that refuses the credentials, or the access.
func denied(err error) (string, bool) {
	status, code := httpStatus(err)
	switch code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
		"AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation":
		return "the storage rejected the credentials (" + code + ")", true
	case "AccessDenied", "AllAccessDisabled", "AuthorizationFailure", "AuthorizationPermissionMismatch",
		"AuthorizationSourceIPMismatch", "AuthorizationProtocolMismatch", "AuthorizationResourceTypeMismatch":
		return "the storage denied access (" + code + "): the credentials do not allow this operation", true
	}
	switch status {
	case http.StatusUnauthorized:
		return "the storage rejected the credentials (HTTP 401" + codeSuffix(code) + ")", true
	case http.StatusForbidden:
		return "the storage denied access (HTTP 403" + codeSuffix(code) + "): wrong credentials, or they do not allow this operation", true
	}
	return "", false
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return " " + code
}

// otherCause words an error that is none of the kinds above: the
// provider's code and message when it answered, without the request ids
// and URLs its SDK adds; a local error as it is.
func otherCause(err error) string {
	status, code := httpStatus(err)
	if status == 0 {
		return err.Error()
	}
	s := "the storage answered HTTP " + strconv.Itoa(status) + codeSuffix(code)
	if msg := providerMessage(err); msg != "" {
		s += ": " + msg
	}
	return s
}

// providerMessage is the human part of a provider's error answer.
func providerMessage(err error) string {
	var (
		api smithy.APIError
		g   *googleapi.Error
		az  *azcore.ResponseError
	)
	switch {
	case errors.As(err, &api):
		return api.ErrorMessage()
	case errors.As(err, &g):
		return g.Message
	case errors.As(err, &az):
		return "" // azcore's text is the whole request dump; the code says it
	}
	return ""
}

// networkCause words why the storage could not be reached, naming the
// endpoint where the error says it, never quoting a URL (a SAS token rides
// in its query).
func networkCause(err error) string {
	var (
		dnsErr  *net.DNSError
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		opErr   *net.OpError
		stall   *StallError
	)
	addr := ""
	if errors.As(err, &opErr) && opErr.Addr != nil {
		addr = " (" + opErr.Addr.String() + ")"
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "out of time"
	case errors.As(err, &stall):
		return stall.Error()
	case errors.As(err, &dnsErr):
		return "cannot resolve the host name " + dnsErr.Name
	case errors.As(err, &recErr):
		return "the endpoint does not speak TLS" + addr + ": an http:// endpoint given as https://?"
	case errors.As(err, &uaErr), errors.As(err, &certErr) && errors.As(certErr.Err, &uaErr):
		return "its TLS certificate is signed by an unknown authority" + addr
	case errors.As(err, &hostErr):
		return "its TLS certificate is not valid for " + hostErr.Host
	case errors.As(err, &certErr):
		return "its TLS certificate could not be verified" + addr
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused" + addr
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset" + addr
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable" + addr
	case errors.Is(err, syscall.ETIMEDOUT):
		return "connection timed out" + addr
	}
	if reason, ok := Transient(err); ok {
		return reason + addr
	}
	if addr != "" {
		return "network error" + addr
	}
	// The innermost error's own words: the outer layers quote the URL.
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return strings.TrimSpace(err.Error())
		}
		err = u
	}
}
