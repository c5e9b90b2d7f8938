//go:build integration

package retention

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// lockBucket is a MinIO bucket with S3 object lock enabled, made on first
// use (a bucket's lock setting is fixed when it is created).
const lockBucket = "barman-test-object-lock"

// s3Client is an AWS SDK client on the test MinIO, to set up what the
// tools cannot (object lock); the checks still go through the oracle.
func s3Client(t *testing.T) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(harness.Env(t, "S3_ENDPOINT_URL"))
		o.UsePathStyle = true
	})
}

// TestCheckObjectLock: with --check-object-lock, an archive under a legal
// hold stops the run before anything of its backup is deleted (the
// backups before it are gone), in a dry run too; once the hold is
// released, the same command finishes the job.
func TestCheckObjectLock(t *testing.T) {
	c := s3Client(t)
	_, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(lockBucket), ObjectLockEnabledForBucket: aws.Bool(true)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		t.Fatal(err)
	}
	tg := oracle.S3(t)
	tg.Bucket = lockBucket
	prefix := seed(t, tg, nil)
	locked := prefix + "/" + server + "/base/20240122T000000/data.tar.gz"
	hold := func(status s3types.ObjectLockLegalHoldStatus) {
		t.Helper()
		if _, err := c.PutObjectLegalHold(t.Context(), &s3.PutObjectLegalHoldInput{Bucket: aws.String(lockBucket), Key: aws.String(locked),
			LegalHold: &s3types.ObjectLockLegalHold{Status: status}}); err != nil {
			t.Fatal(err)
		}
	}
	hold(s3types.ObjectLockLegalHoldStatusOn)
	before := all(nil)
	args := []string{"--check-object-lock", "-r", "REDUNDANCY 2", tg.URL(prefix), server}

	r := targets.Run(t, tg, "barman-cloud-backup-delete", append([]string{"--dry-run"}, args...)...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "Cannot delete locked object "+locked+": legal hold is ON") {
		t.Errorf("dry run: exit %d, stderr %s", r.Code, r.Stderr)
	}
	if got := rel(prefix, tg.Keys(t, prefix)); !slices.Equal(got, before) {
		t.Errorf("the dry run deleted objects: %v", got)
	}

	r = targets.Run(t, tg, "barman-cloud-backup-delete", args...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "ERROR: Could not delete backup 20240122T000000: Cannot delete locked object "+locked) {
		t.Errorf("exit %d, stderr %s", r.Code, r.Stderr)
	}
	// 0101 went; nothing of 0122, backup.info included.
	if got, want := rel(prefix, tg.Keys(t, prefix)), without(before, slices.Concat(backupKeys("20240101T000000"), wals0101)...); !slices.Equal(got, want) {
		t.Errorf("left\n%v\nwant\n%v", got, want)
	}

	hold(s3types.ObjectLockLegalHoldStatusOff)
	if r := targets.Run(t, tg, "barman-cloud-backup-delete", args...); r.Code != 0 {
		t.Fatalf("after the release: exit %d, stderr %s", r.Code, r.Stderr)
	}
	want := without(before, slices.Concat(backupKeys("20240101T000000"), wals0101, backupKeys("20240122T000000"), wals0122)...)
	if got := rel(prefix, tg.Keys(t, prefix)); !slices.Equal(got, want) {
		t.Errorf("left\n%v\nwant\n%v", got, want)
	}
}
