package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeActivations checks the Q8_0 activation quantisation of every kernel against a
// float64 description of it (scale max|x|/127, quants rounded half away from zero) and the
// assembly kernel against the pure-Go one bit for bit, on blocks that include zeros, ties and
// values whose scaled magnitude rounds past 127.
func TestQuantizeActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const nb = 64
	x := make([]float32, nb*qk8_0)
	for b := 0; b < nb; b++ {
		xb := x[b*qk8_0 : (b+1)*qk8_0]
		switch b % 4 {
		case 0: // Zero block.
		case 1: // Ties: with max 127, x = k + 0.5 scales to itself.
			for i := range xb {
				xb[i] = float32(r.IntN(254)-127) + 0.5
			}
			xb[0] = 127
		default:
			scale := math.Pow(10, float64(r.IntN(8)-4))
			for i := range xb {
				xb[i] = float32(r.NormFloat64() * scale)
			}
		}
	}
	var ref *actQ8
	forEachPath(t, func(t *testing.T) {
		a := new(actQ8)
		a.quantize(nil, x, 1, qk8_0)
		for b := 0; b < nb; b++ {
			xb := x[b*qk8_0 : (b+1)*qk8_0]
			var amax float32
			for _, v := range xb {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			if a.d[b] != amax/127 {
				t.Fatalf("block %d: scale %g, want %g", b, a.d[b], amax/127)
			}
			for i, v := range xb {
				var want float64
				s := float64(v * (1 / a.d[b]))
				if a.d[b] != 0 {
					want = math.Max(-127, math.Min(127, math.Trunc(s+math.Copysign(0.5, s))))
				}
				// Adding 0.5 in float32 may round a value just below a tie up to it.
				nearTie := math.Abs(math.Abs(s)-math.Floor(math.Abs(s))-0.5) < 1e-5
				if got := float64(a.q[b*qk8_0+i]); got != want && !(nearTie && math.Abs(got-want) == 1) {
					t.Fatalf("block %d [%d]: %g quantised to %v, want %v", b, i, v, got, want)
				}
			}
		}
		if ref == nil {
			ref = a
			return
		}
		for i := range a.q {
			if a.q[i] != ref.q[i] {
				t.Fatalf("quant %d: %d, other kernel %d", i, a.q[i], ref.q[i])
			}
		}
		for i := range a.d {
			if math.Float32bits(a.d[i]) != math.Float32bits(ref.d[i]) {
				t.Fatalf("scale %d: %g, other kernel %g", i, a.d[i], ref.d[i])
			}
		}
	})
	if hasAsm && ref == nil {
		t.Fatal("no kernel ran")
	}
}
