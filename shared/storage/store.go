package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/barmancloud/barman-cloud/shared/retry"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

// Options are the command-line options that shape a provider client and its
// uploads.
type Options struct {
	// ReadTimeout is how long a connection of any provider may go
	// without sending or receiving a byte (--read-timeout); 0 means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// Retry bounds the attempts of every operation (see Store.Retry). On
	// S3, AWS_MAX_ATTEMPTS, when set, replaces its zero Tries, as it sets
	// botocore's attempts for Barman.
	Retry retry.Policy

	// S3
	EndpointURL string
	AWSProfile  string
	Encryption  string // -e: "AES256" or "aws:kms"
	SSEKMSKeyID string // --sse-kms-key-id

	// Azure
	AzureCredential string // "azure-cli", "managed-identity", "default" or ""
	EncryptionScope string
	MaxBlockSize    int64 // bytes per Put Block; 0: Barman's default 4 MiB
	MaxConcurrency  int   // blocks in flight; 0: 1
	// MaxSinglePutSize is accepted for compatibility. The Azure SDK's
	// streaming upload sends one Put Blob whenever the data fits in one
	// block, so the single-put limit is the block size; honouring a larger
	// limit would mean holding up to that much of the stream in memory.
	MaxSinglePutSize int64

	// GCS
	KMSKeyName string

	// LookupEnv reads the environment; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Log receives the provider SDKs' own log lines, at debug level; they
	// would otherwise go to stderr unformatted.
	Log zerolog.Logger
}

func (o *Options) getenv(name string) string {
	look := o.LookupEnv
	if look == nil {
		look = os.LookupEnv
	}
	v, _ := look(name)
	return v
}

// Store is an open bucket (or container, or directory) and what this
// package needs to use it the way Barman does.
type Store struct {
	Loc    Location
	Bucket *blob.Bucket

	// unavailable, when set, is returned by every operation (a file store
	// whose directory is missing).
	unavailable error
	// retrier runs the attempts of every operation; the provider clients
	// below it make one attempt per request.
	retrier *retry.Retrier

	// provider hooks
	writerOptions func(UploadOptions) (*blob.WriterOptions, error)
	// put and stream, when set, upload a body of known size and one of
	// unknown length without gocloud's writer (see s3upload.go).
	put          func(ctx context.Context, key string, r io.ReadSeeker, size int64, o UploadOptions) error
	stream       func(ctx context.Context, key string, r io.Reader, o UploadOptions) error
	bucketExists func(ctx context.Context) (bool, error)
	close        func() error
	// wp writes objects in parts and deletes in batches (writer.go,
	// delete.go); nil: through gocloud, one object at a time.
	wp  *writePath
	mem *memUploads // a memory store's (NewMemStore)
	// checksContentSHA256: see ChecksContentSHA256.
	checksContentSHA256 bool
}

// ChecksContentSHA256 reports whether the server refuses an upload of
// known size whose body does not have the UploadOptions.ContentSHA256
// given: S3 over plain HTTP, where SigV4 signs the payload's hash. A
// caller that would otherwise hash the body as it is sent, to make sure
// it sends what it hashed, can then leave the check to the server.
func (s *Store) ChecksContentSHA256() bool { return s.checksContentSHA256 }

// Open builds the client for loc's provider and opens its bucket. It does
// not contact the storage.
func Open(ctx context.Context, loc Location, opts Options) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch loc.Provider {
	case S3:
		s, err = openS3(ctx, loc, opts)
	case Azure:
		s, err = openAzure(ctx, loc, opts)
	case GCS:
		s, err = openGCS(ctx, loc, opts)
	case File:
		s, err = openFile(loc)
	default:
		err = fmt.Errorf("unknown cloud provider %q", loc.Provider)
	}
	if err != nil {
		return nil, err
	}
	s.Loc = loc
	if s.retrier == nil {
		s.retrier = &retry.Retrier{Policy: opts.Retry, Transient: Transient, Log: opts.Log}
	}
	return s, nil
}

