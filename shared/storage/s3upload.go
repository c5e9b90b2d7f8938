package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
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
	var opts []func(*s3.Options)
	if len(o.ContentSHA256) == sha256.Size {
		opts = append(opts, knownPayloadHash(hex.EncodeToString(o.ContentSHA256)))
	}
	out, err := u.client.PutObject(ctx, in, opts...)
	if err == nil {
		reportETag(ctx, out.ETag)
	}
	return u.writeError(err)
}

// knownPayloadHash hands the SDK the body's SHA-256 for a request over
// plain HTTP, where SigV4 signs it: the SDK would otherwise read the whole
// body once more to compute it before sending it (16 MiB of SHA-256 per
// WAL segment, ~9 ms of each archive_command call on a machine with SHA
// instructions). Over HTTPS the SDK sends an unsigned streaming payload
// with a trailing checksum, and the hash is left alone.
func knownPayloadHash(hash string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			mw := middleware.FinalizeMiddlewareFunc("barman-cloud:KnownPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil && req.URL.Scheme == "http" {
						ctx = v4.SetPayloadHash(ctx, hash)
					}
					return next.HandleFinalize(ctx, in)
				})
			// Once the endpoint is resolved (its scheme known), before the
			// flexible-checksum middleware, which computes the payload hash
			// along with its CRC32 unless one is set, and the SigV4 one.
			for _, before := range []string{"AWSChecksum:ComputeInputPayloadChecksum", "ComputePayloadHash"} {
				if stack.Finalize.Insert(mw, before, middleware.Before) == nil {
					return nil
				}
			}
			return nil
		})
	}
}

// stream sends a body of unknown length (a compressed WAL): in one
// PutObject when it ends within the first part, else in a multipart
// upload of s3PartSize parts sent one after the other from one buffer,
// whatever the segment size. It makes no retries: Store.Upload's caller
// retries the whole upload, with the source read again.
func (u *s3Uploader) stream(ctx context.Context, key string, r io.Reader, o UploadOptions) error {
	w := newPartWriter(ctx, key, o, func() (multipart, error) { return u.multipart(key, o), nil })
	w.limits, w.partSize, w.maxBufs, w.inline = s3Limits, s3PartSize, 1, true
	w.attempt = once
	if _, err := w.ReadFrom(r); err != nil {
		w.Abort(err)
		return err
	}
	return w.close()
}

// once runs one attempt of op: the retries are the caller's.
func once(ctx context.Context, _ string, op func(context.Context) error) error { return op(ctx) }

// s3Limits are S3's bounds on the parts of a multipart upload.
var s3Limits = partLimits{maxParts: s3MaxParts, minSize: s3MinPart, maxSize: s3MaxPartSize}

// s3Multipart is one S3 multipart upload. It is created with If-None-Match
// on its completion when asked, so the object appears only complete and
// only if the key is free.
type s3Multipart struct {
	u    *s3Uploader
	key  string
	o    UploadOptions
	id   *string
	algo s3types.ChecksumAlgorithm

	mu    sync.Mutex
	parts map[int32]s3types.CompletedPart
	// completions counts the attempts at completing the upload.
	completions int
}

func (u *s3Uploader) multipart(key string, o UploadOptions) *s3Multipart {
	m := &s3Multipart{u: u, key: key, o: o, parts: map[int32]s3types.CompletedPart{}}
	if u.checksum != aws.RequestChecksumCalculationWhenRequired {
		// The server checks every part against its CRC32, and the
		// completion against the list of them.
		m.algo = s3types.ChecksumAlgorithmCrc32
	}
	return m
}

// put sends an object smaller than one part in one PutObject.
func (m *s3Multipart) put(ctx context.Context, data []byte) error {
	return m.u.put(ctx, m.key, bytes.NewReader(data), int64(len(data)), m.o)
}

func (m *s3Multipart) begin(ctx context.Context) error {
	create := &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(m.u.bucket),
		Key:               aws.String(m.key),
		ContentType:       aws.String("application/octet-stream"),
		Metadata:          m.o.Metadata,
		ChecksumAlgorithm: m.algo,
	}
	create.Tagging, create.ServerSideEncryption, create.SSEKMSKeyId = m.u.attributes(m.o)
	out, err := m.u.client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return m.u.writeError(err)
	}
	m.id = out.UploadId
	return nil
}

// part uploads one part; sent again, it replaces the part of that number.
func (m *s3Multipart) part(ctx context.Context, p part) error {
	n := int32(p.n)
	out, err := m.u.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:            aws.String(m.u.bucket),
		Key:               aws.String(m.key),
		UploadId:          m.id,
		PartNumber:        aws.Int32(n),
		Body:              bytes.NewReader(p.data),
		ContentLength:     aws.Int64(int64(len(p.data))),
		ChecksumAlgorithm: m.algo,
	})
	if err != nil {
		return m.u.writeError(err)
	}
	m.mu.Lock()
	m.parts[n] = s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
	m.mu.Unlock()
	return nil
}

// complete lists the parts in order, as S3 requires, and completes the
// upload. An attempt after one whose answer was lost may find the upload
// gone (NoSuchUpload), or, with If-None-Match, the key taken, by the
// object the lost attempt made: the object found under the key with the
// size written and as many parts (its ETag ends in "-N") is taken for it.
func (m *s3Multipart) complete(ctx context.Context, parts int, size int64) error {
	list := make([]s3types.CompletedPart, parts)
	m.mu.Lock()
	for i := range list {
		p, ok := m.parts[int32(i+1)]
		if !ok {
			m.mu.Unlock()
			return fmt.Errorf("%s: part %d was not uploaded", m.key, i+1)
		}
		list[i] = p
	}
	m.completions++
	retried := m.completions > 1
	m.mu.Unlock()
	complete := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(m.u.bucket),
		Key:             aws.String(m.key),
		UploadId:        m.id,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: list},
	}
	if m.o.IfNotExist {
		complete.IfNoneMatch = aws.String("*")
	}
	out, err := m.u.client.CompleteMultipartUpload(ctx, complete)
	if err == nil {
		reportETag(ctx, out.ETag)
		return nil
	}
	var ae smithy.APIError
	if retried && errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchUpload" || ae.ErrorCode() == "PreconditionFailed") {
		head, herr := m.u.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(m.u.bucket), Key: aws.String(m.key)})
		if herr == nil && aws.ToInt64(head.ContentLength) == size &&
			strings.HasSuffix(strings.Trim(aws.ToString(head.ETag), `"`), fmt.Sprintf("-%d", parts)) {
			reportETag(ctx, head.ETag)
			return nil
		}
	}
	return m.u.writeError(err)
}

// abort discards the parts; an upload already gone is not an error.
func (m *s3Multipart) abort(ctx context.Context) error {
	_, err := m.u.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(m.u.bucket), Key: aws.String(m.key), UploadId: m.id,
	})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload" {
		return nil
	}
	return m.u.writeError(err)
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
