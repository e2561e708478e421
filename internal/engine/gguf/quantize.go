package gguf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/seance-dev/seance/internal/engine/tensor"
)

// Quantize encodes src (a whole number of rows) as type t, for writing fixtures. It supports F32,
// F16, BF16, Q8_0 and Q4_0, with llama.cpp's reference rounding; len(src) must be a multiple of
// the type's block size.
func Quantize(t tensor.Type, src []float32) ([]byte, error) {
	tr, ok := tensor.TraitsOf(t)
	if !ok {
		return nil, fmt.Errorf("gguf: quantize: unknown type %v", t)
	}
	if len(src)%tr.BlockSize != 0 {
		return nil, fmt.Errorf("gguf: quantize: %d values are not a whole number of %v blocks", len(src), t)
	}
	dst := make([]byte, len(src)/tr.BlockSize*tr.BlockBytes)
	switch t {
	case tensor.F32:
		for i, x := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(x))
		}
	case tensor.F16:
		for i, x := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(x))
		}
	case tensor.BF16:
		for i, x := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(x))
		}
	case tensor.Q8_0:
		for b := 0; b < len(src)/32; b++ {
			quantizeQ8_0(dst[b*34:(b+1)*34], src[b*32:(b+1)*32])
		}
	case tensor.Q4_0:
		for b := 0; b < len(src)/32; b++ {
			quantizeQ4_0(dst[b*18:(b+1)*18], src[b*32:(b+1)*32])
		}
	default:
		return nil, fmt.Errorf("gguf: quantize: type %v is not supported here", t)
	}
	return dst, nil
}

// quantizeQ8_0 stores 32 values as an fp16 scale d = max|x|/127 and 32 int8s round(x/d).
func quantizeQ8_0(dst []byte, x []float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(dst, F32ToF16(d))
	for j, v := range x {
		dst[2+j] = byte(int8(math.Round(float64(v * id))))
	}
}

// quantizeQ4_0 stores 32 values as an fp16 scale d = m/-8 (m the value of largest magnitude) and
// 4-bit values q with x ≈ (q-8)·d: element j in the low nibble of byte j, j+16 in its high one.
func quantizeQ4_0(dst []byte, x []float32) {
	var amax, m float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, m = a, v
		}
	}
	d := m / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(dst, F32ToF16(d))
	q := func(v float32) byte { return byte(min(15, int8(v*id+8.5))) }
	for j := 0; j < 16; j++ {
		dst[2+j] = q(x[j]) | q(x[j+16])<<4
	}
}

// F32ToF16 converts to IEEE half precision, rounding to nearest even.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	switch {
	case e >= 31:
		return sign | 0x7c00
	case e <= 0:
		if e < -10 {
			return sign
		}
		full := mant | 0x800000
		shift := uint32(14 - e)
		h := full >> shift
		rem := full & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the correct rounding (up to infinity at the top)
	}
	return sign | uint16(h)
}

// F16ToF32 converts from IEEE half precision.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// F32ToBF16 converts to bfloat16, rounding to nearest even (as ggml does).
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64 // quiet NaN
	}
	return uint16((u + (0x7fff + (u>>16)&1)) >> 16)
}
