// Package bufpipe connects a goroutine that produces a byte stream to one
// that consumes it through large buffers taken from a fixed pool: the
// producer runs ahead of the consumer by as many buffers as the pool has
// free, and no further, so that two stages of a pipeline (a download and
// its decompression, a decompression and the file writes) overlap in a
// bounded amount of memory. Several pipes may share one pool: a producer
// that has finished one stream can start the next while the consumer is
// still reading the first.
//
// Unlike io.Pipe, a Write returns as soon as its bytes are copied into a
// buffer, buffers are handed over only when full (or at the end of the
// stream), and a Read returns the bytes of as many buffers as are ready
// and fit: both sides see large blocks, whatever sizes the other side
// uses.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package bufpipe

import (
	"io"
	"sync"
)

// Pool is a fixed set of buffers of one size, shared by pipes.
type Pool struct {
	free chan []byte // nil entries stand for buffers not allocated yet
	size int
}

// NewPool returns a pool of n buffers of size bytes each, allocated as
// they are first needed: at most n*size bytes.
func NewPool(n, size int) *Pool {
	p := &Pool{free: make(chan []byte, n), size: size}
	for i := 0; i < n; i++ {
		p.free <- nil
	}
	return p
}

func (p *Pool) put(b []byte) { p.free <- b[:0] }

func (p *Pool) alloc(b []byte) []byte {
	if b == nil {
		b = make([]byte, 0, p.size)
	}
	return b
}

// Pipe is one stream from a producer (Write, ReadFrom, CloseWithError) to
// a consumer (Read, WriteTo, Close). Each side is used by one goroutine.
type Pipe struct {
	pool *Pool
	// full holds the filled buffers in order. Its capacity is the pool's
	// size, so a send never blocks: only taking a free buffer does.
	full chan []byte
	done chan struct{} // closed when the consumer gives up

	// mu orders the producer's sends against the consumer's Close, so
	// that no buffer is sent to a pipe nobody reads any more.
	mu     sync.Mutex
	closed bool  // the consumer has closed its side
	ended  bool  // the producer has closed its side
	err    error // the producer's end: nil for io.EOF

	cur  []byte // producer: the buffer being filled, nil if none
	rbuf []byte // consumer: the buffer being read, from roff on
	roff int
}

// New returns a pipe whose buffers come from p.
func (p *Pool) New() *Pipe {
	return &Pipe{pool: p, full: make(chan []byte, cap(p.free)), done: make(chan struct{})}
}

// buffer makes sure the producer has a buffer with room in it, waiting
// for one to be free.
func (p *Pipe) buffer() error {
	if p.cur != nil {
		return nil
	}
	// A closed consumer first: select would pick at random between a
	// free buffer and the closed channel.
	select {
	case <-p.done:
		return io.ErrClosedPipe
	default:
	}
	select {
	case b := <-p.pool.free:
		p.cur = p.pool.alloc(b)
		return nil
	case <-p.done:
		return io.ErrClosedPipe
	}
}

// send hands the producer's buffer to the consumer.
func (p *Pipe) send() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.cur
	p.cur = nil
	if p.closed {
		p.pool.put(b)
		return io.ErrClosedPipe
	}
	p.full <- b
	return nil
}

// Write copies b into the pipe's buffers, handing each one over once
// full. It waits only for a free buffer; it fails with io.ErrClosedPipe
// once the consumer has closed its side.
func (p *Pipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if err := p.buffer(); err != nil {
			return n, err
		}
		c := copy(p.cur[len(p.cur):cap(p.cur)], b)
		p.cur = p.cur[:len(p.cur)+c]
		n += c
		b = b[c:]
		if len(p.cur) == cap(p.cur) {
			if err := p.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// ReadFrom reads r into the pipe's buffers until r ends, without an
// intermediate copy. It returns r's error as it is (nil for io.EOF), and
// io.ErrClosedPipe once the consumer has closed its side. The bytes of a
// buffer not yet full stay in the pipe: a later Write or ReadFrom adds to
// them, CloseWithError hands them over.
func (p *Pipe) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	for {
		if err := p.buffer(); err != nil {
			return n, err
		}
		m, err := r.Read(p.cur[len(p.cur):cap(p.cur)])
		p.cur = p.cur[:len(p.cur)+m]
		n += int64(m)
		if len(p.cur) == cap(p.cur) {
			if serr := p.send(); serr != nil {
				return n, serr
			}
		}
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

// CloseWithError ends the stream: the consumer reads what was written,
// then err (io.EOF when err is nil). Later calls do nothing.
func (p *Pipe) CloseWithError(err error) {
	if p.cur != nil {
		if len(p.cur) > 0 {
			p.send() // fails only if nobody reads any more
		} else {
			p.pool.put(p.cur)
			p.cur = nil
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended, p.err = true, err
	close(p.full)
}

// next gives the consumer the next buffer: waiting for it if wait, else
// only if one is ready. ok is false at the end of the stream, or when
// !wait and none is ready.
func (p *Pipe) next(wait bool) (end, ok bool) {
	if p.rbuf != nil {
		p.pool.put(p.rbuf)
		p.rbuf, p.roff = nil, 0
	}
	var b []byte
	if wait {
		b, ok = <-p.full
	} else {
		select {
		case b, ok = <-p.full:
		default:
			return false, false
		}
	}
	if !ok {
		return true, false
	}
	p.rbuf = b
	return false, true
}

// end is what the consumer gets once the stream is over. close(full)
// happened after err was set, so no lock is needed.
func (p *Pipe) end() error {
	if p.err != nil {
		return p.err
	}
	return io.EOF
}

// Read reads from the pipe, waiting for a buffer only when it has nothing
// to return; it returns the producer's error (or io.EOF) after the last
// byte.
func (p *Pipe) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if p.roff < len(p.rbuf) {
			c := copy(b[n:], p.rbuf[p.roff:])
			p.roff += c
			n += c
			continue
		}
		end, ok := p.next(n == 0)
		if end && n == 0 {
			return 0, p.end()
		}
		if !ok {
			break
		}
	}
	return n, nil
}

// WriteTo writes the rest of the stream to w, buffer by buffer, and
// returns the producer's error, nil for io.EOF.
func (p *Pipe) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		if p.roff < len(p.rbuf) {
			m, err := w.Write(p.rbuf[p.roff:])
			p.roff += m
			n += int64(m)
			if err != nil {
				return n, err
			}
			continue
		}
		if end, _ := p.next(true); end {
			if p.err != nil {
				return n, p.err
			}
			return n, nil
		}
	}
}

// Close gives up reading: the buffers go back to the pool, and the
// producer's next Write or ReadFrom fails with io.ErrClosedPipe. It
// always returns nil.
func (p *Pipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.done)
	if p.rbuf != nil {
		p.pool.put(p.rbuf)
		p.rbuf, p.roff = nil, 0
	}
	for {
		select {
		case b, ok := <-p.full:
			if !ok {
				return nil
			}
			p.pool.put(b)
		default:
			return nil
		}
	}
}
