package backup

import (
	"context"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// maxBurst bounds the bytes that may go without waiting after a pause:
// one second's worth at most, and never more than 1 MiB, so the limit
// holds over any interval longer than a fraction of a second.
const maxBurst = 1 << 20

// throttle is --max-bandwidth: a token bucket (golang.org/x/time/rate)
// of bytesPerSecond on the bytes handed to the storage after compression,
// shared by every archive of the backup.
//
// Deliberate difference from Barman, whose CloudTarUploader._throttle_upload
// sleeps before queueing a part until the previous part's size divided by
// the limit has passed, per archive (the state restarts with each
// archive, and the first part of each goes at once): the bucket limits
// every byte, across archives. Neither limits the sockets themselves:
// parts buffered are sent as fast as the network takes them, so the rate
// holds over a part's time, not within it.
type throttle struct {
	ctx   context.Context
	lim   *rate.Limiter
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// newThrottle limits to bytesPerSecond; now and sleep are the clock.
func newThrottle(ctx context.Context, bytesPerSecond int64, now func() time.Time, sleep func(context.Context, time.Duration) error) *throttle {
	burst := int(min(max(bytesPerSecond, 1), maxBurst))
	return &throttle{ctx: ctx, lim: rate.NewLimiter(rate.Limit(bytesPerSecond), burst), now: now, sleep: sleep}
}

// write writes b to w as the bucket lets it through, in pieces of at most
// the burst.
func (t *throttle) write(w io.Writer, b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), t.lim.Burst())
		now := t.now()
		r := t.lim.ReserveN(now, k) // k ≤ burst: always possible
		if d := r.DelayFrom(now); d > 0 {
			if err := t.sleep(t.ctx, d); err != nil {
				r.CancelAt(t.now())
				return n, err
			}
		}
		m, err := w.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

// sleepCtx sleeps for d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
