// Package tensor holds the numeric kernels of the embedded engine: the GGML tensor types seance reads
// (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K), row dequantisation, the matrix-vector and
// matrix-matrix products the forward pass spends its time in, parallel over rows (MatMuls runs
// several matrices over one input in a single pass), the attention kernels over a float32 or
// half-precision KV cache (Scores, HalfScores, HalfAccumulate), and vector exponentials (ExpSum,
// SumExp, Exp, SwiGLU). Every kernel has an AVX2 (with FMA and F16C) version and a pure-Go one;
// tests hold them to each other, bit for bit where the kernel's doc says so.
//
// It imports only the standard library and golang.org/x/sys/cpu. Weights are row-major byte slices
// exactly as stored in a GGUF file (usually memory-mapped); nothing here copies them.
package tensor

import "fmt"

// Type is a GGML tensor type id, as stored in GGUF tensor infos.
type Type uint32

// The GGML type ids seance knows. Only the ones with a Traits entry can be computed with.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	BF16 Type = 30
)

// Traits are the storage traits of a type: BlockSize elements are stored in BlockBytes bytes.
type Traits struct {
	Name       string
	BlockSize  int
	BlockBytes int
	// Supported reports whether seance can compute with this type.
	Supported bool
}

var traits = map[Type]Traits{
	F32:  {"F32", 1, 4, true},
	F16:  {"F16", 1, 2, true},
	BF16: {"BF16", 1, 2, true},
	Q4_0: {"Q4_0", 32, 18, true},
	Q4_1: {"Q4_1", 32, 20, false},
	Q5_0: {"Q5_0", 32, 22, false},
	Q5_1: {"Q5_1", 32, 24, false},
	Q8_0: {"Q8_0", 32, 34, true},
	Q8_1: {"Q8_1", 32, 36, false},
	Q2_K: {"Q2_K", 256, 84, false},
	Q3_K: {"Q3_K", 256, 110, false},
	Q4_K: {"Q4_K", 256, 144, true},
	Q5_K: {"Q5_K", 256, 176, false},
	Q6_K: {"Q6_K", 256, 210, true},
	Q8_K: {"Q8_K", 256, 292, false},
}

// TraitsOf returns the traits of t and whether t is a known type at all.
func TraitsOf(t Type) (Traits, bool) {
	tr, ok := traits[t]
	return tr, ok
}

// String returns the GGML name of the type, or "type(N)" for unknown ids.
func (t Type) String() string {
	if tr, ok := traits[t]; ok {
		return tr.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// RowBytes returns the bytes of a row of n elements of type t. It fails for unknown types and for n
// that is not a multiple of the block size.
func RowBytes(t Type, n int) (int, error) {
	tr, ok := traits[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%tr.BlockSize != 0 {
		return 0, fmt.Errorf("%s row of %d elements: not a multiple of the block size %d", tr.Name, n, tr.BlockSize)
	}
	return n / tr.BlockSize * tr.BlockBytes, nil
}
