package cloudcli

import (
	"context"
	"errors"

	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// exitStatuses is the one table from kinds of errors to exit statuses
// (Barman's: barman/clients/cloud_cli.py). Tools give a status of their
// own only to their own outcomes (a WAL not in the archive, a check that
// failed), with the exitcode constructors; everything else is decided
// here, by the first kind found in the error's chain, and is 4 ("any
// other error") when none matches.
var exitStatuses = []struct {
	kind error
	code int
}{
	// The storage could not be reached, or kept failing: try again later.
	{storage.ErrUnreachable, exitcode.Network},
	{storage.ErrUnavailable, exitcode.Network},
	// --max-time ran out.
	{context.DeadlineExceeded, exitcode.Network},
	{storage.ErrBucketMissing, exitcode.Failure},
}

// AddExitStatus adds a kind of error to the table, for the kinds of a
// shared package outside storage (PostgreSQL's, say). Call it from an
// init function of the package that defines the kind's tool.
func AddExitStatus(kind error, code int) {
	exitStatuses = append(exitStatuses, struct {
		kind error
		code int
	}{kind, code})
}

// StatusOf is the exit status for err: the status a tool gave its own
// outcome (the outermost *exitcode.Error), else that of the first kind in
// the table that err is, else 4.
func StatusOf(err error) int {
	if err == nil {
		return exitcode.OK
	}
	var e *exitcode.Error
	if errors.As(err, &e) {
		return e.Code
	}
	for _, s := range exitStatuses {
		if errors.Is(err, s.kind) {
			return s.code
		}
	}
	return exitcode.General
}
