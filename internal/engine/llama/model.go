// Package llama is the transformer forward pass of seance's embedded engine: the llama architecture
// (and models that share it: Mistral, SmolLM, TinyLlama, Llama 3.x with its RoPE scaling) and qwen2
// (attention biases, NeoX-style RoPE), with grouped-query attention and a KV cache in float32 (or,
// as llama.cpp keeps it, half precision).
//
// Load builds a Model from an opened GGUF file; the weights stay in the file's mapping and are
// computed on with internal/engine/tensor. A Model is read-only and may be shared; each sequence
// being generated owns a State (its KV cache and scratch buffers).
//
// llama imports internal/engine/tensor, internal/engine/gguf and internal/fault.
package llama

import (
	"fmt"
	"math"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
)

// Options tune a loaded model.
type Options struct {
	// BatchSize caps the number of prompt tokens computed in one batched step; longer inputs are
	// split. Zero means 32: larger batches let the activations of the feed-forward products
	// outgrow the CPU caches, and measured slower on qwen2.5-0.5b shaped Q8_0 models.
	BatchSize int
	// HalfCache stores the KV cache in half precision, as llama.cpp does by default, and computes
	// attention with the numerics of llama.cpp's CPU flash attention (queries rounded to half
	// precision, the weighted sum of values accumulated in half precision), so that logits agree
	// with llama.cpp's to about 1e-3. It halves the cache's memory. Its vector kernels
	// (tensor.HalfScores, tensor.HalfAccumulate) make decoding about as fast as with the float32
	// cache: a few percent slower at short contexts, about 10% at position 1000 of a smollm2-135m
	// shaped model, where the float32 cache's attention is cheaper per position.
	HalfCache bool
}

// Config holds the hyper-parameters of a loaded model.
type Config struct {
	Arch    string // general.architecture: "llama" or "qwen2"
	Vocab   int    // rows of token_embd
	Dim     int    // embedding_length
	Layers  int    // block_count
	FFN     int    // feed_forward_length
	Heads   int    // attention.head_count
	KVHeads int    // attention.head_count_kv (Heads when absent)
	// HeadDim and ValueDim are the per-head sizes of queries/keys and of values
	// (attention.key_length and attention.value_length, Dim/Heads when absent).
	HeadDim  int
	ValueDim int
	// RopeDim is the number of rotated dimensions of each head (rope.dimension_count).
	RopeDim  int
	RopeBase float64 // rope.freq_base, 10000 when absent
	// RopeNeox selects NeoX-style rotation (pairs i and i+RopeDim/2, qwen2) instead of adjacent
	// pairs (2i, 2i+1, llama).
	RopeNeox bool
	// RopeScaling is "" (none), "linear", or "llama3"; RopeFactors reports whether per-frequency
	// factors (rope_freqs.weight or computed llama3 factors) divide the rotation frequencies.
	RopeScaling string
	RopeFactors bool
	RMSEps      float32 // attention.layer_norm_rms_epsilon
	// ContextLength is the context the model was trained with (context_length).
	ContextLength int
	// TiedOutput reports that the output projection is token_embd (no output tensor).
	TiedOutput bool
}

type layer struct {
	attnNorm, ffnNorm []float32
	bq, bk, bv        []float32 // nil when the model has no attention biases
	wq, wk, wv, wo    *tensor.Matrix
	gate, up, down    *tensor.Matrix
	// qkvFused and ffnFused report that wq, wk, wv (and gate, up) share a type, so that one
	// tensor.MatMuls computes them together.
	qkvFused, ffnFused bool
}

// Model is a loaded transformer. It is read-only and safe for concurrent use by many States; it
// must not outlive the gguf.File it was loaded from.
type Model struct {
	cfg     Config
	opts    Options
	embd    *tensor.Matrix
	outNorm []float32
	out     *tensor.Matrix
	layers  []layer
	// RoPE, computed as ggml does: pair i of position p turns by
	// p·thetaScale^i / freqFactors[i] · freqScale radians, in float32.
	thetaScale  float32
	freqScale   float32
	freqFactors []float32 // nil when there are none

	params, matParams int64
}

// Config returns the model's hyper-parameters.
func (m *Model) Config() Config { return m.cfg }

// Params returns the number of weights of the model (every tensor it uses, the embedding table
// counted once even when it doubles as the output projection).
func (m *Model) Params() int64 { return m.params }

