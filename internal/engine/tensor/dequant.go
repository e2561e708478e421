package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Block sizes (elements) and strides (bytes) of the block-quantised types, as in ggml-common.h.
const (
	qk8_0     = 32
	q8_0Bytes = 34 // f16 d, int8 qs[32]
	qk4_0     = 32
	q4_0Bytes = 18 // f16 d, uint8 qs[16]
	qkK       = 256
	q4KBytes  = 144 // f16 d, f16 dmin, uint8 scales[12], uint8 qs[128]
	q6KBytes  = 210 // uint8 ql[128], uint8 qh[64], int8 scales[16], f16 d
)

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// DequantizeRow converts one stored row of type t into float32s: len(dst) elements are produced from
// the leading bytes of src. The results are bit-identical to ggml's reference dequantisation.
//
// It panics if t is not supported (see Traits.Supported), if len(dst) is not a multiple of t's block
// size, or if src is shorter than the row; NewMatrix rejects all three up front, so a Matrix never
// triggers it.
func DequantizeRow(t Type, src []byte, dst []float32) {
	rb, err := RowBytes(t, len(dst))
	if err == nil && len(src) < rb {
		err = fmt.Errorf("%v row of %d elements needs %d bytes, have %d", t, len(dst), rb, len(src))
	}
	if err != nil {
		panic("tensor: dequantize: " + err.Error())
	}
	src = src[:rb]
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = f16Table[le16(src[2*i:])]
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(le16(src[2*i:]))
		}
	case Q8_0:
		dequantQ8_0(src, dst)
	case Q4_0:
		dequantQ4_0(src, dst)
	case Q4_K:
		dequantQ4K(src, dst)
	case Q6_K:
		dequantQ6K(src, dst)
	default:
		panic(fmt.Sprintf("tensor: dequantize %v not implemented", t))
	}
}

func dequantQ8_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qk8_0; b++ {
		blk := src[b*q8_0Bytes : (b+1)*q8_0Bytes]
		y := dst[b*qk8_0 : (b+1)*qk8_0]
		d := f16Table[le16(blk)]
		for i := range y {
			y[i] = float32(int8(blk[2+i])) * d
		}
	}
}

func dequantQ4_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qk4_0; b++ {
		blk := src[b*q4_0Bytes : (b+1)*q4_0Bytes]
		y := dst[b*qk4_0 : (b+1)*qk4_0]
		d := f16Table[le16(blk)]
		for j := 0; j < 16; j++ {
			q := blk[2+j]
			y[j] = float32(int(q&0xf)-8) * d
			y[j+16] = float32(int(q>>4)-8) * d
		}
	}
}

// scaleMinK4 unpacks the j-th (0..7) 6-bit scale and min of a Q4_K block's 12 packed scale bytes:
// ggml's get_scale_min_k4.
func scaleMinK4(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

func dequantQ4K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q4KBytes : (b+1)*q4KBytes]
		y := dst[b*qkK : (b+1)*qkK]
		d, dmin := f16Table[le16(blk)], f16Table[le16(blk[2:])]
		scales, qs := blk[4:16], blk[16:144]
		for c := 0; c < 4; c++ {
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			q := qs[32*c : 32*c+32]
			lo, hi := y[64*c:64*c+32], y[64*c+32:64*c+64]
			for l := range q {
				// The explicit float32 conversions forbid fusing into an FMA, keeping ggml's rounding.
				lo[l] = float32(d1*float32(q[l]&0xf)) - m1
				hi[l] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
	}
}

func dequantQ6K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q6KBytes : (b+1)*q6KBytes]
		y := dst[b*qkK : (b+1)*qkK]
		d := f16Table[le16(blk[208:])]
		for h := 0; h < 2; h++ {
			ql := blk[64*h : 64*h+64]
			qh := blk[128+32*h : 128+32*h+32]
			sc := blk[192+8*h : 192+8*h+8]
			yy := y[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|(qh[l]&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int(ql[l+32]>>4|(qh[l]>>6)<<4) - 32
				yy[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yy[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yy[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yy[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}
