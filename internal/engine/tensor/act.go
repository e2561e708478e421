package tensor

import (
	"math"
	"sync"
)

// actQ8 is a batch of activation vectors quantised to int8, as llama.cpp does before integer dot
// products: Q8_0-style (one float scale per 32 values) for Q8_0 and Q4_0 weights, Q8_K-style (one
// scale per 256 values plus sums of each 16 and each 32 quantised values) for the K-quants.
type actQ8 struct {
	q    []int8
	d    []float32
	bs16 []int16
	bs32 []int16
}

var actPool = sync.Pool{New: func() any { return new(actQ8) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// round8 rounds v, which lies in [-127.5, 127.5], to the nearest integer, halves away from zero.
func round8(v float32) int8 {
	if v >= 0 {
		return int8(min(v+0.5, 127))
	}
	return int8(max(v-0.5, -127))
}

// quantize fills a with the n vectors x (each len(x)/n long, a multiple of bs) quantised in blocks
// of bs values (32 or 256). Large batches are quantised in parallel on p.
func (a *actQ8) quantize(p *Pool, x []float32, n, bs int) {
	a.q = grow(a.q, len(x))
	a.d = grow(a.d, len(x)/bs)
	if bs == qkK {
		a.bs16 = grow(a.bs16, len(x)/16)
		a.bs32 = grow(a.bs32, len(x)/32)
	}
	nb := len(x) / bs
	if n < 4 || len(x) < 1<<14 {
		a.quantizeBlocks(x, bs, 0, nb)
		return
	}
	p.Parallel(nb, func(lo, hi int) { a.quantizeBlocks(x, bs, lo, hi) })
}

// quantizeBlocks quantises blocks [lo, hi) of x into a, whose slices are already sized.
func (a *actQ8) quantizeBlocks(x []float32, bs, lo, hi int) {
	if bs == qk8_0 && quantQ8_0(x[lo*bs:hi*bs], a.q[lo*bs:hi*bs], a.d[lo:hi]) {
		return
	}
	for b := lo; b < hi; b++ {
		xb := x[b*bs : (b+1)*bs]
		var amax float32
		for _, v := range xb {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		a.d[b] = d
		qb := a.q[b*bs : (b+1)*bs]
		for i, v := range xb {
			qb[i] = round8(v * id)
		}
		if bs != qkK {
			continue
		}
		for g := 16 * b; g < 16*(b+1); g++ {
			var s int16
			for _, v := range a.q[16*g : 16*g+16] {
				s += int16(v)
			}
			a.bs16[g] = s
		}
		for g := 8 * b; g < 8*(b+1); g++ {
			a.bs32[g] = a.bs16[2*g] + a.bs16[2*g+1]
		}
	}
}
