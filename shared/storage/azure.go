package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/gcerrors"
)

// Barman's defaults for its Azure block options.
const (
	azureDefaultBlockSize   = 4 << 20
	azureDefaultConcurrency = 1
)

// azureClient builds the container client with Barman's credential order
// (barman/cloud_providers/azure_blob_storage.py _reinit_session), which is
// not gocloud's: --azure-credential, then a connection string, a SAS token,
// an account key, and the default credential chain last.
func azureClient(loc Location, opts Options) (*container.Client, error) {
	copts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: newHTTPClient(opts.ReadTimeout),
		// One attempt per request: shared/retry retries whole operations
		// (see Store.Retry). azcore's default, three retries with waits
		// of 4 s and more, took 17 to 26 s to give up on a refused port.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
	if opts.AzureCredential != "" {
		if loc.Emulated {
			return nil, errors.New("--azure-credential cannot be used with an emulated storage URL: set AZURE_STORAGE_CONNECTION_STRING")
		}
		var cred azcore.TokenCredential
		var err error
		switch opts.AzureCredential {
		case "azure-cli":
			cred, err = azidentity.NewAzureCLICredential(nil)
		case "managed-identity":
			cred, err = azidentity.NewManagedIdentityCredential(nil)
		case "default":
			cred, err = azidentity.NewDefaultAzureCredential(nil)
		default:
			err = fmt.Errorf("unknown Azure credential %q", opts.AzureCredential)
		}
		if err != nil {
			return nil, err
		}
		return container.NewClient(containerURL(loc), cred, copts)
	}
	if cs := opts.getenv("AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
		// The account and endpoint come from the connection string; only
		// the container and prefix come from the URL, as in Barman.
		c, err := container.NewClientFromConnectionString(cs, loc.Bucket, copts)
		if err != nil {
			// The SDK's message may quote the string, which holds the key.
			return nil, errors.New("invalid AZURE_STORAGE_CONNECTION_STRING")
		}
		return c, nil
	}
	if loc.Emulated {
		return nil, errors.New("A connection string must be provided when using emulated storage")
	}
	if sas := opts.getenv("AZURE_STORAGE_SAS_TOKEN"); sas != "" {
		return container.NewClientWithNoCredential(containerURL(loc)+"?"+strings.TrimPrefix(sas, "?"), copts)
	}
	if key := opts.getenv("AZURE_STORAGE_KEY"); key != "" {
		u, _ := url.Parse(loc.AccountURL)
		account, _, _ := strings.Cut(u.Hostname(), ".")
		cred, err := container.NewSharedKeyCredential(account, key)
		if err != nil {
			return nil, errors.New("invalid AZURE_STORAGE_KEY")
		}
		return container.NewClientWithSharedKeyCredential(containerURL(loc), cred, copts)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, err
	}
	return container.NewClient(containerURL(loc), cred, copts)
}

func containerURL(loc Location) string {
	return loc.AccountURL + "/" + url.PathEscape(loc.Bucket)
}

func openAzure(ctx context.Context, loc Location, opts Options) (*Store, error) {
	client, err := azureClient(loc, opts)
	if err != nil {
		return nil, err
	}
	b, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, err
	}
	blockSize := opts.MaxBlockSize
	if blockSize == 0 {
		blockSize = azureDefaultBlockSize
	}
	concurrency := opts.MaxConcurrency
	if concurrency == 0 {
		concurrency = azureDefaultConcurrency
	}
	crc64 := azureChecksums(client.URL())
	s := &Store{Bucket: b}
	s.writerOptions = func(u UploadOptions) (*blob.WriterOptions, error) {
		return &blob.WriterOptions{
			Metadata:       u.Metadata,
			BufferSize:     int(blockSize),
			MaxConcurrency: concurrency,
			BeforeWrite: func(as func(any) bool) error {
				var o *azblob.UploadStreamOptions
				if !as(&o) {
					return errors.New("azureblob no longer exposes *azblob.UploadStreamOptions: tags and encryption scope cannot be set")
				}
				if len(u.Tags) > 0 {
					o.Tags = u.Tags.Map()
				}
				if crc64 {
					o.TransactionalValidation = azblobblob.TransferValidationTypeComputeCRC64()
				}
				if opts.EncryptionScope != "" {
					o.CPKScopeInfo = &azblobblob.CPKScopeInfo{EncryptionScope: &opts.EncryptionScope}
				}
				return nil
			},
		}, nil
	}
	s.wp = s.azureWritePath(client)
	s.bucketExists = func(ctx context.Context) (bool, error) {
		// Barman lists under the prefix, so that a SAS token scoped to the
		// container (which cannot read container properties) works.
		_, _, err := b.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: strings.Trim(loc.Prefix, "/")})
		if err != nil && gcerrors.Code(err) == gcerrors.NotFound && !IsNetwork(err) {
			return false, nil
		}
		return err == nil, err
	}
	return s, nil
}

// azureChecksums reports whether uploads to the container at containerURL
// carry a CRC64 of each request's data (x-ms-content-crc64), which Azure
// checks on receipt. Azurite, the emulator, refuses the header in its
// default strict mode (500 FeatureNotSupported), and an emulator is what a
// loopback endpoint is; every other endpoint gets it.
func azureChecksums(containerURL string) bool {
	u, err := url.Parse(containerURL)
	if err != nil {
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
