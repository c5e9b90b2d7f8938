package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
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
	// fileblob refuses to open a missing directory; like a missing bucket
	// on the cloud providers, that is reported when the store is used.
	if ok, err := s.bucketExists(context.Background()); !ok {
		if err == nil {
			err = &BucketMissingError{Bucket: loc.Bucket, Directory: true}
		}
		s.unavailable = err
		return s, nil
	}
	// Temporary files next to their final name: a rename from the system
	// temporary directory would fail across file systems.
	b, err := fileblob.OpenBucket(loc.Bucket, &fileblob.Options{NoTempDir: true})
	if err != nil {
		return nil, err
	}
	s.Bucket = b
	s.writerOptions = func(u UploadOptions) (*blob.WriterOptions, error) {
		md := map[string]string{}
		for k, v := range u.Tags.Map() {
			md["tag-"+k] = v
		}
		for k, v := range u.Metadata {
			md[k] = v
		}
		return &blob.WriterOptions{Metadata: md}, nil
	}
	return s, nil
}
