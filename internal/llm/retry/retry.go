// Package retry is the retry policy the HTTP backends (internal/llm/openai, internal/llm/ollama)
// share: failures marked retryable are tried again with exponential backoff and jitter, or after the
// server's Retry-After, until the retries are used up or the context ends.
package retry

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error marks a failure worth another attempt. After is the delay the server asked for (0: none).
type Error struct {
	Err   error
	After time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Policy says how to retry.
type Policy struct {
	// Max is the number of retries after the first attempt (0: none).
	Max int
	// Delay is the base of the exponential backoff: retry n+1 waits a random time in [d/2, d] with
	// d = Delay × 2^min(n, 4).
	Delay time.Duration
	// MaxAfter caps a server's Retry-After.
	MaxAfter time.Duration
	// Log receives one warning per retry; nil discards.
	Log *slog.Logger
	// Canceled builds the error returned when ctx ends during the attempts or a wait.
	Canceled func() error
}

// Do runs attempt until it succeeds, fails with an error that is not an *Error, or the retries are
// used up; the final error is returned without the *Error wrapper.
func (p Policy) Do(ctx context.Context, op string, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		var r *Error
		if err == nil || !errors.As(err, &r) {
			return err
		}
		if ctx.Err() != nil {
			return p.canceled(ctx)
		}
		if n >= p.Max {
			return r.Err
		}
		delay := p.Backoff(n, r.After)
		if p.Log != nil {
			p.Log.Warn("retrying", "op", op, "attempt", n+1, "delay", delay, "err", r.Err.Error())
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return p.canceled(ctx)
		case <-t.C:
		}
	}
}

func (p Policy) canceled(ctx context.Context) error {
	if p.Canceled != nil {
		return p.Canceled()
	}
	return ctx.Err()
}

// Backoff returns the delay before retry n+1: the server's Retry-After when given (capped at
// MaxAfter), else exponential backoff with jitter.
func (p Policy) Backoff(n int, after time.Duration) time.Duration {
	if after > 0 {
		if p.MaxAfter > 0 {
			return min(after, p.MaxAfter)
		}
		return after
	}
	d := p.Delay << min(n, 4)
	return d/2 + rand.N(d/2+1)
}

// After parses a Retry-After header: delay-seconds (fractions accepted) or an HTTP date. It returns 0
// when the header is absent or unusable.
func After(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
