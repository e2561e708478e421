package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// Matrix is a Rows×Cols matrix of Type, stored row-major in Data exactly as in a GGUF file (a GGUF
// tensor with dimensions [cols, rows]). Data is read-only and may be memory-mapped.
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

// MatMul computes out[t*Rows+r] = Σ_c M[r,c]·x[t*Cols+c] for n input vectors x (n×Cols, row-major),
// in parallel on p. Each weight row is read once for all n vectors.
func (m *Matrix) MatMul(p *Pool, out, x []float32, n int) {
	if len(x) != n*m.Cols || len(out) != n*m.Rows {
		panic(fmt.Sprintf("tensor: MatMul %d×%d with x %d, out %d, n %d", m.Rows, m.Cols, len(x), len(out), n))
	}
	p.Parallel(m.Rows, func(lo, hi int) {
		row := make([]float32, m.Cols)
		for r := lo; r < hi; r++ {
			m.Row(r, row)
			for t := 0; t < n; t++ {
				out[t*m.Rows+r] = Dot(row, x[t*m.Cols:(t+1)*m.Cols])
			}
		}
	})
}

// Dot returns Σ a[i]·b[i].
func Dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// DequantizeRow converts one stored row of type t into float32s. len(dst) elements are produced.
func DequantizeRow(t Type, src []byte, dst []float32) {
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	default:
		panic(fmt.Sprintf("tensor: dequantize %v not implemented", t))
	}
}

// Pool runs work in parallel on a fixed number of threads. The zero value and nil run serially.
type Pool struct {
	threads int
}

// NewPool returns a pool with the given number of threads (at least 1).
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = 1
	}
	return &Pool{threads: threads}
}

// Threads returns the number of threads.
func (p *Pool) Threads() int {
	if p == nil || p.threads < 1 {
		return 1
	}
	return p.threads
}

// Parallel calls f on disjoint ranges that cover [0, n) and returns when all are done.
func (p *Pool) Parallel(n int, f func(lo, hi int)) {
	k := p.Threads()
	if k == 1 || n < 2 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < k; i++ {
		lo, hi := i*n/k, (i+1)*n/k
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
