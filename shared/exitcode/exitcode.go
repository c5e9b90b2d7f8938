// Package exitcode holds the process exit statuses shared by every
// barman-cloud tool and the error type that carries one.
//
// The statuses are Barman's (barman/clients/cloud_cli.py). A tool gives a
// status to its own outcomes with the constructors below (a WAL that is
// not in the archive, a failed check); the statuses of shared kinds of
// errors (an unreachable storage, a missing bucket) are decided by the one
// table in cloudcli, which also turns the outermost status into the
// process's.
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package exitcode

import (
	"errors"
	"fmt"
)

// Process exit statuses.
const (
	// OK: the operation succeeded (also --help, --version, a passing --test).
	OK = 0
	// Failure: the storage answered but the operation failed: a missing
	// bucket, a WAL that is not in the archive, a failed archive check, a WAL
	// that conflicts with what is already archived.
	Failure = 1
	// Network: the storage could not be reached (refused, DNS, TLS, timeout),
	// or kept answering busy or failing (429, 5xx) through every retry.
	Network = 2
	// Usage: the command line (or the hook-script environment) is invalid.
	Usage = 3
	// General: any other error (credentials, permissions, local I/O, corrupt
	// data, provider errors that are none of the above).
	General = 4
)

// Error is an error with the exit status it should produce.
type Error struct {
	Code int
	Err  error
	// Logged is true when the tool has already reported the error.
	Logged bool
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns err carrying code, or nil when err is nil. An err that
// already carries a code keeps the code closest to the cause: wrapping is
// only ever used to give a code to an error that has none yet.
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: code, Err: err}
}

// Usagef is a command-line error (exit 3).
func Usagef(format string, a ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, a...)}
}

// Failuref is a failed operation (exit 1).
func Failuref(format string, a ...any) error {
	return &Error{Code: Failure, Err: fmt.Errorf(format, a...)}
}

// Networkf is an unreachable storage (exit 2).
func Networkf(format string, a ...any) error {
	return &Error{Code: Network, Err: fmt.Errorf(format, a...)}
}

// Generalf is any other error (exit 4).
func Generalf(format string, a ...any) error {
	return &Error{Code: General, Err: fmt.Errorf(format, a...)}
}

// Reported marks err as already reported to the user (logged by the tool
// at the level it chose), so the caller only turns it into code.
func Reported(code int, err error) error {
	return &Error{Code: code, Err: err, Logged: true}
}

// IsReported reports whether err was marked with Reported.
func IsReported(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Logged
}
