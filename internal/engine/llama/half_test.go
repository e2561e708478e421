package llama

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seance-dev/seance/internal/engine/tensor"
)

// attendHalfScalar is the half-precision attention written out one element at a time, as llama.cpp's
// CPU flash attention computes it: scores summed in float64, an online softmax with float32(exp),
// the running sum of values rounded to half precision after every step.
func attendHalfScalar(out, q []float32, k, v []uint16, kStride, vStride, npos int, scale float32) {
	clear(out)
	m := float32(math.Inf(-1))
	var sum float32
	for j := 0; j < npos; j++ {
		var dd float64
		for i, x := range q {
			dd += float64(x * tensor.F16ToF32(k[j*kStride+i]))
		}
		sc := float32(dd) * scale
		ms, vs := float32(1), float32(1)
		if sc > m {
			ms = float32(math.Exp(float64(m - sc)))
			m = sc
			for d := range out {
				out[d] = tensor.RoundHalf(out[d] * ms)
			}
		} else {
			vs = float32(math.Exp(float64(sc - m)))
		}
		for d, o := range out {
			out[d] = tensor.RoundHalf(float32(math.FMA(float64(tensor.F16ToF32(v[j*vStride+d])), float64(vs), float64(o))))
		}
		sum = sum*ms + vs
	}
	inv := 1 / sum
	for d := range out {
		out[d] *= inv
	}
}

// TestAttendHalf checks the vectorised half-precision attention against the scalar description.
// They may differ where rounding a fused multiply-add through float64 differs from rounding it
// once, which moves a half-precision sum by one step at most: rarely, and by about 1e-3.
func TestAttendHalf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ hd, npos int }{{8, 5}, {64, 300}, {12, 40}} {
		kStride, vStride := 3*c.hd, 3*c.hd
		k := make([]uint16, c.npos*kStride)
		v := make([]uint16, c.npos*vStride)
		for i := range k {
			k[i] = tensor.F32ToF16(float32(r.NormFloat64()))
			v[i] = tensor.F32ToF16(float32(r.NormFloat64()))
		}
		q := make([]float32, c.hd)
		for i := range q {
			q[i] = tensor.RoundHalf(float32(r.NormFloat64() * 2))
		}
		scale := float32(1 / math.Sqrt(float64(c.hd)))
		want := make([]float32, c.hd)
		attendHalfScalar(want, q, k[c.hd:], v[c.hd:], kStride, vStride, c.npos-1, scale)
		got := make([]float32, c.hd)
		sc := new(scratch)
		sc.grow(c.npos, c.hd)
		attendHalf(got, q, k[c.hd:], v[c.hd:], kStride, vStride, c.npos-1, scale, sc)
		var differ int
		for d := range want {
			if got[d] != want[d] {
				differ++
				if math.Abs(float64(got[d]-want[d])) > 2e-3*(math.Abs(float64(want[d]))+0.1) {
					t.Fatalf("hd=%d npos=%d d=%d: %g, scalar %g", c.hd, c.npos, d, got[d], want[d])
				}
			}
		}
		if differ > c.hd/8 {
			t.Fatalf("hd=%d npos=%d: %d of %d outputs differ from the scalar computation", c.hd, c.npos, differ, c.hd)
		}
	}
}
