package uselite

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
)

// mkNode builds a node definition with attributes given as JSON.
func mkNode(t testing.TB, op, attrJSON string) *nodeDef {
	t.Helper()
	nd := &nodeDef{Name: "n", Op: op}
	if attrJSON != "" {
		if err := json.Unmarshal([]byte(attrJSON), &nd.Attr); err != nil {
			t.Fatal(err)
		}
	}
	return nd
}

func runOp(t *testing.T, op, attrJSON string, in ...*tensor) []*tensor {
	t.Helper()
	k, _, err := compileOp(mkNode(t, op, attrJSON))
	if err != nil {
		t.Fatal(err)
	}
	out, err := k(in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func ints(shape []int, v ...int32) *tensor     { return &tensor{dt: int32T, shape: shape, i: v} }
func floats(shape []int, v ...float32) *tensor { return &tensor{dt: float32T, shape: shape, f: v} }

func TestOpSemantics(t *testing.T) {
	x := ints([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	check := func(name string, got *tensor, shape []int, want []int32) {
		t.Helper()
		if !slices.Equal(got.shape, shape) || !slices.Equal(got.i, want) {
			t.Errorf("%s = %v %v, want %v %v", name, got.shape, got.i, shape, want)
		}
	}
	ss := `{"begin_mask":{"i":"1"},"end_mask":{"i":"1"},"shrink_axis_mask":{"i":"2"}}`
	check("StridedSlice[:, 1]", runOp(t, "StridedSlice", ss, x, ints([]int{2}, 0, 1), ints([]int{2}, 0, 2), ints([]int{2}, 1, 1))[0], []int{2}, []int32{2, 5})
	check("StridedSlice[::-1]", runOp(t, "StridedSlice", `{"begin_mask":{"i":"1"},"end_mask":{"i":"1"}}`,
		ints([]int{4}, 1, 2, 3, 4), ints([]int{1}, 0), ints([]int{1}, 0), ints([]int{1}, -1))[0], []int{4}, []int32{4, 3, 2, 1})
	check("GatherV2 axis 1", runOp(t, "GatherV2", "", x, ints([]int{2}, 2, 0), scalarInt(1))[0], []int{2, 2}, []int32{3, 1, 6, 4})
	check("Where", runOp(t, "Where", "", &tensor{dt: boolT, shape: []int{2, 2}, i: []int32{0, 1, 1, 0}})[0], []int{2, 2}, []int32{0, 1, 1, 0})
	check("SparseToDense", runOp(t, "SparseToDense", "", ints([]int{2, 2}, 0, 1, 1, 0), ints([]int{2}, 2, 2), ints([]int{2}, 7, 8), scalarInt(-1))[0],
		[]int{2, 2}, []int32{-1, 7, 8, -1})
	check("ScatterNd sums duplicates", runOp(t, "ScatterNd", "", ints([]int{3, 1}, 1, 1, 0), ints([]int{3}, 5, 6, 7), ints([]int{1}, 3))[0],
		[]int{3}, []int32{7, 11, 0})
	check("GatherNd", runOp(t, "GatherNd", "", x, ints([]int{2, 2}, 1, 2, 0, 0))[0], []int{2}, []int32{6, 1})
	check("Max keep", runOp(t, "Max", `{"keep_dims":{"b":true}}`, x, scalarInt(1))[0], []int{2, 1}, []int32{3, 6})
	check("Max of nothing", runOp(t, "Max", "", ints([]int{0}), scalarInt(0))[0], []int{}, []int32{-1 << 31})
	check("Prod", runOp(t, "Prod", "", x, ints([]int{1}, 0))[0], []int{3}, []int32{4, 10, 18})
	check("Transpose", runOp(t, "Transpose", "", x, ints([]int{2}, 1, 0))[0], []int{3, 2}, []int32{1, 4, 2, 5, 3, 6})
	check("Pack", runOp(t, "Pack", `{"N":{"i":"2"},"axis":{"i":"1"}}`, ints([]int{2}, 1, 2), ints([]int{2}, 3, 4))[0], []int{2, 2}, []int32{1, 3, 2, 4})
	check("ConcatV2", runOp(t, "ConcatV2", `{"N":{"i":"2"}}`, x, ints([]int{2, 1}, 9, 9), scalarInt(-1))[0], []int{2, 4}, []int32{1, 2, 3, 9, 4, 5, 6, 9})
	check("Slice", runOp(t, "Slice", "", x, ints([]int{2}, 1, 1), ints([]int{2}, -1, 2))[0], []int{1, 2}, []int32{5, 6})
	check("Range", runOp(t, "Range", "", scalarInt(0), scalarInt(5), scalarInt(2))[0], []int{3}, []int32{0, 2, 4})
	check("Reshape -1", runOp(t, "Reshape", "", x, ints([]int{2}, -1, 2))[0], []int{3, 2}, []int32{1, 2, 3, 4, 5, 6})
	check("ExpandDims -1", runOp(t, "ExpandDims", "", x, scalarInt(-1))[0], []int{2, 3, 1}, x.i)
	check("Less broadcast", runOp(t, "Less", "", x, ints([]int{3}, 2, 2, 9))[0], []int{2, 3}, []int32{1, 0, 1, 0, 0, 1})
	split := runOp(t, "SplitV", `{"num_split":{"i":"2"}}`, x, ints([]int{2}, 1, -1), scalarInt(1))
	check("SplitV 0", split[0], []int{2, 1}, []int32{1, 4})
	check("SplitV 1", split[1], []int{2, 2}, []int32{2, 3, 5, 6})

	f := floats([]int{2, 2}, 1, 2, 3, 4)
	mm := runOp(t, "MatMul", `{"transpose_b":{"b":true}}`, f, floats([]int{3, 2}, 1, 0, 0, 1, 1, 1))[0]
	if !slices.Equal(mm.shape, []int{2, 3}) || !slices.Equal(mm.f, []float32{1, 2, 3, 3, 4, 7}) {
		t.Errorf("MatMul = %v %v", mm.shape, mm.f)
	}
	bmm := runOp(t, "BatchMatMul", `{"adj_y":{"b":true}}`, floats([]int{1, 2, 2}, 1, 2, 3, 4), floats([]int{1, 2, 2}, 1, 0, 0, 1))[0]
	if !slices.Equal(bmm.f, []float32{1, 2, 3, 4}) {
		t.Errorf("BatchMatMul = %v", bmm.f)
	}
	sm := runOp(t, "Softmax", "", floats([]int{1, 2}, 0, 0))[0]
	if !slices.Equal(sm.f, []float32{0.5, 0.5}) {
		t.Errorf("Softmax = %v", sm.f)
	}
	mean := runOp(t, "Mean", `{"keep_dims":{"b":true}}`, f, ints([]int{1}, -1))[0]
	if !slices.Equal(mean.shape, []int{2, 1}) || !slices.Equal(mean.f, []float32{1.5, 3.5}) {
		t.Errorf("Mean = %v %v", mean.shape, mean.f)
	}
}

// TestGemmMatchesNaive checks the tiled product, including edge tiles and the parallel split.
func TestGemmMatchesNaive(t *testing.T) {
	defer func(v int) { gemmParallelMin = v }(gemmParallelMin)
	gemmParallelMin = 1000
	for _, s := range [][3]int{{1, 1, 1}, {5, 3, 7}, {9, 130, 33}, {13, 200, 64}} {
		m, n, k := s[0], s[1], s[2]
		a, bt := make([]float32, m*k), make([]float32, n*k)
		for i := range a {
			a[i] = float32(i%13) - 6
		}
		for i := range bt {
			bt[i] = float32(i%7) - 3
		}
		c := make([]float32, m*n)
		gemm(m, n, k, a, bt, c)
		for i := range m {
			for j := range n {
				var want float32
				for p := range k {
					want += a[i*k+p] * bt[j*k+p]
				}
				if c[i*n+j] != want {
					t.Fatalf("%v: c[%d,%d] = %v, want %v", s, i, j, c[i*n+j], want)
				}
			}
		}
	}
}

// FuzzOps feeds every op random small tensors and attributes: a kernel must return outputs whose
// element counts match their shapes, or an error; it must never panic.
func FuzzOps(f *testing.F) {
	names := make([]string, 0, len(opTable))
	for name := range opTable {
		names = append(names, name)
	}
	sort.Strings(names)
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{20, 0, 1, 2, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8})
	for k := range names {
		f.Add([]byte{byte(k), 1, 1, 2, 3, 2, 2, 1, 0, 5, 4, 3, 2, 1, 0, 1, 2})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pos := 0
		next := func() int {
			if pos >= len(data) {
				return 0
			}
			pos++
			return int(data[pos-1])
		}
		op := names[next()%len(names)]
		attrJSON := fmt.Sprintf(`{"N":{"i":"%d"},"num_split":{"i":"%d"},"axis":{"i":"%d"},"keep_dims":{"b":%v},
			"begin_mask":{"i":"%d"},"end_mask":{"i":"%d"},"shrink_axis_mask":{"i":"%d"},
			"transpose_a":{"b":%v},"transpose_b":{"b":%v},"adj_x":{"b":%v},"adj_y":{"b":%v},
			"DstT":{"type":%d},"squeeze_dims":{"list":{"i":["%d"]}},"padding":{"s":"VkFMSUQ="}}`,
			1+next()%3, 1+next()%3, next()%4-2, next()%2 == 0, next()%8, next()%8, next()%8,
			next()%2 == 0, next()%2 == 0, next()%2 == 0, next()%2 == 0,
			[]int{tfFloat, tfInt32, tfBool}[next()%3], next()%4-2)
		nd := mkNode(t, op, attrJSON)
		k, arity, err := compileOp(nd)
		if err != nil {
			return
		}
		if arity < 0 {
			arity = 1 + next()%3
		}
		in := make([]*tensor, arity)
		for a := range in {
			dt := []dtype{float32T, int32T, boolT}[next()%3]
			shape := make([]int, next()%4)
			for d := range shape {
				shape[d] = next() % 4
			}
			tt, err := newTensor(dt, shape)
			if err != nil {
				t.Fatal(err)
			}
			for e := range tt.size() {
				v := next()%9 - 3
				if dt == float32T {
					tt.f[e] = float32(v)
				} else if dt == boolT {
					tt.i[e] = int32(v & 1)
				} else {
					tt.i[e] = int32(v)
				}
			}
			in[a] = tt
		}
		if pack, ok := packers[op]; ok && arity == 2 && next()%2 == 0 {
			pk, err := pack(attrs{nd}, in[1])
			if err != nil {
				return
			}
			k = pk
		}
		outs, err := k(in)
		if err != nil {
			return
		}
		for _, o := range outs {
			n, err := numElements(o.shape)
			wrongSlice := (o.dt == float32T && o.i != nil) || (o.dt != float32T && o.f != nil)
			if err != nil || n != o.size() || wrongSlice {
				t.Fatalf("%s: output %s %v holds %d elements (f %d, i %d)", op, o.dt, o.shape, o.size(), len(o.f), len(o.i))
			}
		}
	})
}

// TestBatchMatMulAdjoints checks BatchMatMul against a naive product for every combination of
// adj_x and adj_y, over two batches of non-square matrices (integer values, so sums are exact).
func TestBatchMatMulAdjoints(t *testing.T) {
	const batch, m, k, n = 2, 3, 5, 4
	xa := make([]float32, batch*m*k) // logical x[b][i][p]
	yb := make([]float32, batch*k*n) // logical y[b][p][j]
	for i := range xa {
		xa[i] = float32(i%11) - 5
	}
	for i := range yb {
		yb[i] = float32(i%7) - 3
	}
	for _, adjX := range []bool{false, true} {
		for _, adjY := range []bool{false, true} {
			xs, ys := make([]float32, len(xa)), make([]float32, len(yb))
			xShape, yShape := []int{batch, m, k}, []int{batch, k, n}
			for b := range batch {
				for i := range m {
					for p := range k {
						v := xa[b*m*k+i*k+p]
						if adjX {
							xs[b*m*k+p*m+i] = v
						} else {
							xs[b*m*k+i*k+p] = v
						}
					}
				}
				for p := range k {
					for j := range n {
						v := yb[b*k*n+p*n+j]
						if adjY {
							ys[b*k*n+j*k+p] = v
						} else {
							ys[b*k*n+p*n+j] = v
						}
					}
				}
			}
			if adjX {
				xShape = []int{batch, k, m}
			}
			if adjY {
				yShape = []int{batch, n, k}
			}
			attr := fmt.Sprintf(`{"adj_x":{"b":%v},"adj_y":{"b":%v}}`, adjX, adjY)
			got := runOp(t, "BatchMatMul", attr, floats(xShape, xs...), floats(yShape, ys...))[0]
			if !slices.Equal(got.shape, []int{batch, m, n}) {
				t.Fatalf("adj %v %v: shape %v", adjX, adjY, got.shape)
			}
			for b := range batch {
				for i := range m {
					for j := range n {
						var want float32
						for p := range k {
							want += xa[b*m*k+i*k+p] * yb[b*k*n+p*n+j]
						}
						if g := got.f[b*m*n+i*n+j]; g != want {
							t.Fatalf("adj %v %v: [%d,%d,%d] = %v, want %v", adjX, adjY, b, i, j, g, want)
						}
					}
				}
			}
		}
	}
}
