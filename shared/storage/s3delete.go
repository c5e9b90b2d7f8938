package storage

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// writePath is how an S3 store writes objects in parts and deletes.
func (u *s3Uploader) writePath() *writePath {
	return &writePath{
		multipart: func(key string, o UploadOptions) (multipart, error) {
			return u.multipart(key, o), nil
		},
		limits:      s3Limits,
		deleteBatch: u.deleteBatch,
		maxBatch:    s3MaxDeleteBatch,
	}
}

// deleteBatch deletes keys with one DeleteObjects request in quiet mode,
// which names only the keys it could not delete (a key that does not exist
// is deleted as far as S3 is concerned), as Barman's
// S3CloudInterface._delete_objects_batch does.
//
// DeleteObjects must carry a checksum of its body. The SDK sends a CRC32,
// which S3 and current MinIO accept; older S3-compatible stores want a
// Content-MD5, which is sent too. A store that still answers
// MissingContentMD5 gets one DeleteObject per key, as Barman does.
func (u *s3Uploader) deleteBatch(ctx context.Context, keys []string) (batchResult, error) {
	objs := make([]s3types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		objs[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := u.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(u.bucket),
		Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)},
	}, withContentMD5)
	if missingContentMD5(err) {
		u.opts.Log.Warn().Msgf("Bulk delete failed with 'MissingContentMD5'. Falling back to deleting %d objects individually", len(keys))
		return u.deleteEach(ctx, keys)
	}
	if err != nil {
		return batchResult{}, &codedError{code: s3ErrorCode(err), err: err}
	}
	failed := map[string]bool{}
	var errs []*DeleteError
	for _, e := range out.Errors {
		key, code, msg := aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message)
		failed[key] = true
		errs = append(errs, &DeleteError{Key: key, Code: code, Message: msg, Status: http.StatusOK,
			Err: &smithy.GenericAPIError{Code: code, Message: msg}})
	}
	var r batchResult
	for _, k := range keys {
		if !failed[k] {
			r.deleted = append(r.deleted, k)
		}
	}
	return r, keyErrors(errs)
}

// withContentMD5 adds a Content-MD5 header to a request.
func withContentMD5(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, smithyhttp.AddContentChecksumMiddleware)
}

// missingContentMD5 reports a store that refuses DeleteObjects without a
// Content-MD5: the code S3 defines for it, or, as Barman also accepts, an
// answer whose message names the header (some S3-compatible stores send
// InvalidRequest). The message is the server's answer, not an error text
// of ours.
func missingContentMD5(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.ErrorCode() == "MissingContentMD5" || strings.Contains(strings.ToLower(ae.ErrorMessage()), "content-md5")
}

// deleteEach deletes keys with one DeleteObject each (Barman's
// _delete_object), stopping at the first failure.
func (u *s3Uploader) deleteEach(ctx context.Context, keys []string) (batchResult, error) {
	var r batchResult
	for _, k := range keys {
		_, err := u.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(u.bucket), Key: aws.String(k)})
		if err != nil {
			code, _ := httpStatus(err)
			var ae smithy.APIError
			de := &DeleteError{Key: k, Status: code, Err: &codedError{code: s3ErrorCode(err), err: err}}
			if errors.As(err, &ae) {
				de.Code, de.Message = ae.ErrorCode(), ae.ErrorMessage()
			}
			return r, de
		}
		r.deleted = append(r.deleted, k)
	}
	return r, nil
}
