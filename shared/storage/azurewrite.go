package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/gcerrors"
)

// azureLimits are Azure's bounds on the blocks of a block blob.
var azureLimits = partLimits{maxParts: azureMaxBlocks, minSize: azureMinBlock, maxSize: azureMaxBlockSize}

// azureWritePath is how an Azure store writes objects in blocks and
// deletes.
func (s *Store) azureWritePath(client *container.Client) *writePath {
	return &writePath{
		multipart: func(key string, o UploadOptions) (multipart, error) {
			opts, err := s.azureUploadOptions(key, o)
			if err != nil {
				return nil, err
			}
			return &azureBlocks{blob: client.NewBlockBlobClient(azureBlobName(key)), opts: opts}, nil
		},
		limits: azureLimits,
		deleteBatch: func(ctx context.Context, keys []string) (batchResult, error) {
			return azureDeleteBatch(ctx, client, keys)
		},
		maxBatch: azureMaxDeleteBatch,
	}
}

// errOptionsTaken ends the gocloud write azureUploadOptions opens only to
// see its options.
var errOptionsTaken = errors.New("upload options taken")

// azureUploadOptions are the options gocloud's driver would give the SDK
// for an upload of key: metadata with gocloud's escaping of keys and values
// (so that Store.Metadata reads them back), the content type, the
// conditional create, and what the store's BeforeWrite hook adds (tags,
// encryption scope, CRC64s). The driver is asked for them, and its write
// abandoned before it sends anything, rather than copying how it builds
// them.
func (s *Store) azureUploadOptions(key string, o UploadOptions) (*azblob.UploadStreamOptions, error) {
	wo, err := s.blobWriterOptions(o)
	if err != nil {
		return nil, err
	}
	var taken *azblob.UploadStreamOptions
	hook := wo.BeforeWrite
	wo.BeforeWrite = func(as func(any) bool) error {
		if err := hook(as); err != nil {
			return err
		}
		if !as(&taken) {
			return errors.New("azureblob no longer exposes *azblob.UploadStreamOptions")
		}
		return errOptionsTaken
	}
	if _, err := s.Bucket.NewWriter(context.Background(), key, wo); taken == nil {
		return nil, fmt.Errorf("preparing the upload of %s: %w", key, err)
	}
	return taken, nil
}

// azureBlocks is one block blob written block by block: Put Block for
// each part, with Barman's block ids (the part number on five digits,
// base64-encoded by the SDK as by Python's), and Put Block List at the end
// with the tags, the metadata and the conditional create.
type azureBlocks struct {
	blob    *blockblob.Client
	opts    *azblob.UploadStreamOptions
	commits int
}

func azureBlockID(n int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%05d", n))
}

// put sends an object smaller than one block in one Put Blob.
func (a *azureBlocks) put(ctx context.Context, data []byte) error {
	o := a.opts
	_, err := a.blob.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Tags: o.Tags, Metadata: o.Metadata, HTTPHeaders: o.HTTPHeaders, AccessConditions: o.AccessConditions,
		CPKScopeInfo: o.CPKScopeInfo, TransactionalValidation: o.TransactionalValidation,
	})
	return azureError(err)
}

// begin does nothing: a block blob needs no upload id.
func (a *azureBlocks) begin(context.Context) error { return nil }

func (a *azureBlocks) part(ctx context.Context, p part) error {
	_, err := a.blob.StageBlock(ctx, azureBlockID(p.n), streaming.NopCloser(bytes.NewReader(p.data)), &blockblob.StageBlockOptions{
		CPKScopeInfo: a.opts.CPKScopeInfo, TransactionalValidation: a.opts.TransactionalValidation,
	})
	return azureError(err)
}

// complete commits the blocks in order. Committing the same list again is
// harmless; but with the conditional create, an attempt after one whose
// answer was lost finds the key taken by the blob that attempt made: a
// blob of the size written is taken for it.
func (a *azureBlocks) complete(ctx context.Context, parts int, size int64) error {
	ids := make([]string, parts)
	for i := range ids {
		ids[i] = azureBlockID(i + 1)
	}
	o := a.opts
	a.commits++
	_, err := a.blob.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		Tags: o.Tags, Metadata: o.Metadata, HTTPHeaders: o.HTTPHeaders, AccessConditions: o.AccessConditions,
		CPKScopeInfo: o.CPKScopeInfo,
	})
	if err != nil && a.commits > 1 && conflict(err) {
		if p, perr := a.blob.GetProperties(ctx, nil); perr == nil && p.ContentLength != nil && *p.ContentLength == size {
			return nil
		}
	}
	return azureError(err)
}

// abort does nothing: staged blocks that are never committed stay
// invisible and are discarded by the service (see Writer).
func (a *azureBlocks) abort(context.Context) error { return nil }

// azureError gives an error of a direct SDK call the code gocloud would:
// a missing container is a missing bucket for classify.
func azureError(err error) error {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	code := gcerrors.Unknown
	switch re.StatusCode {
	case http.StatusNotFound:
		code = gcerrors.NotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		code = gcerrors.PermissionDenied
	case http.StatusPreconditionFailed:
		code = gcerrors.FailedPrecondition
	}
	return &codedError{code: code, err: err}
}

// azureDeleteBatch deletes keys with one blob batch request (Barman's
// AzureCloudInterface._delete_objects_batch, delete_blobs). A blob that is
// not there (404 BlobNotFound) is deleted as far as we are concerned;
// Barman logs a warning for it.
func azureDeleteBatch(ctx context.Context, client *container.Client, keys []string) (batchResult, error) {
	bb, err := client.NewBatchBuilder()
	if err != nil {
		return batchResult{}, err
	}
	for _, k := range keys {
		if err := bb.Delete(azureBlobName(k), nil); err != nil {
			return batchResult{}, err
		}
	}
	resp, err := client.SubmitBatch(ctx, bb, nil)
	if err != nil {
		return batchResult{}, azureError(err)
	}
	var (
		r    batchResult
		errs []*DeleteError
	)
	for i, item := range resp.Responses {
		// Content-ID numbers the sub-requests from 0; the blob name the SDK
		// gives is wrong for a path-style (emulator) URL.
		if item.ContentID != nil {
			i = *item.ContentID
		}
		if i < 0 || i >= len(keys) {
			return r, fmt.Errorf("the blob batch answered for sub-request %d of %d", i, len(keys))
		}
		var re *azcore.ResponseError
		switch {
		case item.Error == nil:
			r.deleted = append(r.deleted, keys[i])
		case errors.As(item.Error, &re) && re.ErrorCode == "BlobNotFound":
			r.deleted = append(r.deleted, keys[i])
		case errors.As(item.Error, &re) && re.ErrorCode == "ContainerNotFound":
			return r, &codedError{code: gcerrors.NotFound, err: re}
		case re != nil:
			// The error's text quotes the request URL, where a SAS token
			// may ride: only the status and code are reported.
			errs = append(errs, &DeleteError{Key: keys[i], Code: re.ErrorCode, Status: re.StatusCode, Err: re})
		default:
			errs = append(errs, &DeleteError{Key: keys[i], Err: item.Error})
		}
	}
	return r, keyErrors(errs)
}
