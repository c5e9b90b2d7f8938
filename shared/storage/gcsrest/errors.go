package gcsrest

import (
	"errors"
	"fmt"
	"net/http"

	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// codedError is an error this package raises itself, with its gocloud code.
type codedError struct {
	code gcerrors.ErrorCode
	msg  string
}

func (e *codedError) Error() string { return e.msg }

func errorf(code gcerrors.ErrorCode, format string, args ...any) error {
	return &codedError{code: code, msg: "gcsrest: " + fmt.Sprintf(format, args...)}
}

// ErrorCode maps an error of this package to a gocloud error code. HTTP
// statuses come from the *googleapi.Error anywhere in err's chain; anything
// else (network errors included: they stay reachable with errors.As through
// gocloud's wrapping) is Unknown.
func ErrorCode(err error) gcerrors.ErrorCode {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return gcerrors.Unknown
	}
	switch gerr.Code {
	case http.StatusNotFound:
		return gcerrors.NotFound
	case http.StatusPreconditionFailed:
		return gcerrors.FailedPrecondition
	case http.StatusUnauthorized, http.StatusForbidden:
		return gcerrors.PermissionDenied
	case http.StatusTooManyRequests:
		return gcerrors.ResourceExhausted
	}
	return gcerrors.Unknown
}
