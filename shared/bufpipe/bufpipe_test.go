package bufpipe

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"
)

func random(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestRoundTrip: what goes in comes out, in order, whatever the sizes
// each side uses, through Write or ReadFrom, Read or WriteTo.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name            string
		n, size, length int
		write           int  // Write chunk size; 0: ReadFrom
		read            int  // Read buffer size; 0: WriteTo
		oneByte         bool // ReadFrom's source returns one byte at a time
	}{
		{name: "empty", n: 2, size: 16, length: 0, write: 7, read: 5},
		{name: "writes smaller than buffers", n: 2, size: 1024, length: 100_000, write: 100, read: 4096},
		{name: "writes larger than buffers", n: 3, size: 100, length: 100_000, write: 1000, read: 33},
		{name: "exact buffers", n: 2, size: 128, length: 128 * 10, write: 128, read: 128},
		{name: "ReadFrom, WriteTo", n: 4, size: 1000, length: 123_457},
		{name: "ReadFrom one byte at a time", n: 1, size: 64, length: 1000, read: 10, oneByte: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := random(tc.length)
			p := NewPool(tc.n, tc.size).New()
			go func() {
				var err error
				if tc.write == 0 {
					var src io.Reader = bytes.NewReader(data)
					if tc.oneByte {
						src = iotest.OneByteReader(src)
					}
					_, err = p.ReadFrom(src)
				} else {
					for b := data; len(b) > 0 && err == nil; {
						c := min(tc.write, len(b))
						_, err = p.Write(b[:c])
						b = b[c:]
					}
				}
				p.CloseWithError(err)
			}()
			var got bytes.Buffer
			if tc.read == 0 {
				if _, err := p.WriteTo(&got); err != nil {
					t.Fatal(err)
				}
			} else {
				buf := make([]byte, tc.read)
				for {
					n, err := p.Read(buf)
					got.Write(buf[:n])
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Errorf("got %d bytes, want %d, or different", got.Len(), len(data))
			}
			p.Close()
		})
	}
}

// TestBounded: the producer runs ahead by the pool's buffers and no
// further; a Read gets the bytes of every buffer ready, up to its size.
func TestBounded(t *testing.T) {
	const n, size = 3, 10
	p := NewPool(n, size).New()
	wrote := make(chan int, 100)
	go func() {
		for i := 0; i < 10; i++ {
			if _, err := p.Write(bytes.Repeat([]byte{byte(i)}, size)); err != nil {
				t.Error(err)
			}
			wrote <- i
		}
		p.CloseWithError(nil)
	}()
	// n buffers filled and sent, then the producer waits for a free one.
	for i := 0; i < n; i++ {
		<-wrote
	}
	select {
	case i := <-wrote:
		t.Fatalf("write %d went through with every buffer full", i)
	case <-time.After(50 * time.Millisecond):
	}
	buf := make([]byte, 100)
	k, err := p.Read(buf)
	if err != nil || k != n*size {
		t.Fatalf("Read: %d, %v; want the %d bytes ready", k, err, n*size)
	}
	rest, err := io.ReadAll(p)
	if err != nil || len(rest) != 10*size-k {
		t.Fatalf("ReadAll: %d bytes, %v", len(rest), err)
	}
}

// TestErrorAfterData: the producer's error comes after its last byte,
// including the bytes of a buffer not yet full.
func TestErrorAfterData(t *testing.T) {
	boom := errors.New("boom")
	p := NewPool(2, 100).New()
	go func() {
		p.Write([]byte("hello"))
		p.CloseWithError(boom)
	}()
	got, err := io.ReadAll(p)
	if string(got) != "hello" || !errors.Is(err, boom) {
		t.Errorf("ReadAll: %q, %v", got, err)
	}
	if n, err := p.Read(make([]byte, 1)); n != 0 || !errors.Is(err, boom) {
		t.Errorf("Read after the end: %d, %v", n, err)
	}
	q := NewPool(1, 10).New()
	go func() { q.CloseWithError(boom) }()
	if _, err := q.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Errorf("WriteTo: %v", err)
	}
}

// TestConsumerClose: a consumer that gives up releases a producer waiting
// for a buffer, and every buffer goes back to the pool, so that the next
// pipe of the pool has them all.
func TestConsumerClose(t *testing.T) {
	pool := NewPool(2, 10)
	p := pool.New()
	done := make(chan error)
	go func() {
		_, err := p.ReadFrom(iotest.OneByteReader(bytes.NewReader(make([]byte, 1000))))
		p.CloseWithError(err)
		done <- err
	}()
	if _, err := p.Read(make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the producer fill the pool
	p.Close()
	if err := <-done; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("producer: %v, want io.ErrClosedPipe", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Write after Close: %v", err)
	}
	if len(pool.free) != 2 {
		t.Errorf("%d buffers back in the pool, want 2", len(pool.free))
	}
	// The next pipe gets both buffers.
	q := pool.New()
	if _, err := q.Write(make([]byte, 20)); err != nil {
		t.Fatal(err)
	}
	q.CloseWithError(nil)
	if b, err := io.ReadAll(q); len(b) != 20 || err != nil {
		t.Errorf("next pipe: %d bytes, %v", len(b), err)
	}
}

// TestSharedPool: a producer streams several pipes of one pool in turn,
// starting the next while the consumer still reads the first.
func TestSharedPool(t *testing.T) {
	pool := NewPool(4, 100)
	streams := [][]byte{random(250), random(1), random(0), random(1000)}
	pipes := make(chan *Pipe, len(streams))
	go func() {
		for _, s := range streams {
			p := pool.New()
			pipes <- p
			_, err := p.ReadFrom(bytes.NewReader(s))
			p.CloseWithError(err)
		}
		close(pipes)
	}()
	i := 0
	for p := range pipes {
		got, err := io.ReadAll(p)
		if err != nil || !bytes.Equal(got, streams[i]) {
			t.Errorf("stream %d: %d bytes, %v", i, len(got), err)
		}
		p.Close()
		i++
	}
	if i != len(streams) || len(pool.free) != 4 {
		t.Errorf("%d streams, %d buffers free", i, len(pool.free))
	}
}

// TestAllocation: buffers are allocated once, as first needed.
func TestAllocation(t *testing.T) {
	pool := NewPool(2, 1<<20)
	data := random(8 << 20)
	run := func() {
		p := pool.New()
		go func() {
			_, err := p.ReadFrom(bytes.NewReader(data))
			p.CloseWithError(err)
		}()
		io.Copy(io.Discard, p)
	}
	run()
	if allocs := testing.AllocsPerRun(5, run); allocs > 20 {
		t.Errorf("%v allocations per 8 MiB stream, want a few (no buffers)", allocs)
	}
}