// Retry runs op, one attempt of an operation on the store, again while it
// fails with a Transient error, under the store's retry policy and ctx's
// deadline (see package retry); what names the operation in the log.
//
// Listings, metadata reads and the bucket check retry by themselves. An
// upload or a download streams data that cannot be read twice: the
// caller retries it whole, with an op that starts from scratch each time
// (reading the file again, truncating what it wrote).
func (s *Store) Retry(ctx context.Context, what string, op func(context.Context) error) error {
	if s.retrier == nil {
		return op(ctx)
	}
	return s.retrier.Do(ctx, what, op)
}

// Close releases the client.
func (s *Store) Close() error {
	var err error
	if s.Bucket != nil {
		err = s.Bucket.Close()
	}
	if s.close != nil {
		if e := s.close(); err == nil {
			err = e
		}
	}
	return err
}

// UploadOptions are the per-object choices of an upload.
type UploadOptions struct {
	// Tags are sent the provider's way: S3 object tags, Azure blob index
	// tags, GCS custom metadata.
	Tags tags.List
	// Metadata is user metadata (x-amz-meta-*, x-ms-meta-*, GCS metadata).
	Metadata map[string]string
	// IfNotExist makes the upload a conditional create: it fails with
	// ErrExists when the key already holds an object.
	IfNotExist bool
	// ContentSHA256, when the caller knows it, is the SHA-256 of the body
	// of known size it uploads. S3 over plain HTTP signs the payload's
	// hash: given this one, the SDK signs it instead of reading the whole
	// body once more to compute it, and the server refuses a body that does
	// not match. Other providers ignore it.
	ContentSHA256 []byte
}

// Upload streams r to key. Nothing is visible under key unless the whole
// stream was stored: every provider commits an object (or the last block
// list, or the final multipart part) only after all of it arrived, and a
// read error from r cancels the upload before anything is committed.
//
// size is the length of r, or -1 when unknown (a compressed stream). A
// body of known size that is also an io.ReadSeeker may be sent without
// being buffered in memory.
func (s *Store) Upload(ctx context.Context, key string, r io.Reader, size int64, o UploadOptions) error {
	if s.unavailable != nil {
		return s.classify(s.unavailable, true)
	}
	// gocloud writers commit what they were given when Close is called,
	// unless the context is cancelled: cancel it when the source fails, so
	// a failing source never leaves a short object behind.
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var src io.Reader = &cancelOnError{r: r, cancel: cancel}
	seeker, seekable := r.(io.Seeker)
	var err error
	sent := false
	if seekable && s.put != nil && size >= 0 {
		err = s.put(ctx, key, seekingSource{src, seeker}, size, o)
		sent = !errors.Is(err, errTooLargeForPut)
	}
	if !sent && s.stream != nil {
		err, sent = s.stream(ctx, key, src, o), true
	}
	if !sent {
		var wo *blob.WriterOptions
		if wo, err = s.writerOptions(o); err != nil {
			return err
		}
		wo.ContentType = "application/octet-stream"
		wo.IfNotExist = o.IfNotExist
		err = s.Bucket.Upload(ctx, key, src, wo)
	}
	if errors.Is(err, ErrExists) || (err != nil && o.IfNotExist && conflict(err)) {
		return fmt.Errorf("%w: %s", ErrExists, key)
	}
	if err != nil && o.IfNotExist && IsNetwork(err) && context.Cause(ctx) == nil {
		// A server may refuse a conditional create as soon as it has the
		// headers, and close the connection while the body is still on its
		// way: the client sees a reset, not the 412 (MinIO does this when
		// another archiver has just created the key). A key taken now means
		// what the 412 means: the caller compares what is there.
		if taken, xerr := s.Bucket.Exists(parent, key); xerr == nil && taken {
			return fmt.Errorf("%w: %s", ErrExists, key)
		}
	}
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		// Report the source's error, not the cancellation it caused.
		err = cause
	}
	return s.classify(err, true)
}

// conflict reports the answer to a conditional create whose key is taken:
// 412 Precondition Failed (S3, GCS), 409 BlobAlreadyExists (Azure), even
// when the SDK could not read the answer's body to name the error.
func conflict(err error) bool {
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return true
	}
	status, code := httpStatus(err)
	return status == http.StatusPreconditionFailed || (status == http.StatusConflict && code == "BlobAlreadyExists")
}

// cancelOnError cancels the upload's context as soon as the source fails.
type cancelOnError struct {
	r      io.Reader
	cancel context.CancelCauseFunc
}

