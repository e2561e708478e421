package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize encodes src as a sequence of type-t rows, exactly as a GGUF file stores them. len(src)
// must be a multiple of t's block size. The encoders are simple reference quantisers (round to
// nearest with per-block scales): they produce valid encodings with reasonable error but do not
// reproduce ggml's quantiser choices bit for bit. Quantize exists for writing fixtures and tests.
func Quantize(t Type, src []float32) ([]byte, error) {
	tr, ok := traits[t]
	if !ok || !tr.Supported {
		return nil, fmt.Errorf("quantize: tensor type %v is not supported", t)
	}
	n, err := RowBytes(t, len(src))
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	for i, v := range src {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("quantize %v: element %d is %v", t, i, v)
		}
	}
	dst := make([]byte, n)
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
	case Q8_0:
		for b := 0; b < len(src)/qk8_0; b++ {
			quantBlockQ8_0(dst[b*q8_0Bytes:(b+1)*q8_0Bytes], src[b*qk8_0:(b+1)*qk8_0])
		}
	case Q4_0:
		for b := 0; b < len(src)/qk4_0; b++ {
			quantBlockQ4_0(dst[b*q4_0Bytes:(b+1)*q4_0Bytes], src[b*qk4_0:(b+1)*qk4_0])
		}
	case Q4_K:
		for b := 0; b < len(src)/qkK; b++ {
			quantBlockQ4K(dst[b*q4KBytes:(b+1)*q4KBytes], src[b*qkK:(b+1)*qkK])
		}
	case Q6_K:
		for b := 0; b < len(src)/qkK; b++ {
			quantBlockQ6K(dst[b*q6KBytes:(b+1)*q6KBytes], src[b*qkK:(b+1)*qkK])
		}
	default:
		return nil, fmt.Errorf("quantize: tensor type %v has no encoder", t)
	}
	return dst, nil
}

// roundHalf rounds to nearest, halves away from zero (C's roundf).
func roundHalf(x float32) int { return int(math.Round(float64(x))) }

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// putF16 stores v as f16 and returns the value the decoder will see.
func putF16(dst []byte, v float32) float32 {
	h := F32ToF16(v)
	binary.LittleEndian.PutUint16(dst, h)
	return f16Table[h]
}

func quantBlockQ8_0(dst []byte, x []float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := putF16(dst, amax/127)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for i, v := range x {
		dst[2+i] = byte(int8(clampInt(roundHalf(v*id), -127, 127)))
	}
}

func quantBlockQ4_0(dst []byte, x []float32) {
	// As ggml: the element of largest magnitude maps to -8 exactly, so the full range is used.
	var amax, vmax float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, vmax = a, v
		}
	}
	d := putF16(dst, vmax/-8)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j := 0; j < 16; j++ {
		q0 := clampInt(roundHalf(x[j]*id)+8, 0, 15)
		q1 := clampInt(roundHalf(x[j+16]*id)+8, 0, 15)
		dst[2+j] = byte(q0) | byte(q1)<<4
	}
}

// quantBlockQ4K encodes 256 values as x ≈ d·sc_j·q − dmin·m_j for the eight sub-blocks j of 32, with
// 6-bit sc_j, m_j and 4-bit q.
func quantBlockQ4K(dst []byte, x []float32) {
	var scale, minv [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		lo, hi := float32(0), float32(0)
		for _, v := range x[32*j : 32*j+32] {
			lo, hi = min(lo, v), max(hi, v)
		}
		scale[j], minv[j] = (hi-lo)/15, -lo
		maxScale, maxMin = max(maxScale, scale[j]), max(maxMin, minv[j])
	}
	d := putF16(dst[0:], maxScale/63)
	dmin := putF16(dst[2:], maxMin/63)
	var sc, m [8]int
	for j := 0; j < 8; j++ {
		if d > 0 {
			// Round the scale up so that the sub-block's range still fits in 4 bits.
			sc[j] = clampInt(int(math.Ceil(float64(scale[j]/d))), 0, 63)
		}
		if dmin > 0 {
			m[j] = clampInt(roundHalf(minv[j]/dmin), 0, 63)
		}
	}
	s := dst[4:16]
	clear(s)
	for j := 0; j < 8; j++ {
		if j < 4 {
			s[j] = byte(sc[j])
			s[j+4] = byte(m[j])
		} else {
			s[j+4] = byte(sc[j]&0xf) | byte(m[j]&0xf)<<4
			s[j-4] |= byte(sc[j]>>4) << 6
			s[j] |= byte(m[j]>>4) << 6
		}
	}
	qs := dst[16:144]
	var q [256]byte
	for j := 0; j < 8; j++ {
		step := d * float32(sc[j])
		off := dmin * float32(m[j])
		for i := 32 * j; i < 32*j+32; i++ {
			if step > 0 {
				q[i] = byte(clampInt(roundHalf((x[i]+off)/step), 0, 15))
			}
		}
	}
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			qs[32*c+l] = q[64*c+l] | q[64*c+32+l]<<4
		}
	}
}

// quantBlockQ6K encodes 256 values as x ≈ d·sc_g·(q−32) for the sixteen groups g of 16, with int8
// sc_g and 6-bit q.
func quantBlockQ6K(dst []byte, x []float32) {
	var scale [16]float32
	var maxScale float32
	for g := 0; g < 16; g++ {
		var amax float32
		for _, v := range x[16*g : 16*g+16] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		scale[g] = amax / 31
		maxScale = max(maxScale, scale[g])
	}
	d := putF16(dst[208:], maxScale/127)
	var q [256]int
	for g := 0; g < 16; g++ {
		sc := 0
		if d > 0 {
			sc = clampInt(roundHalf(scale[g]/d), 0, 127)
		}
		dst[192+g] = byte(int8(sc))
		step := d * float32(sc)
		for i := 16 * g; i < 16*g+16; i++ {
			q[i] = 32
			if step > 0 {
				q[i] = clampInt(roundHalf(x[i]/step), -32, 31) + 32
			}
		}
	}
	for h := 0; h < 2; h++ {
		ql := dst[64*h : 64*h+64]
		qh := dst[128+32*h : 128+32*h+32]
		y := q[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			q1, q2, q3, q4 := y[l], y[l+32], y[l+64], y[l+96]
			ql[l] = byte(q1&0xf | (q3&0xf)<<4)
			ql[l+32] = byte(q2&0xf | (q4&0xf)<<4)
			qh[l] = byte(q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6)
		}
	}
}
