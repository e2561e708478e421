package uselite

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The wire form of a TensorFlow.js graph model (model.json). Only the fields the interpreter uses
// are decoded.
type modelFile struct {
	Format          string          `json:"format"`
	ModelTopology   *graphDef       `json:"modelTopology"`
	WeightsManifest []manifestGroup `json:"weightsManifest"`
}

type graphDef struct {
	Node []nodeDef `json:"node"`
}

type nodeDef struct {
	Name  string          `json:"name"`
	Op    string          `json:"op"`
	Input []string        `json:"input"`
	Attr  map[string]attr `json:"attr"`
}

type attr struct {
	S      json.RawMessage `json:"s"`
	I      json.RawMessage `json:"i"`
	F      json.RawMessage `json:"f"`
	B      *bool           `json:"b"`
	Type   json.RawMessage `json:"type"`
	List   *attrList       `json:"list"`
	Tensor *tensorProto    `json:"tensor"`
}

type attrList struct {
	I []json.RawMessage `json:"i"`
}

type tensorProto struct {
	Dtype       json.RawMessage `json:"dtype"`
	TensorShape *shapeProto     `json:"tensorShape"`
}

type shapeProto struct {
	Dim []struct {
		Size json.RawMessage `json:"size"`
	} `json:"dim"`
}

type manifestGroup struct {
	Paths   []string         `json:"paths"`
	Weights []manifestWeight `json:"weights"`
}

type manifestWeight struct {
	Name         string          `json:"name"`
	Shape        []int           `json:"shape"`
	Dtype        string          `json:"dtype"`
	Quantization json.RawMessage `json:"quantization"`
}

// The TensorFlow DataType enum values the graph uses.
const (
	tfFloat = 1
	tfInt32 = 3
	tfInt64 = 9
	tfBool  = 10
)

var tfTypeNames = map[string]int{"DT_FLOAT": tfFloat, "DT_INT32": tfInt32, "DT_INT64": tfInt64, "DT_BOOL": tfBool}

// jsonInt decodes an integer written either as a JSON number or as a decimal string (protobuf's
// JSON form of int64).
func jsonInt(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %.40s", raw)
	}
	return v, nil
}

// jsonBytes decodes a bytes attribute written either as base64 (protobuf's JSON form) or as an
// array of byte values.
func jsonBytes(raw json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return base64.StdEncoding.DecodeString(s)
	}
	var arr []int
	if err := json.Unmarshal(raw, &arr); err != nil {
		return nil, fmt.Errorf("not a bytes value: %.40s", raw)
	}
	b := make([]byte, len(arr))
	for k, v := range arr {
		if v < 0 || v > 255 {
			return nil, fmt.Errorf("byte value %d out of range", v)
		}
		b[k] = byte(v)
	}
	return b, nil
}

// jsonType decodes a DataType written as a number or as its enum name.
func jsonType(raw json.RawMessage) (int, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		if v, ok := tfTypeNames[name]; ok {
			return v, nil
		}
		if v, err := strconv.Atoi(name); err == nil {
			return v, nil
		}
		return 0, fmt.Errorf("unknown data type %q", name)
	}
	v, err := jsonInt(raw)
	return int(v), err
}

// attrs gives typed access to one node's attributes, with errors that name the node.
type attrs struct {
	node *nodeDef
}

func (a attrs) get(name string) (attr, bool) {
	v, ok := a.node.Attr[name]
	return v, ok
}

