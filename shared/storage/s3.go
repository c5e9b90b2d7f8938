package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/barmancloud/barman-cloud/shared/retry"
)

func openS3(ctx context.Context, loc Location, opts Options) (*Store, error) {
	if opts.SSEKMSKeyID != "" && opts.Encryption != "aws:kms" {
		return nil, errors.New(`Encryption type must be "aws:kms" if SSE KMS Key ID is specified`)
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			opts.Log.Debug().Msgf("aws sdk: "+format, v...)
		})),
	}
	if opts.AWSProfile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(opts.AWSProfile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	// Our HTTP client, not the SDK's BuildableClient: its read timeout is
	// a per-read deadline that would fail an upload whose body takes
	// longer than the timeout to send (see stallConn), and the S3 client
	// leaves alone a client that is not a BuildableClient. The TLS set-up
	// the configuration gave it (AWS_CA_BUNDLE) is kept.
	tr := newTransport(opts.ReadTimeout)
	if b, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		if tls := b.GetTransport().TLSClientConfig; tls != nil {
			tr.TLSClientConfig = tls.Clone()
		}
	}
	cfg.HTTPClient = &http.Client{Transport: tr}
	if cfg.Region == "" {
		// botocore signs S3 requests for us-east-1 when no region is set;
		// the Go SDK refuses to run without one.
		cfg.Region = "us-east-1"
	}
	policy := opts.Retry
	if policy.Tries == 0 && cfg.RetryMaxAttempts > 0 {
		// AWS_MAX_ATTEMPTS (or max_attempts in the profile) sets
		// botocore's number of attempts for Barman; here it sets ours.
		policy.Tries = cfg.RetryMaxAttempts
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// One attempt per request: shared/retry retries whole operations
		// (see Store.Retry), and an SDK retrying underneath would
		// multiply the attempts.
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		if opts.EndpointURL != "" {
			o.BaseEndpoint = aws.String(opts.EndpointURL)
			// botocore's addressing with a custom endpoint.
			o.UsePathStyle = true
		}
	})
	// AWS_REQUEST_CHECKSUM_CALCULATION=when_required (read by the config
	// loader) is the documented switch for S3-compatible stores that reject
	// the flexible-checksum headers; by default every upload request
	// carries a CRC32 the server verifies.
	checksum := cfg.RequestChecksumCalculation
	b, err := s3blob.OpenBucket(ctx, client, loc.Bucket, &s3blob.Options{
		EncryptionType:             s3types.ServerSideEncryption(opts.Encryption),
		KMSEncryptionID:            opts.SSEKMSKeyID,
		RequestChecksumCalculation: checksum,
	})
	if err != nil {
		return nil, err
	}
	s := &Store{Bucket: b, retrier: &retry.Retrier{Policy: policy, Transient: Transient, Log: opts.Log}}
	// S3 writes bypass gocloud's writer, whose transfer manager first
	// copies up to 16 MiB of the body into memory (see s3upload.go).
	up := &s3Uploader{client: client, bucket: loc.Bucket, opts: opts, checksum: checksum}
	s.put, s.stream = up.put, up.stream
	s.wp = up.writePath()
	// Over plain HTTP, SigV4 signs the payload's SHA-256, which the server
	// checks (see knownPayloadHash); over HTTPS the payload is unsigned.
	s.checksContentSHA256 = strings.HasPrefix(strings.ToLower(opts.EndpointURL), "http://")
	s.bucketExists = func(ctx context.Context) (bool, error) {
		_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(loc.Bucket)})
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			return false, nil
		}
		return err == nil, err
	}
	return s, nil
}

// s3ErrorCode classifies an S3 error as s3blob does: by its error code,
// and by its HTTP status only when the answer carries no code. A 404 with
// another code is not a missing key or bucket: MinIO answers an unknown
// --sse-kms-key-id with 404 kms:KeyNotFound.
func s3ErrorCode(err error) gcerrors.ErrorCode {
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch code {
	case "NoSuchBucket", "NoSuchKey", "NotFound":
		return gcerrors.NotFound
	case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return gcerrors.PermissionDenied
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			if code == "" {
				return gcerrors.NotFound
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			return gcerrors.PermissionDenied
		}
	}
	return gcerrors.Unknown
}
