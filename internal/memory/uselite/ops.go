package uselite

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// opNames lists the TensorFlow ops the interpreter implements: those of the USE-lite graph and a
// few trivial relatives (Identity, AddV2, Sqrt, BatchMatMulV2).
func opNames() []string {
	names := make([]string, 0, len(opTable)+2)
	for name := range opTable {
		names = append(names, name)
	}
	names = append(names, "Const", "Placeholder")
	sort.Strings(names)
	return names
}

// opCompiler turns a node's attributes into a kernel and the number of inputs it takes (-1: any).
type opCompiler func(a attrs) (kernel, int, error)

var opTable map[string]opCompiler

func init() {
	opTable = map[string]opCompiler{
		"Identity":      fixed(1, func(in []*tensor) ([]*tensor, error) { return in, nil }),
		"Add":           fixed(2, arith(func(x, y float32) float32 { return x + y }, func(x, y int32) int32 { return x + y })),
		"AddV2":         fixed(2, arith(func(x, y float32) float32 { return x + y }, func(x, y int32) int32 { return x + y })),
		"Sub":           fixed(2, arith(func(x, y float32) float32 { return x - y }, func(x, y int32) int32 { return x - y })),
		"Mul":           fixed(2, arith(func(x, y float32) float32 { return x * y }, func(x, y int32) int32 { return x * y })),
		"RealDiv":       fixed(2, realDiv),
		"Maximum":       fixed(2, arith(maxF, func(x, y int32) int32 { return max(x, y) })),
		"Less":          fixed(2, compare(func(x, y float32) bool { return x < y }, func(x, y int32) bool { return x < y })),
		"Greater":       fixed(2, compare(func(x, y float32) bool { return x > y }, func(x, y int32) bool { return x > y })),
		"LogicalNot":    fixed(1, logicalNot),
		"Square":        fixed(1, unary(func(x float32) float32 { return x * x })),
		"Rsqrt":         fixed(1, unary(rsqrt)),
		"Sqrt":          fixed(1, unary(func(x float32) float32 { return float32(math.Sqrt(float64(x))) })),
		"Sin":           fixed(1, unary(func(x float32) float32 { return float32(math.Sin(float64(x))) })),
		"Cos":           fixed(1, unary(func(x float32) float32 { return float32(math.Cos(float64(x))) })),
		"Tanh":          fixed(1, unary(func(x float32) float32 { return float32(math.Tanh(float64(x))) })),
		"Relu":          fixed(1, unary(func(x float32) float32 { return max(x, 0) })),
		"Softmax":       fixed(1, softmax),
		"Shape":         fixed(1, shapeOp),
		"Where":         fixed(1, where),
		"Range":         fixed(3, rangeOp),
		"Reshape":       fixed(2, reshape),
		"ExpandDims":    fixed(2, expandDims),
		"Transpose":     fixed(2, transposeOp),
		"Slice":         fixed(3, slice),
		"GatherV2":      compileGather,
		"GatherNd":      fixed(2, gatherND),
		"ScatterNd":     fixed(3, scatterND),
		"SparseToDense": fixed(4, sparseToDense),
		"BiasAdd":       compileBiasAdd,
		"MatMul":        compileMatMul,
		"BatchMatMul":   compileBatchMatMul,
		"BatchMatMulV2": compileBatchMatMul,
		"Conv2D":        compileConv2D,
		"Cast":          compileCast,
		"Squeeze":       compileSqueeze,
		"ConcatV2":      compileConcat,
		"Pack":          compilePack,
		"SplitV":        compileSplitV,
		"StridedSlice":  compileStridedSlice,
		"Sum":           compileReduce(reduceSum),
		"Mean":          compileReduce(reduceMean),
		"Max":           compileReduce(reduceMax),
		"Prod":          compileReduce(reduceProd),
	}
}

// packers build kernels for ops whose second input is a constant weight, preparing the weight
// once at load time.
var packers = map[string]func(a attrs, w *tensor) (kernel, error){
	"MatMul": packMatMul,
	"Conv2D": packConv2D,
}

// compileOp returns the kernel for a node, or an error naming the op when it is not supported.
func compileOp(nd *nodeDef) (kernel, int, error) {
	c, ok := opTable[nd.Op]
	if !ok {
		return nil, 0, fmt.Errorf("unsupported op %q (the interpreter implements %s)", nd.Op, strings.Join(opNames(), ", "))
	}
	return c(attrs{nd})
}

// fixed makes an attribute-free op with a fixed number of inputs.
func fixed(arity int, k kernel) opCompiler {
	return func(attrs) (kernel, int, error) { return k, arity, nil }
}

func one(t *tensor) []*tensor { return []*tensor{t} }

func maxF(x, y float32) float32 {
	if x > y || x != x {
		return x
	}
	return y
}

func sameType(a, b *tensor) error {
	if a.dt != b.dt {
		return fmt.Errorf("operand types differ: %s and %s", a.dt, b.dt)
	}
	return nil
}

func wantFloat(ts ...*tensor) error {
	for _, t := range ts {
		if t.dt != float32T {
			return fmt.Errorf("want float32, have %s", t.dt)
		}
	}
	return nil
}

