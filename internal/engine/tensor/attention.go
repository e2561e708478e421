package tensor

import (
	"fmt"
	"math"
)

// Attention kernels: the score and value steps of one query head against a KV cache, in float32 and
// in half precision. The half-precision ones follow the numerics of llama.cpp's CPU flash attention
// with an F16 cache, so that a forward pass built on them agrees with llama.cpp closely.

// RoundHalf rounds x to the nearest half-precision value (ties to even), returned as a float32.
// Values beyond the half range become ±Inf; NaN stays NaN.
func RoundHalf(x float32) float32 {
	u := math.Float32bits(x)
	// In half precision's normal range (below 2^15 here, to leave room for a carry), rounding
	// keeps the top 10 of the 23 mantissa bits.
	if u&0x7f800000-0x38800000 < 0x47000000-0x38800000 {
		return math.Float32frombits((u + 0x0fff + (u>>13)&1) &^ 0x1fff)
	}
	return f16Table[F32ToF16(x)]
}

// ToHalf converts src to half precision into dst (rounding to nearest even), which must be at
// least as long.
func ToHalf(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i := toHalfVec(dst, src); i < len(src); i++ {
		dst[i] = F32ToF16(src[i])
	}
}

// fma32 returns a·b+c rounded once to float32, as a float32 fused multiply-add does.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b) // exact: 24 by 24 bits
	s := p + float64(c)
	// Rounding s to float32 rounds a second time. That can differ from rounding p+c once only when
	// s lies exactly halfway between two float32s while p+c does not; then the exact error of the
	// sum (two-sum) says which way to go.
	if math.Float64bits(s)&(1<<29-1) == 1<<28 {
		bv := s - p
		e := (p - (s - bv)) + (float64(c) - bv)
		switch {
		case e > 0:
			s = math.Nextafter(s, math.Inf(1))
		case e < 0:
			s = math.Nextafter(s, math.Inf(-1))
		}
	}
	return float32(s)
}

// HalfScores sets out[j], for each j < len(out), to the dot product of q with the half-precision
// row k[j*stride : j*stride+len(q)], rounded to float32 and multiplied by scale. q should hold
// half-precision values (see RoundHalf): their products with the keys are then exact, and they are
// summed in float64 (as ggml sums short half-precision dot products), in a fixed order, so that
// every kernel returns the same bits. It panics if k is too short.
func HalfScores(out, q []float32, k []uint16, stride int, scale float32) {
	if len(out) == 0 {
		return
	}
	if len(k) < (len(out)-1)*stride+len(q) {
		panic(fmt.Sprintf("tensor: HalfScores over %d rows of %d with stride %d: cache has %d", len(out), len(q), stride, len(k)))
	}
	halfScores(out, q, k, stride, scale)
}

func halfScoresGo(out, q []float32, k []uint16, stride int, scale float32) {
	for j := range out {
		kr := k[j*stride : j*stride+len(q)]
		var s [8]float64
		for i, x := range q {
			s[i&7] += float64(x * f16Table[kr[i]])
		}
		// The folding order of the AVX2 kernel's lanes.
		dd := ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
		out[j] = float32(dd) * scale
	}
}

// HalfAccumulate is the value step of attention over a half-precision cache, kept in half
// precision as llama.cpp's flash attention keeps it: for each position j < len(vs), unless ms[j] is
// 1 it rescales acc[d] to RoundHalf(acc[d]·ms[j]), then sets acc[d] to RoundHalf of the fused
// multiply-add v[j*stride+d]·vs[j] + acc[d] (rounded once to float32), for every d < len(acc).
// ms must be as long as vs; it panics if v is too short.
func HalfAccumulate(acc []float32, v []uint16, stride int, ms, vs []float32) {
	if len(vs) == 0 || len(acc) == 0 {
		return
	}
	if len(ms) != len(vs) || len(v) < (len(vs)-1)*stride+len(acc) {
		panic(fmt.Sprintf("tensor: HalfAccumulate over %d rows of %d with stride %d: cache has %d, %d factors", len(vs), len(acc), stride, len(v), len(ms)))
	}
	halfAccumulate(acc, v, stride, ms, vs)
}

func halfAccumulateGo(acc []float32, v []uint16, stride int, ms, vs []float32) {
	for j, w := range vs {
		if ms[j] != 1 {
			for d, o := range acc {
				acc[d] = RoundHalf(o * ms[j])
			}
		}
		vr := v[j*stride : j*stride+len(acc)]
		for d, o := range acc {
			acc[d] = RoundHalf(fma32(f16Table[vr[d]], w, o))
		}
	}
}

// Scores sets out[j], for each j < len(out), to Dot(q, k[j*stride:j*stride+len(q)])·scale. It
// panics if k is too short.
func Scores(out, q, k []float32, stride int, scale float32) {
	if len(out) == 0 {
		return
	}
	if len(k) < (len(out)-1)*stride+len(q) {
		panic(fmt.Sprintf("tensor: Scores over %d rows of %d with stride %d: cache has %d", len(out), len(q), stride, len(k)))
	}
	scores(out, q, k, stride, scale)
}

func scoresGo(out, q, k []float32, stride int, scale float32) {
	for j := range out {
		out[j] = dotGo(q, k[j*stride:j*stride+len(q)]) * scale
	}
}