func (a attrs) int(name string, def int64) (int64, error) {
	v, ok := a.get(name)
	if !ok || v.I == nil {
		return def, nil
	}
	n, err := jsonInt(v.I)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

func (a attrs) bool(name string) bool {
	v, ok := a.get(name)
	return ok && v.B != nil && *v.B
}

func (a attrs) string(name string) (string, error) {
	v, ok := a.get(name)
	if !ok || v.S == nil {
		return "", nil
	}
	b, err := jsonBytes(v.S)
	if err != nil {
		return "", fmt.Errorf("attribute %s: %w", name, err)
	}
	return string(b), nil
}

func (a attrs) ints(name string) ([]int64, error) {
	v, ok := a.get(name)
	if !ok || v.List == nil {
		return nil, nil
	}
	out := make([]int64, len(v.List.I))
	for k, raw := range v.List.I {
		n, err := jsonInt(raw)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[k] = n
	}
	return out, nil
}

func (a attrs) dtype(name string) (int, bool, error) {
	v, ok := a.get(name)
	if !ok || v.Type == nil {
		return 0, false, nil
	}
	t, err := jsonType(v.Type)
	if err != nil {
		return 0, false, fmt.Errorf("attribute %s: %w", name, err)
	}
	return t, true, nil
}

// Size limits for the files Load reads.
const (
	maxModelJSON  = 64 << 20
	maxVocabJSON  = 64 << 20
	maxWeightData = 1 << 30
)

// errTooLarge reports a file longer than it may be.
var errTooLarge = errors.New("file is larger than allowed")

// readLimited reads a whole file, refusing files larger than limit.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", filepath.Base(path), errTooLarge, limit)
	}
	return data, nil
}