func arith(f func(x, y float32) float32, i func(x, y int32) int32) kernel {
	return func(in []*tensor) ([]*tensor, error) {
		a, b := in[0], in[1]
		if err := sameType(a, b); err != nil {
			return nil, err
		}
		var out *tensor
		var err error
		if a.dt == float32T {
			out, err = binaryFloat(a, b, f)
		} else {
			out, err = binaryInt(a, b, int32T, i)
		}
		if err != nil {
			return nil, err
		}
		return one(out), nil
	}
}

func realDiv(in []*tensor) ([]*tensor, error) {
	if err := wantFloat(in...); err != nil {
		return nil, err
	}
	out, err := binaryFloat(in[0], in[1], func(x, y float32) float32 { return x / y })
	if err != nil {
		return nil, err
	}
	return one(out), nil
}

func compare(f func(x, y float32) bool, i func(x, y int32) bool) kernel {
	return func(in []*tensor) ([]*tensor, error) {
		a, b := in[0], in[1]
		if err := sameType(a, b); err != nil {
			return nil, err
		}
		var out *tensor
		var err error
		if a.dt == float32T {
			out, err = compareFloat(a, b, f)
		} else {
			out, err = binaryInt(a, b, boolT, func(x, y int32) int32 { return boolInt(i(x, y)) })
		}
		if err != nil {
			return nil, err
		}
		return one(out), nil
	}
}

func logicalNot(in []*tensor) ([]*tensor, error) {
	a := in[0]
	if a.dt != boolT {
		return nil, fmt.Errorf("want bool, have %s", a.dt)
	}
	out, err := newTensor(boolT, a.shape)
	if err != nil {
		return nil, err
	}
	for k, v := range a.i {
		out.i[k] = boolInt(v == 0)
	}
	return one(out), nil
}

func unary(f func(float32) float32) kernel {
	return func(in []*tensor) ([]*tensor, error) {
		a := in[0]
		if err := wantFloat(a); err != nil {
			return nil, err
		}
		out, err := newTensor(float32T, a.shape)
		if err != nil {
			return nil, err
		}
		for k, v := range a.f {
			out.f[k] = f(v)
		}
		return one(out), nil
	}
}

// softmax normalises over the last axis.
func softmax(in []*tensor) ([]*tensor, error) {
	a := in[0]
	if err := wantFloat(a); err != nil {
		return nil, err
	}
	if a.rank() == 0 {
		return nil, fmt.Errorf("softmax of a scalar")
	}
	out, err := newTensor(float32T, a.shape)
	if err != nil {
		return nil, err
	}
	n := a.shape[a.rank()-1]
	if n == 0 {
		return one(out), nil
	}
	for off := 0; off < len(a.f); off += n {
		row, o := a.f[off:off+n], out.f[off:off+n]
		m := row[0]
		for _, v := range row {
			m = maxF(m, v)
		}
		var sum float32
		for k, v := range row {
			e := float32(math.Exp(float64(v - m)))
			o[k] = e
			sum += e
		}
		for k := range o {
			o[k] /= sum
		}
	}
	return one(out), nil
}

func shapeOp(in []*tensor) ([]*tensor, error) {
	s := make([]int32, in[0].rank())
	for k, d := range in[0].shape {
		s[k] = int32(d)
	}
	return one(vectorInt(s)), nil
}

// where returns the coordinates of the true elements of a bool tensor, row-major, as [n, rank].
func where(in []*tensor) ([]*tensor, error) {
	a := in[0]
	if a.dt != boolT {
		return nil, fmt.Errorf("want bool, have %s", a.dt)
	}
	r := a.rank()
	st := strides(a.shape)
	var coords []int32
	for k, v := range a.i {
		if v == 0 {
			continue
		}
		rem := k
		for d := range r {
			coords = append(coords, int32(rem/st[d]))
			rem %= st[d]
		}
	}
	n := 0
	if r > 0 {
		n = len(coords) / r
	} else {
		for _, v := range a.i {
			if v != 0 {
				n++
			}
		}
	}
	return one(&tensor{dt: int32T, shape: []int{n, r}, i: coords}), nil
}

func rangeOp(in []*tensor) ([]*tensor, error) {
	start, err := in[0].scalar()
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	limit, err := in[1].scalar()
	if err != nil {
		return nil, fmt.Errorf("limit: %w", err)
	}
	delta, err := in[2].scalar()
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	if delta == 0 {
		return nil, fmt.Errorf("range delta is zero")
	}
	n := 0
	if delta > 0 && limit > start {
		n = (limit - start + delta - 1) / delta
	} else if delta < 0 && start > limit {
		n = (start - limit - delta - 1) / -delta
	}
	if n > maxElements {
		return nil, fmt.Errorf("range of %d elements is too long", n)
	}
	v := make([]int32, n)
	for k := range v {
		v[k] = int32(start + k*delta)
	}
	return one(vectorInt(v)), nil
}

func reshape(in []*tensor) ([]*tensor, error) {
	a := in[0]
	shape, err := in[1].scalarOrVector()
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	infer, known := -1, 1
	for k, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = k
		case d < 0:
			return nil, fmt.Errorf("bad target shape %v", shape)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || a.size()%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", a.shape, shape)
		}
		shape[infer] = a.size() / known
	}
	if n, err := numElements(shape); err != nil || n != a.size() {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", a.shape, a.size(), shape)
	}
	return one(a.withShape(shape)), nil
}

