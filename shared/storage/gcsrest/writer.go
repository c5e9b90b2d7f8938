package gcsrest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"sync"

	"gocloud.dev/blob/driver"
)

// WriteOptions are the GCS choices of one write that gocloud's
// WriterOptions have no field for. WriterOptions.BeforeWrite reaches them
// with As(**WriteOptions).
type WriteOptions struct {
	// KMSKeyName encrypts the object with this Cloud KMS key (the
	// kmsKeyName parameter of the upload).
	KMSKeyName string
}

// uploadResource is the object resource sent with an upload.
type uploadResource struct {
	Name               string            `json:"name"`
	ContentType        string            `json:"contentType,omitempty"`
	ContentEncoding    string            `json:"contentEncoding,omitempty"`
	ContentDisposition string            `json:"contentDisposition,omitempty"`
	ContentLanguage    string            `json:"contentLanguage,omitempty"`
	CacheControl       string            `json:"cacheControl,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	MD5Hash            string            `json:"md5Hash,omitempty"`
}

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var wo WriteOptions
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(func(i any) bool {
			p, ok := i.(**WriteOptions)
			if ok {
				*p = &wo
			}
			return ok
		}); err != nil {
			return nil, err
		}
	}
	res := uploadResource{
		Name:               key,
		ContentType:        contentType,
		ContentEncoding:    opts.ContentEncoding,
		ContentDisposition: opts.ContentDisposition,
		ContentLanguage:    opts.ContentLanguage,
		CacheControl:       opts.CacheControl,
		Metadata:           opts.Metadata,
	}
	if len(opts.ContentMD5) > 0 {
		res.MD5Hash = base64.StdEncoding.EncodeToString(opts.ContentMD5)
	}
	q := url.Values{"uploadType": {"multipart"}}
	if opts.IfNotExist {
		// Only create: 412 Precondition Failed when the name is taken.
		q.Set("ifGenerationMatch", "0")
	}
	if wo.KMSKeyName != "" {
		q.Set("kmsKeyName", wo.KMSKeyName)
	}
	return &writer{ctx: ctx, b: b, key: key, resource: res, query: q}, nil
}

// writer uploads an object in one multipart/related request (metadata,
// then the media), streaming the media as it comes: nothing but the
// transport's small buffers is held in memory, whatever the size.
//
// The server stores the object only once it has read the closing
// boundary, and the closing boundary is sent only after the source ended
// cleanly and while the context is live: a failing source or a cancelled
// context breaks the request off and leaves no object.
type writer struct {
	ctx      context.Context
	b        *bucket
	key      string
	resource uploadResource
	query    url.Values

	// Write path: Write feeds pw, a goroutine sends the request.
	pw   *io.PipeWriter
	done chan struct{}
	err  error // the request's result, once done is closed

	uploaded bool // Upload sent the object
	once     sync.Once
}

// Upload sends r as the whole object (driver.Uploader: blob.Bucket.Upload
// streams through here without a pipe or a goroutine). The request's
// error is returned by Close: gocloud gives its error code (412 →
// FailedPrecondition) only to errors from Close, not to Upload's.
func (w *writer) Upload(r io.Reader) error {
	if w.pw != nil || w.uploaded {
		return errors.New("gcsrest: Upload after Write")
	}
	w.uploaded = true
	w.err = w.send(r)
	return nil
}

func (w *writer) Write(p []byte) (int, error) {
	if w.uploaded {
		return 0, errors.New("gcsrest: Write after Upload")
	}
	w.once.Do(w.start)
	return w.pw.Write(p)
}

func (w *writer) start() {
	pr, pw := io.Pipe()
	w.pw, w.done = pw, make(chan struct{})
	go func() {
		defer close(w.done)
		w.err = w.send(pr)
		// Unblock a Write still waiting for the request to read.
		pr.CloseWithError(fmt.Errorf("gcsrest: upload of %q ended: %v", w.key, w.err))
	}()
}

// Close finishes the object: it ends the media and waits for the answer.
// When the context is done, the upload is abandoned instead.
func (w *writer) Close() error {
	if w.uploaded {
		return w.err
	}
	w.once.Do(w.start)
	if err := w.ctx.Err(); err != nil {
		w.pw.CloseWithError(err)
	} else {
		w.pw.Close()
	}
	<-w.done
	return w.err
}

// send streams one multipart upload request whose media is src.
func (w *writer) send(src io.Reader) error {
	meta, err := json.Marshal(w.resource)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json; charset=UTF-8"}})
	if err != nil {
		return err
	}
	if _, err := pw.Write(meta); err != nil {
		return err
	}
	mediaType := w.resource.ContentType
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	if _, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {mediaType}}); err != nil {
		return err
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return err
	}
	body := io.MultiReader(bytes.NewReader(head), src, &guardedTail{ctx: w.ctx, tail: bytes.NewReader(buf.Bytes())})
	header := http.Header{"Content-Type": {"multipart/related; boundary=" + mw.Boundary()}}
	res, err := w.b.c.do(w.ctx, http.MethodPost, w.b.c.uploadURL(w.b.name), w.query, header, io.NopCloser(body), false)
	if err != nil {
		return err
	}
	drain(res)
	return nil
}

// guardedTail is the closing boundary of an upload: it refuses to be read
// once the context is done, so that an upload cancelled after its source
// ended is still broken off before the server can commit it.
type guardedTail struct {
	ctx  context.Context
	tail io.Reader
}

func (g *guardedTail) Read(p []byte) (int, error) {
	if err := g.ctx.Err(); err != nil {
		return 0, err
	}
	return g.tail.Read(p)
}
