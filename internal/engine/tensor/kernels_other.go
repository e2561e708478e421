//go:build !amd64

package tensor

// hasAsm reports whether this build has assembly kernels for this CPU; never on this architecture.
const hasAsm = false

// useAsm selects the assembly kernels; tests switch it off to cover the pure-Go kernels.
var useAsm = false

func dotQ8_0(w []byte, q []int8, d []float32) float32              { return dotQ8_0Go(w, q, d) }
func dotQ4_0(w []byte, q []int8, d []float32) float32              { return dotQ4_0Go(w, q, d) }
func dotQ4K(w []byte, q []int8, d []float32, bs32 []int16) float32 { return dotQ4KGo(w, q, d, bs32) }
func dotQ6K(w []byte, q []int8, d []float32, _ []int16) float32    { return dotQ6KGo(w, q, d) }
func dotF32(w []byte, x []float32) float32                         { return dotF32Go(w, x) }
func dotF16(w []byte, x []float32) float32                         { return dotF16Go(w, x) }
func dotBF16(w []byte, x []float32) float32                        { return dotBF16Go(w, x) }
func dotF32s(a, b []float32) float32                               { return dotGo(a, b) }
func sumBytes(b []byte) uint64                                     { return sumGo(b) }

// rowsQ8_0 sets out[i] to the dot product of row i of w (len(out) rows of Q8_0) with (q, d).
func rowsQ8_0(w []byte, q []int8, d []float32, out []float32) {
	rb := len(d) * q8_0Bytes
	for i := range out {
		out[i] = dotQ8_0Go(w[i*rb:(i+1)*rb], q, d)
	}
}

// rows4Q8_0 reports false: there is no four-vector kernel on this architecture.
func rows4Q8_0(w []byte, rows int, q []int8, qs int, d []float32, nb int, out []float32, os int) bool {
	return false
}

func halfScores(out, q []float32, k []uint16, stride int, scale float32) {
	halfScoresGo(out, q, k, stride, scale)
}

func halfAccumulate(acc []float32, v []uint16, stride int, ms, vs []float32) {
	halfAccumulateGo(acc, v, stride, ms, vs)
}

func scores(out, q, k []float32, stride int, scale float32) { scoresGo(out, q, k, stride, scale) }

// toHalfVec converts a prefix of src to half precision into dst and returns its length; there is no
// vector kernel on this architecture.
func toHalfVec(dst []uint16, src []float32) int { return 0 }

// quantQ8_0 reports false: there is no vector quantisation kernel on this architecture.
func quantQ8_0(x []float32, q []int8, d []float32) bool { return false }

func expSum(x []float32, sub float32) float32 { return expSumGo(x, sub) }

func swiglu(dst, gate, up []float32) { swigluGo(dst, gate, up) }

func sumExp(x []float32, sub float32) float32 { return sumExpGo(x, sub) }

// exp32Vec returns 0: there is no vector kernel on this architecture.
func exp32Vec(dst, src []float32) int { return 0 }
