package tensor

import "fmt"

// Matrix is a Rows×Cols matrix of Type, stored row-major in Data exactly as in a GGUF file (a GGUF
// tensor with dimensions [cols, rows]). Data is read-only and may be memory-mapped. Build one with
// NewMatrix. A Matrix is safe for concurrent use: its methods only read it.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
	rowBytes   int
}

// NewMatrix checks that data holds a rows×cols matrix of type t and returns it.
func NewMatrix(t Type, rows, cols int, data []byte) (*Matrix, error) {
	tr, ok := traits[t]
	if !ok || !tr.Supported {
		return nil, fmt.Errorf("tensor type %v is not supported", t)
	}
	rb, err := RowBytes(t, cols)
	if err != nil {
		return nil, err
	}
	if rows < 0 || len(data) != rows*rb {
		return nil, fmt.Errorf("%v matrix %d×%d needs %d bytes, have %d", t, rows, cols, rows*rb, len(data))
	}
	return &Matrix{Type: t, Rows: rows, Cols: cols, Data: data, rowBytes: rb}, nil
}

// RowData returns the stored bytes of row i.
func (m *Matrix) RowData(i int) []byte { return m.Data[i*m.rowBytes : (i+1)*m.rowBytes] }

// Row dequantises row i into dst, which must have length Cols.
func (m *Matrix) Row(i int, dst []float32) { DequantizeRow(m.Type, m.RowData(i), dst) }

// MatVec computes out[r] = Σ_c M[r,c]·x[c] for every row, in parallel on p.
// len(x) must be Cols and len(out) Rows.
func (m *Matrix) MatVec(p *Pool, out, x []float32) {
	m.MatMul(p, out, x, 1)
}

// rowTile is how many weight rows MatMul keeps hot in cache while it runs them against every input
// vector; 16 rows of the widest SmolLM-class matrix (1536 Q8_0 columns) take 26 KiB.
const rowTile = 16

// MatMul computes out[t*Rows+r] = Σ_c M[r,c]·x[t*Cols+c] for n input vectors x (n×Cols, row-major),
// in parallel on p. Each weight row is read from memory once for all n vectors.
//
// For the quantised types x is first quantised to 8 bits like llama.cpp does (Q8_0 blocks of 32 for
// Q8_0 and Q4_0 weights, Q8_K blocks of 256 for Q4_K and Q6_K), so results differ from an exact
// product by the activation rounding, about 1e-3 relative for typical data. It panics if the
// lengths of out and x do not match n and the matrix shape.
func (m *Matrix) MatMul(p *Pool, out, x []float32, n int) {
	MatMuls(p, []*Matrix{m}, [][]float32{out}, x, n)
}

// MatMuls computes ms[i].MatMul(p, outs[i], x, n) for every i, for matrices of one type and one
// number of columns applied to the same input (a layer's query, key and value projections, say):
// the input is quantised once and the rows of all the matrices are split over p in one parallel
// pass, which saves a hand-over to the pool's threads per matrix. It panics if the matrices differ
// in type or columns, or if a length does not match.
func MatMuls(p *Pool, ms []*Matrix, outs [][]float32, x []float32, n int) {
	if len(ms) != len(outs) {
		panic(fmt.Sprintf("tensor: MatMuls with %d matrices and %d outputs", len(ms), len(outs)))
	}
	if len(ms) == 0 {
		return
	}
	m0 := ms[0]
	total := 0
	for i, m := range ms {
		if m.Type != m0.Type || m.Cols != m0.Cols {
			panic(fmt.Sprintf("tensor: MatMuls of %v %d×%d with %v %d×%d", m0.Type, m0.Rows, m0.Cols, m.Type, m.Rows, m.Cols))
		}
		if n < 0 || len(x) != n*m.Cols || len(outs[i]) != n*m.Rows {
			panic(fmt.Sprintf("tensor: MatMul %d×%d with x %d, out %d, n %d", m.Rows, m.Cols, len(x), len(outs[i]), n))
		}
		total += m.Rows
	}
	if n == 0 || total == 0 {
		return
	}
	var a *actQ8
	switch m0.Type {
	case Q8_0, Q4_0, Q4_K, Q6_K:
		bs := qk8_0
		if m0.Type == Q4_K || m0.Type == Q6_K {
			bs = qkK
		}
		a = actPool.Get().(*actQ8)
		defer actPool.Put(a)
		a.quantize(p, x, n, bs)
	case F32, F16, BF16:
	default:
		panic(fmt.Sprintf("tensor: MatMul on %v", m0.Type)) // NewMatrix admits only the types above.
	}
	if len(ms) == 1 {
		p.parallel(total, rowTile, func(lo, hi int) { m0.rows(outs[0], x, a, n, lo, hi) })
		return
	}
	p.parallel(total, rowTile, func(lo, hi int) {
		base := 0
		for i, m := range ms {
			if lo < base+m.Rows && hi > base {
				m.rows(outs[i], x, a, n, max(lo, base)-base, min(hi, base+m.Rows)-base)
			}
			base += m.Rows
		}
	})
}

