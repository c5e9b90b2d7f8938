package storage

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/api/googleapi"

	"github.com/barmancloud/barman-cloud/shared/storage/gcsrest"
)

// gcsLimits: chunks of any number, multiples of 256 KiB but the last.
var gcsLimits = partLimits{minSize: gcsChunkQuantum, quantum: gcsChunkQuantum}

// gcsWritePath is how a GCS store writes objects in chunks (one resumable
// session, chunks in order) and deletes (JSON batches).
func (s *Store) gcsWritePath(client *gcsrest.Client, bucket string) *writePath {
	return &writePath{
		multipart: func(key string, o UploadOptions) (multipart, error) {
			ro, err := s.gcsResumableOptions(o)
			if err != nil {
				return nil, err
			}
			return &gcsSession{s: s, c: client, bucket: bucket, key: key, o: o, ro: ro}, nil
		},
		limits:     gcsLimits,
		sequential: true,
		deleteBatch: func(ctx context.Context, keys []string) (batchResult, error) {
			return gcsDeleteBatch(ctx, client, bucket, keys)
		},
		maxBatch: gcsMaxDeleteBatch,
	}
}

// gcsResumableOptions are the attributes the store's BeforeWrite hook
// gives a single-request upload (tags and metadata as custom metadata,
// the KMS key), for a resumable one.
func (s *Store) gcsResumableOptions(o UploadOptions) (gcsrest.ResumableOptions, error) {
	ro := gcsrest.ResumableOptions{ContentType: "application/octet-stream", IfNotExist: o.IfNotExist}
	wo, err := s.writerOptions(o)
	if err != nil {
		return ro, err
	}
	var w gcsrest.WriteOptions
	err = wo.BeforeWrite(func(i any) bool {
		p, ok := i.(**gcsrest.WriteOptions)
		if ok {
			*p = &w
		}
		return ok
	})
	ro.Metadata, ro.KMSKeyName = w.Metadata, w.KMSKeyName
	return ro, err
}

// gcsSession is one object written through a resumable upload session.
type gcsSession struct {
	s      *Store
	c      *gcsrest.Client
	bucket string
	key    string
	o      UploadOptions
	ro     gcsrest.ResumableOptions
	up     *gcsrest.Upload
}

// put sends an object smaller than one chunk in one request.
func (g *gcsSession) put(ctx context.Context, data []byte) error {
	return g.s.directPut(ctx, g.key, data, g.o)
}

func (g *gcsSession) begin(ctx context.Context) error {
	up, err := g.c.StartUpload(ctx, g.bucket, g.key, g.ro)
	if err != nil {
		return gcsError(err)
	}
	g.up = up
	return nil
}

func (g *gcsSession) part(ctx context.Context, p part) error {
	return gcsError(g.up.WriteChunk(ctx, p.off, p.data, p.final))
}

// complete finalizes an object whose last chunk was full, and so was sent
// before the Writer knew it was the last.
func (g *gcsSession) complete(ctx context.Context, _ int, size int64) error {
	if g.up.Object() != nil {
		return nil
	}
	return gcsError(g.up.WriteChunk(ctx, size, nil, true))
}

func (g *gcsSession) abort(ctx context.Context) error {
	if g.up == nil {
		return nil
	}
	return gcsError(g.up.Cancel(ctx))
}

// gcsError gives an error of a direct gcsrest call the code its driver
// would: a missing bucket is a missing bucket for classify.
func gcsError(err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: gcsrest.ErrorCode(err), err: err}
}

// gcsDeleteBatch deletes keys with one JSON batch request (Barman deletes
// inside client.batch()). A 404 is a key already gone, or a missing
// bucket: Delete tells them apart.
func gcsDeleteBatch(ctx context.Context, client *gcsrest.Client, bucket string, keys []string) (batchResult, error) {
	results, err := client.DeleteObjects(ctx, bucket, keys)
	if err != nil {
		return batchResult{}, gcsError(err)
	}
	var (
		r    batchResult
		errs []*DeleteError
	)
	for i, e := range results {
		var g *googleapi.Error
		switch {
		case e == nil:
			r.deleted = append(r.deleted, keys[i])
		case errors.As(e, &g) && g.Code == http.StatusNotFound:
			r.absent = append(r.absent, keys[i])
		case g != nil:
			code := ""
			if len(g.Errors) > 0 {
				code = g.Errors[0].Reason
			}
			errs = append(errs, &DeleteError{Key: keys[i], Code: code, Message: g.Message, Status: g.Code, Err: g})
		default:
			errs = append(errs, &DeleteError{Key: keys[i], Err: e})
		}
	}
	return r, keyErrors(errs)
}
