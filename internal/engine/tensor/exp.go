package tensor

import "math"

// expf's constants: those of Cephes' expf, a polynomial on [-ln2/2, ln2/2] after removing the
// nearest multiple of ln 2 (split in two parts so that the reduction is exact).
const (
	expLo  = -87.33654 // below this 2^n would leave the normal range
	expHi  = 88
	log2e  = 1.44269504088896341
	expC1  = 0.693359375
	expC2  = -2.12194440e-4
	expP0  = 1.9875691500e-4
	expP1  = 1.3981999507e-3
	expP2  = 8.3334519073e-3
	expP3  = 4.1665795894e-2
	expP4  = 1.6666665459e-1
	expP5  = 5.0000001201e-1
	expOne = 1
)

// expf returns e^x in float32 to within about 2 ulp, for x in [-87.3, 88] (outside it x is
// clamped). It performs the operations of the EXP8 assembly macro in the same order and rounds
// every step to float32 (no fused multiply-adds), so both give the same bits.
func expf(x float32) float32 {
	x = min(max(x, expLo), expHi)
	fx := float32(math.RoundToEven(float64(float32(x * log2e))))
	x -= float32(fx * expC1)
	x -= float32(fx * expC2)
	z := float32(x * x)
	y := float32(expP0*x) + expP1
	y = float32(y*x) + expP2
	y = float32(y*x) + expP3
	y = float32(y*x) + expP4
	y = float32(y*x) + expP5
	y = float32(float32(y*z)+x) + expOne
	return y * math.Float32frombits(uint32(int32(fx)+127)<<23)
}

// ExpSum sets x[i] to e^(x[i]-sub), a softmax's numerators, and returns their sum. The exponential
// is a float32 polynomial accurate to about 2 ulp (arguments below -87.3 give about 1e-38, not 0).
func ExpSum(x []float32, sub float32) float32 {
	n := len(x) &^ 7
	var sum float32
	if n > 0 {
		sum = expSum(x[:n], sub)
	}
	for i := n; i < len(x); i++ {
		x[i] = expf(x[i] - sub)
		sum += x[i]
	}
	return sum
}

func expSumGo(x []float32, sub float32) float32 {
	var s [8]float32
	for i, v := range x {
		x[i] = expf(v - sub)
		s[i&7] += x[i]
	}
	// The folding order of the AVX2 kernel's lanes.
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

// SumExp returns Σ e^(x[i]-sub) with the exponential of ExpSum, leaving x unchanged: the
// normaliser of a softmax (sub its maximum), for a log-sum-exp over a vocabulary's logits.
func SumExp(x []float32, sub float32) float32 {
	n := len(x) &^ 7
	var sum float32
	if n > 0 {
		sum = sumExp(x[:n], sub)
	}
	for _, v := range x[n:] {
		sum += expf(v - sub)
	}
	return sum
}

func sumExpGo(x []float32, sub float32) float32 {
	var s [8]float32
	for i, v := range x {
		s[i&7] += expf(v - sub)
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

// Exp sets dst[i] to e^src[i] rounded to float32, computed in float64 (so that it equals
// float32(math.Exp(float64(src[i]))) almost always, and is within 1 ulp of it otherwise). dst must
// be at least as long as src and may be src.
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	for i := exp32Vec(dst, src); i < len(src); i++ {
		dst[i] = float32(math.Exp(float64(src[i])))
	}
}

// SwiGLU sets dst[i] to SiLU(gate[i])·up[i] = gate[i]/(1+e^-gate[i])·up[i], the exponential
// computed in float64 and rounded to float32 (so that results match a scalar float32(math.Exp)
// almost always bit for bit, and within 1 ulp otherwise). gate and up must be at least as long as
// dst; dst may be gate.
func SwiGLU(dst, gate, up []float32) {
	gate, up = gate[:len(dst)], up[:len(dst)]
	n := len(dst) &^ 7
	if n > 0 {
		swiglu(dst[:n], gate[:n], up[:n])
	}
	swigluGo(dst[n:], gate[n:], up[n:])
}

func swigluGo(dst, gate, up []float32) {
	for i, g := range gate {
		dst[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
	}
}
