package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
)

// WriteOptions are the choices of a Writer.
type WriteOptions struct {
	UploadOptions
	// PartSize is the size of the parts the object is sent in (of the
	// first parts, with MaxSize); 0 means PartSize(provider, 0, 0). It is
	// raised to the provider's smallest part (S3: 5 MiB) and, on GCS,
	// rounded up to a multiple of 256 KiB.
	PartSize int64
	// MaxSize, when positive, is the largest the object is expected to
	// grow. Where the provider bounds the number of parts (S3 10,000,
	// Azure 50,000) and parts of PartSize would not hold MaxSize, the parts
	// grow: PartSize for the first group of parts, then twice that, and so
	// on, in as few groups as hold MaxSize within the part limit (see
	// partSchedule). Memory follows the part being sent, not MaxSize: an
	// archive far below MaxSize is sent in parts of PartSize
	// (StreamPartSize gives the first size for a stream).
	MaxSize int64
	// Jobs is the number of parts uploaded at once (--jobs); below 1, 1.
	// GCS sends its chunks one after the other whatever Jobs says.
	Jobs int
	// Buffers, when set, lends the Writer its part buffers and takes them
	// back when it ends, for the next Writer: objects written one after
	// the other (the archives of a backup) then reuse the same Jobs+1
	// buffers, where each would otherwise allocate its own and leave the
	// last one's to the garbage collector.
	Buffers *Buffers
}

// Buffers is a pool of part buffers shared by Writers. It is safe for
// concurrent use.
type Buffers struct {
	mu   sync.Mutex
	free [][]byte
}

// get returns a pooled buffer able to hold size bytes, nil if none is.
// Buffers too small for the parts of today are dropped.
func (b *Buffers) get(size int64) []byte {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.free) > 0 {
		buf := b.free[len(b.free)-1]
		b.free[len(b.free)-1] = nil
		b.free = b.free[:len(b.free)-1]
		if int64(cap(buf)) >= size {
			return buf[:0:size]
		}
	}
	return nil
}

// put gives buf back to the pool.
func (b *Buffers) put(buf []byte) {
	if b == nil || buf == nil {
		return
	}
	b.mu.Lock()
	b.free = append(b.free, buf[:0:cap(buf)])
	b.mu.Unlock()
}

// writePath is what a provider adds to a Store for Writers and deletes.
type writePath struct {
	// multipart starts an upload of key in parts; nil for a store written
	// through gocloud's writer, sequentially (file://).
	multipart func(key string, o UploadOptions) (multipart, error)
	limits    partLimits
	// sequential: the provider takes the parts of an object in order, one
	// at a time (a GCS resumable session).
	sequential bool
	// deleteBatch deletes at most maxBatch keys in one attempt.
	deleteBatch func(ctx context.Context, keys []string) (batchResult, error)
	maxBatch    int
}

// multipart is one provider's upload of an object in parts. The Writer
// calls begin once before the first part, part once per part (from up to
// Jobs goroutines at once, unless the provider is sequential), and
// complete or abort once at the end; put instead of all of them for an
// object smaller than one part. Each call is one attempt: the Writer
// retries it through the store's retrier, and the data of a part stays in
// its buffer until the part is stored.
type multipart interface {
	put(ctx context.Context, data []byte) error
	begin(ctx context.Context) error
	part(ctx context.Context, p part) error
	complete(ctx context.Context, parts int, size int64) error
	abort(ctx context.Context) error
}

// part is one part of an object: its number (from 1), its offset in the
// object, its data, and whether it is the last one.
type part struct {
	n     int
	off   int64
	data  []byte
	final bool
}

// abortTimeout bounds the clean-up of a failed upload, which runs even when
// the caller's context is cancelled (SIGTERM): an incomplete S3 upload is
// invisible but keeps its parts' storage until a lifecycle rule removes it.
const abortTimeout = 30 * time.Second