func expandDims(in []*tensor) ([]*tensor, error) {
	a := in[0]
	axis, err := in[1].scalar()
	if err != nil {
		return nil, fmt.Errorf("axis: %w", err)
	}
	axis, err = normAxis(axis, a.rank()+1)
	if err != nil {
		return nil, err
	}
	shape := make([]int, 0, a.rank()+1)
	shape = append(shape, a.shape[:axis]...)
	shape = append(shape, 1)
	shape = append(shape, a.shape[axis:]...)
	return one(a.withShape(shape)), nil
}

func compileSqueeze(a attrs) (kernel, int, error) {
	dims, err := a.ints("squeeze_dims")
	if err != nil {
		return nil, 0, err
	}
	return func(in []*tensor) ([]*tensor, error) {
		t := in[0]
		drop := make([]bool, t.rank())
		for _, d := range dims {
			ax, err := normAxis(int(d), t.rank())
			if err != nil {
				return nil, err
			}
			if t.shape[ax] != 1 {
				return nil, fmt.Errorf("cannot squeeze dimension %d of shape %v", ax, t.shape)
			}
			drop[ax] = true
		}
		var shape []int
		for k, d := range t.shape {
			if (len(dims) == 0 && d == 1) || drop[k] {
				continue
			}
			shape = append(shape, d)
		}
		if shape == nil {
			shape = []int{}
		}
		return one(t.withShape(shape)), nil
	}, 1, nil
}

// transpose permutes the dimensions of a.
func transpose(a *tensor, perm []int) (*tensor, error) {
	r := a.rank()
	if len(perm) != r {
		return nil, fmt.Errorf("permutation %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	shape := make([]int, r)
	for k, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, fmt.Errorf("bad permutation %v", perm)
		}
		seen[p] = true
		shape[k] = a.shape[p]
	}
	out, err := newTensor(a.dt, shape)
	if err != nil {
		return nil, err
	}
	if out.size() == 0 {
		return out, nil
	}
	inSt := strides(a.shape)
	src := make([]int, r) // stride in a of each output dimension
	for k, p := range perm {
		src[k] = inSt[p]
	}
	idx := make([]int, r)
	off := 0
	for o := range out.size() {
		if a.dt == float32T {
			out.f[o] = a.f[off]
		} else {
			out.i[o] = a.i[off]
		}
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			off += src[k]
			if idx[k] < shape[k] {
				break
			}
			off -= src[k] * shape[k]
			idx[k] = 0
		}
	}
	return out, nil
}

func transposeOp(in []*tensor) ([]*tensor, error) {
	perm, err := in[1].scalarOrVector()
	if err != nil {
		return nil, fmt.Errorf("perm: %w", err)
	}
	out, err := transpose(in[0], perm)
	if err != nil {
		return nil, err
	}
	return one(out), nil
}

// sliceRange copies the box [begin, begin+size) of a, stepping by step (all per dimension).
func sliceRange(a *tensor, begin, size, step []int) (*tensor, error) {
	out, err := newTensor(a.dt, size)
	if err != nil {
		return nil, err
	}
	if out.size() == 0 {
		return out, nil
	}
	r := a.rank()
	st := strides(a.shape)
	off := 0
	for k := range r {
		off += begin[k] * st[k]
	}
	idx := make([]int, r)
	for o := range out.size() {
		if a.dt == float32T {
			out.f[o] = a.f[off]
		} else {
			out.i[o] = a.i[off]
		}
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			off += step[k] * st[k]
			if idx[k] < size[k] {
				break
			}
			off -= step[k] * st[k] * size[k]
			idx[k] = 0
		}
	}
	return out, nil
}

func slice(in []*tensor) ([]*tensor, error) {
	a := in[0]
	begin, err := in[1].scalarOrVector()
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	size, err := in[2].scalarOrVector()
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	if len(begin) != a.rank() || len(size) != a.rank() {
		return nil, fmt.Errorf("begin %v and size %v for shape %v", begin, size, a.shape)
	}
	step := make([]int, a.rank())
	for k := range begin {
		step[k] = 1
		if size[k] == -1 {
			size[k] = a.shape[k] - begin[k]
		}
		if begin[k] < 0 || size[k] < 0 || begin[k]+size[k] > a.shape[k] {
			return nil, fmt.Errorf("slice begin %v size %v out of bounds for shape %v", begin, size, a.shape)
		}
	}
	out, err := sliceRange(a, begin, size, step)
	if err != nil {
		return nil, err
	}
	return one(out), nil
}

