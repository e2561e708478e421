package tensor

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The pure-Go kernels. They are the only kernels on architectures other than amd64 and on CPUs
// without AVX2, FMA and F16C; tests run them everywhere. Each takes exactly one weight row.

// dotQ8_0Go returns Σ w·x for a Q8_0 row w and Q8_0-quantised activations (q, d).
func dotQ8_0Go(w []byte, q []int8, d []float32) float32 {
	var sum float32
	for b := range d {
		blk := (*[q8_0Bytes]byte)(w[b*q8_0Bytes:])
		qs := (*[qk8_0]int8)(q[b*qk8_0:])
		var s0, s1, s2, s3 int32
		for i := 0; i < qk8_0; i += 4 {
			s0 += int32(int8(blk[2+i])) * int32(qs[i])
			s1 += int32(int8(blk[3+i])) * int32(qs[i+1])
			s2 += int32(int8(blk[4+i])) * int32(qs[i+2])
			s3 += int32(int8(blk[5+i])) * int32(qs[i+3])
		}
		sum += float32((s0+s1)+(s2+s3)) * (f16Table[uint16(blk[0])|uint16(blk[1])<<8] * d[b])
	}
	return sum
}

// dotQ4_0Go returns Σ w·x for a Q4_0 row w and Q8_0-quantised activations (q, d).
func dotQ4_0Go(w []byte, q []int8, d []float32) float32 {
	var sum float32
	for b := range d {
		blk := (*[q4_0Bytes]byte)(w[b*q4_0Bytes:])
		qs := (*[qk4_0]int8)(q[b*qk4_0:])
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			v := blk[2+j]
			s0 += (int32(v&0xf) - 8) * int32(qs[j])
			s1 += (int32(v>>4) - 8) * int32(qs[j+16])
		}
		sum += float32(s0+s1) * (f16Table[uint16(blk[0])|uint16(blk[1])<<8] * d[b])
	}
	return sum
}

// dotQ4KGo returns Σ w·x for a Q4_K row w and Q8_K-quantised activations (q, d, bs32).
func dotQ4KGo(w []byte, q []int8, d []float32, bs32 []int16) float32 {
	var sum float32
	for b := range d {
		blk := w[b*q4KBytes : (b+1)*q4KBytes]
		qb := q[b*qkK : (b+1)*qkK]
		scales, qs := blk[4:16], blk[16:144]
		var isum, msum int32
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, scales)
			msum += int32(m) * int32(bs32[8*b+j])
			c, shift := j/2, uint(4*(j&1))
			src := qs[32*c : 32*c+32]
			y := qb[32*j : 32*j+32]
			var s int32
			for l, v := range src {
				s += int32(v>>shift&0xf) * int32(y[l])
			}
			isum += int32(sc) * s
		}
		dd := f16Table[le16(blk)] * d[b]
		dm := f16Table[le16(blk[2:])] * d[b]
		sum += dd*float32(isum) - dm*float32(msum)
	}
	return sum
}

// dotQ6KGo returns Σ w·x for a Q6_K row w and Q8_K-quantised activations (q, d).
func dotQ6KGo(w []byte, q []int8, d []float32) float32 {
	var sum float32
	for b := range d {
		blk := w[b*q6KBytes : (b+1)*q6KBytes]
		qb := q[b*qkK : (b+1)*qkK]
		var isum int32
		for h := 0; h < 2; h++ {
			ql := blk[64*h : 64*h+64]
			qh := blk[128+32*h : 128+32*h+32]
			sc := blk[192+8*h : 192+8*h+8]
			y := qb[128*h : 128*h+128]
			for half := 0; half < 2; half++ {
				var s1, s2, s3, s4 int32
				for l := 16 * half; l < 16*half+16; l++ {
					s1 += (int32(ql[l]&0xf|(qh[l]&3)<<4) - 32) * int32(y[l])
					s2 += (int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32) * int32(y[l+32])
					s3 += (int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32) * int32(y[l+64])
					s4 += (int32(ql[l+32]>>4|(qh[l]>>6)<<4) - 32) * int32(y[l+96])
				}
				isum += int32(int8(sc[half]))*s1 + int32(int8(sc[half+2]))*s2 +
					int32(int8(sc[half+4]))*s3 + int32(int8(sc[half+6]))*s4
			}
		}
		sum += f16Table[le16(blk[208:])] * d[b] * float32(isum)
	}
	return sum
}

// dotGo returns Σ a[i]·b[i] over len(a) elements.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// f32View reinterprets little-endian float32 bytes as []float32 when their address allows it.
func f32View(w []byte) ([]float32, bool) {
	if len(w) < 4 || uintptr(unsafe.Pointer(&w[0]))%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&w[0])), len(w)/4), true
}

// dotF32Go returns Σ w·x for an F32 row w.
func dotF32Go(w []byte, x []float32) float32 {
	if v, ok := f32View(w); ok {
		return dotGo(v, x)
	}
	var s float32
	for i, xv := range x {
		s += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * xv
	}
	return s
}

// dotF16Go returns Σ w·x for an F16 row w.
func dotF16Go(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += f16Table[le16(w[2*i:])] * x[i]
		s1 += f16Table[le16(w[2*i+2:])] * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += f16Table[le16(w[2*i:])] * x[i]
	}
	return s0 + s1
}

// dotBF16Go returns Σ w·x for a BF16 row w.
func dotBF16Go(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += BF16ToF32(le16(w[2*i:])) * x[i]
		s1 += BF16ToF32(le16(w[2*i+2:])) * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += BF16ToF32(le16(w[2*i:])) * x[i]
	}
	return s0 + s1
}

// sumGo adds up b as little-endian uint64 words (len(b) is a multiple of 8); the bandwidth probe's
// kernel.
func sumGo(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+32 <= len(b); i += 32 {
		s0 += binary.LittleEndian.Uint64(b[i:])
		s1 += binary.LittleEndian.Uint64(b[i+8:])
		s2 += binary.LittleEndian.Uint64(b[i+16:])
		s3 += binary.LittleEndian.Uint64(b[i+24:])
	}
	for ; i+8 <= len(b); i += 8 {
		s0 += binary.LittleEndian.Uint64(b[i:])
	}
	return s0 + s1 + s2 + s3
}
