package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 upload sizes. A body of unknown length (a compressed WAL) is read a
// part at a time into one buffer of s3PartSize, S3's smallest part: that
// buffer is all the memory an upload holds, whatever the segment size.
// gocloud's writer (the SDK's transfer manager) first reads up to 16 MiB
// with io.ReadAll and then keeps Concurrency+1 parts: 30 MB more RSS for a
// compressed 16 MiB segment, measured.
const (
	s3PartSize = 5 << 20
	// s3MaxPut is S3's limit for one PutObject.
	s3MaxPut = 5 << 30
)

var errTooLargeForPut = errors.New("object too large for one PutObject")

// s3Uploader writes objects with the S3 API directly.
type s3Uploader struct {
	client   *s3.Client
	bucket   string
	opts     Options
	checksum aws.RequestChecksumCalculation
}

// put sends a body of known size in one PutObject streamed from r (an
// uncompressed WAL file, up to 1 GiB), as Barman sends anything below
// 100 MiB.
func (u *s3Uploader) put(ctx context.Context, key string, r io.ReadSeeker, size int64, o UploadOptions) error {
	if size > s3MaxPut {
		return errTooLargeForPut
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(u.bucket),
		Key:           aws.String(key),
		Body:          r,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/octet-stream"),
		Metadata:      o.Metadata,
	}
	in.Tagging, in.ServerSideEncryption, in.SSEKMSKeyId = u.attributes(o)
	if o.IfNotExist {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := u.client.PutObject(ctx, in)
	if err == nil {
		reportETag(ctx, out.ETag)
	}
	return u.writeError(err)
}

// stream sends a body of unknown length: in one PutObject when it ends
// within the first part, else in a multipart upload of s3PartSize parts
// sent one after the other from the same buffer. The multipart upload is
// completed with If-None-Match when asked, so the object appears only
// complete and only if the key is free; on any error it is aborted.
func (u *s3Uploader) stream(ctx context.Context, key string, r io.Reader, o UploadOptions) (err error) {
	buf := make([]byte, s3PartSize)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return u.put(ctx, key, bytes.NewReader(buf[:n]), int64(n), o)
	case err != nil:
		return err
	}
	create := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(u.bucket),
		Key:         aws.String(key),
		ContentType: aws.String("application/octet-stream"),
		Metadata:    o.Metadata,
	}
	create.Tagging, create.ServerSideEncryption, create.SSEKMSKeyId = u.attributes(o)
	algo := s3types.ChecksumAlgorithm("")
	if u.checksum != aws.RequestChecksumCalculationWhenRequired {
		// The server checks every part against its CRC32, and the
		// completion against the list of them.
		algo = s3types.ChecksumAlgorithmCrc32
		create.ChecksumAlgorithm = algo
	}
	mpu, err := u.client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return u.writeError(err)
	}
	completed := false
	defer func() {
		if completed {
			return
		}
		// Abort even when ctx was cancelled (SIGTERM): an incomplete upload
		// is invisible but keeps its parts' storage until a lifecycle
		// rule removes it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		u.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(u.bucket), Key: aws.String(key), UploadId: mpu.UploadId,
		})
	}()
	var parts []s3types.CompletedPart
	last := false
	for number := int32(1); n > 0; number++ {
		part := &s3.UploadPartInput{
			Bucket:            aws.String(u.bucket),
			Key:               aws.String(key),
			UploadId:          mpu.UploadId,
			PartNumber:        aws.Int32(number),
			Body:              bytes.NewReader(buf[:n]),
			ContentLength:     aws.Int64(int64(n)),
			ChecksumAlgorithm: algo,
		}
		out, err := u.client.UploadPart(ctx, part)
		if err != nil {
			return u.writeError(err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(number), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
		if last {
			break
		}
		n, err = io.ReadFull(r, buf)
		switch {
		case err == io.EOF:
			n = 0
		case err == io.ErrUnexpectedEOF:
			last = true
		case err != nil:
			return err
		}
	}
	complete := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(u.bucket),
		Key:             aws.String(key),
		UploadId:        mpu.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
	}
	if o.IfNotExist {
		complete.IfNoneMatch = aws.String("*")
	}
	out, err := u.client.CompleteMultipartUpload(ctx, complete)
	if err != nil {
		return u.writeError(err)
	}
	reportETag(ctx, out.ETag)
	completed = true
	return nil
}

// attributes are what a new object carries besides its data, the same for
// a PutObject and a CreateMultipartUpload: tags, server-side encryption
// and its KMS key (nil or empty when not asked for).
func (u *s3Uploader) attributes(o UploadOptions) (tagging *string, sse s3types.ServerSideEncryption, kmsKeyID *string) {
	if len(o.Tags) > 0 {
		tagging = aws.String(o.Tags.S3Query())
	}
	if u.opts.SSEKMSKeyID != "" {
		kmsKeyID = aws.String(u.opts.SSEKMSKeyID)
	}
	return tagging, s3types.ServerSideEncryption(u.opts.Encryption), kmsKeyID
}

// writeError classifies the error of a write: a refused conditional create
// is ErrExists, anything else keeps its provider classification.
func (u *s3Uploader) writeError(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
		return ErrExists
	}
	if status, _ := httpStatus(err); status == http.StatusPreconditionFailed {
		// The answer's body could not be read: a server that refuses the
		// upload before reading it may close the connection under the
		// error body.
		return ErrExists
	}
	return &codedError{code: s3ErrorCode(err), err: err}
}