func compileStridedSlice(a attrs) (kernel, int, error) {
	var masks [5]int64
	for k, name := range []string{"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"} {
		v, err := a.int(name, 0)
		if err != nil {
			return nil, 0, err
		}
		masks[k] = v
	}
	if masks[2] != 0 || masks[3] != 0 {
		return nil, 0, fmt.Errorf("ellipsis_mask and new_axis_mask are not supported")
	}
	beginMask, endMask, shrinkMask := masks[0], masks[1], masks[4]
	return func(in []*tensor) ([]*tensor, error) {
		t := in[0]
		begin, err := in[1].scalarOrVector()
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		end, err := in[2].scalarOrVector()
		if err != nil {
			return nil, fmt.Errorf("end: %w", err)
		}
		step, err := in[3].scalarOrVector()
		if err != nil {
			return nil, fmt.Errorf("strides: %w", err)
		}
		if len(begin) != len(end) || len(begin) != len(step) || len(begin) > t.rank() {
			return nil, fmt.Errorf("begin %v, end %v, strides %v for shape %v", begin, end, step, t.shape)
		}
		r := t.rank()
		b, s, sz := make([]int, r), make([]int, r), make([]int, r)
		var shape []int
		for k := range r {
			dim := t.shape[k]
			if k >= len(begin) { // unspecified trailing dimensions are taken whole
				b[k], s[k], sz[k] = 0, 1, dim
				shape = append(shape, dim)
				continue
			}
			st := step[k]
			if st == 0 {
				return nil, fmt.Errorf("stride 0 in dimension %d", k)
			}
			shrink := shrinkMask&(1<<k) != 0
			if shrink {
				i := begin[k]
				if i < 0 {
					i += dim
				}
				if i < 0 || i >= dim {
					return nil, fmt.Errorf("index %d out of range for dimension %d of shape %v", begin[k], k, t.shape)
				}
				b[k], s[k], sz[k] = i, 1, 1
				continue
			}
			lo, hi := begin[k], end[k]
			clamp := func(v, lower, upper int) int { return min(max(v, lower), upper) }
			if st > 0 {
				if beginMask&(1<<k) != 0 {
					lo = 0
				} else if lo < 0 {
					lo += dim
				}
				if endMask&(1<<k) != 0 {
					hi = dim
				} else if hi < 0 {
					hi += dim
				}
				lo, hi = clamp(lo, 0, dim), clamp(hi, 0, dim)
			} else {
				if beginMask&(1<<k) != 0 {
					lo = dim - 1
				} else if lo < 0 {
					lo += dim
				}
				if endMask&(1<<k) != 0 {
					hi = -1
				} else if hi < 0 {
					hi += dim
				}
				lo, hi = clamp(lo, -1, dim-1), clamp(hi, -1, dim-1)
			}
			n := 0
			if st > 0 && hi > lo {
				n = (hi - lo + st - 1) / st
			} else if st < 0 && lo > hi {
				n = (lo - hi - st - 1) / -st
			}
			b[k], s[k], sz[k] = lo, st, n
			shape = append(shape, n)
		}
		if n, _ := numElements(sz); n == 0 {
			b = make([]int, r) // an empty result reads nothing; keep offsets in range
		}
		out, err := sliceRange(t, b, sz, s)
		if err != nil {
			return nil, err
		}
		if shape == nil {
			shape = []int{}
		}
		return one(out.withShape(shape)), nil
	}, 4, nil
}

func compileGather(a attrs) (kernel, int, error) {
	if bd, err := a.int("batch_dims", 0); err != nil || bd != 0 {
		return nil, 0, fmt.Errorf("batch_dims other than 0 is not supported")
	}
	return func(in []*tensor) ([]*tensor, error) {
		params, idx := in[0], in[1]
		axis, err := in[2].scalar()
		if err != nil {
			return nil, fmt.Errorf("axis: %w", err)
		}
		axis, err = normAxis(axis, params.rank())
		if err != nil {
			return nil, err
		}
		indices, err := idx.ints()
		if err != nil {
			return nil, fmt.Errorf("indices: %w", err)
		}
		outer, inner := 1, 1
		for _, d := range params.shape[:axis] {
			outer *= d
		}
		for _, d := range params.shape[axis+1:] {
			inner *= d
		}
		n := params.shape[axis]
		shape := append(append(append([]int{}, params.shape[:axis]...), idx.shape...), params.shape[axis+1:]...)
		out, err := newTensor(params.dt, shape)
		if err != nil {
			return nil, err
		}
		for _, v := range indices {
			if v < 0 || v >= n {
				return nil, fmt.Errorf("index %d out of range [0, %d)", v, n)
			}
		}
		o := 0
		for b := range outer {
			for _, v := range indices {
				src := (b*n + v) * inner
				if params.dt == float32T {
					copy(out.f[o:o+inner], params.f[src:src+inner])
				} else {
					copy(out.i[o:o+inner], params.i[src:src+inner])
				}
				o += inner
			}
		}
		return one(out), nil
	}, 3, nil
}

// ndIndex checks an index tensor [..., k] against shape and returns, per index, the flat offset
// (in units of the trailing slice) and the slice size.
func ndIndex(idx *tensor, shape []int) (offsets []int, inner int, lead []int, err error) {
	if idx.dt != int32T || idx.rank() < 1 {
		return nil, 0, nil, fmt.Errorf("indices must be int32 of rank ≥ 1, have %s %v", idx.dt, idx.shape)
	}
	k := idx.shape[idx.rank()-1]
	if k > len(shape) {
		return nil, 0, nil, fmt.Errorf("index depth %d exceeds rank %d", k, len(shape))
	}
	inner = 1
	for _, d := range shape[k:] {
		inner *= d
	}
	st := strides(shape[:k])
	lead = idx.shape[:idx.rank()-1]
	n := 1
	for _, d := range lead {
		n *= d
	}
	offsets = make([]int, n)
	for i := range n {
		off := 0
		for j := range k {
			v := int(idx.i[i*k+j])
			if v < 0 || v >= shape[j] {
				return nil, 0, nil, fmt.Errorf("index %d out of range [0, %d) in dimension %d", v, shape[j], j)
			}
			off += v * st[j]
		}
		offsets[i] = off
	}
	return offsets, inner, lead, nil
}

