package uselite

import (
	"fmt"
	"runtime"
	"sync"
)

// gemmParallelMin is the multiply-add count above which gemm splits the work across goroutines
// (a variable so tests can exercise the split on small products).
var gemmParallelMin = 1 << 22

// gemm computes c = a·bᵀ for row-major a [m, k], bt [n, k] and c [m, n]: every output element is a
// dot product of two contiguous rows, summed in index order, so the result does not depend on how
// the work is split. Large products are split by column ranges over up to GOMAXPROCS goroutines,
// which gemm waits for.
func gemm(m, n, k int, a, bt, c []float32) {
	workers := runtime.GOMAXPROCS(0)
	if m*n*k < gemmParallelMin || workers < 2 || n < 64 {
		gemmCols(m, n, k, a, bt, c, 0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	chunk = (chunk + 7) &^ 7
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			gemmCols(m, n, k, a, bt, c, lo, hi)
		}()
	}
	wg.Wait()
}

// gemmCols computes columns [lo, hi) of c = a·bᵀ in tiles of four rows by two columns, which keeps
// eight sums in registers and loads six values per eight multiply-adds.
func gemmCols(m, n, k int, a, bt, c []float32, lo, hi int) {
	i := 0
	for ; i+4 <= m; i += 4 {
		a0, a1, a2, a3 := a[i*k:(i+1)*k], a[(i+1)*k:(i+2)*k], a[(i+2)*k:(i+3)*k], a[(i+3)*k:(i+4)*k]
		j := lo
		for ; j+2 <= hi; j += 2 {
			b0, b1 := bt[j*k:(j+1)*k], bt[(j+1)*k:(j+2)*k]
			b1, a0, a1, a2, a3 := b1[:len(b0)], a0[:len(b0)], a1[:len(b0)], a2[:len(b0)], a3[:len(b0)]
			var s00, s01, s10, s11, s20, s21, s30, s31 float32
			for p, x := range b0 {
				y := b1[p]
				v0, v1, v2, v3 := a0[p], a1[p], a2[p], a3[p]
				s00 += v0 * x
				s01 += v0 * y
				s10 += v1 * x
				s11 += v1 * y
				s20 += v2 * x
				s21 += v2 * y
				s30 += v3 * x
				s31 += v3 * y
			}
			c[i*n+j], c[i*n+j+1] = s00, s01
			c[(i+1)*n+j], c[(i+1)*n+j+1] = s10, s11
			c[(i+2)*n+j], c[(i+2)*n+j+1] = s20, s21
			c[(i+3)*n+j], c[(i+3)*n+j+1] = s30, s31
		}
		for ; j < hi; j++ {
			for r := range 4 {
				c[(i+r)*n+j] = dot(a[(i+r)*k:(i+r+1)*k], bt[j*k:(j+1)*k])
			}
		}
	}
	for ; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		for j := lo; j < hi; j++ {
			c[i*n+j] = dot(ai, bt[j*k:(j+1)*k])
		}
	}
}

// dot returns the sum of x[p]·y[p] in index order.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for p, v := range x {
		s += v * y[p]
	}
	return s
}

// packedMatMul is a matrix product whose right operand is a constant, stored transposed ([n, k])
// once at load time so the product reads contiguous rows.
type packedMatMul struct {
	n, k int
	wt   []float32
}

// packWeight returns w [k, n] (or, when transposed, w [n, k]) prepared for products.
func packWeight(w *tensor, transposed bool) (*packedMatMul, error) {
	if w.dt != float32T || w.rank() != 2 {
		return nil, fmt.Errorf("weight is %s %v, want a float32 matrix", w.dt, w.shape)
	}
	if transposed {
		return &packedMatMul{n: w.shape[0], k: w.shape[1], wt: w.f}, nil
	}
	t, err := transpose(w, []int{1, 0})
	if err != nil {
		return nil, err
	}
	return &packedMatMul{n: w.shape[1], k: w.shape[0], wt: t.f}, nil
}

// apply multiplies rows of x (the leading dimensions flattened, the last one k) by the weight and
// returns a tensor of shape outShape (whose element count must be rows·n).
func (p *packedMatMul) apply(x *tensor, outShape []int) (*tensor, error) {
	if x.dt != float32T || x.rank() < 1 || x.shape[x.rank()-1] != p.k {
		return nil, fmt.Errorf("input %s %v does not match a weight of %d×%d", x.dt, x.shape, p.k, p.n)
	}
	rows := x.size() / max(p.k, 1)
	out, err := newTensor(float32T, outShape)
	if err != nil {
		return nil, err
	}
	if out.size() != rows*p.n {
		return nil, fmt.Errorf("output shape %v for %d rows of %d", outShape, rows, p.n)
	}
	gemm(rows, p.n, p.k, x.f, p.wt, out.f)
	return out, nil
}