func (c *cancelOnError) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.cancel(err)
	}
	return n, err
}

// seekingSource is a cancelOnError that keeps its source's io.Seeker.
type seekingSource struct {
	io.Reader
	io.Seeker
}

// Object is one listed object.
type Object struct {
	Key  string
	Size int64
	// ModTime is when the storage recorded the object's content, and
	// Version names its current state for DeleteIfVersion and Touch; see
	// conditional.go.
	ModTime time.Time
	Version string
}

// List returns the objects whose keys start with prefix, in the
// provider's (lexicographic) order. With delimiter "/", "directories" are
// skipped; with "", the listing is recursive.
func (s *Store) List(ctx context.Context, prefix, delimiter string) ([]Object, error) {
	var out []Object
	err := s.Walk(ctx, prefix, delimiter, func(o Object) error {
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Walk calls fn for each object List would return, in the same order, as
// the listing's pages arrive: memory does not grow with the number of
// objects, and the walk stops early when fn returns an error, which Walk
// then returns unchanged.
func (s *Store) Walk(ctx context.Context, prefix, delimiter string, fn func(Object) error) error {
	return s.walkListing(ctx, prefix, delimiter, func(o *blob.ListObject) error {
		if o.IsDir {
			return nil
		}
		return fn(s.listed(o))
	})
}

// walkListing calls fn for every entry of the listing, "directories"
// included, page by page, so that a failed request is retried alone, from
// the page it was to fetch, without calling fn twice for an entry.
func (s *Store) walkListing(ctx context.Context, prefix, delimiter string, fn func(*blob.ListObject) error) error {
	if s.unavailable != nil {
		return s.classify(s.unavailable, true)
	}
	opts := &blob.ListOptions{Prefix: prefix, Delimiter: delimiter}
	token := blob.FirstPageToken
	for {
		var (
			page []*blob.ListObject
			next []byte
		)
		err := s.Retry(ctx, "listing "+prefix, func(ctx context.Context) error {
			var err error
			page, next, err = s.Bucket.ListPage(ctx, token, listPageSize, opts)
			return s.classify(err, true)
		})
		if err != nil {
			return err
		}
		for _, o := range page {
			if err := fn(o); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			return nil
		}
		token = next
	}
}

// listPageSize is the number of objects a listing request asks for: the
// most S3 and Azure return in one page.
const listPageSize = 1000

// NewReader opens key for reading. It is not retried: reading the object
// is part of the caller's attempt (see Retry).
func (s *Store) NewReader(ctx context.Context, key string) (*blob.Reader, error) {
	if s.unavailable != nil {
		return nil, s.classify(s.unavailable, true)
	}
	r, err := s.Bucket.NewReader(ctx, key, nil)
	return r, s.classify(err, false)
}

// Metadata returns key's user metadata.
func (s *Store) Metadata(ctx context.Context, key string) (map[string]string, error) {
	if s.unavailable != nil {
		return nil, s.classify(s.unavailable, true)
	}
	var md map[string]string
	err := s.Retry(ctx, "reading the metadata of "+key, func(ctx context.Context) error {
		a, err := s.Bucket.Attributes(ctx, key)
		if err != nil {
			return s.classify(err, false)
		}
		md = a.Metadata
		return nil
	})
	return md, err
}

// BucketExists asks the storage whether the bucket exists, as Barman's
// connectivity test does (HeadBucket on S3, a one-item listing under the
// prefix on Azure, which works with container-scoped SAS tokens, bucket
// metadata on GCS).
func (s *Store) BucketExists(ctx context.Context) (bool, error) {
	var ok bool
	err := s.Retry(ctx, "checking bucket "+s.Loc.Bucket, func(ctx context.Context) error {
		var err error
		ok, err = s.bucketExists(ctx)
		return s.classify(err, false)
	})
	return ok, err
}

// Verify is Barman's connectivity test (--test): the storage must answer
// and the bucket must exist.
func (s *Store) Verify(ctx context.Context) error {
	ok, err := s.BucketExists(ctx)
	if err != nil {
		return err
	}
	if !ok {
		bm := s.MissingBucketError()
		return &Error{Kind: BucketMissing, Msg: bm.Error(), Err: bm}
	}
	return nil
}
