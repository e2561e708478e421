package tensor

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func TestRoundHalf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(x float32) {
		want := F16ToF32(F32ToF16(x))
		if got := RoundHalf(x); !sameBits(got, want) {
			t.Fatalf("RoundHalf(%g) = %g, want %g", x, got, want)
		}
	}
	for i := 0; i < 300_000; i++ {
		check(math.Float32frombits(r.Uint32()))
		check(float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(12)-6))))
	}
	for _, x := range []float32{0, 1, 65504, 65519, 65520, 6.1e-5, 6.103515625e-05, 1 + 1.0/2048, 1 + 3.0/2048, -2.5} {
		check(x)
	}
}

func TestToHalf(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for n := 0; n < 40; n++ {
			src := make([]float32, n)
			for i := range src {
				switch r.IntN(4) {
				case 0:
					src[i] = math.Float32frombits(r.Uint32())
				default:
					src[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(10)-5)))
				}
			}
			if n > 3 {
				src[0], src[1], src[2] = 65520, 1+1.0/2048, 6e-8
			}
			dst := make([]uint16, n+1)
			dst[n] = 0xbeef
			ToHalf(dst, src)
			for i, x := range src {
				want := F32ToF16(x)
				if x != x {
					if dst[i]&0x7c00 != 0x7c00 || dst[i]&0x3ff == 0 {
						t.Fatalf("ToHalf(NaN) = %#x", dst[i])
					}
					continue
				}
				if dst[i] != want {
					t.Fatalf("n=%d: ToHalf(%g) = %#x, want %#x", n, x, dst[i], want)
				}
			}
			if dst[n] != 0xbeef {
				t.Fatalf("n=%d: ToHalf wrote past the source length", n)
			}
		}
	})
}

// TestFMA32 checks fma32 against a·b+c computed exactly with math/big and rounded once.
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	var hard int
	for i := 0; i < 200_000; i++ {
		a := float32(r.NormFloat64())
		b := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20)))
		c := float32(r.NormFloat64())
		if i%2 == 0 {
			// a·b is just below half a float32 ulp of c, by a remainder far below float64's
			// precision: rounding to float64 lands exactly halfway between two float32s, and
			// rounding that again goes the wrong way for c with an odd last bit.
			c = float32(math.Ldexp(1+float64(r.IntN(1<<23))/(1<<23), r.IntN(20)-10))
			ulp := float64(math.Nextafter32(c, float32(math.Inf(1))) - c)
			a = 1 + 1.0/(1<<23)
			b = float32(ulp / 2 * (1 - 1.0/(1<<23)))
			if r.IntN(2) == 0 {
				a, c = -a, -c
			}
		}
		want := exact(a, b, c)
		if got := fma32(a, b, c); !sameBits(got, want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
		if float32(math.FMA(float64(a), float64(b), float64(c))) != want {
			hard++
		}
	}
	if hard < 1000 {
		t.Fatalf("only %d cases where rounding twice differs were generated", hard)
	}
}

// randHalfs returns n random half-precision values of normal magnitude.
func randHalfs(r *rand.Rand, n int) []uint16 {
	h := make([]uint16, n)
	for i := range h {
		h[i] = F32ToF16(float32(r.NormFloat64()))
	}
	return h
}

func TestHalfScores(t *testing.T) {
	for _, hd := range []int{8, 12, 64, 80, 128} {
		r := rand.New(rand.NewPCG(7, uint64(hd)))
		const npos = 37
		stride := 3*hd + 8
		k := randHalfs(r, (npos-1)*stride+hd)
		q := randVec(r, hd)
		for i := range q {
			q[i] = RoundHalf(q[i])
		}
		scale := float32(1 / math.Sqrt(float64(hd)))
		ref := make([]float32, npos)
		halfScoresGo(ref, q, k, stride, scale)
		forEachPath(t, func(t *testing.T) {
			out := make([]float32, npos+1)
			HalfScores(out[:npos], q, k, stride, scale)
			for j := 0; j < npos; j++ {
				var want float64
				for i := range q {
					want += float64(q[i]) * float64(F16ToF32(k[j*stride+i]))
				}
				want *= float64(scale)
				if math.Abs(float64(out[j])-want) > 1e-6*math.Abs(want)+1e-6 {
					t.Fatalf("hd=%d row %d: %g, want %g", hd, j, out[j], want)
				}
				if !sameBits(out[j], ref[j]) {
					t.Fatalf("hd=%d row %d: %g, pure Go kernel %g", hd, j, out[j], ref[j])
				}
			}
			if out[npos] != 0 {
				t.Fatalf("hd=%d: wrote past the end", hd)
			}
		})
	}
}