func gatherND(in []*tensor) ([]*tensor, error) {
	params, idx := in[0], in[1]
	offsets, inner, lead, err := ndIndex(idx, params.shape)
	if err != nil {
		return nil, err
	}
	k := idx.shape[idx.rank()-1]
	shape := append(append([]int{}, lead...), params.shape[k:]...)
	out, err := newTensor(params.dt, shape)
	if err != nil {
		return nil, err
	}
	for i, off := range offsets {
		src := off * inner
		if params.dt == float32T {
			copy(out.f[i*inner:(i+1)*inner], params.f[src:src+inner])
		} else {
			copy(out.i[i*inner:(i+1)*inner], params.i[src:src+inner])
		}
	}
	return one(out), nil
}

// scatterND builds a zero tensor of the given shape and adds each update slice at its index.
func scatterND(in []*tensor) ([]*tensor, error) {
	idx, upd := in[0], in[1]
	shape, err := in[2].scalarOrVector()
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	out, err := newTensor(upd.dt, shape)
	if err != nil {
		return nil, err
	}
	offsets, inner, lead, err := ndIndex(idx, shape)
	if err != nil {
		return nil, err
	}
	k := idx.shape[idx.rank()-1]
	want := append(append([]int{}, lead...), shape[k:]...)
	if !sameShape(upd.shape, want) {
		return nil, fmt.Errorf("updates have shape %v, want %v", upd.shape, want)
	}
	for i, off := range offsets {
		dst := off * inner
		if upd.dt == float32T {
			o, u := out.f[dst:dst+inner], upd.f[i*inner:(i+1)*inner]
			for j := range o {
				o[j] += u[j]
			}
		} else {
			o, u := out.i[dst:dst+inner], upd.i[i*inner:(i+1)*inner]
			for j := range o {
				o[j] += u[j]
			}
		}
	}
	return one(out), nil
}

// sparseToDense fills a dense tensor of the given shape with the default value and then the
// sparse values at their indices.
func sparseToDense(in []*tensor) ([]*tensor, error) {
	idx, shapeT, vals, def := in[0], in[1], in[2], in[3]
	shape, err := shapeT.scalarOrVector()
	if err != nil {
		return nil, fmt.Errorf("output_shape: %w", err)
	}
	if err := sameType(vals, def); err != nil {
		return nil, err
	}
	if def.size() != 1 {
		return nil, fmt.Errorf("default value has shape %v, want a scalar", def.shape)
	}
	out, err := newTensor(vals.dt, shape)
	if err != nil {
		return nil, err
	}
	if idx.rank() == 1 { // a vector of indices into a 1-D output
		idx = idx.withShape([]int{idx.size(), 1})
	}
	offsets, inner, _, err := ndIndex(idx, shape)
	if err != nil {
		return nil, err
	}
	if inner != 1 {
		return nil, fmt.Errorf("indices of depth %d for shape %v", idx.shape[idx.rank()-1], shape)
	}
	if vals.size() != 1 && vals.size() != len(offsets) {
		return nil, fmt.Errorf("%d values for %d indices", vals.size(), len(offsets))
	}
	at := func(k int) int {
		if vals.size() == 1 {
			return 0
		}
		return k
	}
	if vals.dt == float32T {
		for k := range out.f {
			out.f[k] = def.f[0]
		}
		for k, off := range offsets {
			out.f[off] = vals.f[at(k)]
		}
	} else {
		for k := range out.i {
			out.i[k] = def.i[0]
		}
		for k, off := range offsets {
			out.i[off] = vals.i[at(k)]
		}
	}
	return one(out), nil
}

func compileBiasAdd(a attrs) (kernel, int, error) {
	if f, err := a.string("data_format"); err != nil || (f != "" && f != "NHWC") {
		return nil, 0, fmt.Errorf("data_format %q is not supported (only NHWC)", f)
	}
	return func(in []*tensor) ([]*tensor, error) {
		x, b := in[0], in[1]
		if err := wantFloat(x, b); err != nil {
			return nil, err
		}
		if x.rank() < 1 || b.rank() != 1 || b.shape[0] != x.shape[x.rank()-1] {
			return nil, fmt.Errorf("bias of shape %v for value of shape %v", b.shape, x.shape)
		}
		out, err := newTensor(float32T, x.shape)
		if err != nil {
			return nil, err
		}
		n := b.shape[0]
		for off := 0; off < len(x.f); off += n {
			o, v := out.f[off:off+n], x.f[off:off+n]
			for k := range o {
				o[k] = v[k] + b.f[k]
			}
		}
		return one(out), nil
	}, 2, nil
}

