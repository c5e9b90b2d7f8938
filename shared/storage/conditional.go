package storage

// Versions of objects, and the operations conditional on them, on which
// barman-cloud-wal-archive builds its rule of one content per WAL name: an
// archiver that loses a race removes the object it created, and only if it
// is still the version it created (DeleteIfVersion); an archiver that finds
// its own content already stored makes that object its own version (Touch),
// so that the archiver that created it can no longer remove it.
//
// A version token is what each provider's preconditions compare:
//
//   - S3: the ETag (If-Match). For an object uploaded in one request it is
//     the MD5 of the content, so two uploads of the same bytes have the
//     same version, and nothing short of a new upload changes it: Touch is
//     not possible (ErrTouchUnsupported). MinIO, as tested, ignores
//     If-Match on DELETE: the delete is then unconditional.
//   - Azure: the ETag (If-Match). Every write, a metadata write included,
//     gives a new one.
//   - GCS: "generation/metageneration" (ifGenerationMatch and
//     ifMetagenerationMatch); a metadata update increments the
//     metageneration. fake-gcs-server, as tested, ignores both on DELETE
//     and PATCH.
//   - file://: the inode and ctime (see package localfs), under a lock of
//     the key's directory.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/barmancloud/barman-cloud/shared/storage/gcsrest"
	"github.com/barmancloud/barman-cloud/shared/storage/localfs"
)

// ErrVersionChanged is returned by DeleteIfVersion and Touch when the
// object no longer has the version named: it was replaced, or touched.
var ErrVersionChanged = errors.New("the object was replaced or changed")

// ErrTouchUnsupported is returned by Touch where an object cannot be given
// a new version without uploading it again (S3).
var ErrTouchUnsupported = errors.New("this storage cannot give an object a new version without rewriting it")

// ObjectInfo is what Stat reports of one object.
type ObjectInfo struct {
	Metadata map[string]string
	Size     int64
	// ModTime and Version are as in Object.
	ModTime time.Time
	Version string
}

// Create uploads r to key as a conditional create (see Upload, whose
// IfNotExist it sets) and returns the version of the object it committed,
// as the provider's answer gave it: "" when it gave none.
func (s *Store) Create(ctx context.Context, key string, r io.Reader, size int64, o UploadOptions) (string, error) {
	o.IfNotExist = true
	var (
		version string
		azResp  *http.Response
	)
	switch s.Loc.Provider {
	case S3:
		ctx = context.WithValue(ctx, etagKey{}, &version)
	case Azure:
		// The last answer of the upload is its commit (Put Blob, or Put
		// Block List after every block).
		ctx = policy.WithCaptureResponse(ctx, &azResp)
	case GCS:
		ctx = gcsrest.WithStored(ctx, func(o *gcsrest.Object) { version = gcsrest.VersionOf(o).String() })
	case File:
		ctx = localfs.WithCommitted(ctx, func(v string) { version = v })
	}
	if err := s.Upload(ctx, key, r, size, o); err != nil {
		return "", err
	}
	if azResp != nil {
		version = quoted(azResp.Header.Get("ETag"))
	}
	return version, nil
}

type etagKey struct{}

// reportETag hands the ETag of an S3 write to Create.
func reportETag(ctx context.Context, etag *string) {
	if p, ok := ctx.Value(etagKey{}).(*string); ok {
		*p = aws.ToString(etag)
	}
}

// Stat returns key's metadata, size, time and version, in one request.
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if s.unavailable != nil {
		return ObjectInfo{}, s.classify(s.unavailable, true)
	}
	var info ObjectInfo
	err := s.Retry(ctx, "reading the attributes of "+key, func(ctx context.Context) error {
		a, err := s.Bucket.Attributes(ctx, key)
		if err != nil {
			return s.classify(err, false)
		}
		info = ObjectInfo{Metadata: a.Metadata, Size: a.Size, ModTime: a.ModTime, Version: quoted(a.ETag)}
		if !a.CreateTime.IsZero() {
			info.ModTime = a.CreateTime
		}
		switch s.Loc.Provider {
		case GCS:
			var o gcsrest.Object
			if a.As(&o) {
				info.Version = gcsrest.VersionOf(&o).String()
			}
		case File:
			var fi fs.FileInfo
			if a.As(&fi) {
				info.Version = localfs.Version(fi)
			}
		}
		return nil
	})
	return info, err
}

