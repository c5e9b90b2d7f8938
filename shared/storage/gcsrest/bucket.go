package gcsrest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/storage/v1"
)

// Object is the JSON API's object resource. Attributes and listed objects
// expose it through As (*Object).
type Object = storage.Object

func md5Of(o *Object) []byte {
	b, _ := base64.StdEncoding.DecodeString(o.Md5Hash)
	return b
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// OpenBucket returns the bucket named name, through c. It does not contact
// the storage.
func (c *Client) OpenBucket(name string) *blob.Bucket {
	return blob.NewBucket(c.Driver(name))
}

// Driver returns the driver.Bucket behind OpenBucket.
func (c *Client) Driver(name string) driver.Bucket {
	return &bucket{c: c, name: name}
}

// bucket implements driver.Bucket.
type bucket struct {
	c    *Client
	name string
}

var _ driver.Bucket = (*bucket)(nil)

func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode { return ErrorCode(err) }

// As exposes the *Client.
func (b *bucket) As(i any) bool {
	p, ok := i.(**Client)
	if ok {
		*p = b.c
	}
	return ok
}

// ErrorAs exposes *googleapi.Error.
func (b *bucket) ErrorAs(err error, i any) bool {
	p, ok := i.(**googleapi.Error)
	return ok && errors.As(err, p)
}

func (b *bucket) Close() error { return nil }

// checkKey refuses what the service would: an object needs a name. Every
// other name is sent as it is.
func checkKey(key string) error {
	if key == "" {
		return errorf(gcerrors.InvalidArgument, "an object name cannot be empty")
	}
	return nil
}

func (b *bucket) getObject(ctx context.Context, key string) (*Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var o *Object
	err := b.c.retry(ctx, func(ctx context.Context) (err error) {
		o, err = b.c.svc.Objects.Get(b.name, key).Context(ctx).Do()
		return err
	})
	return o, err
}

func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	o, err := b.getObject(ctx, key)
	if err != nil {
		return nil, err
	}
	// The JSON API gives the ETag without the quotes HTTP puts around it.
	etag := o.Etag
	if !strings.HasPrefix(etag, `W/"`) && !strings.HasPrefix(etag, `"`) {
		etag = strconv.Quote(etag)
	}
	return &driver.Attributes{
		CacheControl:       o.CacheControl,
		ContentDisposition: o.ContentDisposition,
		ContentEncoding:    o.ContentEncoding,
		ContentLanguage:    o.ContentLanguage,
		ContentType:        o.ContentType,
		Metadata:           o.Metadata,
		CreateTime:         parseTime(o.TimeCreated),
		ModTime:            parseTime(o.Updated),
		Size:               int64(o.Size),
		MD5:                md5Of(o),
		ETag:               etag,
		AsFunc:             objectAs(o),
	}, nil
}

func objectAs(o *Object) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*Object)
		if ok {
			*p = *o
		}
		return ok
	}
}

