package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAsm reports whether the CPU can run the AVX2 kernels (which also use FMA and F16C).
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// useAsm selects the assembly kernels; tests switch it off to cover the pure-Go kernels.
var useAsm = hasAsm

// Assembly kernels (kernels_amd64.s). Pointers address whole rows; the wrappers below check lengths.

//go:noescape
func dotQ8_0AVX2(w *byte, q *int8, d *float32, nb int) float32

//go:noescape
func matVecQ8_0AVX2(w *byte, rowBytes, rows int, q *int8, d *float32, nb int, out *float32)

//go:noescape
func matMul4Q8_0AVX2(w *byte, rowBytes, rows int, q *int8, qStride int, d *float32, dStride, nb int, out *float32, outStride int)

//go:noescape
func dotQ4_0AVX2(w *byte, q *int8, d *float32, nb int) float32

//go:noescape
func dotQ4KAVX2(w *byte, q *int8, d *float32, bs32 *int16, nb int) float32

//go:noescape
func dotQ6KAVX2(w *byte, q *int8, d *float32, bs16 *int16, nb int) float32

//go:noescape
func dotF32AVX2(a unsafe.Pointer, b *float32, n int) float32

//go:noescape
func dotF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dotBF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func sumAVX2(b *byte, n int) uint64

func dotQ8_0(w []byte, q []int8, d []float32) float32 {
	if !useAsm || len(d) == 0 {
		return dotQ8_0Go(w, q, d)
	}
	_ = w[len(d)*q8_0Bytes-1]
	_ = q[len(d)*qk8_0-1]
	return dotQ8_0AVX2(&w[0], &q[0], &d[0], len(d))
}

// rowsQ8_0 sets out[i] to the dot product of row i of w (len(out) rows of Q8_0) with (q, d).
func rowsQ8_0(w []byte, q []int8, d []float32, out []float32) {
	rb := len(d) * q8_0Bytes
	if !useAsm || len(d) == 0 || len(out) == 0 {
		for i := range out {
			out[i] = dotQ8_0Go(w[i*rb:(i+1)*rb], q, d)
		}
		return
	}
	_ = w[len(out)*rb-1]
	_ = q[len(d)*qk8_0-1]
	matVecQ8_0AVX2(&w[0], rb, len(out), &q[0], &d[0], len(d), &out[0])
}

// rows4Q8_0 is rowsQ8_0 for four activation vectors at once: vector k has quants q[k*qs:],
// scales d[k*nb:] and its results go to out[k*os : k*os+rows]. It reports false, doing nothing,
// when there is no four-vector kernel.
func rows4Q8_0(w []byte, rows int, q []int8, qs int, d []float32, nb int, out []float32, os int) bool {
	if !useAsm || nb == 0 || rows == 0 {
		return false
	}
	_ = w[rows*nb*q8_0Bytes-1]
	_ = q[3*qs+nb*qk8_0-1]
	_ = d[3*nb+nb-1]
	_ = out[3*os+rows-1]
	matMul4Q8_0AVX2(&w[0], nb*q8_0Bytes, rows, &q[0], qs, &d[0], 4*nb, nb, &out[0], 4*os)
	return true
}

func dotQ4_0(w []byte, q []int8, d []float32) float32 {
	if !useAsm || len(d) == 0 {
		return dotQ4_0Go(w, q, d)
	}
	_ = w[len(d)*q4_0Bytes-1]
	_ = q[len(d)*qk4_0-1]
	return dotQ4_0AVX2(&w[0], &q[0], &d[0], len(d))
}

func dotQ4K(w []byte, q []int8, d []float32, bs32 []int16) float32 {
	if !useAsm || len(d) == 0 {
		return dotQ4KGo(w, q, d, bs32)
	}
	_ = w[len(d)*q4KBytes-1]
	_ = q[len(d)*qkK-1]
	_ = bs32[len(d)*8-1]
	return dotQ4KAVX2(&w[0], &q[0], &d[0], &bs32[0], len(d))
}

func dotQ6K(w []byte, q []int8, d []float32, bs16 []int16) float32 {
	if !useAsm || len(d) == 0 {
		return dotQ6KGo(w, q, d)
	}
	_ = w[len(d)*q6KBytes-1]
	_ = q[len(d)*qkK-1]
	_ = bs16[len(d)*16-1]
	return dotQ6KAVX2(&w[0], &q[0], &d[0], &bs16[0], len(d))
}

// dotF32s returns Σ a[i]·b[i] over len(a) elements.
func dotF32s(a, b []float32) float32 {
	n := len(a) &^ 7
	if !useAsm || n == 0 {
		return dotGo(a, b)
	}
	b = b[:len(a)]
	s := dotF32AVX2(unsafe.Pointer(&a[0]), &b[0], n)
	if n < len(a) {
		s += dotGo(a[n:], b[n:])
	}
	return s
}

func dotF32(w []byte, x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = w[4*len(x)-1]
	if !useAsm || len(x) < 8 {
		return dotF32Go(w, x)
	}
	n := len(x) &^ 7
	s := dotF32AVX2(unsafe.Pointer(&w[0]), &x[0], n)
	if n < len(x) {
		s += dotF32Go(w[4*n:], x[n:])
	}
	return s
}