// listed is the Object of a listing's item. ModTime is when the storage
// recorded the object's content: its creation time where the provider
// lists one (Azure Creation-Time, GCS timeCreated), which metadata updates
// (Touch) do not move; else its last modification, which on S3 and in a
// directory only a new content changes. Azure lists times to the second.
func (s *Store) listed(o *blob.ListObject) Object {
	obj := Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime}
	switch s.Loc.Provider {
	case S3:
		var so s3types.Object
		if o.As(&so) {
			obj.Version = aws.ToString(so.ETag)
		}
	case Azure:
		var bi container.BlobItem
		if o.As(&bi) && bi.Properties != nil {
			if bi.Properties.ETag != nil {
				obj.Version = quoted(string(*bi.Properties.ETag))
			}
			if bi.Properties.CreationTime != nil {
				obj.ModTime = *bi.Properties.CreationTime
			}
		}
	case GCS:
		var g gcsrest.Object
		if o.As(&g) {
			obj.Version = gcsrest.VersionOf(&g).String()
			if t, err := time.Parse(time.RFC3339Nano, g.TimeCreated); err == nil {
				obj.ModTime = t
			}
		}
	case File:
		var fi fs.FileInfo
		if o.As(&fi) {
			obj.Version = localfs.Version(fi)
		}
	}
	return obj
}