// Writer uploads one object of any size, streamed: what is written is cut
// into parts held in at most Jobs+1 buffers of the part size, whatever
// the object's size (one being filled, Jobs being uploaded), and each part
// is sent, and retried alone from its buffer, while the next is filled.
//
// The object appears only when Close succeeds, whole: an S3 multipart
// upload is completed, Azure blocks are committed, a GCS resumable
// session is finalized, a file is linked into place. An object smaller
// than one part is sent in one request (PutObject, Put Blob, one upload)
// at Close.
//
// A Writer whose Write failed, whose context was cancelled, or that is
// Aborted leaves nothing behind: Close (or Abort) aborts the S3 multipart
// upload and cancels the GCS session, even when the context is cancelled;
// Azure blocks that were staged but never committed are not visible, and
// the service discards them (after a week, or at the next commit to the
// same name) — Azure has no call to remove them, and Barman's way of
// trying (commit an empty list, then delete) would destroy an object
// already stored under the name; a file:// temporary file is removed.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	s   *Store
	key string
	o   UploadOptions

	ctx    context.Context // the upload's: cancelled when it fails
	cancel context.CancelCauseFunc

	// direct, for a store without parts, is gocloud's writer.
	direct *blob.Writer

	newMP  func() (multipart, error)
	mp     multipart // nil until the first part is full
	pool   *Buffers  // lends the part buffers; nil: allocate them
	limits partLimits
	sched  partSchedule
	// partSize is the size of the part being filled (sched's size for
	// part parts+1).
	partSize int64
	workers  int
	// inline uploads each part from the writing goroutine, in its one
	// buffer: a WAL segment, whose memory must not grow.
	inline bool
	// attempt runs one step of the upload: through the store's retrier,
	// or once when the caller retries the whole upload (Store.Upload).
	attempt func(ctx context.Context, what string, op func(context.Context) error) error

	buf       []byte      // the part being filled
	free      chan []byte // buffers back from the uploaders
	allocated int         // buffers made, at most maxBufs
	maxBufs   int
	jobs      chan part
	wg        sync.WaitGroup
	parts     int   // parts handed out
	size      int64 // bytes written
	// sending is the time spent sending parts (or the one request of a
	// small object), attempts and retries included, summed over parts
	// sent at once: Barman's serialized copy time.
	sending atomic.Int64

	mu  sync.Mutex
	err error // the first failure; every later call returns it

	closed   bool
	closeErr error // what Close returned
}

// NewWriter starts writing key. Nothing is sent before the first part is
// full (or Close).
func (s *Store) NewWriter(ctx context.Context, key string, o WriteOptions) (*Writer, error) {
	if s.unavailable != nil {
		return nil, s.classify(s.unavailable, true)
	}
	wp := s.writePath()
	if wp.multipart == nil {
		return s.newDirectWriter(ctx, key, o.UploadOptions)
	}
	size, err := wp.limits.fit(s.Loc.Provider, o.PartSize)
	if err != nil {
		// The caller checks its part size options when it parses them;
		// one that slips through is an error like any other.
		return nil, err
	}
	jobs := max(o.Jobs, 1)
	if wp.sequential {
		jobs = 1
	}
	w := newPartWriter(ctx, key, o.UploadOptions, func() (multipart, error) { return wp.multipart(key, o.UploadOptions) })
	w.s, w.limits, w.workers, w.maxBufs, w.pool = s, wp.limits, jobs, jobs+1, o.Buffers
	w.sched = newSchedule(wp.limits, size, o.MaxSize)
	w.partSize = size
	w.attempt = s.Retry
	return w, nil
}

func newPartWriter(ctx context.Context, key string, o UploadOptions, newMP func() (multipart, error)) *Writer {
	w := &Writer{key: key, o: o, newMP: newMP}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	return w
}

// newDirectWriter writes through gocloud's writer: a file:// store writes
// to a temporary file as the data comes, with no part buffer, and
// publishes it at Close. Cancelling its context makes gocloud discard it.
func (s *Store) newDirectWriter(ctx context.Context, key string, o UploadOptions) (*Writer, error) {
	w := &Writer{s: s, key: key, o: o}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	wo, err := s.blobWriterOptions(o)
	if err == nil {
		w.direct, err = s.Bucket.NewWriter(w.ctx, key, wo)
	}
	if err != nil {
		w.cancel(err)
		return nil, w.result(err)
	}
	return w, nil
}

// blobWriterOptions are the options of a write through gocloud's writer.
func (s *Store) blobWriterOptions(o UploadOptions) (*blob.WriterOptions, error) {
	wo, err := s.writerOptions(o)
	if err != nil {
		return nil, err
	}
	wo.ContentType = "application/octet-stream"
	wo.IfNotExist = o.IfNotExist
	return wo, nil
}

// Write adds p to the object.
func (w *Writer) Write(p []byte) (int, error) {
	if w.direct != nil {
		defer w.timeSending(time.Now())
		n, err := w.direct.Write(p)
		if err != nil {
			w.fail(err)
		}
		return n, err
	}
	n := 0
	for len(p) > 0 {
		if err := w.take(); err != nil {
			return n, err
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p, n = p[c:], n+c
		if err := w.flushFull(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadFrom copies r into the object, reading into the part buffers
// directly (io.Copy uses it). An error reading r fails the Writer.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.direct != nil {
		defer w.timeSending(time.Now())
		n, err := io.Copy(w.direct, r)
		if err != nil {
			w.fail(err)
		}
		return n, err
	}
	var n int64
	for {
		if err := w.take(); err != nil {
			return n, err
		}
		m, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+m]
		n += int64(m)
		if ferr := w.flushFull(); ferr != nil {
			return n, ferr
		}
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			w.fail(err)
			return n, err
		}
	}
}

