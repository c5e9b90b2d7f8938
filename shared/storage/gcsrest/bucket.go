package gcsrest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// Object is the part of the JSON API's object resource this driver reads.
// Attributes and listed objects expose it through As (*Object).
type Object struct {
	Name               string            `json:"name"`
	Bucket             string            `json:"bucket"`
	Generation         string            `json:"generation"`
	Size               string            `json:"size"`
	ContentType        string            `json:"contentType"`
	ContentEncoding    string            `json:"contentEncoding"`
	ContentDisposition string            `json:"contentDisposition"`
	ContentLanguage    string            `json:"contentLanguage"`
	CacheControl       string            `json:"cacheControl"`
	Metadata           map[string]string `json:"metadata"`
	MD5Hash            string            `json:"md5Hash"`
	Etag               string            `json:"etag"`
	TimeCreated        string            `json:"timeCreated"`
	Updated            string            `json:"updated"`
	KMSKeyName         string            `json:"kmsKeyName"`
}

func (o *Object) size() int64 {
	n, _ := strconv.ParseInt(o.Size, 10, 64)
	return n
}

func (o *Object) md5() []byte {
	b, _ := base64.StdEncoding.DecodeString(o.MD5Hash)
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
	res, err := b.c.do(ctx, http.MethodGet, b.c.objectURL(b.name, key), nil, nil, nil, true)
	if err != nil {
		return nil, err
	}
	defer drain(res)
	var o Object
	if err := json.NewDecoder(res.Body).Decode(&o); err != nil {
		return nil, fmt.Errorf("gcsrest: decoding the metadata of %q: %w", key, err)
	}
	return &o, nil
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
		Size:               o.size(),
		MD5:                o.md5(),
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

// listResponse is the JSON API's objects.list answer.
type listResponse struct {
	Items         []*Object `json:"items"`
	Prefixes      []string  `json:"prefixes"`
	NextPageToken string    `json:"nextPageToken"`
}

func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	q := url.Values{}
	if opts.Prefix != "" {
		q.Set("prefix", opts.Prefix)
	}
	if opts.Delimiter != "" {
		q.Set("delimiter", opts.Delimiter)
	}
	if opts.PageSize > 0 {
		q.Set("maxResults", strconv.Itoa(opts.PageSize))
	}
	if len(opts.PageToken) > 0 {
		q.Set("pageToken", string(opts.PageToken))
	}
	if opts.BeforeList != nil {
		if err := opts.BeforeList(func(i any) bool {
			p, ok := i.(*url.Values)
			if ok {
				*p = q
			}
			return ok
		}); err != nil {
			return nil, err
		}
	}
	res, err := b.c.do(ctx, http.MethodGet, b.c.bucketURL(b.name)+"/o", q, nil, nil, true)
	if err != nil {
		return nil, err
	}
	defer drain(res)
	var lr listResponse
	if err := json.NewDecoder(res.Body).Decode(&lr); err != nil {
		return nil, fmt.Errorf("gcsrest: decoding a listing of %q: %w", opts.Prefix, err)
	}
	page := &driver.ListPage{NextPageToken: []byte(lr.NextPageToken)}
	for _, o := range lr.Items {
		page.Objects = append(page.Objects, &driver.ListObject{
			Key:     o.Name,
			ModTime: parseTime(o.Updated),
			Size:    o.size(),
			MD5:     o.md5(),
			AsFunc:  objectAs(o),
		})
	}
	for _, p := range lr.Prefixes {
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
			attrs: driver.ReaderAttributes{ContentType: o.ContentType, ModTime: parseTime(o.Updated), Size: o.size()},
		}, nil
	}
	header := http.Header{}
	switch {
	case length > 0:
		header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	res, err := b.c.do(ctx, http.MethodGet, b.c.objectURL(b.name, key), url.Values{"alt": {"media"}}, header, nil, true)
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
	res, err := b.c.do(ctx, http.MethodDelete, b.c.objectURL(b.name, key), nil, nil, nil, false)
	if err != nil {
		return err
	}
	drain(res)
	return nil
}

// rewriteResponse is the JSON API's objects.rewrite answer.
type rewriteResponse struct {
	Done         bool   `json:"done"`
	RewriteToken string `json:"rewriteToken"`
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
	u := b.c.objectURL(b.name, srcKey) + "/rewriteTo/b/" + escapePathSegment(b.name) + "/o/" + escapePathSegment(dstKey)
	q := url.Values{}
	for {
		res, err := b.c.do(ctx, http.MethodPost, u, q, http.Header{"Content-Type": {"application/json"}}, strings.NewReader("{}"), false)
		if err != nil {
			return err
		}
		var rr rewriteResponse
		err = json.NewDecoder(res.Body).Decode(&rr)
		drain(res)
		if err != nil {
			return fmt.Errorf("gcsrest: decoding a rewrite answer: %w", err)
		}
		if rr.Done {
			return nil
		}
		if rr.RewriteToken == "" {
			return errors.New("gcsrest: rewrite neither done nor continued")
		}
		q.Set("rewriteToken", rr.RewriteToken)
	}
}

func (b *bucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errorf(gcerrors.Unimplemented, "signed URLs are not implemented")
}
