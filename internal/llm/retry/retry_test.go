package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := http.Header{}
	for _, c := range []struct {
		v    string
		want time.Duration
	}{
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"2.5", 2500 * time.Millisecond},
		{"7", 7 * time.Second},
		{"soon", 0},
		{"-3", 0},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"", 0},
	} {
		h.Set("Retry-After", c.v)
		if d := After(h, now); d != c.want {
			t.Errorf("Retry-After %q = %v, want %v", c.v, d, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := Policy{Delay: 100 * time.Millisecond, MaxAfter: 3 * time.Second}
	if d := p.Backoff(0, time.Hour); d != 3*time.Second {
		t.Errorf("capped delay = %v, want 3s", d)
	}
	if d := p.Backoff(0, time.Second); d != time.Second {
		t.Errorf("Retry-After delay = %v, want 1s", d)
	}
	for n := range 8 {
		d := p.Backoff(n, 0)
		hi := p.Delay << min(n, 4)
		if d < hi/2 || d > hi {
			t.Errorf("Backoff(%d) = %v, want within [%v, %v]", n, d, hi/2, hi)
		}
	}
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	fail := errors.New("boom")
	calls := 0
	p := Policy{Max: 2, Delay: time.Millisecond}
	err := p.Do(ctx, "op", func() error { calls++; return &Error{Err: fail} })
	if !errors.Is(err, fail) || calls != 3 {
		t.Errorf("exhausted: err %v after %d calls, want boom after 3", err, calls)
	}
	var wrapped *Error
	if errors.As(err, &wrapped) {
		t.Errorf("the final error is still wrapped as retryable")
	}
	calls = 0
	err = p.Do(ctx, "op", func() error { calls++; return fail })
	if !errors.Is(err, fail) || calls != 1 {
		t.Errorf("not retryable: %v after %d calls", err, calls)
	}
	calls = 0
	err = p.Do(ctx, "op", func() error {
		calls++
		if calls < 2 {
			return &Error{Err: fail}
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("recovery: %v after %d calls", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	canceled := errors.New("canceled by the caller")
	p = Policy{Max: 5, Delay: time.Hour, Canceled: func() error { return canceled }}
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	err = p.Do(cctx, "op", func() error { return &Error{Err: fail} })
	if !errors.Is(err, canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("cancel during a wait: %v after %v", err, time.Since(start))
	}
}
