package backup

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock is a clock whose sleeps advance it.
type fakeClock struct {
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.t = c.t.Add(d)
	c.slept += d
	return nil
}

// TestThrottle: the token bucket lets a burst through at once, then the
// rate; an idle time refills the bucket only up to the burst; the bytes
// arrive whole and in order.
func TestThrottle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  int64
		idle  time.Duration // between the two writes
		sizes [2]int
		want  [2]time.Duration // time slept by each write
	}{
		// 1000 B/s, burst 1000: 5000 bytes = 1000 at once + 4 s; after 10
		// s idle, 3000 bytes = 1000 + 2 s.
		{"1000 B/s", 1000, 10 * time.Second, [2]int{5000, 3000}, [2]time.Duration{4 * time.Second, 2 * time.Second}},
		// 2 MiB/s, burst 1 MiB: 4 MiB = 1 MiB + 1.5 s; then, no idle
		// time, 1 MiB = 0.5 s.
		{"2 MiB/s", 2 << 20, 0, [2]int{4 << 20, 1 << 20}, [2]time.Duration{1500 * time.Millisecond, 500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClock{t: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
			th := newThrottle(context.Background(), tc.rate, c.now, c.sleep)
			var out bytes.Buffer
			var in []byte
			for i, size := range tc.sizes {
				data := bytes.Repeat([]byte{byte('a' + i)}, size)
				in = append(in, data...)
				before := c.slept
				n, err := th.write(&out, data)
				if err != nil || n != size {
					t.Fatalf("write %d: %d, %v", i, n, err)
				}
				if got := c.slept - before; got < tc.want[i]-time.Millisecond || got > tc.want[i]+time.Millisecond {
					t.Errorf("write %d slept %v, want %v", i, got, tc.want[i])
				}
				c.t = c.t.Add(tc.idle)
			}
			if !bytes.Equal(out.Bytes(), in) {
				t.Error("the bytes written differ")
			}
		})
	}
}

// TestThrottleCancelled: a write waiting for the bucket ends with the
// context, having written what the bucket let through.
func TestThrottleCancelled(t *testing.T) {
	c := &fakeClock{t: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	th := newThrottle(ctx, 100, c.now, c.sleep)
	var out bytes.Buffer
	n, err := th.write(&out, make([]byte, 250))
	if !errors.Is(err, context.Canceled) || n != 100 || out.Len() != 100 {
		t.Errorf("write: %d, %v (wrote %d), want the 100-byte burst and the cancellation", n, err, out.Len())
	}
}

// TestThrottleReal: a short run on the real clock holds the rate.
func TestThrottleReal(t *testing.T) {
	th := newThrottle(context.Background(), 1<<20, time.Now, sleepCtx)
	var out bytes.Buffer
	start := time.Now()
	// 1 MiB burst, then 0.25 MiB at 1 MiB/s: at least 250 ms.
	if _, err := th.write(&out, make([]byte, 5<<18)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 240*time.Millisecond || d > 2*time.Second {
		t.Errorf("1.25 MiB at 1 MiB/s took %v, want about 250 ms", d)
	}
}
