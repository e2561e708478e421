package uselite

import (
	"fmt"
	"math"
)

// dtype is the element type of a tensor. The graph's int64 tensors (indices, Where's output) are
// held as int32, as TensorFlow.js does; booleans are held as int32 zeros and ones.
type dtype uint8

const (
	float32T dtype = iota + 1
	int32T
	boolT
)

func (d dtype) String() string {
	switch d {
	case float32T:
		return "float32"
	case int32T:
		return "int32"
	case boolT:
		return "bool"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// maxElements bounds every tensor the interpreter creates, so a hostile shape (from a corrupt
// model or a crafted input) fails with an error instead of exhausting memory.
const maxElements = 1 << 25

// tensor is a dense row-major array. Exactly one of f (float32) and i (int32 and bool) holds the
// elements. Tensors are never modified after an op returns them: ops may share the backing arrays
// of their inputs (Reshape, ExpandDims, Squeeze), so every op writes only to fresh slices.
type tensor struct {
	dt    dtype
	shape []int
	f     []float32
	i     []int32
}

// numElements returns the product of shape, or an error when it is negative or too large.
func numElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, maxElements)
		}
		n *= d
	}
	return n, nil
}

// newTensor returns a zeroed tensor of the given type and shape.
func newTensor(dt dtype, shape []int) (*tensor, error) {
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	t := &tensor{dt: dt, shape: append([]int(nil), shape...)}
	if dt == float32T {
		t.f = make([]float32, n)
	} else {
		t.i = make([]int32, n)
	}
	return t, nil
}

func (t *tensor) size() int {
	if t.dt == float32T {
		return len(t.f)
	}
	return len(t.i)
}

func (t *tensor) rank() int { return len(t.shape) }

// withShape returns a tensor sharing t's elements under another shape of the same size.
func (t *tensor) withShape(shape []int) *tensor {
	return &tensor{dt: t.dt, shape: shape, f: t.f, i: t.i}
}

func scalarInt(v int32) *tensor { return &tensor{dt: int32T, shape: []int{}, i: []int32{v}} }

func vectorInt(v []int32) *tensor { return &tensor{dt: int32T, shape: []int{len(v)}, i: v} }

// ints returns the elements of an int32 tensor as ints (for shapes, axes and indices).
func (t *tensor) ints() ([]int, error) {
	if t.dt != int32T {
		return nil, fmt.Errorf("want an int32 tensor, have %s", t.dt)
	}
	out := make([]int, len(t.i))
	for k, v := range t.i {
		out[k] = int(v)
	}
	return out, nil
}

// scalarOrVector returns the int elements of a rank-0 or rank-1 int32 tensor.
func (t *tensor) scalarOrVector() ([]int, error) {
	if t.rank() > 1 {
		return nil, fmt.Errorf("want a scalar or vector, have shape %v", t.shape)
	}
	return t.ints()
}

// scalar returns the one element of a single-element int32 tensor.
func (t *tensor) scalar() (int, error) {
	v, err := t.ints()
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want one element, have shape %v", t.shape)
	}
	return v[0], nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for k := len(shape) - 1; k >= 0; k-- {
		s[k] = acc
		acc *= shape[k]
	}
	return s
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// broadcastShape returns the NumPy broadcast of two shapes.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for k := range n {
		da, db := 1, 1
		if j := len(a) - n + k; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + k; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[k] = da
		case da == 1:
			out[k] = db
		case db == 1:
			out[k] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastStrides returns the strides to read an operand of shape in as if it had shape out
// (zero along broadcast dimensions).
func broadcastStrides(in, out []int) []int {
	s := make([]int, len(out))
	st := strides(in)
	off := len(out) - len(in)
	for k := range in {
		if in[k] != 1 {
			s[off+k] = st[k]
		}
	}
	return s
}

// binaryLoop calls f for every element of the broadcast of shapes a and b, with the flat offsets of
// the two operands and the output. The last dimension is the inner loop.
func binaryLoop(a, b, out []int, f func(ia, ib, io, n, sa, sb int)) {
	sa, sb := broadcastStrides(a, out), broadcastStrides(b, out)
	total := 1
	for _, d := range out {
		total *= d
	}
	if total == 0 {
		return
	}
	if len(out) == 0 {
		f(0, 0, 0, 1, 0, 0)
		return
	}
	last := len(out) - 1
	inner := out[last]
	idx := make([]int, len(out))
	ia, ib := 0, 0
	for io := 0; io < total; io += inner {
		f(ia, ib, io, inner, sa[last], sb[last])
		// Advance the multi-index over all but the last dimension.
		for k := last - 1; k >= 0; k-- {
			idx[k]++
			ia += sa[k]
			ib += sb[k]
			if idx[k] < out[k] {
				break
			}
			ia -= sa[k] * out[k]
			ib -= sb[k] * out[k]
			idx[k] = 0
		}
	}
}

// binaryFloat applies f elementwise with broadcasting to two float32 tensors.
func binaryFloat(a, b *tensor, f func(x, y float32) float32) (*tensor, error) {
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	out, err := newTensor(float32T, shape)
	if err != nil {
		return nil, err
	}
	af, bf, of := a.f, b.f, out.f
	binaryLoop(a.shape, b.shape, shape, func(ia, ib, io, n, sa, sb int) {
		o := of[io : io+n]
		switch {
		case sa == 1 && sb == 1:
			x, y := af[ia:ia+n], bf[ib:ib+n]
			for k := range o {
				o[k] = f(x[k], y[k])
			}
		case sa == 1 && sb == 0:
			x, y := af[ia:ia+n], bf[ib]
			for k := range o {
				o[k] = f(x[k], y)
			}
		default:
			for k := range o {
				o[k] = f(af[ia+k*sa], bf[ib+k*sb])
			}
		}
	})
	return out, nil
}

// binaryInt applies f elementwise with broadcasting to two int32 (or bool) tensors; the result has
// type dt.
func binaryInt(a, b *tensor, dt dtype, f func(x, y int32) int32) (*tensor, error) {
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	out, err := newTensor(dt, shape)
	if err != nil {
		return nil, err
	}
	ai, bi, oi := a.i, b.i, out.i
	binaryLoop(a.shape, b.shape, shape, func(ia, ib, io, n, sa, sb int) {
		for k := range n {
			oi[io+k] = f(ai[ia+k*sa], bi[ib+k*sb])
		}
	})
	return out, nil
}

// compareFloat returns a bool tensor of f over two broadcast float32 tensors.
func compareFloat(a, b *tensor, f func(x, y float32) bool) (*tensor, error) {
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	out, err := newTensor(boolT, shape)
	if err != nil {
		return nil, err
	}
	binaryLoop(a.shape, b.shape, shape, func(ia, ib, io, n, sa, sb int) {
		for k := range n {
			if f(a.f[ia+k*sa], b.f[ib+k*sb]) {
				out.i[io+k] = 1
			}
		}
	})
	return out, nil
}

func boolInt(v bool) int32 {
	if v {
		return 1
	}
	return 0
}

func rsqrt(x float32) float32 { return float32(1 / math.Sqrt(float64(x))) }
