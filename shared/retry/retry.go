// Package retry runs an operation again after a transient failure: a
// bounded number of attempts, spaced by exponential backoff with jitter
// (github.com/cenkalti/backoff/v5), all under the caller's context, whose
// deadline is the one overall limit of a tool's run.
//
// It is the only retry layer of the barman-cloud tools: the provider SDKs
// are configured not to retry by themselves, so that an operation is tried
// at most Policy.Tries times, never Tries times the SDK's own attempts.
// What counts as transient is the caller's to say (shared/storage knows
// the providers' errors); everything else ends the operation at once.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/rs/zerolog"
)

// Policy bounds the attempts of one operation.
type Policy struct {
	// Tries is the number of attempts, the first one included; 1 means no
	// retry. 0 means DefaultTries.
	Tries int
	// Initial is the wait before the second attempt; each later wait is
	// Multiplier times longer, up to Max. Every wait is then randomised by
	// ±Jitter (a fraction), so that clients throttled together do not come
	// back together. Zero values take the defaults below.
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// Defaults of a Policy: five attempts with waits of about 0.5, 1, 2 and
// 4 s between them (each ±50%), so a storage that stays unreachable is
// given up on after about 7.5 s of waiting plus the attempts themselves.
// That is short enough for PostgreSQL, which runs archive_command and
// restore_command again by itself, and long enough to ride out a
// connection reset, a server restart or a burst of throttling.
const (
	DefaultTries      = 5
	DefaultInitial    = 500 * time.Millisecond
	DefaultMax        = 15 * time.Second
	DefaultMultiplier = 2
	DefaultJitter     = 0.5
)

func (p Policy) withDefaults() Policy {
	if p.Tries <= 0 {
		p.Tries = DefaultTries
	}
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Multiplier < 1 {
		p.Multiplier = DefaultMultiplier
	}
	if p.Jitter <= 0 || p.Jitter >= 1 {
		p.Jitter = DefaultJitter
	}
	return p
}

// Classifier tells a transient failure from a permanent one. For a
// transient err it returns a short reason for the log ("HTTP 503
// SlowDown", "connection reset by peer"): it must never contain a
// credential, so it is not the error's own text, which may quote a
// signed URL.
type Classifier func(err error) (reason string, transient bool)

// Retrier runs operations under a Policy.
type Retrier struct {
	Policy    Policy
	Transient Classifier
	// Log receives one INFO line per retry: what failed, why, and how
	// long until the next attempt. INFO, not WARNING: a retry that works
	// is routine, and PostgreSQL's log (the tools' stderr at the default
	// verbosity) should get one line when an operation fails, its ERROR,
	// which counts the attempts and gives the last reason.
	Log zerolog.Logger
}

// Do runs op until it succeeds or fails with an error that is not
// transient, the attempts are used up, or ctx ends. It does not start a
// wait that would end after ctx's deadline: it gives up at once instead,
// with the last error. what names the operation in the log ("uploading
// 000000010000000000000001").
//
// op gets ctx and must start from scratch each time: an attempt that
// failed half-way must leave nothing another attempt could trip over.
// The error returned is op's last one, annotated with the number of
// attempts when there was more than one; it keeps op's error chain, so
// its exit status is op's.
func (r *Retrier) Do(ctx context.Context, what string, op func(context.Context) error) error {
	p := r.Policy.withDefaults()
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.Initial,
		RandomizationFactor: p.Jitter,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.Max,
	}
	attempts := 0
	var last error
	opts := []backoff.RetryOption{
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(p.Tries)),
		backoff.WithNotify(func(err error, wait time.Duration) {
			reason, _ := r.classify(err)
			r.Log.Info().Msgf("%s: %s; trying again in %s (attempt %d of %d)",
				what, reason, wait.Round(10*time.Millisecond), attempts+1, p.Tries)
		}),
	}
	// backoff's default limit is 15 minutes since the first attempt, which
	// a slow upload of a large segment can exceed by itself: the only time
	// limit is ctx's deadline.
	var deadline time.Time
	if d, ok := ctx.Deadline(); ok {
		deadline = d
		opts = append(opts, backoff.WithMaxElapsedTime(max(time.Until(d), time.Nanosecond)))
	} else {
		opts = append(opts, backoff.WithMaxElapsedTime(0))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		err := op(ctx)
		last = err
		switch {
		case err == nil:
			return struct{}{}, nil
		case ctx.Err() != nil:
			// Cancelled (a signal) or out of time: the error the
			// operation saw says more than the context's.
			return struct{}{}, backoff.Permanent(err)
		}
		if _, ok := r.classify(err); !ok || errors.As(err, new(*permanentError)) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, opts...)
	if err == nil {
		return nil
	}
	if last == nil {
		// Cancelled before the first attempt could run.
		return err
	}
	err = last
	reason, transient := r.classify(err)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &GaveUpError{Err: err, Attempts: attempts, Deadline: true, Limit: limitOf(ctx), Reason: reason}
	case transient && attempts < p.Tries && !deadline.IsZero() && ctx.Err() == nil:
		// backoff stopped before the attempts were used up: the next
		// wait would have ended after the deadline.
		return &GaveUpError{Err: err, Attempts: attempts, Deadline: true, Early: true, Limit: limitOf(ctx), Reason: reason}
	case ctx.Err() != nil, !transient, attempts == 1:
		return err
	}
	return &GaveUpError{Err: err, Attempts: attempts, Reason: reason}
}