// TestHalfAccumulate checks the value step against a float64 weighted sum (within the error of
// half-precision accumulation) and the assembly kernel against the pure-Go one bit for bit.
func TestHalfAccumulate(t *testing.T) {
	for _, vd := range []int{8, 12, 64, 96, 128} {
		r := rand.New(rand.NewPCG(9, uint64(vd)))
		const npos = 200
		stride := 2*vd + 16
		v := randHalfs(r, (npos-1)*stride+vd)
		// An online softmax over random scores, as attention runs it.
		ms, vs := make([]float32, npos), make([]float32, npos)
		m := float32(math.Inf(-1))
		var sum float32
		for j := range vs {
			sc := float32(r.NormFloat64() * 3)
			ms[j], vs[j] = 1, 1
			if sc > m {
				ms[j] = float32(math.Exp(float64(m - sc)))
				m = sc
			} else {
				vs[j] = float32(math.Exp(float64(sc - m)))
			}
			sum = sum*ms[j] + vs[j]
		}
		// The float64 reference: the same weights, normalised at the end.
		want := make([]float64, vd)
		for j := range vs {
			for d := range want {
				want[d] = want[d]*float64(ms[j]) + float64(F16ToF32(v[j*stride+d]))*float64(vs[j])
			}
		}
		ref := make([]float32, vd)
		halfAccumulateGo(ref, v, stride, ms, vs)
		forEachPath(t, func(t *testing.T) {
			acc := make([]float32, vd+1)
			HalfAccumulate(acc[:vd], v, stride, ms, vs)
			for d := 0; d < vd; d++ {
				if !sameBits(acc[d], ref[d]) {
					t.Fatalf("vd=%d d=%d: %g, pure Go kernel %g", vd, d, acc[d], ref[d])
				}
				if RoundHalf(acc[d]) != acc[d] {
					t.Fatalf("vd=%d d=%d: %g is not a half-precision value", vd, d, acc[d])
				}
				got, w := float64(acc[d])/float64(sum), want[d]/float64(sum)
				if math.Abs(got-w) > 2e-2*(math.Abs(w)+0.05) {
					t.Fatalf("vd=%d d=%d: %g, float64 %g", vd, d, got, w)
				}
			}
			if acc[vd] != 0 {
				t.Fatalf("vd=%d: wrote past the end", vd)
			}
		})
	}
}

func TestScores(t *testing.T) {
	for _, hd := range []int{5, 8, 16, 24, 64, 128} {
		r := rand.New(rand.NewPCG(11, uint64(hd)))
		const npos = 29
		stride := 2*hd + 3
		k := randVec(r, (npos-1)*stride+hd)
		q := randVec(r, hd)
		forEachPath(t, func(t *testing.T) {
			out := make([]float32, npos+1)
			Scores(out[:npos], q, k, stride, 0.125)
			for j := 0; j < npos; j++ {
				var want, mag float64
				for i := range q {
					want += float64(q[i]) * float64(k[j*stride+i])
					mag += math.Abs(float64(q[i]) * float64(k[j*stride+i]))
				}
				want *= 0.125
				if math.Abs(float64(out[j])-want) > 1e-6*mag+1e-7 {
					t.Fatalf("hd=%d row %d: %g, want %g", hd, j, out[j], want)
				}
			}
			if out[npos] != 0 {
				t.Fatalf("hd=%d: wrote past the end", hd)
			}
		})
	}
}
