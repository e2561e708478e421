package tensor

import (
	"sync/atomic"
	"time"
)

// bandwidthChunk is the unit of work of MeasureReadBandwidth: 64 KiB, a multiple of every kernel's
// stride.
const bandwidthChunk = 64 << 10

// MeasureReadBandwidth returns the memory read bandwidth in bytes per second that p's threads reach
// streaming a buffer of the given size (raised to at least 1 MiB; choose one far larger than the
// last-level cache, e.g. 256 MiB) for about dur. It sums the buffer with the same vector loads the
// matrix kernels use (AVX2 where they use it), split over the threads like a matrix product, so
// "weight bytes per second of a product ÷ this" says how close a kernel gets to the memory system's
// limit. It allocates and touches the buffer before timing.
func MeasureReadBandwidth(p *Pool, bytes int, dur time.Duration) float64 {
	bytes = max(bytes, 1<<20) / bandwidthChunk * bandwidthChunk
	buf := make([]byte, bytes)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(i >> 12)
	}
	return measureReadBandwidth(p, buf, dur)
}

// measureReadBandwidth is MeasureReadBandwidth over buf, whose length is a multiple of
// bandwidthChunk, so that repeated probes can share one buffer.
func measureReadBandwidth(p *Pool, buf []byte, dur time.Duration) float64 {
	var sink atomic.Uint64
	chunks := len(buf) / bandwidthChunk
	pass := func() {
		p.Parallel(chunks, func(lo, hi int) {
			sink.Add(sumBytes(buf[lo*bandwidthChunk : hi*bandwidthChunk]))
		})
	}
	pass() // Warm up: fault the pages in, wake the workers.
	var total int64
	start := time.Now()
	for {
		pass()
		total += int64(len(buf))
		if el := time.Since(start); el >= dur {
			return float64(total) / el.Seconds()
		}
	}
}
