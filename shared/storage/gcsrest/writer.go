package gcsrest

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"sync"

	"gocloud.dev/blob/driver"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/storage/v1"
)

// WriteOptions are the GCS choices of one write that gocloud's
// WriterOptions have no field for. WriterOptions.BeforeWrite reaches them
// with As(**WriteOptions).
type WriteOptions struct {
	// KMSKeyName encrypts the object with this Cloud KMS key (the
	// kmsKeyName parameter of the upload).
	KMSKeyName string
	// Metadata is custom metadata sent with its keys as given, added to
	// WriterOptions.Metadata (whose keys gocloud lower-cases; GCS keys are
	// case-sensitive).
	Metadata map[string]string
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
	obj := &Object{
		Name:               key,
		ContentType:        contentType,
		ContentEncoding:    opts.ContentEncoding,
		ContentDisposition: opts.ContentDisposition,
		ContentLanguage:    opts.ContentLanguage,
		CacheControl:       opts.CacheControl,
		Metadata:           opts.Metadata,
	}
	if len(wo.Metadata) > 0 {
		md := make(map[string]string, len(obj.Metadata)+len(wo.Metadata))
		for k, v := range obj.Metadata {
			md[k] = v
		}
		for k, v := range wo.Metadata {
			md[k] = v
		}
		obj.Metadata = md
	}
	if len(opts.ContentMD5) > 0 {
		obj.Md5Hash = base64.StdEncoding.EncodeToString(opts.ContentMD5)
	}
	call := b.c.svc.Objects.Insert(b.name, obj)
	if opts.IfNotExist {
		// Only create: 412 Precondition Failed when the name is taken.
		call.IfGenerationMatch(0)
	}
	if wo.KMSKeyName != "" {
		call.KmsKeyName(wo.KMSKeyName)
	}
	mediaType := contentType
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	return &writer{ctx: ctx, b: b, key: key, call: call, mediaType: mediaType}, nil
}

// writer uploads an object in one multipart upload request (metadata, then
// the media), which the generated client streams as the media comes:
// nothing but small buffers is held in memory, whatever the size. The
// request is never retried: its body cannot be read twice.
//
// The server stores the object only once it has read the closing
// boundary, and an uploadGuard keeps the closing boundary from being sent
// unless the source ended cleanly with the context live: a failing source
// or a cancelled context breaks the request off and leaves no object.
type writer struct {
	ctx       context.Context
	b         *bucket
	key       string
	call      *storage.ObjectsInsertCall
	mediaType string

	// Write path: Write feeds pw, a goroutine sends the request.
	pw   *io.PipeWriter
	done chan struct{}
	err  error // the request's result, once done is closed

	uploaded bool // Upload sent the object
	once     sync.Once
}

