package storage

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
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

// TestUploadConditionalCreateReset: a server that refuses a conditional
// PutObject by closing the connection before reading the body (MinIO,
// when another writer has just created the key) makes the client see a
// reset, not a 412. Upload reports ErrExists when the key is then taken,
// and the network error otherwise.
func TestUploadConditionalCreateReset(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
		"AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
	for _, tc := range []struct {
		name  string
		taken bool
	}{{"taken", true}, {"free", false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.Method {
				case http.MethodPut:
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						t.Error(err)
						return
					}
					conn.(*net.TCPConn).SetLinger(0) // close with a reset
					conn.Close()
				case http.MethodHead:
					if !tc.taken {
						w.WriteHeader(http.StatusNotFound)
						return
					}
					w.Header().Set("ETag", `"0123"`)
					w.Header().Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
				default:
					http.Error(w, "unexpected", http.StatusBadRequest)
				}
			}))
			defer srv.Close()
			s, err := Open(context.Background(), Location{Provider: S3, Bucket: "b"}, Options{EndpointURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			body := make([]byte, 3<<20)
			err = s.Upload(context.Background(), "p/k", bytes.NewReader(body), int64(len(body)), UploadOptions{IfNotExist: true})
			switch {
			case tc.taken && !errors.Is(err, ErrExists):
				t.Errorf("Upload: %v, want ErrExists", err)
			case !tc.taken && !errors.Is(err, ErrUnreachable):
				t.Errorf("Upload: %v, want a network error", err)
			}
		})
	}
}
