package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
	"gocloud.dev/blob"

	"github.com/barmancloud/barman-cloud/shared/retry"
)

// NewRangeReader opens key for reading from byte offset on, length bytes
// (-1: to the end). Like NewReader it is not retried.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (*blob.Reader, error) {
	if s.unavailable != nil {
		return nil, s.classify(s.unavailable, true)
	}
	r, err := s.Bucket.NewRangeReader(ctx, key, offset, length, nil)
	return r, s.classify(err, false)
}

// ErrObjectChanged is Download's error for an object replaced while it was
// being downloaded: its size or modification time changed between two
// requests, so the parts read cannot be joined.
var ErrObjectChanged = errors.New("the object changed during the download")

// Download copies the whole object key to w and returns the number of
// bytes written. It is one operation under the store's retry policy, with
// one difference from Retry: a transfer cut in the middle is resumed where
// it stopped, with a range read from the first byte not yet written, and
// an attempt that wrote anything gives the next one a fresh retry budget.
// A large object is thus never downloaded twice, and a connection that
// keeps failing after some progress does not end the download while it
// still moves forward (--max-time bounds it, as every operation).
//
// An error of w ends the download at once (it is returned, wrapped, as a
// *WriteError), as does an object whose size or modification time
// changes between requests (ErrObjectChanged). A cut transfer that cannot
// be resumed within the retry budget is ErrUnreachable.
func (s *Store) Download(ctx context.Context, key string, w io.Writer) (int64, error) {
	d := &download{s: s, key: key, w: w, size: -1}
	for {
		err := s.Retry(ctx, "downloading "+key, d.attempt)
		var p *progressError
		if !errors.As(err, &p) {
			return d.off, err
		}
		s.log().Info().Msgf("downloading %s: %s; resuming at byte %d of %d", key, p.reason, d.off, d.size)
	}
}

func (s *Store) log() *zerolog.Logger {
	if s.retrier == nil {
		nop := zerolog.Nop()
		return &nop
	}
	return &s.retrier.Log
}

// WriteError is an error of the writer Download copies to.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// download is the state Download's attempts share: what has been written.
type download struct {
	s     *Store
	key   string
	w     io.Writer
	off   int64 // bytes written to w
	size  int64 // the object's size, -1 until the first answer
	mtime time.Time
}

// progressError ends a Retry after an attempt that wrote something before
// its transient failure: Download starts a new one from there.
type progressError struct {
	err    error
	reason string
}

func (e *progressError) Error() string { return e.err.Error() }
func (e *progressError) Unwrap() error { return e.err }

func (d *download) attempt(ctx context.Context) error {
	r, err := d.s.NewRangeReader(ctx, d.key, d.off, -1)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", d.key, err)
	}
	defer r.Close()
	switch {
	case d.size < 0:
		d.size, d.mtime = r.Size(), r.ModTime()
	case r.Size() != d.size || !r.ModTime().Equal(d.mtime):
		return retry.Permanent(fmt.Errorf("downloading %s: %w (%d bytes, then %d)", d.key, ErrObjectChanged, d.size, r.Size()))
	}
	start := d.off
	n, err := io.Copy(d.w, sourceReader{r})
	d.off += n
	var se *sourceError
	switch {
	case d.off == d.size:
		// Complete: an error after the last byte (a connection closed
		// without its final chunk) lost nothing.
		return nil
	case err != nil && !errors.As(err, &se):
		return retry.Permanent(&WriteError{Err: err})
	case err == nil && d.off < d.size:
		err = io.ErrUnexpectedEOF // the answer ended early
	default:
		err = se.err
	}
	err = bodyError(err)
	reason, transient := Transient(err)
	if transient && d.off > start {
		return retry.Permanent(&progressError{err: fmt.Errorf("downloading %s: %w", d.key, err), reason: reason})
	}
	return fmt.Errorf("downloading %s: %w", d.key, err)
}

// bodyError classifies an error met while reading an answer's body: a
// connection that failed or was cut (a body shorter than announced) is the
// storage being unreachable, as before the answer.
func bodyError(err error) error {
	if e := ReadError(err); e != err {
		return e
	}
	if reason, ok := Transient(err); ok {
		return &Error{Kind: Unreachable, Msg: "cannot reach the storage: " + reason, Err: err}
	}
	return err
}

// sourceReader marks the errors of the body it reads, so that io.Copy's
// one error tells them from the writer's; it also hides the body's
// WriterTo.
type sourceReader struct{ r io.Reader }

type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}
