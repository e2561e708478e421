package uselite

import (
	"fmt"
	"runtime"
	"sync"

	kernels "github.com/seance-dev/seance/internal/engine/tensor"
)

// gemmParallelMin is the multiply-add count above which gemm splits the work across goroutines
// (a variable so tests can exercise the split on small products).
var gemmParallelMin = 1 << 22

// gemm computes c = a·bᵀ for row-major a [m, k], bt [n, k] and c [m, n]: every output element is a
// dot product of two contiguous rows computed by one call of tensor.Dot, so the result does not
// depend on how the work is split. Large products are split by column ranges over up to GOMAXPROCS goroutines,
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

// gemmTile is how many rows of bt gemmCols keeps hot in cache while every row of a passes over them.
const gemmTile = 16

// gemmCols computes columns [lo, hi) of c = a·bᵀ. Each element is one call of tensor.Dot (AVX2 and
// FMA where the CPU has them) over two contiguous rows; tiles of gemmTile rows of bt stay in cache
// while every row of a is multiplied with them.
func gemmCols(m, n, k int, a, bt, c []float32, lo, hi int) {
	for j0 := lo; j0 < hi; j0 += gemmTile {
		j1 := min(j0+gemmTile, hi)
		for i := range m {
			ai, ci := a[i*k:(i+1)*k], c[i*n:(i+1)*n]
			for j := j0; j < j1; j++ {
				ci[j] = kernels.Dot(ai, bt[j*k:(j+1)*k])
			}
		}
	}
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
