package storage

import (
	"context"
	"errors"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
)

func openGCS(ctx context.Context, loc Location, opts Options) (*Store, error) {
	// storage.NewClient finds Application Default Credentials itself and
	// honours STORAGE_EMULATOR_HOST (then without authentication).
	client, err := storage.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	b, err := gcsblob.OpenBucket(ctx, nil, loc.Bucket, &gcsblob.Options{Client: client})
	if err != nil {
		client.Close()
		return nil, err
	}
	s := &Store{Bucket: b, close: client.Close}
	s.writerOptions = func(u UploadOptions) (*blob.WriterOptions, error) {
		// Barman sends tags as custom metadata; they share the namespace
		// with our own metadata keys.
		md := map[string]string{}
		for k, v := range u.Tags.Map() {
			md[k] = v
		}
		for k, v := range u.Metadata {
			md[k] = v
		}
		if len(md) == 0 {
			md = nil
		}
		return &blob.WriterOptions{
			Metadata: md,
			// A negative size turns chunking off: the object is streamed in
			// one request, without a buffer of the chunk size.
			BufferSize: -1,
			BeforeWrite: func(as func(any) bool) error {
				var w *storage.Writer
				if !as(&w) {
					return errors.New("gcsblob no longer exposes *storage.Writer: the KMS key cannot be set")
				}
				if opts.KMSKeyName != "" {
					w.KMSKeyName = opts.KMSKeyName
				}
				return nil
			},
		}, nil
	}
	s.bucketExists = func(ctx context.Context) (bool, error) {
		_, err := client.Bucket(loc.Bucket).Attrs(ctx)
		if errors.Is(err, storage.ErrBucketNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	return s, nil
}
