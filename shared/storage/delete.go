package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gocloud.dev/gcerrors"
)

// Most keys one delete request may name: S3 DeleteObjects takes 1000,
// an Azure blob batch 256, a GCS JSON batch 100 (Barman's
// MAX_DELETE_BATCH_SIZE). A file:// store deletes one file at a time and
// has no limit: it takes S3's, so that --batch-size means the same there.
const (
	s3MaxDeleteBatch    = 1000
	azureMaxDeleteBatch = 256
	gcsMaxDeleteBatch   = 100
	fileMaxDeleteBatch  = 1000
)

// batchResult is what one attempt at deleting a batch achieved.
type batchResult struct {
	// deleted are the keys that are gone now, the keys that were already
	// gone included when the provider can tell a missing key from a
	// missing bucket (S3, Azure).
	deleted []string
	// absent are the keys the storage reported missing where a missing
	// bucket would be reported the same way (GCS, file://): Delete checks
	// the bucket once before counting them as deleted.
	absent []string
}

// DeleteError is a key that a delete request could not delete.
type DeleteError struct {
	Key string
	// Code is the provider's error code ("AccessDenied", "BlobNotFound",
	// "forbidden"); Message its explanation, when the provider gives one
	// in the answer (S3, GCS).
	Code, Message string
	// Status is the HTTP status of the key's answer; for S3, whose
	// DeleteObjects reports per-key errors inside a 200 answer, 200.
	Status int
	// Err is the provider's error for the key.
	Err error
}

// Error is Barman's line for it (aws_s3.py _delete_objects_batch).
func (e *DeleteError) Error() string {
	msg := fmt.Sprintf(`Bulk deletion of object %s failed with error code: "%s"`, e.Key, e.Code)
	if e.Message != "" {
		msg += fmt.Sprintf(`, message: "%s"`, e.Message)
	}
	if e.Code == "" && e.Err != nil {
		msg = fmt.Sprintf("Deletion of object %s failed: %v", e.Key, e.Err)
	}
	return msg
}

func (e *DeleteError) Unwrap() error { return e.Err }

// HTTPStatusCode makes Transient judge the key's error by its status and
// code, as it judges a whole answer.
func (e *DeleteError) HTTPStatusCode() int { return e.Status }

// keyErrors joins the errors of the keys of a batch, the final ones first:
// the retrier judges a joined error by its first member, and a batch with
// a key that will never be deleted (AccessDenied) is not worth another
// attempt, while one whose keys only met throttling is.
func keyErrors(errs []*DeleteError) error {
	var final, transient []error
	for _, e := range errs {
		if _, ok := Transient(e); ok {
			transient = append(transient, e)
		} else {
			final = append(final, e)
		}
	}
	return errors.Join(append(final, transient...)...)
}

// Delete deletes keys, in the order given, in batches of batchSize keys
// (0: the provider's most; otherwise clamped to 1..the provider's most,
// as Barman clamps --batch-size): one request per batch where the
// provider has a batch call (S3 DeleteObjects, Azure blob batch, GCS JSON
// batch), one request per key otherwise (file://). A key that is already
// gone counts as deleted: a run that was interrupted can be run again.
//
// Each batch is retried through the store's retrier, the keys it has not
// deleted yet only. A batch that fails ends the deletion: Delete returns
// the keys deleted so far, in order, and the error (DeleteErrors joined,
// for keys the storage refused). Barman goes on with the next batches and
// fails at the end; stopping first keeps what is left a suffix of keys, so
// that a caller deleting a backup's archives before its backup.info never
// deletes the latter after a failure.
func (s *Store) Delete(ctx context.Context, keys []string, batchSize int) ([]string, error) {
	if s.unavailable != nil {
		return nil, s.classify(s.unavailable, true)
	}
	wp := s.writePath()
	size := wp.maxBatch
	if batchSize != 0 {
		size = max(1, min(batchSize, wp.maxBatch))
	}
	var deleted []string
	bucketChecked := false
	for start := 0; start < len(keys); start += size {
		left := keys[start:min(start+size, len(keys))]
		what := fmt.Sprintf("deleting %s and %d more objects", left[0], len(left)-1)
		if len(left) == 1 {
			what = "deleting " + left[0]
		}
		err := s.Retry(ctx, what, func(ctx context.Context) error {
			r, err := wp.deleteBatch(ctx, left)
			if len(r.absent) > 0 && !bucketChecked {
				ok, berr := s.bucketExists(ctx)
				switch {
				case berr != nil:
					r.absent = nil
					err = errors.Join(err, berr)
				case !ok:
					return s.classify(s.MissingBucketError(), true)
				default:
					bucketChecked = true
				}
			}
			gone := make(map[string]bool, len(r.deleted)+len(r.absent))
			for _, k := range append(r.deleted, r.absent...) {
				gone[k] = true
			}
			var rest []string
			for _, k := range left {
				if gone[k] {
					deleted = append(deleted, k)
				} else {
					rest = append(rest, k)
				}
			}
			left = rest
			if err == nil && len(left) > 0 {
				err = fmt.Errorf("the storage did not say what became of %d objects (%s...)", len(left), left[0])
			}
			return s.classify(err, true)
		})
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// DeleteBatchSize is the number of keys Delete sends in one request for
// a batchSize as Delete takes it (0: the provider's most).
func (s *Store) DeleteBatchSize(batchSize int) int {
	most := s.writePath().maxBatch
	if batchSize == 0 {
		return most
	}
	return max(1, min(batchSize, most))
}

// DeletePrefix deletes every object whose key starts with prefix, which
// must end with "/" (Barman's delete_under_prefix refuses anything else,
// so that a mistake cannot empty a bucket): it lists them all, then
// deletes them as Delete does, in batches of batchSize. Barman ignores
// --batch-size here and always sends 1000 keys per request.
func (s *Store) DeletePrefix(ctx context.Context, prefix string, batchSize int) ([]string, error) {
	if prefix == "" || prefix == "/" || !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("Deleting all objects under prefix %s is not allowed", prefix)
	}
	objs, err := s.List(ctx, prefix, "")
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return s.Delete(ctx, keys, batchSize)
}

// deleteEach deletes keys one request at a time through gocloud: the
// batch call of a store without one (file://, memory).
func (s *Store) deleteEach(ctx context.Context, keys []string) (batchResult, error) {
	var r batchResult
	for _, k := range keys {
		err := s.Bucket.Delete(ctx, k)
		switch {
		case err == nil:
			r.deleted = append(r.deleted, k)
		case gcerrors.Code(err) == gcerrors.NotFound:
			r.absent = append(r.absent, k)
		default:
			return r, &DeleteError{Key: k, Err: err}
		}
	}
	return r, nil
}
