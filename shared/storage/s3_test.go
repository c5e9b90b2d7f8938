package storage

import (
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"gocloud.dev/gcerrors"
)

// s3Answer is the error the S3 client returns for an HTTP answer with
// status and (when not "") error code.
func s3Answer(status int, code string) error {
	var inner error = errors.New("no body")
	if code != "" {
		inner = &smithy.GenericAPIError{Code: code, Message: "message"}
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner},
	}}
}

func TestS3ErrorCode(t *testing.T) {
	cases := []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{s3Answer(404, "NoSuchBucket"), gcerrors.NotFound},
		{s3Answer(404, "NoSuchKey"), gcerrors.NotFound},
		{s3Answer(404, "NotFound"), gcerrors.NotFound},
		{s3Answer(404, ""), gcerrors.NotFound},
		// MinIO's answer to an unknown --sse-kms-key-id: not a missing bucket.
		{s3Answer(404, "kms:KeyNotFound"), gcerrors.Unknown},
		{s3Answer(403, "SignatureDoesNotMatch"), gcerrors.PermissionDenied},
		{s3Answer(403, "AccountProblem"), gcerrors.PermissionDenied},
		{s3Answer(403, ""), gcerrors.PermissionDenied},
		{s3Answer(400, "InvalidTag"), gcerrors.Unknown},
		{errors.New("other"), gcerrors.Unknown},
	}
	for _, c := range cases {
		if got := s3ErrorCode(c.err); got != c.want {
			t.Errorf("s3ErrorCode(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