func compileMatMul(a attrs) (kernel, int, error) {
	ta, tb := a.bool("transpose_a"), a.bool("transpose_b")
	return func(in []*tensor) ([]*tensor, error) {
		p, err := packWeight(in[1], tb)
		if err != nil {
			return nil, err
		}
		return matMulPacked(in[0], ta, p)
	}, 2, nil
}

// packMatMul returns a MatMul kernel over a constant weight, packed once.
func packMatMul(a attrs, w *tensor) (kernel, error) {
	ta, tb := a.bool("transpose_a"), a.bool("transpose_b")
	p, err := packWeight(w, tb)
	if err != nil {
		return nil, err
	}
	return func(in []*tensor) ([]*tensor, error) { return matMulPacked(in[0], ta, p) }, nil
}

func matMulPacked(x *tensor, ta bool, p *packedMatMul) ([]*tensor, error) {
	if x.dt != float32T || x.rank() != 2 {
		return nil, fmt.Errorf("matmul of %s %v: want a float32 matrix", x.dt, x.shape)
	}
	if ta {
		var err error
		if x, err = transpose(x, []int{1, 0}); err != nil {
			return nil, err
		}
	}
	out, err := p.apply(x, []int{x.shape[0], p.n})
	if err != nil {
		return nil, err
	}
	return one(out), nil
}

func compileConv2D(a attrs) (kernel, int, error) {
	if err := checkConv2D(a); err != nil {
		return nil, 0, err
	}
	return func(in []*tensor) ([]*tensor, error) {
		p, err := packFilter(in[1])
		if err != nil {
			return nil, err
		}
		return conv1x1(in[0], p)
	}, 2, nil
}

// packConv2D returns a Conv2D kernel over a constant filter, packed once.
func packConv2D(a attrs, f *tensor) (kernel, error) {
	if err := checkConv2D(a); err != nil {
		return nil, err
	}
	p, err := packFilter(f)
	if err != nil {
		return nil, err
	}
	return func(in []*tensor) ([]*tensor, error) { return conv1x1(in[0], p) }, nil
}

// checkConv2D accepts the attributes of a 1×1 convolution: NHWC, unit strides and dilations.
func checkConv2D(a attrs) error {
	if f, err := a.string("data_format"); err != nil || (f != "" && f != "NHWC") {
		return fmt.Errorf("data_format %q is not supported (only NHWC)", f)
	}
	for _, name := range []string{"strides", "dilations"} {
		v, err := a.ints(name)
		if err != nil {
			return err
		}
		for _, s := range v {
			if s != 1 {
				return fmt.Errorf("%s %v: only 1 is supported", name, v)
			}
		}
	}
	// For a 1×1 filter with unit strides, VALID and SAME padding coincide.
	if p, err := a.string("padding"); err != nil || (p != "VALID" && p != "SAME") {
		return fmt.Errorf("padding %q is not supported (only VALID and SAME)", p)
	}
	return nil
}

// packFilter prepares a 1×1 filter [1, 1, in, out] as an [in, out] weight; only 1×1 convolutions
// (a matrix product over the channel axis) are implemented.
func packFilter(f *tensor) (*packedMatMul, error) {
	if f.dt != float32T || f.rank() != 4 || f.shape[0] != 1 || f.shape[1] != 1 {
		return nil, fmt.Errorf("filter %s %v: only float32 1×1 filters are supported", f.dt, f.shape)
	}
	return packWeight(f.withShape([]int{f.shape[2], f.shape[3]}), false)
}

func conv1x1(x *tensor, p *packedMatMul) ([]*tensor, error) {
	if x.rank() != 4 {
		return nil, fmt.Errorf("conv2d input of shape %v: want NHWC", x.shape)
	}
	out, err := p.apply(x, []int{x.shape[0], x.shape[1], x.shape[2], p.n})
	if err != nil {
		return nil, err
	}
	return one(out), nil
}

func compileBatchMatMul(a attrs) (kernel, int, error) {
	adjX, adjY := a.bool("adj_x"), a.bool("adj_y")
	return func(in []*tensor) ([]*tensor, error) {
		x, y := in[0], in[1]
		if err := wantFloat(x, y); err != nil {
			return nil, err
		}
		r := x.rank()
		if r < 2 || y.rank() != r || !sameShape(x.shape[:r-2], y.shape[:r-2]) {
			return nil, fmt.Errorf("batch matmul of shapes %v and %v: want equal batch dimensions", x.shape, y.shape)
		}
		xr, xc := x.shape[r-2], x.shape[r-1]
		yr, yc := y.shape[r-2], y.shape[r-1]
		m, k := xr, xc
		if adjX {
			m, k = xc, xr
		}
		k2, n := yr, yc
		if adjY {
			k2, n = yc, yr
		}
		if k != k2 {
			return nil, fmt.Errorf("batch matmul of shapes %v and %v (adj %v, %v): inner dimensions differ", x.shape, y.shape, adjX, adjY)
		}
		shape := append(append([]int{}, x.shape[:r-2]...), m, n)
		out, err := newTensor(float32T, shape)
		if err != nil {
			return nil, err
		}
		batch := 1
		for _, d := range x.shape[:r-2] {
			batch *= d
		}
		// Each batch's operands are copied into row-major a [m, k] and bᵀ [n, k] (a copy only when
		// the layout differs) so that gemm reads contiguous rows.
		var abuf, bbuf []float32
		if adjX {
			abuf = make([]float32, m*k)
		}
		if !adjY {
			bbuf = make([]float32, n*k)
		}
		for b := range batch {
			xs, ys := x.f[b*xr*xc:(b+1)*xr*xc], y.f[b*yr*yc:(b+1)*yr*yc]
			as, bts := xs, ys
			if adjX { // xs is [k, m]
				for p := range k {
					for i := range m {
						abuf[i*k+p] = xs[p*xc+i]
					}
				}
				as = abuf
			}
			if !adjY { // ys is [k, n]
				for p := range k {
					for j := range n {
						bbuf[j*k+p] = ys[p*yc+j]
					}
				}
				bts = bbuf
			}
			gemm(m, n, k, as, bts, out.f[b*m*n:(b+1)*m*n])
		}
		return one(out), nil
	}, 2, nil
}

