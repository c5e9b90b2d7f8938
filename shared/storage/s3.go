package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/barmancloud/barman-cloud/shared/retry"
)

var errTooLargeForPut = errors.New("object too large for one PutObject")

// S3 upload shape for streams of unknown length (compressed WALs). The
// transfer manager holds the first s3MultipartThreshold bytes in memory to
// decide between one PutObject and a multipart upload, then up to
// s3Concurrency+1 parts of s3PartSize: these bound an upload's memory
// whatever the segment size. 5 MiB is S3's smallest part.
const (
	s3PartSize           = 5 << 20
	s3MultipartThreshold = 5 << 20
	s3Concurrency        = 1
	// s3MaxPut is S3's limit for one PutObject.
	s3MaxPut = 5 << 30
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
	// the flexible-checksum headers; the transfer manager needs it passed
	// on explicitly.
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
	s.writerOptions = func(u UploadOptions) (*blob.WriterOptions, error) {
		return &blob.WriterOptions{
			Metadata: u.Metadata,
			BeforeWrite: func(as func(any) bool) error {
				var in *transfermanager.UploadObjectInput
				var tm *transfermanager.Client
				if !as(&in) || !as(&tm) {
					return errors.New("s3blob no longer exposes *transfermanager.UploadObjectInput and *transfermanager.Client: tags and upload sizes cannot be set")
				}
				if len(u.Tags) > 0 {
					in.Tagging = aws.String(u.Tags.S3Query())
				}
				// gocloud exposes no threshold setting; replace the
				// writer's transfer manager with one shaped as above.
				*tm = *transfermanager.New(client, func(o *transfermanager.Options) {
					o.PartSizeBytes = s3PartSize
					o.MultipartUploadThreshold = s3MultipartThreshold
					o.Concurrency = s3Concurrency
					o.RequestChecksumCalculation = checksum
				})
				return nil
			},
		}, nil
	}
	// A body of known size (an uncompressed WAL, up to 1 GiB) goes up in
	// one PutObject streamed from the file, as Barman sends anything below
	// 100 MiB: the transfer manager would first copy it into memory.
	s.put = func(ctx context.Context, key string, r io.ReadSeeker, size int64, u UploadOptions) error {
		if size > s3MaxPut {
			return errTooLargeForPut
		}
		in := &s3.PutObjectInput{
			Bucket:        aws.String(loc.Bucket),
			Key:           aws.String(key),
			Body:          r,
			ContentLength: aws.Int64(size),
			ContentType:   aws.String("application/octet-stream"),
			Metadata:      u.Metadata,
		}
		if len(u.Tags) > 0 {
			in.Tagging = aws.String(u.Tags.S3Query())
		}
		if opts.Encryption != "" {
			in.ServerSideEncryption = s3types.ServerSideEncryption(opts.Encryption)
		}
		if opts.SSEKMSKeyID != "" {
			in.SSEKMSKeyId = aws.String(opts.SSEKMSKeyID)
		}
		if u.IfNotExist {
			in.IfNoneMatch = aws.String("*")
		}
		_, err := client.PutObject(ctx, in)
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
				return ErrExists
			}
			if status, _ := httpStatus(err); status == http.StatusPreconditionFailed {
				// The answer's body could not be read: a server that
				// refuses the upload before reading it may close the
				// connection under the error body.
				return ErrExists
			}
			return &codedError{code: s3ErrorCode(err), err: err}
		}
		return nil
	}
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
