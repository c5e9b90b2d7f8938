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
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package storage
