package localfs

import "gocloud.dev/blob"

// OpenBucketWithoutXattrs opens dir as on a file system without user
// extended attributes, for the tests of callers in localfs_test.
func OpenBucketWithoutXattrs(dir string) *blob.Bucket {
	drv, err := openDriver(dir)
	if err != nil {
		panic(err)
	}
	drv.sys.xattr = noXattr{}
	return blob.NewBucket(drv)
}
