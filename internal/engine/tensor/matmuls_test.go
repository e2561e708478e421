package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMuls checks that one pass over several matrices gives, bit for bit, what a MatMul per
// matrix gives, for every type, for one and for several input vectors, serially and on a pool.
func TestMatMuls(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, typ := range quantTypes {
		cols := 512
		ms := []*Matrix{randomMatrix(t, typ, 48, cols), randomMatrix(t, typ, 16, cols), randomMatrix(t, typ, 37, cols)}
		for _, n := range []int{1, 3, 6} {
			x := randVec(rand.New(rand.NewPCG(uint64(n), 7)), n*cols)
			for _, pool := range []*Pool{nil, p} {
				outs := make([][]float32, len(ms))
				for i, m := range ms {
					outs[i] = make([]float32, n*m.Rows)
				}
				MatMuls(pool, ms, outs, x, n)
				for i, m := range ms {
					want := make([]float32, n*m.Rows)
					m.MatMul(nil, want, x, n)
					for j := range want {
						if math.Float32bits(outs[i][j]) != math.Float32bits(want[j]) {
							t.Fatalf("%v n=%d matrix %d [%d]: %g, alone %g", typ, n, i, j, outs[i][j], want[j])
						}
					}
				}
			}
		}
	}
}

func TestMatMulsMismatchPanics(t *testing.T) {
	a, b := randomMatrix(t, Q8_0, 16, 64), randomMatrix(t, Q8_0, 16, 96)
	c := randomMatrix(t, F32, 16, 64)
	x := make([]float32, 64)
	for name, f := range map[string]func(){
		"columns": func() { MatMuls(nil, []*Matrix{a, b}, [][]float32{make([]float32, 16), make([]float32, 16)}, x, 1) },
		"types":   func() { MatMuls(nil, []*Matrix{a, c}, [][]float32{make([]float32, 16), make([]float32, 16)}, x, 1) },
		"outputs": func() { MatMuls(nil, []*Matrix{a}, nil, x, 1) },
		"length":  func() { MatMuls(nil, []*Matrix{a}, [][]float32{make([]float32, 15)}, x, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s mismatch: no panic", name)
				}
			}()
			f()
		}()
	}
}