// Upload sends r as the whole object (driver.Uploader: blob.Bucket.Upload
// streams through here without our pipe and goroutine). The request's
// error is returned by Close: gocloud gives its error code (412 →
// FailedPrecondition) only to errors from Close, not to Upload's.
func (w *writer) Upload(r io.Reader) error {
	if w.pw != nil || w.uploaded {
		return errors.New("gcsrest: Upload after Write")
	}
	w.uploaded = true
	w.err = w.send(r, func(error) {})
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
		w.err = w.send(pr, func(err error) {
			// Unblock a Write, or the client's read of pr, still waiting.
			pr.CloseWithError(fmt.Errorf("gcsrest: upload of %q ended: %v", w.key, err))
		})
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

// send uploads src as the object's media in one request. ended is called
// with the request's result before send waits for a read of src still in
// progress: it must unblock a read that would otherwise never return (a
// read of the Write path's pipe).
func (w *writer) send(src io.Reader, ended func(error)) error {
	g := &uploadGuard{ctx: w.ctx, src: src, crc: crc32.New(castagnoli)}
	obj, err := w.call.Media(g, googleapi.ChunkSize(0), googleapi.ContentType(w.mediaType)).
		Context(context.WithValue(w.ctx, guardKey{}, g)).Do()
	ended(err)
	g.finish()
	if err == nil {
		err = w.checkStored(obj, g.crc.Sum32())
	}
	if err == nil {
		reportStored(w.ctx, obj)
	}
	return err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkStored compares the CRC32C the server computed over what it stored
// with the CRC32C of what was sent. A streamed upload cannot announce its
// checksum up front (GCS would then check it itself): the check is made
// once the server answers, and an object that differs is deleted at once
// (by generation, so that nothing written since is touched).
func (w *writer) checkStored(obj *storage.Object, sent uint32) error {
	return w.b.c.checkStored(w.ctx, w.b.name, w.key, obj, sent)
}

func (c *Client) checkStored(ctx context.Context, bucket, key string, obj *storage.Object, sent uint32) error {
	if obj == nil || obj.Crc32c == "" {
		return nil // a server that reports none (an emulator, maybe)
	}
	raw, err := base64.StdEncoding.DecodeString(obj.Crc32c)
	if err == nil && len(raw) == 4 && binary.BigEndian.Uint32(raw) == sent {
		return nil
	}
	return c.discard(ctx, bucket, key, obj, fmt.Sprintf("gcsrest: %q was stored with CRC32C %s, not the %08x sent", key, obj.Crc32c, sent))
}

// discard deletes an object stored wrong, by generation, and returns msg
// as the error, saying whether the object is gone.
func (c *Client) discard(ctx context.Context, bucket, key string, obj *storage.Object, msg string) error {
	derr := c.svc.Objects.Delete(bucket, key).Generation(obj.Generation).Context(context.WithoutCancel(ctx)).Do()
	if derr != nil {
		return fmt.Errorf("%s, and deleting it failed: %w", msg, derr)
	}
	return fmt.Errorf("%s: deleted", msg)
}

// uploadGuard is an upload's media. The generated client copies the media
// into the multipart body from a goroutine and, when the media fails,
// still writes the closing boundary before it fails the body; the guard
// records the failure first, and guardTransport then fails the body
// before anything read after it (the closing boundary included) goes out.
// The same holds for a done context, which the transport may notice late.
type uploadGuard struct {
	ctx context.Context
	src io.Reader
	crc hash.Hash32 // of what was read from src

	readMu   sync.Mutex // held while src is read
	finished bool       // under readMu: the request is over

	mu  sync.Mutex
	err error // the source's failure
}

type guardKey struct{}

var errUploadOver = errors.New("gcsrest: the upload request is over")

func (g *uploadGuard) Read(p []byte) (int, error) {
	g.readMu.Lock()
	defer g.readMu.Unlock()
	if g.finished {
		return 0, errUploadOver
	}
	n, err := g.src.Read(p)
	g.crc.Write(p[:n])
	if err != nil && err != io.EOF {
		g.mu.Lock()
		g.err = err
		g.mu.Unlock()
	}
	return n, err
}

// finish waits for a read of the source in progress and refuses further
// ones: the client's copying goroutine may outlive the request, the
// caller's reader must not.
func (g *uploadGuard) finish() {
	g.readMu.Lock()
	g.finished = true
	g.readMu.Unlock()
}

// abandoned is why the body must not go on, or nil.
func (g *uploadGuard) abandoned() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	return g.ctx.Err()
}

// guardTransport wraps the body of a guarded upload request.
type guardTransport struct {
	base http.RoundTripper // nil: http.DefaultTransport
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if g, ok := req.Context().Value(guardKey{}).(*uploadGuard); ok && req.Body != nil {
		r := *req
		r.Body = &guardedBody{ReadCloser: req.Body, g: g}
		req = &r
	}
	return base.RoundTrip(req)
}

type guardedBody struct {
	io.ReadCloser
	g *uploadGuard
}

// Read checks the guard after reading, so that bytes produced after the
// source failed or the context ended are never passed on.
func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if gerr := b.g.abandoned(); gerr != nil {
		return 0, gerr
	}
	return n, err
}