// readWeights reads the weight shards a manifest group names, checks that together they hold
// exactly the bytes the manifest describes, and returns one tensor per weight name.
func readWeights(dir string, groups []manifestGroup) (map[string]*tensor, error) {
	weights := map[string]*tensor{}
	for g, group := range groups {
		need := int64(0)
		for _, w := range group.Weights {
			if len(w.Quantization) > 0 && string(w.Quantization) != "null" {
				return nil, fmt.Errorf("weight %q is quantized, which is not supported", w.Name)
			}
			if w.Dtype != "float32" && w.Dtype != "int32" {
				return nil, fmt.Errorf("weight %q has dtype %q; only float32 and int32 are supported", w.Name, w.Dtype)
			}
			n, err := numElements(w.Shape)
			if err != nil {
				return nil, fmt.Errorf("weight %q: %w", w.Name, err)
			}
			need += 4 * int64(n)
		}
		if need > maxWeightData {
			return nil, fmt.Errorf("weight group %d needs %d bytes, more than the %d allowed", g, need, maxWeightData)
		}
		if len(group.Paths) == 0 && need > 0 {
			return nil, fmt.Errorf("weight group %d lists no shard files", g)
		}
		buf := make([]byte, 0, need)
		var sizes []string
		for _, p := range group.Paths {
			if !filepath.IsLocal(p) || strings.ContainsAny(p, `/\`) {
				return nil, fmt.Errorf("shard path %q is not a plain file name", p)
			}
			data, err := readLimited(filepath.Join(dir, p), need-int64(len(buf)))
			if errors.Is(err, errTooLarge) {
				return nil, fmt.Errorf("weight group %d: the shards up to %s hold more than the manifest's %d bytes", g, p, need)
			}
			if err != nil {
				return nil, fmt.Errorf("weight group %d: %w", g, err)
			}
			buf = append(buf, data...)
			sizes = append(sizes, fmt.Sprintf("%s=%d", p, len(data)))
		}
		if int64(len(buf)) != need {
			return nil, fmt.Errorf("weight group %d: the manifest needs %d bytes but the shards hold %d (%s): truncated or missing shard",
				g, need, len(buf), strings.Join(sizes, ", "))
		}
		off := 0
		for _, w := range group.Weights {
			n, _ := numElements(w.Shape)
			t := &tensor{shape: append([]int{}, w.Shape...)}
			src := buf[off : off+4*n]
			if w.Dtype == "float32" {
				t.dt = float32T
				t.f = make([]float32, n)
				for k := range t.f {
					t.f[k] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*k:]))
				}
			} else {
				t.dt = int32T
				t.i = make([]int32, n)
				for k := range t.i {
					t.i[k] = int32(binary.LittleEndian.Uint32(src[4*k:]))
				}
			}
			off += 4 * n
			if _, dup := weights[w.Name]; dup {
				return nil, fmt.Errorf("weight %q appears twice in the manifest", w.Name)
			}
			weights[w.Name] = t
		}
	}
	return weights, nil
}

// ref names one output of one node.
type ref struct {
	node, out int
}

// node is one compiled graph node: its inputs and the function that computes its outputs.
type node struct {
	name   string
	op     string
	inputs []ref
	// value is set for Const nodes.
	value *tensor
	// feed is the input index of a Placeholder node, -1 otherwise.
	feed int
	run  kernel
}

// kernel computes a node's outputs from its inputs. It must not modify the inputs.
type kernel func(in []*tensor) ([]*tensor, error)

// graph is a compiled, immutable graph: the nodes needed for the output, in topological order.
type graph struct {
	nodes  []node
	order  []int
	output ref
	feeds  []string
	// lastUse[k] is the position in order after which node k's outputs are no longer needed.
	lastUse []int
}

// compileGraph resolves inputs, binds weights to Const nodes, compiles each op's attributes into a
// kernel (so an unknown op or a bad attribute fails here, not at Embed time), finds the output and
// orders the nodes.
func compileGraph(def *graphDef, weights map[string]*tensor, feeds []string, output string) (*graph, error) {
	if def == nil || len(def.Node) == 0 {
		return nil, errors.New("model.json has no graph nodes")
	}
	g := &graph{feeds: feeds}
	index := make(map[string]int, len(def.Node))
	for k := range def.Node {
		nd := &def.Node[k]
		if nd.Name == "" {
			return nil, fmt.Errorf("node %d has no name", k)
		}
		if _, dup := index[nd.Name]; dup {
			return nil, fmt.Errorf("node %q appears twice", nd.Name)
		}
		index[nd.Name] = k
	}
	g.nodes = make([]node, len(def.Node))
	for k := range def.Node {
		nd := &def.Node[k]
		n := node{name: nd.Name, op: nd.Op, feed: -1}
		for _, in := range nd.Input {
			if strings.HasPrefix(in, "^") {
				continue // a control dependency: no data flows, and the graph has no side effects
			}
			name, out := in, 0
			if c := strings.LastIndexByte(in, ':'); c > 0 {
				if v, err := strconv.Atoi(in[c+1:]); err == nil {
					name, out = in[:c], v
				}
			}
			src, ok := index[name]
			if !ok {
				return nil, fmt.Errorf("node %q: input %q is not a node of the graph", nd.Name, in)
			}
			n.inputs = append(n.inputs, ref{src, out})
		}
		switch nd.Op {
		case "Const":
			w, ok := weights[nd.Name]
			if !ok {
				return nil, fmt.Errorf("const node %q has no weight in the manifest", nd.Name)
			}
			if err := checkConst(nd, w); err != nil {
				return nil, err
			}
			n.value = w
		case "Placeholder":
			for f, name := range feeds {
				if name == nd.Name {
					n.feed = f
				}
			}
			if n.feed < 0 {
				return nil, fmt.Errorf("placeholder %q is not one of the inputs %v", nd.Name, feeds)
			}
		default:
			run, arity, err := compileOp(nd)
			if err != nil {
				return nil, fmt.Errorf("node %q (%s): %w", nd.Name, nd.Op, err)
			}
			if arity >= 0 && len(n.inputs) != arity {
				return nil, fmt.Errorf("node %q (%s): has %d inputs, want %d", nd.Name, nd.Op, len(n.inputs), arity)
			}
			n.run = run
		}
		g.nodes[k] = n
	}
	// Ops over constant weights get kernels with the weight prepared once.
	for k := range g.nodes {
		n := &g.nodes[k]
		pack, ok := packers[n.op]
		if !ok || len(n.inputs) != 2 {
			continue
		}
		if w := g.nodes[n.inputs[1].node].value; w != nil && n.inputs[1].out == 0 {
			run, err := pack(attrs{&def.Node[k]}, w)
			if err != nil {
				return nil, fmt.Errorf("node %q (%s): %w", n.name, n.op, err)
			}
			n.run = run
		}
	}
	out, ok := index[output]
	if !ok {
		return nil, fmt.Errorf("the graph has no output node %q", output)
	}
	g.output = ref{out, 0}
	if err := g.sort(); err != nil {
		return nil, err
	}
	for _, f := range feeds {
		if _, ok := index[f]; !ok {
			return nil, fmt.Errorf("the graph has no input %q", f)
		}
	}
	return g, nil
}

// checkConst checks that a weight matches the shape and type its Const node declares.
func checkConst(nd *nodeDef, w *tensor) error {
	v, ok := nd.Attr["value"]
	if !ok || v.Tensor == nil {
		return nil
	}
	if v.Tensor.TensorShape != nil {
		shape := make([]int, len(v.Tensor.TensorShape.Dim))
		for k, d := range v.Tensor.TensorShape.Dim {
			n, err := jsonInt(d.Size)
			if err != nil {
				return fmt.Errorf("const node %q: shape: %w", nd.Name, err)
			}
			shape[k] = int(n)
		}
		if !sameShape(shape, w.shape) {
			return fmt.Errorf("const node %q declares shape %v but its weight has shape %v", nd.Name, shape, w.shape)
		}
	}
	if v.Tensor.Dtype != nil {
		t, err := jsonType(v.Tensor.Dtype)
		if err != nil {
			return fmt.Errorf("const node %q: %w", nd.Name, err)
		}
		want := float32T
		if t != tfFloat {
			want = int32T
		}
		if want != w.dt {
			return fmt.Errorf("const node %q declares %s but its weight is %s", nd.Name, want, w.dt)
		}
	}
	return nil
}

// sort orders the nodes the output depends on so that every node follows its inputs, and records
// when each node's outputs can be released.
func (g *graph) sort() error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]uint8, len(g.nodes))
	var order []int
	// An explicit stack keeps a deep (or hostile) graph from exhausting the goroutine stack.
	type frame struct{ node, next int }
	stack := []frame{{g.output.node, 0}}
	state[g.output.node] = visiting
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		n := &g.nodes[top.node]
		if top.next < len(n.inputs) {
			in := n.inputs[top.next].node
			top.next++
			switch state[in] {
			case visiting:
				return fmt.Errorf("the graph has a cycle through node %q", g.nodes[in].name)
			case unvisited:
				state[in] = visiting
				stack = append(stack, frame{in, 0})
			}
			continue
		}
		state[top.node] = done
		order = append(order, top.node)
		stack = stack[:len(stack)-1]
	}
	g.order = order
	g.lastUse = make([]int, len(g.nodes))
	for pos, k := range order {
		for _, in := range g.nodes[k].inputs {
			g.lastUse[in.node] = pos
		}
	}
	g.lastUse[g.output.node] = len(order)
	return nil
}

// run evaluates the graph on the given feeds (in the order of g.feeds) and returns the output.
func (g *graph) run(feeds []*tensor) (*tensor, error) {
	if len(feeds) != len(g.feeds) {
		return nil, fmt.Errorf("have %d inputs, want %d", len(feeds), len(g.feeds))
	}
	values := make([][]*tensor, len(g.nodes))
	var in []*tensor
	for pos, k := range g.order {
		n := &g.nodes[k]
		switch {
		case n.value != nil:
			values[k] = []*tensor{n.value}
		case n.feed >= 0:
			values[k] = []*tensor{feeds[n.feed]}
		default:
			in = in[:0]
			for _, r := range n.inputs {
				outs := values[r.node]
				if r.out >= len(outs) {
					return nil, fmt.Errorf("node %q: input %q has no output %d", n.name, g.nodes[r.node].name, r.out)
				}
				in = append(in, outs[r.out])
			}
			outs, err := n.run(in)
			if err != nil {
				return nil, fmt.Errorf("node %q (%s): %w", n.name, n.op, err)
			}
			values[k] = outs
		}
		// Release inputs nobody needs any more, so peak memory stays near one layer's activations.
		for _, r := range n.inputs {
			if g.lastUse[r.node] == pos {
				values[r.node] = nil
			}
		}
	}
	outs := values[g.output.node]
	if g.output.out >= len(outs) {
		return nil, fmt.Errorf("the output node has no output %d", g.output.out)
	}
	return outs[g.output.out], nil
}