// FLOPsPerToken estimates the floating-point operations of computing one token at position pos:
// two per weight that takes part in a matrix product (every layer matrix and the output projection,
// not the embedding lookup), plus 2·2·Layers·pos·HeadDim·Heads for attention scores and values.
func (m *Model) FLOPsPerToken(pos int) int64 {
	c := m.cfg
	return 2*m.matParams + 4*int64(c.Layers)*int64(pos)*int64(c.HeadDim)*int64(c.Heads)
}

// unprocessable returns the error for a model file that cannot be used.
func unprocessable(format string, args ...any) error {
	return fault.New(fault.Unprocessable, "llama: "+format, args...)
}

// Load reads hyper-parameters and weights from f. Architectures other than llama and qwen2 are
// fault.Unsupported; missing or mis-shaped tensors and bad hyper-parameters fault.Unprocessable,
// naming the tensor or key.
func Load(f *gguf.File, opts Options) (*Model, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 32
	}
	cfg, err := readConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, opts: opts}
	l := loader{f: f, m: m}

	m.embd = l.matrix("token_embd.weight", -1, cfg.Dim)
	if l.err != nil {
		return nil, l.err
	}
	cfg.Vocab = m.embd.Rows
	m.cfg.Vocab = cfg.Vocab
	if cfg.Vocab == 0 {
		return nil, unprocessable("token_embd.weight has no rows")
	}
	m.outNorm = l.vector("output_norm.weight", cfg.Dim)
	if _, ok := f.Tensor("output.weight"); ok {
		m.out = l.matrix("output.weight", cfg.Vocab, cfg.Dim)
	} else {
		m.out = m.embd
		m.cfg.TiedOutput = true
	}
	m.matParams += int64(cfg.Vocab) * int64(cfg.Dim)
	qDim, kvDim, vDim := cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim, cfg.KVHeads*cfg.ValueDim
	m.layers = make([]layer, cfg.Layers)
	for i := range m.layers {
		b := fmt.Sprintf("blk.%d.", i)
		ly := &m.layers[i]
		ly.attnNorm = l.vector(b+"attn_norm.weight", cfg.Dim)
		ly.wq = l.matrix(b+"attn_q.weight", qDim, cfg.Dim)
		ly.wk = l.matrix(b+"attn_k.weight", kvDim, cfg.Dim)
		ly.wv = l.matrix(b+"attn_v.weight", vDim, cfg.Dim)
		ly.wo = l.matrix(b+"attn_output.weight", cfg.Dim, cfg.Heads*cfg.ValueDim)
		ly.ffnNorm = l.vector(b+"ffn_norm.weight", cfg.Dim)
		ly.gate = l.matrix(b+"ffn_gate.weight", cfg.FFN, cfg.Dim)
		ly.up = l.matrix(b+"ffn_up.weight", cfg.FFN, cfg.Dim)
		ly.down = l.matrix(b+"ffn_down.weight", cfg.Dim, cfg.FFN)
		ly.bq = l.optVector(b+"attn_q.bias", qDim)
		ly.bk = l.optVector(b+"attn_k.bias", kvDim)
		ly.bv = l.optVector(b+"attn_v.bias", vDim)
		if l.err != nil {
			return nil, l.err
		}
		ly.qkvFused = ly.wk.Type == ly.wq.Type && ly.wv.Type == ly.wq.Type
		ly.ffnFused = ly.up.Type == ly.gate.Type
		for _, w := range []*tensor.Matrix{ly.wq, ly.wk, ly.wv, ly.wo, ly.gate, ly.up, ly.down} {
			m.matParams += int64(w.Rows) * int64(w.Cols)
		}
	}
	m.params = l.params
	if err := m.initRope(f, &l); err != nil {
		return nil, err
	}
	return m, nil
}

