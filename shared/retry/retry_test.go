package retry

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var (
	errBusy  = errors.New("busy")
	errFatal = errors.New("fatal")
)

func classify(err error) (string, bool) {
	if errors.Is(err, errBusy) {
		return "HTTP 503 SlowDown", true
	}
	return "", false
}

// fast is a policy with waits short enough for tests.
var fast = Policy{Tries: 4, Initial: time.Millisecond, Max: 4 * time.Millisecond}

func TestDo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   Policy
		results  []error // what each attempt returns; the last repeats
		attempts int
		wantErr  error // nil: success
		gaveUp   bool  // the error is a *GaveUpError
		logLines int
	}{
		{"first attempt succeeds", fast, []error{nil}, 1, nil, false, 0},
		{"transient then success", fast, []error{errBusy, errBusy, nil}, 3, nil, false, 2},
		{"permanent at once", fast, []error{errFatal}, 1, errFatal, false, 0},
		{"transient then permanent", fast, []error{errBusy, errFatal}, 2, errFatal, false, 1},
		{"transient until tries are used up", fast, []error{errBusy}, 4, errBusy, true, 3},
		{"one try only", Policy{Tries: 1, Initial: time.Millisecond}, []error{errBusy}, 1, errBusy, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			r := &Retrier{Policy: tc.policy, Transient: classify, Log: zerolog.New(&log)}
			n := 0
			err := r.Do(context.Background(), "uploading X", func(context.Context) error {
				res := tc.results[min(n, len(tc.results)-1)]
				n++
				return res
			})
			if n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			var g *GaveUpError
			if errors.As(err, &g) != tc.gaveUp {
				t.Errorf("error %v: GaveUpError %v, want %v", err, !tc.gaveUp, tc.gaveUp)
			}
			if tc.gaveUp && !strings.Contains(err.Error(), "gave up after 4 attempts") {
				t.Errorf("message %q does not count the attempts", err)
			}
			lines := strings.Count(log.String(), "\n")
			if lines != tc.logLines {
				t.Errorf("%d log lines, want %d:\n%s", lines, tc.logLines, log.String())
			}
			if tc.logLines > 0 && !strings.Contains(log.String(), `uploading X: HTTP 503 SlowDown; trying again in `) {
				t.Errorf("log lacks the operation, reason or wait:\n%s", log.String())
			}
		})
	}
}

// TestDoDeadline: a wait that would end after the context's deadline is
// not started; the last error is returned at once, marked as out of time,
// with the deadline's cause.
func TestDoDeadline(t *testing.T) {
	ctx, cancel := WithTimeLimit(context.Background(), 300*time.Millisecond, "--max-time")
	defer cancel()
	r := &Retrier{Policy: Policy{Tries: 10, Initial: time.Second}, Transient: classify, Log: zerolog.Nop()}
	start := time.Now()
	n := 0
	err := r.Do(ctx, "x", func(context.Context) error { n++; return errBusy })
	if time.Since(start) > 200*time.Millisecond {
		t.Errorf("waited %s although the next attempt could not start before the deadline", time.Since(start))
	}
	var g *GaveUpError
	if n != 1 || !errors.As(err, &g) || !g.Deadline || !errors.Is(err, errBusy) {
		t.Fatalf("%d attempts, error %v", n, err)
	}
	if !strings.Contains(err.Error(), "busy (gave up after 1 attempt: the next one would start after the time limit of 300ms (--max-time))") {
		t.Errorf("message %q", err)
	}
}

// TestDoDeadlineDuringAttempt: an attempt cut by the deadline is not
// retried, and the error says why.
func TestDoDeadlineDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := &Retrier{Policy: fast, Transient: classify, Log: zerolog.Nop()}
	n := 0
	err := r.Do(ctx, "x", func(ctx context.Context) error {
		n++
		<-ctx.Done()
		return errors.Join(errBusy, ctx.Err())
	})
	var g *GaveUpError
	if n != 1 || !errors.As(err, &g) || !g.Deadline || !strings.Contains(err.Error(), "gave up after 1 attempt: the deadline passed") {
		t.Fatalf("%d attempts, error %v", n, err)
	}
}

// TestDoCancelled: cancelling (SIGTERM) stops the retries during a wait,
// promptly, with the operation's error.
func TestDoCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Retrier{Policy: Policy{Tries: 5, Initial: time.Hour}, Transient: classify, Log: zerolog.Nop()}
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	err := r.Do(ctx, "x", func(context.Context) error { return errBusy })
	if time.Since(start) > time.Second || !errors.Is(err, errBusy) {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	var g *GaveUpError
	if errors.As(err, &g) {
		t.Errorf("a cancelled operation is reported as given up: %v", err)
	}
}

// TestWaitsGrow: the waits grow exponentially within the jitter, up to
// Max: 10, 20, 40, then 40 and 40 ms (uncapped, the last would be 160).
func TestWaitsGrow(t *testing.T) {
	p := Policy{Tries: 6, Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Multiplier: 2, Jitter: 0.1}
	r := &Retrier{Policy: p, Transient: classify, Log: zerolog.Nop()}
	var times []time.Time
	r.Do(context.Background(), "x", func(context.Context) error {
		times = append(times, time.Now())
		return errBusy
	})
	if len(times) != 6 {
		t.Fatalf("%d attempts", len(times))
	}
	for i, w := range []time.Duration{10, 20, 40, 40, 40} {
		got := times[i+1].Sub(times[i])
		// Timers never fire early; under load they may fire late.
		lo, hi := w*time.Millisecond*9/10, w*time.Millisecond*2+50*time.Millisecond
		if got < lo || got > hi {
			t.Errorf("wait %d: %s, want about %dms", i+1, got, w)
		}
	}
}
