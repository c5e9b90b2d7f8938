// Package storage turns a Barman destination URL and the provider options
// into a gocloud.dev *blob.Bucket, and holds the provider-specific parts of
// reading and writing WAL objects in one place.
//
// # URLs
//
// ParseURL reads URLs exactly as Barman's providers do (spec §3.1):
// s3://BUCKET/PREFIX; https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX
// or an Azurite-style http://HOST:PORT/ACCOUNT/CONTAINER/PREFIX;
// gs://BUCKET/PREFIX or the Cloud Console browser URL. A file:///DIR URL
// selects a local directory, whatever --cloud-provider says: an extension
// of Barman, for trying the tools out and for tests.
//
// # Clients
//
// The provider SDK clients are built here rather than through gocloud's URL
// openers, whose query parameters, credential order (Azure) and stdout
// warnings (GCS) differ from Barman's. Credentials follow Barman:
//
//   - S3: the AWS SDK default chain (environment, shared config and
//     credentials files, --aws-profile, SSO, web identity, container and
//     instance metadata); region from AWS_REGION or AWS_DEFAULT_REGION or
//     the profile, us-east-1 otherwise; path-style addressing with
//     --endpoint-url; AWS_CA_BUNDLE; AWS_REQUEST_CHECKSUM_CALCULATION.
//   - Azure: --azure-credential; else AZURE_STORAGE_CONNECTION_STRING; else
//     AZURE_STORAGE_SAS_TOKEN; else AZURE_STORAGE_KEY; else the default
//     Azure credential chain.
//   - GCS: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS),
//     or STORAGE_EMULATOR_HOST.
//
// # Write options that must reach the server
//
// Tags, server-side encryption, the Azure encryption scope and the GCS KMS
// key are set through WriterOptions.BeforeWrite. Each hook fails when the
// driver does not expose the type it asks for, instead of dropping the
// option silently: gocloud.dev v0.46 changed the S3 type from
// *s3.PutObjectInput to *transfermanager.UploadObjectInput, and a hook
// asking for the old type would simply have sent no tags.
//
// # Versions
//
// Listings report each object's time and version (Object.ModTime and
// Version); Create (a conditional create that returns the version it
// committed), Stat, Touch and DeleteIfVersion act on versions, for
// barman-cloud-wal-archive's rule of one content per WAL name. What each
// provider, and each test server, makes of them is in conditional.go.
//
// # Retries and timeouts
//
// Every operation is retried by shared/retry, and only there: the S3
// client has a NopRetryer, azcore's retries are off, gcsrest makes no
// retries of its own (an SDK retrying under an operation that is retried
// would multiply the attempts). Transient tells what is worth another
// attempt. Listings (page by page), metadata reads and the bucket check
// retry inside Store, as do the steps of a Writer and the batches of a
// Delete; Upload and NewReader stream data that cannot be replayed, and
// the tools retry them whole through Store.Retry.
//
// A Writer (writer.go) stores an object of any size, streamed: parts of
// PartSize bytes (Barman's rule for the expected size) are uploaded by
// Jobs goroutines from at most Jobs+1 buffers, and each part is retried
// alone from its buffer; a failure aborts the upload (S3 multipart upload,
// GCS resumable session; Azure's uncommitted blocks stay invisible).
// Delete and DeletePrefix (delete.go) delete in batches, each batch
// retried, the provider's batch call where it has one.
//
// Every provider sends its requests through one transport (transport.go)
// whose only timeout is an inactivity window per connection, --read-timeout
// (60 s by default): any byte read or written pushes it forward, so a slow
// transfer that keeps moving is never cut short, and one that stops moving
// in either direction fails and is retried. The whole run's time limit,
// --max-time, is the context's deadline.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package storage