func dotF16(w []byte, x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = w[2*len(x)-1]
	if !useAsm || len(x) < 8 {
		return dotF16Go(w, x)
	}
	n := len(x) &^ 7
	s := dotF16AVX2(&w[0], &x[0], n)
	if n < len(x) {
		s += dotF16Go(w[2*n:], x[n:])
	}
	return s
}

func dotBF16(w []byte, x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = w[2*len(x)-1]
	if !useAsm || len(x) < 8 {
		return dotBF16Go(w, x)
	}
	n := len(x) &^ 7
	s := dotBF16AVX2(&w[0], &x[0], n)
	if n < len(x) {
		s += dotBF16Go(w[2*n:], x[n:])
	}
	return s
}

// sumBytes adds up b as little-endian uint64 words; len(b) is a multiple of 8.
func sumBytes(b []byte) uint64 {
	n := len(b) &^ 127
	if !useAsm || n == 0 {
		return sumGo(b)
	}
	s := sumAVX2(&b[0], n)
	if n < len(b) {
		s += sumGo(b[n:])
	}
	return s
}

//go:noescape
func halfScoresAVX2(out, q *float32, k *uint16, stride, hd, npos int, scale float32)

//go:noescape
func halfAccumAVX2(acc *float32, n int, v *uint16, stride int, ms, vs *float32, npos int)

//go:noescape
func halfAccum64AVX2(acc *float32, n int, v *uint16, stride int, ms, vs *float32, npos int)

//go:noescape
func scoresF32AVX2(out, q, k *float32, stride, hd, npos int, scale float32)

//go:noescape
func toHalfAVX2(dst *uint16, src *float32, n int)

// halfScores is HalfScores after its length checks.
func halfScores(out, q []float32, k []uint16, stride int, scale float32) {
	if !useAsm || len(q) == 0 || len(q)%8 != 0 {
		halfScoresGo(out, q, k, stride, scale)
		return
	}
	halfScoresAVX2(&out[0], &q[0], &k[0], 2*stride, len(q), len(out), scale)
}

// halfAccumulate is HalfAccumulate after its length checks.
func halfAccumulate(acc []float32, v []uint16, stride int, ms, vs []float32) {
	if !useAsm || len(acc)%8 != 0 {
		halfAccumulateGo(acc, v, stride, ms, vs)
		return
	}
	if len(acc)%64 == 0 {
		halfAccum64AVX2(&acc[0], len(acc), &v[0], 2*stride, &ms[0], &vs[0], len(vs))
		return
	}
	halfAccumAVX2(&acc[0], len(acc), &v[0], 2*stride, &ms[0], &vs[0], len(vs))
}

// scores is Scores after its length checks.
func scores(out, q, k []float32, stride int, scale float32) {
	if !useAsm || len(q) == 0 || len(q)%8 != 0 {
		scoresGo(out, q, k, stride, scale)
		return
	}
	scoresF32AVX2(&out[0], &q[0], &k[0], 4*stride, len(q), len(out), scale)
}

// toHalfVec converts the longest prefix of src whose length is a multiple of 8 to half precision
// into dst (as long as src) and returns its length; 0 without the vector kernel.
func toHalfVec(dst []uint16, src []float32) int {
	n := len(src) &^ 7
	if !useAsm || n == 0 {
		return 0
	}
	_ = dst[n-1]
	toHalfAVX2(&dst[0], &src[0], n)
	return n
}

//go:noescape
func quantQ8_0AVX2(x *float32, q *int8, d *float32, nb int)

// quantQ8_0 quantises len(d) blocks of 32 values of x into q and d as actQ8.quantizeBlocks does,
// and reports false, doing nothing, without the vector kernel.
func quantQ8_0(x []float32, q []int8, d []float32) bool {
	if !useAsm || len(d) == 0 {
		return false
	}
	_ = x[len(d)*qk8_0-1]
	_ = q[len(d)*qk8_0-1]
	quantQ8_0AVX2(&x[0], &q[0], &d[0], len(d))
	return true
}

//go:noescape
func expSumAVX2(x *float32, n int, sub float32) float32

//go:noescape
func swigluAVX2(dst, gate, up *float32, n int)

// expSum is ExpSum for len(x) a positive multiple of 8.
func expSum(x []float32, sub float32) float32 {
	if !useAsm {
		return expSumGo(x, sub)
	}
	return expSumAVX2(&x[0], len(x), sub)
}

// swiglu is SwiGLU for equally long slices whose length is a positive multiple of 8.
func swiglu(dst, gate, up []float32) {
	if !useAsm {
		swigluGo(dst, gate, up)
		return
	}
	swigluAVX2(&dst[0], &gate[0], &up[0], len(dst))
}

//go:noescape
func sumExpAVX2(x *float32, n int, sub float32) float32

// sumExp is SumExp for len(x) a positive multiple of 8.
func sumExp(x []float32, sub float32) float32 {
	if !useAsm {
		return sumExpGo(x, sub)
	}
	return sumExpAVX2(&x[0], len(x), sub)
}

//go:noescape
func exp32AVX2(dst, src *float32, n int)

// exp32Vec sets dst[i] = float32(e^src[i]) for the longest prefix of src whose length is a
// multiple of 4 and returns its length; 0 without the vector kernel.
func exp32Vec(dst, src []float32) int {
	n := len(src) &^ 3
	if !useAsm || n == 0 {
		return 0
	}
	_ = dst[n-1]
	exp32AVX2(&dst[0], &src[0], n)
	return n
}