// take makes sure a buffer with room is being filled.
func (w *Writer) take() error {
	if err := w.failure(); err != nil {
		return err
	}
	if w.closed {
		return errors.New("write to a closed storage writer")
	}
	if w.buf != nil {
		return nil
	}
	if w.sched.every > 0 {
		w.partSize = w.sched.size(w.parts + 1)
	}
	for {
		select {
		case b := <-w.free:
			if w.use(b) {
				return nil
			}
			continue
		default:
		}
		if w.allocated < w.maxBufs {
			w.allocated++
			if w.buf = w.pool.get(w.partSize); w.buf == nil {
				w.buf = make([]byte, 0, w.partSize)
			}
			return nil
		}
		select {
		case b := <-w.free:
			if w.use(b) {
				return nil
			}
		case <-w.ctx.Done():
			return w.failure()
		}
	}
}

// use takes b, a buffer back from the uploaders, for the part being
// filled, unless parts have grown past its size: then it is dropped, and
// a larger one may be made in its place.
func (w *Writer) use(b []byte) bool {
	if int64(cap(b)) < w.partSize {
		w.allocated--
		return false
	}
	w.buf = b[:0:w.partSize]
	return true
}

// flushFull sends the buffer being filled when it is full. An object of
// exactly one part is therefore a multipart upload, as Barman's (and the
// WAL path's) is: the Writer does not wait to see whether more follows.
func (w *Writer) flushFull() error {
	if int64(len(w.buf)) < w.partSize {
		return nil
	}
	return w.flush(false)
}

// flush hands the buffer being filled to the uploaders as the next part,
// starting the upload first if this is its first part.
func (w *Writer) flush(final bool) error {
	if w.mp == nil {
		if err := w.begin(); err != nil {
			return err
		}
	}
	if w.limits.maxParts > 0 && w.parts >= w.limits.maxParts {
		return w.fail(fmt.Errorf("%s: more than %d parts of %d bytes: the part size is too small for this object", w.key, w.limits.maxParts, w.partSize))
	}
	w.parts++
	p := part{n: w.parts, off: w.size, data: w.buf, final: final}
	w.size += int64(len(w.buf))
	w.buf = nil
	if w.inline {
		err := w.send(p)
		if w.sched.every == 0 {
			w.buf = p.data[:0]
		}
		return err
	}
	select {
	case w.jobs <- p:
		return nil
	case <-w.ctx.Done():
		w.free <- p.data[:0]
		return w.failure()
	}
}

// begin starts the provider's upload and the goroutines that send parts.
func (w *Writer) begin() error {
	mp, err := w.newMP()
	if err == nil {
		err = w.attempt(w.ctx, "starting the upload of "+w.key, mp.begin)
	}
	if err != nil {
		return w.fail(err)
	}
	w.mp = mp
	if w.inline {
		return nil
	}
	w.free = make(chan []byte, w.maxBufs)
	w.jobs = make(chan part)
	for range w.workers {
		w.wg.Add(1)
		go w.upload(w.jobs)
	}
	return nil
}

// upload sends the parts it is given until the Writer ends; after a
// failure it only gives the buffers back.
func (w *Writer) upload(jobs <-chan part) {
	defer w.wg.Done()
	for p := range jobs {
		if w.failure() == nil {
			w.send(p)
		}
		w.free <- p.data[:0]
	}
}

// send uploads one part, retried alone from its buffer.
func (w *Writer) send(p part) error {
	what := fmt.Sprintf("uploading part %d of %s", p.n, w.key)
	defer w.timeSending(time.Now())
	if err := w.attempt(w.ctx, what, func(ctx context.Context) error { return w.mp.part(ctx, p) }); err != nil {
		return w.fail(err)
	}
	return nil
}

// timeSending adds the time since start to the time spent sending.
func (w *Writer) timeSending(start time.Time) {
	w.sending.Add(int64(time.Since(start)))
}

// SendTime is the time spent sending the object's data so far: the sum of
// the durations of its part uploads (of its one request, for an object
// smaller than a part; of its writes and Close, on a file:// store),
// retries included. Parts sent at once count each in full.
func (w *Writer) SendTime() time.Duration { return time.Duration(w.sending.Load()) }

