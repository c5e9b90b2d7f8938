package gcsrest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Version names one state of an object: its generation (a new one for each
// upload) and its metageneration (1 for a new generation, one more for each
// metadata update).
type Version struct {
	Generation, Metageneration int64
}

// String is the version as a token: "generation/metageneration".
func (v Version) String() string {
	return strconv.FormatInt(v.Generation, 10) + "/" + strconv.FormatInt(v.Metageneration, 10)
}

// ParseVersion reads a token made by Version.String.
func ParseVersion(s string) (Version, error) {
	g, m, ok := strings.Cut(s, "/")
	var v Version
	var gerr, merr error
	v.Generation, gerr = strconv.ParseInt(g, 10, 64)
	v.Metageneration, merr = strconv.ParseInt(m, 10, 64)
	if !ok || gerr != nil || merr != nil || v.Generation <= 0 {
		return Version{}, fmt.Errorf("gcsrest: %q is not an object version", s)
	}
	return v, nil
}

// VersionOf is the version of an object resource.
func VersionOf(o *Object) Version {
	return Version{Generation: o.Generation, Metageneration: o.Metageneration}
}

type storedKey struct{}

// WithStored returns a context under which a successful upload calls fn
// with the object resource the service answered, the version it committed.
func WithStored(ctx context.Context, fn func(*Object)) context.Context {
	return context.WithValue(ctx, storedKey{}, fn)
}

func reportStored(ctx context.Context, o *Object) {
	if fn, ok := ctx.Value(storedKey{}).(func(*Object)); ok && o != nil {
		fn(o)
	}
}

// DeleteVersion deletes key only while it is at version v: a 412 answer
// (FailedPrecondition) means the object was replaced or its metadata
// updated since. Not retried, like Delete.
func (c *Client) DeleteVersion(ctx context.Context, bucket, key string, v Version) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return c.svc.Objects.Delete(bucket, key).IfGenerationMatch(v.Generation).
		IfMetagenerationMatch(v.Metageneration).Context(ctx).Do()
}

// Touch sets the custom metadata entries md on key (a patch: other
// entries are kept) while the object is at version v, and returns the new
// version: the same generation with the next metageneration. Every
// metadata update increments the metageneration, so a DeleteVersion
// naming v fails afterwards. Not retried: a patch whose answer was lost
// would fail its precondition the second time.
func (c *Client) Touch(ctx context.Context, bucket, key string, v Version, md map[string]string) (Version, error) {
	if err := checkKey(key); err != nil {
		return Version{}, err
	}
	if md == nil {
		md = map[string]string{} // "metadata": null would clear it
	}
	patch := &Object{Metadata: md, ForceSendFields: []string{"Metadata"}}
	o, err := c.svc.Objects.Patch(bucket, key, patch).IfGenerationMatch(v.Generation).
		IfMetagenerationMatch(v.Metageneration).Context(ctx).Do()
	if err != nil {
		return Version{}, err
	}
	return VersionOf(o), nil
}
