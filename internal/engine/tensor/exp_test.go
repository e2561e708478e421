package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns how many float32 steps got is from the float64 value want.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	step := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1))) - w))
	return math.Abs(float64(got)-want) / step
}

func TestExpf(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	var worst float64
	for i := 0; i < 200_000; i++ {
		x := float32(r.Float64()*175 - 87)
		if i%2 == 0 {
			x = float32(r.NormFloat64() * 4)
		}
		u := ulps(expf(x), math.Exp(float64(x)))
		worst = max(worst, u)
		if u > 3 {
			t.Fatalf("expf(%g) = %g, want %g (%.1f ulp)", x, expf(x), math.Exp(float64(x)), u)
		}
	}
	t.Logf("worst error %.2f ulp", worst)
	for _, c := range []struct{ x, want float32 }{{0, 1}, {-200, expf(expLo)}, {200, expf(expHi)}} {
		if got := expf(c.x); got != c.want {
			t.Errorf("expf(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if e := expf(expLo); e <= 0 || e > 2e-38 {
		t.Errorf("expf at the lower bound = %g", e)
	}
	if e := expf(expHi); math.IsInf(float64(e), 0) || ulps(e, math.Exp(expHi)) > 3 {
		t.Errorf("expf at the upper bound = %g", e)
	}
}

func TestExpSum(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 64, 1001} {
		r := rand.New(rand.NewPCG(33, uint64(n)))
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 5)
		}
		var ref []float32
		var refSum float32
		forEachPath(t, func(t *testing.T) {
			y := append([]float32(nil), x...)
			sum0 := SumExp(y, 2)
			for i := range y {
				if y[i] != x[i] {
					t.Fatalf("n=%d: SumExp changed its input", n)
				}
			}
			sum := ExpSum(y, 2)
			if math.Float32bits(sum) != math.Float32bits(sum0) {
				t.Fatalf("n=%d: ExpSum %g, SumExp %g", n, sum, sum0)
			}
			var want float64
			for i, v := range x {
				e := math.Exp(float64(v - 2)) // the kernel subtracts in float32
				want += e
				if ulps(y[i], e) > 3 {
					t.Fatalf("n=%d: exp(%g-2) = %g, want %g", n, v, y[i], e)
				}
			}
			if math.Abs(float64(sum)-want) > 1e-5*want {
				t.Fatalf("n=%d: sum %g, want %g", n, sum, want)
			}
			if ref == nil {
				ref, refSum = y, sum
				return
			}
			for i := range y {
				if math.Float32bits(y[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("n=%d [%d]: %g, other kernel %g", n, i, y[i], ref[i])
				}
			}
			if math.Float32bits(sum) != math.Float32bits(refSum) {
				t.Fatalf("n=%d: sum %g, other kernel %g", n, sum, refSum)
			}
		})
	}
}

func TestSwiGLU(t *testing.T) {
	for _, n := range []int{3, 8, 13, 1536, 20000} {
		r := rand.New(rand.NewPCG(35, uint64(n)))
		gate, up := make([]float32, n), make([]float32, n)
		for i := range gate {
			gate[i], up[i] = float32(r.NormFloat64()*float64(1+i%20)), float32(r.NormFloat64())
		}
		if n > 3 {
			// exp(100) overflows float32: SiLU(-100) becomes -0 instead of -4e-42.
			gate[0], gate[1], gate[2] = -100, 100, -30
		}
		var ref []float32
		forEachPath(t, func(t *testing.T) {
			dst := make([]float32, n+1)
			SwiGLU(dst[:n], gate, up)
			for i, g := range gate {
				want := float64(g) / (1 + math.Exp(-float64(g))) * float64(up[i])
				if math.Abs(float64(dst[i])-want) > 1e-6*math.Abs(want)+1e-30 {
					t.Fatalf("n=%d: SwiGLU(%g, %g) = %g, want %g", n, g, up[i], dst[i], want)
				}
			}
			if dst[n] != 0 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
			if ref == nil {
				ref = dst
				return
			}
			for i := range dst {
				if math.Float32bits(dst[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("n=%d [%d]: %g, other kernel %g", n, i, dst[i], ref[i])
				}
			}
		})
	}
}

// TestExp checks Exp against float32(math.Exp), which it should match bit for bit but for rare
// values within 1 ulp, over the range softmax factors take and past float32's limits.
func TestExp(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	for _, n := range []int{1, 4, 7, 1000, 100_000} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(-r.ExpFloat64() * 10)
			if i%7 == 3 {
				src[i] = float32(r.NormFloat64() * 60)
			}
		}
		if n > 4 {
			src[0], src[1], src[2], src[3] = float32(math.Inf(-1)), 0, -1000, 1000
		}
		forEachPath(t, func(t *testing.T) {
			dst := make([]float32, n+1)
			Exp(dst[:n], src)
			var off int
			for i, x := range src {
				want := float32(math.Exp(float64(x)))
				if dst[i] == want {
					continue
				}
				off++
				if math.IsInf(float64(want), 0) || ulps(dst[i], float64(want)) > 1 {
					t.Fatalf("Exp(%g) = %g, want %g", x, dst[i], want)
				}
			}
			if off > n/100000+1 {
				t.Fatalf("%d of %d results differ from float32(math.Exp) in the last bit", off, n)
			}
			if dst[n] != 0 {
				t.Fatal("wrote past the end")
			}
		})
	}
}