// readConfig reads the hyper-parameters under the architecture's key prefix.
func readConfig(f *gguf.File) (Config, error) {
	var c Config
	c.Arch = f.Arch()
	switch c.Arch {
	case "llama":
	case "qwen2":
		c.RopeNeox = true
	case "":
		return c, unprocessable("general.architecture is missing")
	default:
		return c, fault.New(fault.Unsupported, "llama: architecture %q is not supported (llama and qwen2 are)", c.Arch)
	}
	p := c.Arch + "."
	var err error
	need := func(key string) int {
		v, ok := f.Uint(p + key)
		if err != nil {
			return 0
		}
		if !ok {
			err = unprocessable("metadata %s%s is missing or not a non-negative integer", p, key)
			return 0
		}
		if v == 0 || v > 1<<24 {
			err = unprocessable("metadata %s%s = %d is out of range", p, key, v)
			return 0
		}
		return int(v)
	}
	opt := func(key string, def int) int {
		if _, ok := f.Value(p + key); !ok {
			return def
		}
		return need(key)
	}
	c.Dim = need("embedding_length")
	c.Layers = need("block_count")
	c.FFN = need("feed_forward_length")
	c.Heads = need("attention.head_count")
	c.ContextLength = opt("context_length", 2048)
	if err != nil {
		return c, err
	}
	c.KVHeads = opt("attention.head_count_kv", c.Heads)
	c.HeadDim = opt("attention.key_length", c.Dim/c.Heads)
	c.ValueDim = opt("attention.value_length", c.HeadDim)
	c.RopeDim = opt("rope.dimension_count", c.HeadDim)
	if err != nil {
		return c, err
	}
	if c.HeadDim == 0 {
		return c, unprocessable("head size is zero (embedding_length %d, head_count %d)", c.Dim, c.Heads)
	}
	if c.Heads%c.KVHeads != 0 {
		return c, unprocessable("%sattention.head_count %d is not a multiple of head_count_kv %d", p, c.Heads, c.KVHeads)
	}
	if c.RopeDim%2 != 0 || c.RopeDim > c.HeadDim {
		return c, unprocessable("%srope.dimension_count %d must be even and at most the head size %d", p, c.RopeDim, c.HeadDim)
	}
	c.RopeBase = 10000
	if v, ok := f.Value(p + "rope.freq_base"); ok {
		b, isNum := f.Float(p + "rope.freq_base")
		if !isNum || !(b > 0) || math.IsInf(b, 0) {
			return c, unprocessable("metadata %srope.freq_base = %v is not a positive number", p, v.Data)
		}
		c.RopeBase = b
	}
	c.RMSEps = 1e-5
	if v, ok := f.Value(p + "attention.layer_norm_rms_epsilon"); ok {
		e, isNum := f.Float(p + "attention.layer_norm_rms_epsilon")
		if !isNum || !(e >= 0) || e > 1 {
			return c, unprocessable("metadata %sattention.layer_norm_rms_epsilon = %v is out of range", p, v.Data)
		}
		c.RMSEps = float32(e)
	}
	return c, nil
}

// initRope computes the rotation frequency of each dimension pair, applying RoPE scaling: a
// rope_freqs.weight tensor (per-pair divisors, as llama.cpp stores Llama 3.x scaling) when present,
// otherwise the rope.scaling.* metadata.
func (m *Model) initRope(f *gguf.File, l *loader) error {
	c := &m.cfg
	p := c.Arch + "."
	half := c.RopeDim / 2
	m.thetaScale = float32(math.Pow(c.RopeBase, -2/float64(c.RopeDim)))
	m.freqScale = 1
	typ, _ := f.String(p + "rope.scaling.type")
	factor := 1.0
	if v, ok := f.Float(p + "rope.scaling.factor"); ok {
		if !(v > 0) || math.IsInf(v, 0) {
			return unprocessable("metadata %srope.scaling.factor = %v is not a positive number", p, v)
		}
		factor = v
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		ff := l.vector("rope_freqs.weight", half)
		if l.err != nil {
			return l.err
		}
		for i, d := range ff {
			if !(d > 0) {
				return unprocessable("rope_freqs.weight[%d] = %v is not positive", i, d)
			}
		}
		m.freqFactors = ff
		c.RopeFactors = true
		m.params += int64(half)
		if typ == "linear" && factor != 1 {
			return fault.New(fault.Unsupported, "llama: linear RoPE scaling together with rope_freqs.weight is not supported")
		}
		c.RopeScaling = "llama3"
		return nil
	}
	switch typ {
	case "", "none":
		return nil
	case "linear":
		c.RopeScaling = "linear"
		m.freqScale = float32(1 / factor)
		return nil
	case "llama3":
		// The factors llama.cpp's converter stores as rope_freqs.weight for Llama 3.x.
		c.RopeScaling = "llama3"
		c.RopeFactors = true
		lowF, highF, orig := 1.0, 4.0, 8192.0
		if v, ok := f.Float(p + "rope.scaling.low_freq_factor"); ok {
			lowF = v
		}
		if v, ok := f.Float(p + "rope.scaling.high_freq_factor"); ok {
			highF = v
		}
		if v, ok := f.Float(p + "rope.scaling.original_context_length"); ok {
			orig = v
		}
		if !(highF > lowF) || !(lowF > 0) || !(orig > 0) {
			return unprocessable("llama3 RoPE scaling: low_freq_factor %v, high_freq_factor %v, original_context_length %v are inconsistent", lowF, highF, orig)
		}
		lowWave, highWave := orig/lowF, orig/highF
		m.freqFactors = make([]float32, half)
		for i := range m.freqFactors {
			freq := math.Pow(c.RopeBase, -2*float64(i)/float64(c.RopeDim))
			wave := 2 * math.Pi / freq
			switch {
			case wave < highWave:
				m.freqFactors[i] = 1
			case wave > lowWave:
				m.freqFactors[i] = float32(factor)
			default:
				smooth := (orig/wave - lowF) / (highF - lowF)
				m.freqFactors[i] = float32(1 / ((1-smooth)/factor + smooth))
			}
		}
		return nil
	}
	return fault.New(fault.Unsupported, "llama: RoPE scaling type %q is not supported", typ)
}