// fail records the Writer's first failure and stops the parts in flight.
func (w *Writer) fail(err error) error {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		w.cancel(err)
	}
	err = w.err
	w.mu.Unlock()
	return err
}

// failure is the Writer's first failure, or its context's end.
func (w *Writer) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil && w.ctx.Err() != nil {
		w.err = context.Cause(w.ctx)
	}
	return w.err
}

// Close sends what is left, waits for every part and makes the object
// visible; or, when the Writer failed or its context is done, aborts the
// upload and returns why. Closing again returns the same result.
func (w *Writer) Close() error {
	return w.result(w.close())
}

func (w *Writer) close() error {
	if !w.closed {
		w.closed = true
		w.closeErr = w.finish()
	}
	return w.closeErr
}

func (w *Writer) finish() error {
	if w.direct != nil {
		// gocloud discards the write when its context is done.
		defer w.timeSending(time.Now())
		err := w.failure()
		if cerr := w.direct.Close(); err == nil {
			err = cerr
		}
		w.cancel(err)
		if err != nil {
			return w.fail(err)
		}
		return nil
	}
	err := w.failure()
	if err == nil && w.mp == nil {
		// Smaller than one part: one request, and no upload to abort.
		var mp multipart
		if mp, err = w.newMP(); err == nil {
			data := w.buf
			start := time.Now()
			err = w.attempt(w.ctx, "uploading "+w.key, func(ctx context.Context) error { return mp.put(ctx, data) })
			w.timeSending(start)
		}
		w.release()
		return w.end(err)
	}
	if err == nil && len(w.buf) > 0 {
		err = w.flush(true)
	}
	w.release()
	if err == nil {
		err = w.failure()
	}
	if err == nil {
		err = w.attempt(w.ctx, "completing the upload of "+w.key, func(ctx context.Context) error {
			return w.mp.complete(ctx, w.parts, w.size)
		})
	}
	if err != nil {
		w.abortUpload()
	}
	return w.end(err)
}

// release waits for the uploaders and drops the buffers.
func (w *Writer) release() {
	if w.jobs != nil {
		close(w.jobs)
		w.jobs = nil
	}
	w.wg.Wait()
	w.pool.put(w.buf)
	for done := false; !done && w.free != nil; {
		select {
		case b := <-w.free:
			w.pool.put(b)
		default:
			done = true
		}
	}
	w.buf, w.free = nil, nil
}

// end records the outcome of Close.
func (w *Writer) end(err error) error {
	if err != nil {
		err = w.fail(err)
	}
	w.cancel(err)
	return err
}

// abortUpload discards what the provider holds of a failed upload, even
// when the Writer's context was cancelled.
func (w *Writer) abortUpload() error {
	if w.mp == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	return w.attempt(ctx, "aborting the upload of "+w.key, w.mp.abort)
}

// Abort ends a Writer that will not be completed: the upload is aborted
// and nothing appears under the key. cause is what Close and Write will
// return from now on. It returns the error of the clean-up itself (the
// abort request), which leaves at worst an invisible incomplete upload.
// Aborting a Writer that was closed does nothing: an object stored stays.
func (w *Writer) Abort(cause error) error {
	if cause == nil {
		cause = errors.New("upload aborted")
	}
	if w.closed {
		return nil
	}
	w.closed = true
	w.closeErr = w.fail(cause)
	if w.direct != nil {
		w.direct.Close()
		return nil
	}
	w.release()
	return w.abortUpload()
}

// result is how the store reports the outcome of a write: a key taken
// under IfNotExist is ErrExists, anything else has its exit status.
func (w *Writer) result(err error) error {
	if err == nil || w.s == nil {
		return err
	}
	if errors.Is(err, ErrExists) || (w.o.IfNotExist && conflict(err)) {
		return fmt.Errorf("%w: %s", ErrExists, w.key)
	}
	return w.s.classify(err, true)
}

// directPut uploads data in one request through gocloud's writer.
func (s *Store) directPut(ctx context.Context, key string, data []byte, o UploadOptions) error {
	wo, err := s.blobWriterOptions(o)
	if err != nil {
		return err
	}
	return s.Bucket.Upload(ctx, key, bytes.NewReader(data), wo)
}

// writePath is the store's, or a file store's when the provider set none.
func (s *Store) writePath() *writePath {
	if s.wp != nil {
		return s.wp
	}
	return &writePath{deleteBatch: s.deleteEach, maxBatch: fileMaxDeleteBatch}
}