// quoted is an ETag as HTTP headers carry it, in double quotes: Azure's
// listings give it bare, its answers' headers quoted.
func quoted(etag string) string {
	if etag == "" || strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// DeleteIfVersion deletes key only while it has version (from Create,
// Stat, Touch or a listing): ErrVersionChanged when it has another. An
// object already gone is not an error. The condition is the provider's
// (see above): on a server that ignores it, the delete is unconditional.
func (s *Store) DeleteIfVersion(ctx context.Context, key, version string) error {
	if s.unavailable != nil {
		return s.classify(s.unavailable, true)
	}
	if version == "" {
		return fmt.Errorf("deleting %s: %w (its version is unknown)", key, ErrVersionChanged)
	}
	err := s.Retry(ctx, "deleting "+key, func(ctx context.Context) error {
		return s.conditionalError(s.deleteIfVersion(ctx, key, version))
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

func (s *Store) deleteIfVersion(ctx context.Context, key, version string) error {
	switch s.Loc.Provider {
	case S3:
		var c *s3.Client
		if !s.Bucket.As(&c) {
			return errors.New("the S3 driver does not expose its client")
		}
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Loc.Bucket), Key: aws.String(key), IfMatch: aws.String(version)})
		if err != nil {
			return &codedError{code: s3ErrorCode(err), err: err}
		}
		return nil
	case Azure:
		bc, err := s.azureBlob(key)
		if err != nil {
			return err
		}
		etag := azcore.ETag(version)
		_, err = bc.Delete(ctx, &azblobblob.DeleteOptions{AccessConditions: azureIfMatch(&etag)})
		return err
	case GCS:
		c, v, err := s.gcsVersion(version)
		if err != nil {
			return err
		}
		return c.DeleteVersion(ctx, s.Loc.Bucket, key, v)
	case File:
		return fileError(localfs.DeleteVersion(ctx, s.Loc.Bucket, key, version))
	}
	return fmt.Errorf("unknown cloud provider %q", s.Loc.Provider)
}

// Touch sets the user metadata entries md on key (other entries are kept,
// and the content) while it has version, which gives it a new version, and
// returns it: afterwards, a DeleteIfVersion naming the old version fails.
// ErrVersionChanged when the object has another version,
// ErrTouchUnsupported on S3.
func (s *Store) Touch(ctx context.Context, key, version string, md map[string]string) (string, error) {
	if s.unavailable != nil {
		return "", s.classify(s.unavailable, true)
	}
	if s.Loc.Provider == S3 {
		return "", ErrTouchUnsupported
	}
	var nv string
	err := s.Retry(ctx, "updating the metadata of "+key, func(ctx context.Context) error {
		var err error
		nv, err = s.touch(ctx, key, version, md)
		return s.conditionalError(err)
	})
	return nv, err
}

func (s *Store) touch(ctx context.Context, key, version string, md map[string]string) (string, error) {
	switch s.Loc.Provider {
	case Azure:
		bc, err := s.azureBlob(key)
		if err != nil {
			return "", err
		}
		etag := azcore.ETag(version)
		// Set Blob Metadata replaces all of it: write back what is there,
		// read under the same condition, with md added under the names
		// gocloud's driver gives them. Azure gives any write a new ETag.
		p, err := bc.GetProperties(ctx, &azblobblob.GetPropertiesOptions{AccessConditions: azureIfMatch(&etag)})
		if err != nil {
			return "", err
		}
		// Names are case-insensitive on Azure, and the SDK hands back
		// the ones it read from canonicalised headers ("Barman__0x2d__...");
		// sent back beside ours they would be two spellings of one header.
		all := map[string]*string{}
		for k, v := range p.Metadata {
			all[strings.ToLower(k)] = v
		}
		for k, v := range md {
			all[azureMetadataName(k)] = &v
		}
		r, err := bc.SetMetadata(ctx, all, &azblobblob.SetMetadataOptions{AccessConditions: azureIfMatch(&etag)})
		if err != nil {
			return "", err
		}
		if r.ETag == nil {
			return "", nil
		}
		return quoted(string(*r.ETag)), nil
	case GCS:
		c, v, err := s.gcsVersion(version)
		if err != nil {
			return "", err
		}
		nv, err := c.Touch(ctx, s.Loc.Bucket, key, v, md)
		if err != nil {
			return "", err
		}
		return nv.String(), nil
	case File:
		v, err := localfs.Touch(ctx, s.Loc.Bucket, key, version, md)
		return v, fileError(err)
	}
	return "", fmt.Errorf("unknown cloud provider %q", s.Loc.Provider)
}

// conditionalError turns a failed precondition into ErrVersionChanged and
// classifies anything else as the other operations do.
func (s *Store) conditionalError(err error) error {
	if err == nil {
		return nil
	}
	if status, _ := httpStatus(err); status == http.StatusPreconditionFailed || errorCode(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("%w: %v", ErrVersionChanged, err)
	}
	if status, _ := httpStatus(err); status == http.StatusNotFound {
		// The raw clients' errors: give them the code IsNotFound knows.
		err = &codedError{code: gcerrors.NotFound, err: err}
	}
	return s.classify(err, false)
}

// fileError gives an error of package localfs its gcerrors code.
func fileError(err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: localfs.Code(err), err: err}
}

// azureBlob is the blob client of key. Keys are sent as they are: the
// gocloud driver escapes only backslashes, control and a few punctuation
// characters, trailing slashes and "../", none of which a WAL's key has.
func (s *Store) azureBlob(key string) (*azblobblob.Client, error) {
	var c *container.Client
	if !s.Bucket.As(&c) {
		return nil, errors.New("the Azure driver does not expose its container client")
	}
	return c.NewBlobClient(key), nil
}

// azureMetadataName is the name gocloud's azureblob driver gives the
// metadata key k (Azure names must be C# identifiers): every character but
// an ASCII letter, digit or "_", and a leading digit, written __0xHEX__.
func azureMetadataName(k string) string {
	var b strings.Builder
	for i, r := range k {
		alnum := r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))
		if (i == 0 && unicode.IsDigit(r)) || (!alnum && r != '_') {
			fmt.Fprintf(&b, "__0x%x__", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func azureIfMatch(etag *azcore.ETag) *azblobblob.AccessConditions {
	return &azblobblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: etag}}
}

func (s *Store) gcsVersion(version string) (*gcsrest.Client, gcsrest.Version, error) {
	var c *gcsrest.Client
	if !s.Bucket.As(&c) {
		return nil, gcsrest.Version{}, errors.New("the GCS driver does not expose its client")
	}
	v, err := gcsrest.ParseVersion(version)
	return c, v, err
}