// loader fetches tensors, keeping the first error.
type loader struct {
	f      *gguf.File
	m      *Model
	err    error
	params int64
}

// matrix returns the named 2-D tensor as a rows×cols matrix; rows < 0 accepts any row count.
func (l *loader) matrix(name string, rows, cols int) *tensor.Matrix {
	if l.err != nil {
		return nil
	}
	info, ok := l.f.Tensor(name)
	if !ok {
		l.err = unprocessable("tensor %s is missing", name)
		return nil
	}
	d := info.Dims
	for len(d) > 2 && d[len(d)-1] == 1 {
		d = d[:len(d)-1]
	}
	if len(d) != 2 || d[0] != uint64(cols) || (rows >= 0 && d[1] != uint64(rows)) || d[1] > math.MaxInt32 {
		want := fmt.Sprintf("[%d %d]", cols, rows)
		if rows < 0 {
			want = fmt.Sprintf("[%d n]", cols)
		}
		l.err = unprocessable("tensor %s has shape %v, want %s", name, info.Dims, want)
		return nil
	}
	if tr, ok := tensor.TraitsOf(info.Type); !ok || !tr.Supported {
		l.err = fault.New(fault.Unsupported, "llama: tensor %s has type %v, which seance cannot compute with (F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K can)", name, info.Type)
		return nil
	}
	mat, err := tensor.NewMatrix(info.Type, int(d[1]), int(d[0]), l.f.TensorData(info))
	if err != nil {
		l.err = fault.Wrap(err, fault.Unprocessable, "llama: tensor %s", name)
		return nil
	}
	l.params += int64(info.Elements())
	return mat
}

// vector returns the named 1-D tensor of n elements as float32s.
func (l *loader) vector(name string, n int) []float32 {
	if l.err != nil {
		return nil
	}
	if _, ok := l.f.Tensor(name); !ok {
		l.err = unprocessable("tensor %s is missing", name)
		return nil
	}
	return l.optVector(name, n)
}

// optVector is vector for a tensor that may be absent (nil then).
func (l *loader) optVector(name string, n int) []float32 {
	if l.err != nil {
		return nil
	}
	info, ok := l.f.Tensor(name)
	if !ok {
		return nil
	}
	if info.Elements() != uint64(n) || info.Dims[0] != uint64(n) {
		l.err = unprocessable("tensor %s has shape %v, want [%d]", name, info.Dims, n)
		return nil
	}
	data := l.f.TensorData(info)
	out := make([]float32, n)
	switch info.Type {
	case tensor.F32:
		for i := range out {
			out[i] = math.Float32frombits(le32(data[4*i:]))
		}
	case tensor.F16:
		for i := range out {
			out[i] = tensor.F16ToF32(le16(data[2*i:]))
		}
	case tensor.BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(le16(data[2*i:])) << 16)
		}
	default:
		l.err = unprocessable("tensor %s has type %v, want F32, F16 or BF16", name, info.Type)
		return nil
	}
	l.params += int64(n)
	return out
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
