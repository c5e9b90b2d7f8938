package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// LockedError is an object that S3 object lock protects from deletion
// now: a retention date in the future, or a legal hold.
type LockedError struct {
	Key    string
	Reason string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("Cannot delete locked object %s: %s", e.Key, e.Reason)
}

// ErrObjectLockUnsupported is CheckObjectLocks on a provider other than
// S3.
var ErrObjectLockUnsupported = errors.New("object lock is only supported for aws-s3")

// CheckObjectLocks asks S3 about each key's object lock (one HeadObject
// per key, as Barman 3.17's --check-object-lock): a retention date after
// now (any mode: a GOVERNANCE retention needs a bypass header this tool
// does not send) or a legal hold ON makes the object undeletable, and the
// first such key is a *LockedError. A key that does not exist is not
// locked.
func (s *Store) CheckObjectLocks(ctx context.Context, keys []string, now time.Time) error {
	if s.Loc.Provider != S3 {
		return ErrObjectLockUnsupported
	}
	var c *s3.Client
	if !s.Bucket.As(&c) {
		return errors.New("the S3 driver does not expose its client")
	}
	for _, k := range keys {
		var out *s3.HeadObjectOutput
		err := s.Retry(ctx, "checking the object lock of "+k, func(ctx context.Context) error {
			var err error
			out, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Loc.Bucket), Key: aws.String(k)})
			if err != nil {
				return s.classify(&codedError{code: s3ErrorCode(err), err: err}, false)
			}
			return nil
		})
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if t := out.ObjectLockRetainUntilDate; t != nil && t.After(now) {
			return &LockedError{Key: k, Reason: fmt.Sprintf("%s retention until %s", out.ObjectLockMode, t.UTC().Format(time.RFC3339))}
		}
		if out.ObjectLockLegalHoldStatus == s3types.ObjectLockLegalHoldStatusOn {
			return &LockedError{Key: k, Reason: "legal hold is ON"}
		}
	}
	return nil
}
