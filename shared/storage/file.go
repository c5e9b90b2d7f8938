package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"gocloud.dev/blob"

	"github.com/barmancloud/barman-cloud/shared/storage/localfs"
)

func openFile(loc Location) (*Store, error) {
	s := &Store{}
	s.bucketExists = func(context.Context) (bool, error) {
		fi, err := os.Stat(loc.Bucket)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err == nil && !fi.IsDir() {
			return false, fmt.Errorf("%s is not a directory", loc.Bucket)
		}
		return err == nil, err
	}
	// A missing directory is a missing bucket, reported when the store is
	// used, as on the cloud providers; it is never created.
	if ok, err := s.bucketExists(context.Background()); !ok {
		if err == nil {
			err = &BucketMissingError{Bucket: loc.Bucket, Directory: true}
		}
		s.unavailable = err
		return s, nil
	}
	// localfs, not gocloud's fileblob: it fsyncs, creates conditionally
	// with link(2) (atomic across processes), never publishes a failed
	// write, and keeps metadata in extended attributes, not sidecar files.
	b, err := localfs.OpenBucket(loc.Bucket)
	if err != nil {
		return nil, err
	}
	s.Bucket = b
	s.writerOptions = tagsAsMetadata
	return s, nil
}

// tagsAsMetadata are the write options of a store without tags (file://,
// memory): tags are kept as metadata "tag-KEY".
func tagsAsMetadata(u UploadOptions) (*blob.WriterOptions, error) {
	md := map[string]string{}
	for k, v := range u.Tags.Map() {
		md["tag-"+k] = v
	}
	for k, v := range u.Metadata {
		md[k] = v
	}
	return &blob.WriterOptions{Metadata: md}, nil
}