func (r *Retrier) classify(err error) (string, bool) {
	if r.Transient == nil || errors.As(err, new(*permanentError)) {
		return "", false
	}
	return r.Transient(err)
}

// Permanent marks err as final whatever the classifier would say of it:
// for an operation's own failures that must not be retried (a local
// write error), whose error chain might still look transient.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// GaveUpError is the last error of an operation that was retried, or cut
// short by the deadline.
type GaveUpError struct {
	Err      error
	Attempts int
	// Deadline is true when the time limit ended the retries; Early when
	// it had not passed yet, but would have before the next attempt.
	Deadline, Early bool
	// Limit describes the deadline (see WithTimeLimit), or is nil.
	Limit  error
	Reason string
}

func (e *GaveUpError) Error() string {
	n := fmt.Sprintf("%d attempts", e.Attempts)
	if e.Attempts == 1 {
		n = "1 attempt"
	}
	if !e.Deadline {
		return fmt.Sprintf("%v (gave up after %s)", e.Err, n)
	}
	limit := "the deadline"
	if e.Limit != nil {
		limit = e.Limit.Error()
	}
	if e.Early {
		return fmt.Sprintf("%v (gave up after %s: the next one would start after %s)", e.Err, n, limit)
	}
	return fmt.Sprintf("%v (gave up after %s: %s passed)", e.Err, n, limit)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// TimeLimitError is the cause of a context made by WithTimeLimit.
type TimeLimitError struct {
	// What the limit is, for messages: "--max-time 30".
	Name  string
	Limit time.Duration
}

func (e *TimeLimitError) Error() string {
	return fmt.Sprintf("the time limit of %s (%s)", e.Limit, e.Name)
}

// Is makes the limit a context.DeadlineExceeded for errors.Is.
func (e *TimeLimitError) Is(target error) bool { return target == context.DeadlineExceeded }

type limitKey struct{}

// WithTimeLimit returns a context that ends after limit, whose cause is a
// *TimeLimitError naming the limit, so that an operation given up because
// of it says which limit it was, even before it is reached.
func WithTimeLimit(parent context.Context, limit time.Duration, name string) (context.Context, context.CancelFunc) {
	e := &TimeLimitError{Name: name, Limit: limit}
	ctx, cancel := context.WithDeadlineCause(parent, time.Now().Add(limit), e)
	return context.WithValue(ctx, limitKey{}, e), cancel
}

// limitOf is the time limit of ctx set by WithTimeLimit, or nil.
func limitOf(ctx context.Context) error {
	if e, ok := ctx.Value(limitKey{}).(*TimeLimitError); ok {
		return e
	}
	return nil
}
