package storage

import (
	"context"
	"errors"

	"gocloud.dev/blob"

	"github.com/barmancloud/barman-cloud/shared/storage/gcsrest"
)

func openGCS(ctx context.Context, loc Location, opts Options) (*Store, error) {
	// Application Default Credentials, or STORAGE_EMULATOR_HOST without
	// authentication, as Google's client libraries do. gcsrest rather than
	// gocloud's gcsblob: cloud.google.com/go/storage links gRPC and
	// OpenTelemetry, which nearly doubled the binary and its start-up RSS.
	emulator := opts.getenv("STORAGE_EMULATOR_HOST")
	// One attempt per request: shared/retry retries whole operations
	// (see Store.Retry).
	client, err := gcsrest.NewClient(ctx, emulator,
		gcsrest.WithTransport(newTransport(opts.ReadTimeout)), gcsrest.WithRetries(0))
	if err != nil {
		return nil, err
	}
	if emulator != "" {
		opts.Log.Debug().Str("endpoint", client.Endpoint()).Msg("Google Cloud Storage emulator, without authentication")
	}
	s := &Store{Bucket: client.OpenBucket(loc.Bucket), close: client.Close}
	s.writerOptions = func(u UploadOptions) (*blob.WriterOptions, error) {
		// Barman sends tags as custom metadata (blob.metadata = dict(tags)),
		// keys as given; they share the namespace with our own metadata
		// keys. They go through the driver's own options because gocloud
		// lower-cases the keys of WriterOptions.Metadata.
		md := map[string]string{}
		for k, v := range u.Tags.Map() {
			md[k] = v
		}
		for k, v := range u.Metadata {
			md[k] = v
		}
		return &blob.WriterOptions{
			BeforeWrite: func(as func(any) bool) error {
				var w *gcsrest.WriteOptions
				if !as(&w) {
					return errors.New("the GCS driver does not expose its write options: metadata and the KMS key cannot be set")
				}
				w.Metadata = md
				w.KMSKeyName = opts.KMSKeyName
				return nil
			},
		}, nil
	}
	s.wp = s.gcsWritePath(client, loc.Bucket)
	s.bucketExists = func(ctx context.Context) (bool, error) {
		return client.BucketExists(ctx, loc.Bucket)
	}
	return s, nil
}
