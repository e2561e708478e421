package httpapi

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/seance-dev/seance/internal/fault"
)

// limiter bounds the model calls running at once and the requests waiting for one. A request that
// finds every slot busy and the queue full fails at once with fault.Overloaded.
type limiter struct {
	slots    chan struct{}
	maxQueue int64
	waiting  atomic.Int64
}

func newLimiter(concurrent, queue int) *limiter {
	return &limiter{slots: make(chan struct{}, concurrent), maxQueue: int64(queue)}
}

// acquire takes a slot, waiting in the queue while ctx lasts. The caller must call release once.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	default:
	}
	if l.waiting.Add(1) > l.maxQueue {
		l.waiting.Add(-1)
		return nil, fault.New(fault.Overloaded, "server is busy (%d requests running, %d waiting); retry later",
			cap(l.slots), l.maxQueue)
	}
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free slot: %w", ctx.Err())
	}
}

func (l *limiter) release() { <-l.slots }

// running is the number of slots taken.
func (l *limiter) running() int { return len(l.slots) }

// queued is the number of requests waiting for a slot.
func (l *limiter) queued() int { return int(l.waiting.Load()) }