func dtypeOf(t int) (dtype, error) {
	switch t {
	case tfFloat:
		return float32T, nil
	case tfInt32, tfInt64:
		return int32T, nil
	case tfBool:
		return boolT, nil
	}
	return 0, fmt.Errorf("data type %d is not supported", t)
}

func compileCast(a attrs) (kernel, int, error) {
	t, ok, err := a.dtype("DstT")
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("missing DstT")
	}
	dst, err := dtypeOf(t)
	if err != nil {
		return nil, 0, err
	}
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		if x.dt == dst || (x.dt != float32T && dst == int32T) {
			return one(&tensor{dt: dst, shape: x.shape, f: x.f, i: x.i}), nil
		}
		out, err := newTensor(dst, x.shape)
		if err != nil {
			return nil, err
		}
		switch {
		case dst == float32T:
			for k, v := range x.i {
				out.f[k] = float32(v)
			}
		case x.dt == float32T && dst == int32T:
			for k, v := range x.f {
				out.i[k] = int32(v)
			}
		case x.dt == float32T && dst == boolT:
			for k, v := range x.f {
				out.i[k] = boolInt(v != 0)
			}
		default: // int32 to bool
			for k, v := range x.i {
				out.i[k] = boolInt(v != 0)
			}
		}
		return one(out), nil
	}, 1, nil
}

// concat joins tensors of one type along axis.
func concat(ts []*tensor, axis int) (*tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("nothing to concatenate")
	}
	first := ts[0]
	ax, err := normAxis(axis, first.rank())
	if err != nil {
		return nil, err
	}
	shape := append([]int{}, first.shape...)
	shape[ax] = 0
	for _, t := range ts {
		if t.dt != first.dt || t.rank() != first.rank() {
			return nil, fmt.Errorf("cannot concatenate %s %v with %s %v", first.dt, first.shape, t.dt, t.shape)
		}
		for k := range t.shape {
			if k != ax && t.shape[k] != first.shape[k] {
				return nil, fmt.Errorf("cannot concatenate shapes %v and %v on axis %d", first.shape, t.shape, ax)
			}
		}
		shape[ax] += t.shape[ax]
	}
	out, err := newTensor(first.dt, shape)
	if err != nil {
		return nil, err
	}
	outer := 1
	for _, d := range shape[:ax] {
		outer *= d
	}
	o := 0
	for b := range outer {
		for _, t := range ts {
			chunk := t.size() / max(outer, 1)
			if first.dt == float32T {
				copy(out.f[o:o+chunk], t.f[b*chunk:(b+1)*chunk])
			} else {
				copy(out.i[o:o+chunk], t.i[b*chunk:(b+1)*chunk])
			}
			o += chunk
		}
	}
	return out, nil
}

func compileConcat(a attrs) (kernel, int, error) {
	n, err := a.int("N", -1)
	if err != nil {
		return nil, 0, err
	}
	if n < 1 || n > 1<<16 {
		return nil, 0, fmt.Errorf("bad N %d", n)
	}
	return func(in []*tensor) ([]*tensor, error) {
		axis, err := in[len(in)-1].scalar()
		if err != nil {
			return nil, fmt.Errorf("axis: %w", err)
		}
		out, err := concat(in[:len(in)-1], axis)
		if err != nil {
			return nil, err
		}
		return one(out), nil
	}, int(n) + 1, nil
}

func compilePack(a attrs) (kernel, int, error) {
	n, err := a.int("N", -1)
	if err != nil {
		return nil, 0, err
	}
	if n < 1 || n > 1<<16 {
		return nil, 0, fmt.Errorf("bad N %d", n)
	}
	axis, err := a.int("axis", 0)
	if err != nil {
		return nil, 0, err
	}
	return func(in []*tensor) ([]*tensor, error) {
		first := in[0]
		ax, err := normAxis(int(axis), first.rank()+1)
		if err != nil {
			return nil, err
		}
		parts := make([]*tensor, len(in))
		for k, t := range in {
			if !sameShape(t.shape, first.shape) {
				return nil, fmt.Errorf("cannot stack shapes %v and %v", first.shape, t.shape)
			}
			shape := append(append(append([]int{}, t.shape[:ax]...), 1), t.shape[ax:]...)
			parts[k] = t.withShape(shape)
		}
		out, err := concat(parts, ax)
		if err != nil {
			return nil, err
		}
		return one(out), nil
	}, int(n), nil
}