// ListPaged lists one page. BeforeList reaches the request with
// As(**storage.ObjectsListCall).
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	call := b.c.svc.Objects.List(b.name)
	if opts.Prefix != "" {
		call.Prefix(opts.Prefix)
	}
	if opts.Delimiter != "" {
		call.Delimiter(opts.Delimiter)
	}
	if opts.PageSize > 0 {
		call.MaxResults(int64(opts.PageSize))
	}
	if len(opts.PageToken) > 0 {
		call.PageToken(string(opts.PageToken))
	}
	if opts.BeforeList != nil {
		if err := opts.BeforeList(func(i any) bool {
			p, ok := i.(**storage.ObjectsListCall)
			if ok {
				*p = call
			}
			return ok
		}); err != nil {
			return nil, err
		}
	}
	var res *storage.Objects
	err := b.c.retry(ctx, func(ctx context.Context) (err error) {
		res, err = call.Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: []byte(res.NextPageToken)}
	for _, o := range res.Items {
		page.Objects = append(page.Objects, &driver.ListObject{
			Key:     o.Name,
			ModTime: parseTime(o.Updated),
			Size:    int64(o.Size),
			MD5:     md5Of(o),
			AsFunc:  objectAs(o),
		})
	}
	for _, p := range res.Prefixes {
		page.Objects = append(page.Objects, &driver.ListObject{
			Key:    p,
			IsDir:  true,
			AsFunc: func(any) bool { return false },
		})
	}
	// GCS sends the objects, then the "directories": merge them.
	sort.Slice(page.Objects, func(i, j int) bool { return page.Objects[i].Key < page.Objects[j].Key })
	return page, nil
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if opts != nil && opts.BeforeRead != nil {
		if err := opts.BeforeRead(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if length == 0 {
		// Nothing to download: the attributes are all the caller gets.
		o, err := b.getObject(ctx, key)
		if err != nil {
			return nil, err
		}
		return &reader{
			body:  io.NopCloser(strings.NewReader("")),
			attrs: driver.ReaderAttributes{ContentType: o.ContentType, ModTime: parseTime(o.Updated), Size: int64(o.Size)},
		}, nil
	}
	var res *http.Response
	err := b.c.retry(ctx, func(ctx context.Context) error {
		call := b.c.svc.Objects.Get(b.name, key).Context(ctx)
		switch {
		case length > 0:
			call.Header().Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
		case offset > 0:
			call.Header().Set("Range", fmt.Sprintf("bytes=%d-", offset))
		}
		var err error
		res, err = call.Download()
		return err
	})
	if err != nil {
		return nil, err
	}
	size, err := objectSize(res)
	if err != nil {
		res.Body.Close()
		return nil, err
	}
	attrs := driver.ReaderAttributes{ContentType: res.Header.Get("Content-Type"), Size: size}
	if lm := res.Header.Get("Last-Modified"); lm != "" {
		attrs.ModTime, _ = http.ParseTime(lm)
	}
	return &reader{body: res.Body, attrs: attrs}, nil
}

// objectSize is the size of the whole object a (possibly partial) media
// download belongs to.
func objectSize(res *http.Response) (int64, error) {
	if res.StatusCode == http.StatusPartialContent {
		cr := res.Header.Get("Content-Range")
		i := strings.LastIndexByte(cr, '/')
		if !strings.HasPrefix(cr, "bytes ") || i < 0 {
			return 0, fmt.Errorf("gcsrest: unexpected Content-Range %q", cr)
		}
		n, err := strconv.ParseInt(cr[i+1:], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("gcsrest: unexpected Content-Range %q", cr)
		}
		return n, nil
	}
	if s := res.Header.Get("X-Goog-Stored-Content-Length"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return res.ContentLength, nil
}

// reader streams a media download.
type reader struct {
	body  io.ReadCloser
	attrs driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.body.Read(p) }
func (r *reader) Close() error                         { return r.body.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *reader) As(any) bool                          { return false }

func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if opts != nil && opts.BeforeDelete != nil {
		if err := opts.BeforeDelete(func(any) bool { return false }); err != nil {
			return err
		}
	}
	if err := checkKey(key); err != nil {
		return err
	}
	// Not retried: a delete that succeeded but whose answer was lost would
	// be reported as not found (Google's clients retry a delete only when
	// it names a generation).
	return b.c.svc.Objects.Delete(b.name, key).Context(ctx).Do()
}

// Copy rewrites srcKey to dstKey inside the bucket, in as many calls as
// the service asks for (large objects across locations or storage classes).
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if opts != nil && opts.BeforeCopy != nil {
		if err := opts.BeforeCopy(func(any) bool { return false }); err != nil {
			return err
		}
	}
	if err := errors.Join(checkKey(dstKey), checkKey(srcKey)); err != nil {
		return err
	}
	call := b.c.svc.Objects.Rewrite(b.name, srcKey, b.name, dstKey, &Object{}).Context(ctx)
	for {
		res, err := call.Do()
		if err != nil {
			return err
		}
		if res.Done {
			return nil
		}
		if res.RewriteToken == "" {
			return errors.New("gcsrest: rewrite neither done nor continued")
		}
		call.RewriteToken(res.RewriteToken)
	}
}

func (b *bucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errorf(gcerrors.Unimplemented, "signed URLs are not implemented")
}
