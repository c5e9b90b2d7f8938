package gcsrest

import (
	"bytes"
	"context"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

func TestVersionToken(t *testing.T) {
	v := Version{Generation: 1712345678901234, Metageneration: 3}
	got, err := ParseVersion(v.String())
	if err != nil || got != v {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "12", "a/1", "1/b", "0/1", `"etag"`} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestConditional: the upload reports the version it stored, which a
// conditional delete names; Touch moves the metageneration, keeps the
// metadata, and makes a delete of the old version fail with 412.
func TestConditional(t *testing.T) {
	f := newFakeGCS(t)
	c := f.client(t)
	b := c.OpenBucket(fakeBucket)
	ctx := context.Background()
	var stored *Object
	wctx := WithStored(ctx, func(o *Object) { stored = o })
	if err := b.Upload(wctx, "k", bytes.NewReader([]byte("data")), &blob.WriterOptions{ContentType: "application/octet-stream", Metadata: map[string]string{"m": "1"}}); err != nil {
		t.Fatal(err)
	}
	if stored == nil || stored.Generation == 0 || stored.Metageneration != 1 {
		t.Fatalf("stored %+v", stored)
	}
	v := VersionOf(stored)
	nv, err := c.Touch(ctx, fakeBucket, "k", v, map[string]string{"w": "2"})
	if err != nil || nv.Generation != v.Generation || nv.Metageneration != 2 {
		t.Fatalf("Touch: %+v, %v", nv, err)
	}
	if md := f.object("k").meta["metadata"].(map[string]any); md["m"] != "1" || md["w"] != "2" {
		t.Errorf("metadata after Touch: %v", md)
	}
	if err := c.DeleteVersion(ctx, fakeBucket, "k", v); ErrorCode(err) != gcerrors.FailedPrecondition {
		t.Errorf("delete of the old version: %v", err)
	}
	if _, err := c.Touch(ctx, fakeBucket, "k", v, nil); ErrorCode(err) != gcerrors.FailedPrecondition {
		t.Errorf("Touch of the old version: %v", err)
	}
	if f.object("k") == nil {
		t.Fatal("deleted")
	}
	if err := c.DeleteVersion(ctx, fakeBucket, "k", nv); err != nil {
		t.Errorf("delete of the current version: %v", err)
	}
	if f.object("k") != nil {
		t.Error("not deleted")
	}
}
