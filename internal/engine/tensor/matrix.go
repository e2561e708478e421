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
	if n < 0 || len(x) != n*m.Cols || len(out) != n*m.Rows {
		panic(fmt.Sprintf("tensor: MatMul %d×%d with x %d, out %d, n %d", m.Rows, m.Cols, len(x), len(out), n))
	}
	if n == 0 || m.Rows == 0 {
		return
	}
	cols := m.Cols
	switch m.Type {
	case Q8_0, Q4_0, Q4_K, Q6_K:
		bs := qk8_0
		if m.Type == Q4_K || m.Type == Q6_K {
			bs = qkK
		}
		a := actPool.Get().(*actQ8)
		defer actPool.Put(a)
		a.quantize(p, x, n, bs)
		nb := cols / bs
		qv := func(t int) ([]int8, []float32) { return a.q[t*cols : (t+1)*cols], a.d[t*nb : (t+1)*nb] }
		switch m.Type {
		case Q8_0:
			if n >= 4 && m.runQ8_0x4(p, out, n, a) {
				break
			}
			m.run(p, out, n, func(w []byte, t int, o []float32) {
				q, d := qv(t)
				rowsQ8_0(w, q, d, o)
			})
		case Q4_0:
			m.runRows(p, out, n, func(w []byte, t int) float32 {
				q, d := qv(t)
				return dotQ4_0(w, q, d)
			})
		case Q4_K:
			m.runRows(p, out, n, func(w []byte, t int) float32 {
				q, d := qv(t)
				return dotQ4K(w, q, d, a.bs32[t*cols/32:(t+1)*cols/32])
			})
		case Q6_K:
			m.runRows(p, out, n, func(w []byte, t int) float32 {
				q, d := qv(t)
				return dotQ6K(w, q, d, a.bs16[t*cols/16:(t+1)*cols/16])
			})
		}
	case F32:
		m.runRows(p, out, n, func(w []byte, t int) float32 { return dotF32(w, x[t*cols:(t+1)*cols]) })
	case F16:
		m.runRows(p, out, n, func(w []byte, t int) float32 { return dotF16(w, x[t*cols:(t+1)*cols]) })
	case BF16:
		m.runRows(p, out, n, func(w []byte, t int) float32 { return dotBF16(w, x[t*cols:(t+1)*cols]) })
	default:
		panic(fmt.Sprintf("tensor: MatMul on %v", m.Type)) // NewMatrix admits only the types above.
	}
}

// run sets out[t*Rows+r] to row r times vector t for all rows and n vectors, splitting rows over p
// in chunks of whole tiles. rows(w, t, o) computes len(o) consecutive rows, stored in w, against
// vector t. With n > 1 a tile of rows stays in cache while every vector passes over it.
func (m *Matrix) run(p *Pool, out []float32, n int, rows func(w []byte, t int, o []float32)) {
	p.parallel(m.Rows, rowTile, func(lo, hi int) {
		if n == 1 {
			rows(m.Data[lo*m.rowBytes:hi*m.rowBytes], 0, out[lo:hi])
			return
		}
		for r0 := lo; r0 < hi; r0 += rowTile {
			r1 := min(r0+rowTile, hi)
			for t := 0; t < n; t++ {
				rows(m.Data[r0*m.rowBytes:r1*m.rowBytes], t, out[t*m.Rows+r0:t*m.Rows+r1])
			}
		}
	})
}

// runQ8_0x4 is run for Q8_0 with the kernel that passes four vectors over each weight block at
// once. It reports false, doing nothing, when that kernel is unavailable.
func (m *Matrix) runQ8_0x4(p *Pool, out []float32, n int, a *actQ8) bool {
	cols, nb := m.Cols, m.Cols/qk8_0
	if !haveRows4Q8_0() || nb == 0 {
		return false
	}
	p.parallel(m.Rows, rowTile, func(lo, hi int) {
		for r0 := lo; r0 < hi; r0 += rowTile {
			r1 := min(r0+rowTile, hi)
			w := m.Data[r0*m.rowBytes : r1*m.rowBytes]
			t := 0
			for ; t+4 <= n; t += 4 {
				rows4Q8_0(w, r1-r0, a.q[t*cols:], cols, a.d[t*nb:], nb, out[t*m.Rows+r0:], m.Rows)
			}
			for ; t < n; t++ {
				rowsQ8_0(w, a.q[t*cols:(t+1)*cols], a.d[t*nb:(t+1)*nb], out[t*m.Rows+r0:t*m.Rows+r1])
			}
		}
	})
	return true
}

// runRows is run with a kernel for one row at a time.
func (m *Matrix) runRows(p *Pool, out []float32, n int, dot func(w []byte, t int) float32) {
	rb := m.rowBytes
	m.run(p, out, n, func(w []byte, t int, o []float32) {
		for i := range o {
			o[i] = dot(w[i*rb:(i+1)*rb], t)
		}
	})
}

// Dot returns Σ a[i]·b[i] over len(a) elements; b must be at least as long as a.
func Dot(a, b []float32) float32 {
	return dotF32s(a, b)
}