// rows computes rows [lo, hi) of the product with the n vectors x, quantised in a for the quantised
// types. With n > 1 a tile of rowTile rows stays in cache while every vector passes over it.
func (m *Matrix) rows(out, x []float32, a *actQ8, n, lo, hi int) {
	cols, rb := m.Cols, m.rowBytes
	if m.Type == Q8_0 {
		nb := cols / qk8_0
		if n == 1 {
			rowsQ8_0(m.Data[lo*rb:hi*rb], a.q[:cols], a.d[:nb], out[lo:hi])
			return
		}
		for r0 := lo; r0 < hi; r0 += rowTile {
			r1 := min(r0+rowTile, hi)
			w := m.Data[r0*rb : r1*rb]
			t := 0
			for ; t+4 <= n && rows4Q8_0(w, r1-r0, a.q[t*cols:], cols, a.d[t*nb:], nb, out[t*m.Rows+r0:], m.Rows); t += 4 {
			}
			for ; t < n; t++ {
				rowsQ8_0(w, a.q[t*cols:(t+1)*cols], a.d[t*nb:(t+1)*nb], out[t*m.Rows+r0:t*m.Rows+r1])
			}
		}
		return
	}
	var dot func(w []byte, t int) float32
	switch m.Type {
	case Q4_0:
		nb := cols / qk4_0
		dot = func(w []byte, t int) float32 { return dotQ4_0(w, a.q[t*cols:(t+1)*cols], a.d[t*nb:(t+1)*nb]) }
	case Q4_K:
		nb := cols / qkK
		dot = func(w []byte, t int) float32 {
			return dotQ4K(w, a.q[t*cols:(t+1)*cols], a.d[t*nb:(t+1)*nb], a.bs32[t*cols/32:(t+1)*cols/32])
		}
	case Q6_K:
		nb := cols / qkK
		dot = func(w []byte, t int) float32 {
			return dotQ6K(w, a.q[t*cols:(t+1)*cols], a.d[t*nb:(t+1)*nb], a.bs16[t*cols/16:(t+1)*cols/16])
		}
	case F32:
		dot = func(w []byte, t int) float32 { return dotF32(w, x[t*cols:(t+1)*cols]) }
	case F16:
		dot = func(w []byte, t int) float32 { return dotF16(w, x[t*cols:(t+1)*cols]) }
	case BF16:
		dot = func(w []byte, t int) float32 { return dotBF16(w, x[t*cols:(t+1)*cols]) }
	}
	for r0 := lo; r0 < hi; r0 += rowTile {
		r1 := min(r0+rowTile, hi)
		for t := 0; t < n; t++ {
			o := out[t*m.Rows:]
			for r := r0; r < r1; r++ {
				o[r] = dot(m.Data[r*rb:(r+1)*rb], t)
			}
		}
	}
}

// Dot returns Σ a[i]·b[i] over len(a) elements; b must be at least as long as a.
func Dot(a, b []float32) float32 {
	return dotF32s(a, b)
}
