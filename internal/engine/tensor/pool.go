package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs work in parallel on a fixed number of threads: the calling goroutine plus threads−1
// worker goroutines that NewPool starts once and that sleep between calls, so the many small
// products of a forward pass do not pay for goroutine creation. The zero value and nil run serially.
//
// Parallel may be called from several goroutines at once; the calls share the workers. Close stops
// the workers; after Close the pool still works, serially.
type Pool struct {
	threads int

	mu     sync.RWMutex // Held shared while handing out work, exclusively by Close.
	closed bool
	work   chan *job
	wg     sync.WaitGroup // Running workers.
}

// job is one Parallel call: chunks of [0, n) handed out by an atomic counter to whichever threads
// pick the job up. A job is never reused, so a worker that arrives after the last chunk was taken
// only sees an exhausted counter.
type job struct {
	f       func(lo, hi int)
	n       int
	chunk   int
	nchunks int64
	next    atomic.Int64
	done    sync.WaitGroup // One count per chunk.
}

func (j *job) run() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.nchunks {
			return
		}
		lo := int(c) * j.chunk
		j.f(lo, min(lo+j.chunk, j.n))
		j.done.Done()
	}
}

// NewPool returns a pool with the given number of threads (at least 1) and starts its workers.
// Call Close to stop them.
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = 1
	}
	p := &Pool{threads: threads}
	if threads > 1 {
		p.work = make(chan *job, threads)
		p.wg.Add(threads - 1)
		for i := 0; i < threads-1; i++ {
			go p.worker()
		}
	}
	return p
}

// spinYields is how many times an idle worker yields the processor, polling for work, before it
// blocks. A forward pass issues its products back to back with little serial work between them, so
// a worker that has just finished one usually gets the next within microseconds; catching it while
// still awake saves a scheduler wake-up per product. The bound keeps an idle pool from burning CPU.
const spinYields = 64

func (p *Pool) worker() {
	defer p.wg.Done()
	for {
		j, ok := p.next()
		if !ok {
			return
		}
		j.run()
	}
}

// next waits for the next job, polling for a while before it blocks. It reports false once the
// pool is closed.
func (p *Pool) next() (*job, bool) {
	for i := 0; i < spinYields; i++ {
		select {
		case j, ok := <-p.work:
			return j, ok
		default:
			runtime.Gosched()
		}
	}
	j, ok := <-p.work
	return j, ok
}

// Threads returns the number of threads.
func (p *Pool) Threads() int {
	if p == nil || p.threads < 1 {
		return 1
	}
	return p.threads
}

// Close stops the workers and waits for them to exit. It is safe to call more than once and on a
// nil pool. Calls to Parallel after Close run serially.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if !p.closed && p.work != nil {
		close(p.work)
	}
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

// Parallel calls f on disjoint ranges that cover [0, n) and returns when all calls are done. f may
// be called several times per thread (the range is split in a few chunks per thread so that a
// thread slowed by other load does not hold everyone up) and concurrently from different threads.
func (p *Pool) Parallel(n int, f func(lo, hi int)) {
	p.parallel(n, 1, f)
}

// parallel is Parallel with chunk boundaries at multiples of grain (except the last).
func (p *Pool) parallel(n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	k := p.Threads()
	grain = max(grain, 1)
	if k == 1 || n <= grain {
		f(0, n)
		return
	}
	// About four chunks per thread, rounded up to the grain.
	chunk := (n + 4*k - 1) / (4 * k)
	chunk = (chunk + grain - 1) / grain * grain
	nchunks := (n + chunk - 1) / chunk
	if nchunks == 1 {
		f(0, n)
		return
	}
	j := &job{f: f, n: n, chunk: chunk, nchunks: int64(nchunks)}
	j.done.Add(nchunks)
	p.mu.RLock()
	if !p.closed {
	send:
		for i := 0; i < min(k-1, nchunks-1); i++ {
			select {
			case p.work <- j:
			default: // Every worker is busy and the queue is full: this thread does more itself.
				break send
			}
		}
	}
	p.mu.RUnlock()
	j.run()
	j.done.Wait()
}