func compileSplitV(a attrs) (kernel, int, error) {
	num, err := a.int("num_split", -1)
	if err != nil {
		return nil, 0, err
	}
	if num < 1 || num > 1<<16 {
		return nil, 0, fmt.Errorf("bad num_split %d", num)
	}
	return func(in []*tensor) ([]*tensor, error) {
		x := in[0]
		sizes, err := in[1].scalarOrVector()
		if err != nil {
			return nil, fmt.Errorf("size_splits: %w", err)
		}
		axis, err := in[2].scalar()
		if err != nil {
			return nil, fmt.Errorf("axis: %w", err)
		}
		if axis, err = normAxis(axis, x.rank()); err != nil {
			return nil, err
		}
		if len(sizes) != int(num) {
			return nil, fmt.Errorf("%d split sizes for num_split %d", len(sizes), num)
		}
		infer, total := -1, 0
		for k, s := range sizes {
			switch {
			case s == -1 && infer < 0:
				infer = k
			case s < 0:
				return nil, fmt.Errorf("bad split sizes %v", sizes)
			default:
				total += s
			}
		}
		if infer >= 0 {
			sizes[infer] = x.shape[axis] - total
			total = x.shape[axis]
		}
		if total != x.shape[axis] || (infer >= 0 && sizes[infer] < 0) {
			return nil, fmt.Errorf("split sizes %v do not add up to dimension %d of shape %v", sizes, axis, x.shape)
		}
		outs := make([]*tensor, len(sizes))
		begin := make([]int, x.rank())
		step := make([]int, x.rank())
		for k := range step {
			step[k] = 1
		}
		for k, s := range sizes {
			size := append([]int{}, x.shape...)
			size[axis] = s
			if outs[k], err = sliceRange(x, begin, size, step); err != nil {
				return nil, err
			}
			begin[axis] += s
		}
		return outs, nil
	}, 3, nil
}

type reduceKind int

const (
	reduceSum reduceKind = iota
	reduceMean
	reduceMax
	reduceProd
)

func compileReduce(kind reduceKind) opCompiler {
	return func(a attrs) (kernel, int, error) {
		keep := a.bool("keep_dims")
		return func(in []*tensor) ([]*tensor, error) {
			axes, err := in[1].scalarOrVector()
			if err != nil {
				return nil, fmt.Errorf("axes: %w", err)
			}
			out, err := reduce(in[0], axes, keep, kind)
			if err != nil {
				return nil, err
			}
			return one(out), nil
		}, 2, nil
	}
}

// reduce folds x over axes. Empty reductions give TensorFlow's identities: 0 for Sum, 1 for Prod,
// the lowest value for Max and NaN for a float Mean.
func reduce(x *tensor, axes []int, keep bool, kind reduceKind) (*tensor, error) {
	r := x.rank()
	red := make([]bool, r)
	for _, ax := range axes {
		a, err := normAxis(ax, r)
		if err != nil {
			return nil, err
		}
		red[a] = true
	}
	var shape, kept []int
	for k, d := range x.shape {
		if red[k] {
			if keep {
				shape = append(shape, 1)
			}
			kept = append(kept, 1)
		} else {
			shape = append(shape, d)
			kept = append(kept, d)
		}
	}
	if shape == nil {
		shape = []int{}
	}
	out, err := newTensor(x.dt, shape)
	if err != nil {
		return nil, err
	}
	count := 1
	for k, d := range x.shape {
		if red[k] {
			count *= d
		}
	}
	if x.dt == float32T {
		acc := make([]float64, out.size())
		for k := range acc {
			switch kind {
			case reduceProd:
				acc[k] = 1
			case reduceMax:
				acc[k] = math.Inf(-1)
			}
		}
		binaryLoop(x.shape, kept, x.shape, func(ix, io, _, n, sx, so int) {
			for k := range n {
				v, o := float64(x.f[ix+k*sx]), io+k*so
				switch kind {
				case reduceSum, reduceMean:
					acc[o] += v
				case reduceProd:
					acc[o] *= v
				case reduceMax:
					if v > acc[o] || v != v {
						acc[o] = v
					}
				}
			}
		})
		for k, v := range acc {
			if kind == reduceMean {
				v /= float64(count)
			}
			out.f[k] = float32(v)
		}
		return out, nil
	}
	if kind == reduceMean && count == 0 {
		return nil, fmt.Errorf("mean over an empty axis")
	}
	acc := make([]int64, out.size())
	for k := range acc {
		switch kind {
		case reduceProd:
			acc[k] = 1
		case reduceMax:
			acc[k] = math.MinInt32
		}
	}
	binaryLoop(x.shape, kept, x.shape, func(ix, io, _, n, sx, so int) {
		for k := range n {
			v, o := int64(x.i[ix+k*sx]), io+k*so
			switch kind {
			case reduceSum, reduceMean:
				acc[o] += v
			case reduceProd:
				acc[o] *= v
			case reduceMax:
				acc[o] = max(acc[o], v)
			}
		}
	})
	for k, v := range acc {
		if kind == reduceMean {
			v /= int64(count)
		}
		out.i[k] = int32(v)
	}
	return out, nil
}
