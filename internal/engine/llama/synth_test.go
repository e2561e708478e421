package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
)

// spec describes a small random model for the synthetic tests.
type spec struct {
	name                                string
	arch                                string
	dim, layers, heads, kv, ffn, vocab  int
	headDim, ropeDim                    int // 0: Dim/Heads and HeadDim
	tied, bias                          bool
	ropeBase                            float64
	scaling                             string // "", "linear", "llama3" (metadata) or "rope_freqs" (tensor)
	wtype, ntype                        tensor.Type
	ctx                                 int
	eps                                 float64
	weightScale                         float64
	embedSameAsWeights                  bool // token_embd of type wtype too (F32 otherwise)
	refLayers                           []refLayer
	refEmb, refOut                      [][]float64
	refOutNorm, refFreq                 []float64
	refHeadDim, refRopeDim, refValueDim int
}

// refLayer holds one layer's weights as float64 for the reference forward pass.
type refLayer struct {
	an, fn                     []float64
	bq, bk, bv                 []float64
	wq, wk, wv, wo, wg, wu, wd [][]float64
}

// dequantOrSkip decodes stored rows with the tensor package, skipping the test when the type's
// kernels are not there yet.
func dequantOrSkip(t *testing.T, typ tensor.Type, data []byte, rows, cols int) (out [][]float64) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Skipf("tensor.DequantizeRow does not handle %v yet (%v): skipping until the kernels land", typ, r)
		}
	}()
	rb, err := tensor.RowBytes(typ, cols)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		tensor.DequantizeRow(typ, data[r*rb:(r+1)*rb], row)
		o := make([]float64, cols)
		for i, v := range row {
			o[i] = float64(v)
		}
		out = append(out, o)
	}
	return out
}

// randomBlocks returns rows×cols of type typ: real quantisation of Gaussian values where gguf can
// quantise, and random blocks with small scales for the K-quants.
func randomBlocks(t *testing.T, rng *rand.Rand, typ tensor.Type, rows, cols int, scale float64) []byte {
	switch typ {
	case tensor.Q4_K, tensor.Q6_K:
		rb, err := tensor.RowBytes(typ, cols)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, rows*rb)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		for blk := 0; blk < len(b); blk += map[tensor.Type]int{tensor.Q4_K: 144, tensor.Q6_K: 210}[typ] {
			if typ == tensor.Q4_K {
				// d and dmin: weights are d·sc·q − dmin·m with 6-bit sc, m and 4-bit q.
				binary.LittleEndian.PutUint16(b[blk:], tensor.F32ToF16(float32(scale/200)))
				binary.LittleEndian.PutUint16(b[blk+2:], tensor.F32ToF16(float32(scale/2000)))
			} else {
				// 16 int8 scales at 192, d at 208: weights are d·sc·(q−32).
				for j := 0; j < 16; j++ {
					b[blk+192+j] = byte(int8(rng.IntN(33) - 16))
				}
				binary.LittleEndian.PutUint16(b[blk+208:], tensor.F32ToF16(float32(scale/200)))
			}
		}
		return b
	}
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	b, err := tensor.Quantize(typ, x)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// build writes the model described by s to a temporary GGUF file, fills in its reference weights
// (decoded from the bytes written) and returns the path.
func (s *spec) build(t *testing.T, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	hd := s.headDim
	if hd == 0 {
		hd = s.dim / s.heads
	}
	rd := s.ropeDim
	if rd == 0 {
		rd = hd
	}
	s.refHeadDim, s.refRopeDim, s.refValueDim = hd, rd, hd
	if s.ntype == 0 {
		s.ntype = tensor.F32
	}
	if s.ropeBase == 0 {
		s.ropeBase = 10000
	}
	if s.eps == 0 {
		s.eps = 1e-5
	}
	if s.ctx == 0 {
		s.ctx = 64
	}
	if s.weightScale == 0 {
		s.weightScale = 0.2
	}
	a := s.arch + "."
	meta := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(s.arch)},
		{Key: a + "context_length", Value: gguf.Uint32(uint32(s.ctx))},
		{Key: a + "embedding_length", Value: gguf.Uint32(uint32(s.dim))},
		{Key: a + "block_count", Value: gguf.Uint32(uint32(s.layers))},
		{Key: a + "feed_forward_length", Value: gguf.Uint32(uint32(s.ffn))},
		{Key: a + "attention.head_count", Value: gguf.Uint32(uint32(s.heads))},
		{Key: a + "attention.head_count_kv", Value: gguf.Uint32(uint32(s.kv))},
		{Key: a + "attention.layer_norm_rms_epsilon", Value: gguf.Float32(float32(s.eps))},
		{Key: a + "rope.freq_base", Value: gguf.Float32(float32(s.ropeBase))},
	}
	if s.ropeDim != 0 {
		meta = append(meta, gguf.KV{Key: a + "rope.dimension_count", Value: gguf.Uint32(uint32(rd))})
	}
	if s.headDim != 0 {
		meta = append(meta,
			gguf.KV{Key: a + "attention.key_length", Value: gguf.Uint32(uint32(hd))},
			gguf.KV{Key: a + "attention.value_length", Value: gguf.Uint32(uint32(hd))})
	}

	// Reference RoPE frequencies, in float64 from the definitions.
	s.refFreq = make([]float64, rd/2)
	for i := range s.refFreq {
		s.refFreq[i] = 1 / math.Pow(float64(float32(s.ropeBase)), float64(2*i)/float64(rd))
	}
	var tensors []gguf.WriteTensor
	switch s.scaling {
	case "linear":
		meta = append(meta, gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("linear")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(4)})
		for i := range s.refFreq {
			s.refFreq[i] /= 4
		}
	case "llama3":
		const factor, low, high, orig = 8.0, 1.0, 4.0, 1000.0
		meta = append(meta, gguf.KV{Key: a + "rope.scaling.type", Value: gguf.String("llama3")},
			gguf.KV{Key: a + "rope.scaling.factor", Value: gguf.Float32(factor)},
			gguf.KV{Key: a + "rope.scaling.low_freq_factor", Value: gguf.Float32(low)},
			gguf.KV{Key: a + "rope.scaling.high_freq_factor", Value: gguf.Float32(high)},
			gguf.KV{Key: a + "rope.scaling.original_context_length", Value: gguf.Uint32(orig)})
		for i, fr := range s.refFreq {
			wavelen := 2 * math.Pi / fr
			if wavelen > orig/low {
				s.refFreq[i] = fr / factor
			} else if wavelen >= orig/high {
				smooth := (orig/wavelen - low) / (high - low)
				s.refFreq[i] = (1-smooth)*fr/factor + smooth*fr
			}
		}
	case "rope_freqs":
		ff := make([]float32, rd/2)
		for i := range ff {
			ff[i] = 1 + 7*rng.Float32()
			s.refFreq[i] /= float64(ff[i])
		}
		b, _ := tensor.Quantize(tensor.F32, ff)
		tensors = append(tensors, gguf.WriteTensor{Name: "rope_freqs.weight", Dims: []uint64{uint64(rd / 2)}, Type: tensor.F32, Data: b})
	}

	matrix := func(name string, rows, cols int, typ tensor.Type) [][]float64 {
		data := randomBlocks(t, rng, typ, rows, cols, s.weightScale)
		tensors = append(tensors, gguf.WriteTensor{Name: name, Dims: []uint64{uint64(cols), uint64(rows)}, Type: typ, Data: data})
		return dequantOrSkip(t, typ, data, rows, cols)
	}
	vector := func(name string, n int, center, spread float64) []float64 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(center + spread*(2*rng.Float64()-1))
		}
		data, err := tensor.Quantize(s.ntype, x)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, gguf.WriteTensor{Name: name, Dims: []uint64{uint64(n)}, Type: s.ntype, Data: data})
		out := make([]float64, n)
		for i := range out {
			switch s.ntype {
			case tensor.F16:
				out[i] = float64(tensor.F16ToF32(binary.LittleEndian.Uint16(data[2*i:])))
			case tensor.BF16:
				out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(data[2*i:])) << 16))
			default:
				out[i] = float64(x[i])
			}
		}
		return out
	}
	embType := tensor.F32
	if s.embedSameAsWeights {
		embType = s.wtype
	}
	s.refEmb = matrix("token_embd.weight", s.vocab, s.dim, embType)
	s.refOutNorm = vector("output_norm.weight", s.dim, 1, 0.5)
	if s.tied {
		s.refOut = s.refEmb
	} else {
		s.refOut = matrix("output.weight", s.vocab, s.dim, s.wtype)
	}
	s.refLayers = make([]refLayer, s.layers)
	for l := range s.refLayers {
		p := fmt.Sprintf("blk.%d.", l)
		L := &s.refLayers[l]
		L.an = vector(p+"attn_norm.weight", s.dim, 1, 0.5)
		L.wq = matrix(p+"attn_q.weight", s.heads*hd, s.dim, s.wtype)
		L.wk = matrix(p+"attn_k.weight", s.kv*hd, s.dim, s.wtype)
		L.wv = matrix(p+"attn_v.weight", s.kv*hd, s.dim, s.wtype)
		L.wo = matrix(p+"attn_output.weight", s.dim, s.heads*hd, s.wtype)
		if s.bias {
			L.bq = vector(p+"attn_q.bias", s.heads*hd, 0, 0.5)
			L.bk = vector(p+"attn_k.bias", s.kv*hd, 0, 0.5)
			L.bv = vector(p+"attn_v.bias", s.kv*hd, 0, 0.5)
		}
		L.fn = vector(p+"ffn_norm.weight", s.dim, 1, 0.5)
		L.wg = matrix(p+"ffn_gate.weight", s.ffn, s.dim, s.wtype)
		L.wu = matrix(p+"ffn_up.weight", s.ffn, s.dim, s.wtype)
		L.wd = matrix(p+"ffn_down.weight", s.dim, s.ffn, s.wtype)
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), s.name+".gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The reference forward pass: float64, plain loops, the whole sequence at once.

func refMatVec(w [][]float64, x []float64) []float64 {
	out := make([]float64, len(w))
	for r, row := range w {
		for c, v := range row {
			out[r] += v * x[c]
		}
	}
	return out
}

func refRMSNorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	k := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * k * w[i]
	}
	return out
}

// refRope rotates each head of v (heads×hd) for position pos.
func (s *spec) refRope(v []float64, heads, pos int) {
	hd, rd := s.refHeadDim, s.refRopeDim
	for h := 0; h < heads; h++ {
		x := v[h*hd : (h+1)*hd]
		for i := 0; i < rd/2; i++ {
			a, b := 2*i, 2*i+1
			if s.arch == "qwen2" {
				a, b = i, i+rd/2
			}
			th := float64(pos) * s.refFreq[i]
			x0, x1 := x[a], x[b]
			x[a] = x0*math.Cos(th) - x1*math.Sin(th)
			x[b] = x0*math.Sin(th) + x1*math.Cos(th)
		}
	}
}

func addTo(x, b []float64) {
	for i := range b {
		x[i] += b[i]
	}
}

// refLogits returns the logits after the last of tokens.
func (s *spec) refLogits(tokens []int) []float64 {
	return refMatVec(s.refOut, s.refHidden(tokens))
}

// refHidden returns the final normalised hidden state of the last of tokens.
func (s *spec) refHidden(tokens []int) []float64 {
	hd := s.refHeadDim
	n := len(tokens)
	xs := make([][]float64, n)
	for t, tok := range tokens {
		xs[t] = append([]float64(nil), s.refEmb[tok]...)
	}
	for _, L := range s.refLayers {
		qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for t := range xs {
			h := refRMSNorm(xs[t], L.an, s.eps)
			qs[t], ks[t], vs[t] = refMatVec(L.wq, h), refMatVec(L.wk, h), refMatVec(L.wv, h)
			if L.bq != nil {
				addTo(qs[t], L.bq)
				addTo(ks[t], L.bk)
				addTo(vs[t], L.bv)
			}
			s.refRope(qs[t], s.heads, t)
			s.refRope(ks[t], s.kv, t)
		}
		for t := range xs {
			att := make([]float64, s.heads*hd)
			for h := 0; h < s.heads; h++ {
				g := h / (s.heads / s.kv)
				w := make([]float64, t+1)
				mx := math.Inf(-1)
				for j := 0; j <= t; j++ {
					for d := 0; d < hd; d++ {
						w[j] += qs[t][h*hd+d] * ks[j][g*hd+d]
					}
					w[j] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, w[j])
				}
				var sum float64
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					sum += w[j]
				}
				for j := range w {
					for d := 0; d < hd; d++ {
						att[h*hd+d] += w[j] / sum * vs[j][g*hd+d]
					}
				}
			}
			addTo(xs[t], refMatVec(L.wo, att))
			h := refRMSNorm(xs[t], L.fn, s.eps)
			gate, up := refMatVec(L.wg, h), refMatVec(L.wu, h)
			for i := range gate {
				gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
			}
			addTo(xs[t], refMatVec(L.wd, gate))
		}
	}
	return refRMSNorm(xs[n-1], s.refOutNorm, s.eps)
}

// maxDiff returns the largest |a-b| (infinity if anything is not finite) and the largest |b|.
func maxDiff(a []float32, b []float64) (diff, scale float64) {
	for i := range b {
		d := math.Abs(float64(a[i]) - b[i])
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return math.Inf(1), math.Abs(b[i])
		}
		diff = math.Max(diff, d)
		scale = math.Max(scale, math.Abs(b[i]))
	}
	return diff, scale
}

func loadSpec(t *testing.T, s *spec, opts Options) *Model {
	t.Helper()
	path := s.build(t, 1)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := Load(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func f32Specs() []spec {
	return []spec{
		{name: "llama", arch: "llama", dim: 32, layers: 2, heads: 4, kv: 4, ffn: 48, vocab: 40},
		{name: "llama-tied", arch: "llama", dim: 32, layers: 2, heads: 4, kv: 4, ffn: 48, vocab: 40, tied: true},
		{name: "llama-gqa", arch: "llama", dim: 48, layers: 2, heads: 6, kv: 2, ffn: 64, vocab: 40, ropeBase: 100000},
		{name: "llama-partial-rope-f16-norms", arch: "llama", dim: 32, layers: 2, heads: 2, kv: 1, ffn: 40, vocab: 30, ropeDim: 8, ntype: tensor.F16},
		{name: "llama-head-dim", arch: "llama", dim: 32, layers: 1, heads: 4, kv: 2, ffn: 40, vocab: 30, headDim: 12},
		{name: "qwen2", arch: "qwen2", dim: 32, layers: 2, heads: 4, kv: 2, ffn: 48, vocab: 40, bias: true, tied: true, ropeBase: 1000000},
		{name: "qwen2-partial-rope-bf16-norms", arch: "qwen2", dim: 32, layers: 2, heads: 4, kv: 2, ffn: 48, vocab: 40, bias: true, ropeDim: 4, ntype: tensor.BF16},
		{name: "llama3-scaling", arch: "llama", dim: 32, layers: 2, heads: 2, kv: 1, ffn: 48, vocab: 40, scaling: "llama3"},
		{name: "llama3-rope-freqs", arch: "llama", dim: 32, layers: 2, heads: 2, kv: 1, ffn: 48, vocab: 40, scaling: "rope_freqs"},
		{name: "linear-scaling", arch: "llama", dim: 32, layers: 1, heads: 2, kv: 2, ffn: 48, vocab: 40, scaling: "linear"},
	}
}

var testTokens = []int{3, 17, 0, 25, 9, 9, 11, 2, 29, 5, 14, 1}

// TestSyntheticF32 compares logits with the float64 reference for every architecture variant, at
// every prefix length, computed as one batch, in batches of 3 and token by token.
func TestSyntheticF32(t *testing.T) {
	for _, s := range f32Specs() {
		t.Run(s.name, func(t *testing.T) {
			s := s
			m := loadSpec(t, &s, Options{})
			c := m.Config()
			if c.TiedOutput != s.tied || c.RopeNeox != (s.arch == "qwen2") || c.KVHeads != s.kv {
				t.Fatalf("config %+v", c)
			}
			p := tensor.NewPool(2)
			defer p.Close()
			logits := make([]float32, c.Vocab)
			for _, n := range []int{1, 2, 5, len(testTokens)} {
				want := s.refLogits(testTokens[:n])
				st := m.NewState(32)
				if err := st.Forward(p, testTokens[:n], logits); err != nil {
					t.Fatal(err)
				}
				if d, sc := maxDiff(logits, want); d > 1e-4*max(1, sc) {
					t.Errorf("%d tokens: logits differ from the reference by %.3g (scale %.3g)", n, d, sc)
				}
			}
		})
	}
}

// TestBatchedEqualsSequential checks that a batched prompt gives the logits of feeding the tokens one
// by one, that decoding after it agrees, and that Truncate rewinds exactly.
func TestBatchedEqualsSequential(t *testing.T) {
	for _, s := range f32Specs()[:6] {
		for _, half := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-half-%v", s.name, half), func(t *testing.T) {
				s := s
				m := loadSpec(t, &s, Options{HalfCache: half, BatchSize: 5})
				p := tensor.NewPool(2)
				defer p.Close()
				vocab := m.Config().Vocab
				batched, seq := make([]float32, vocab), make([]float32, vocab)
				a, b := m.NewState(20), m.NewState(20)
				prompt, rest := testTokens[:9], testTokens[9:]
				if err := a.Forward(p, prompt, batched); err != nil {
					t.Fatal(err)
				}
				for _, tok := range prompt {
					if err := b.Forward(nil, []int{tok}, seq); err != nil {
						t.Fatal(err)
					}
				}
				compare := func(what string) {
					t.Helper()
					var d float64
					for i := range batched {
						d = math.Max(d, math.Abs(float64(batched[i]-seq[i])))
					}
					if d > 1e-4 {
						t.Errorf("%s: batched and sequential logits differ by %.3g", what, d)
					}
				}
				compare("prompt")
				for _, tok := range rest {
					if err := a.Forward(p, []int{tok}, batched); err != nil {
						t.Fatal(err)
					}
					if err := b.Forward(p, []int{tok}, seq); err != nil {
						t.Fatal(err)
					}
					compare(fmt.Sprintf("decode at %d", a.Pos()))
				}
				// Rewind a to 4 tokens and recompute the rest of the sequence in one batch.
				a.Truncate(4)
				if a.Pos() != 4 {
					t.Fatalf("pos after Truncate(4) = %d", a.Pos())
				}
				if err := a.Forward(p, testTokens[4:], batched); err != nil {
					t.Fatal(err)
				}
				compare("after truncate")
			})
		}
	}
}

// TestHalfCacheClose checks the half-precision cache against the reference, loosely.
func TestHalfCacheClose(t *testing.T) {
	for _, s := range f32Specs()[2:6] {
		t.Run(s.name, func(t *testing.T) {
			s := s
			m := loadSpec(t, &s, Options{HalfCache: true})
			logits := make([]float32, m.Config().Vocab)
			st := m.NewState(0)
			if err := st.Forward(nil, testTokens, logits); err != nil {
				t.Fatal(err)
			}
			if d, sc := maxDiff(logits, s.refLogits(testTokens)); d > 1e-2*max(1, sc) {
				t.Errorf("logits differ from the reference by %.3g (scale %.3g)", d, sc)
			}
			if got, want := st.CacheBytes(), int64(s.layers*s.ctx*s.kv*s.refHeadDim*2*2); got != want {
				t.Errorf("cache of %d bytes, want %d", got, want)
			}
		})
	}
}

// TestSyntheticQuant runs the reference comparison with quantised weights, decoded for the reference
// by tensor.DequantizeRow. Types whose kernels are missing are skipped. Kernels may quantise
// activations (as llama.cpp does), so the tolerance is relative and loose.
func TestSyntheticQuant(t *testing.T) {
	for _, typ := range []tensor.Type{tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K} {
		for _, arch := range []string{"llama", "qwen2"} {
			t.Run(fmt.Sprintf("%v-%s", typ, arch), func(t *testing.T) {
				s := spec{name: "q", arch: arch, dim: 256, layers: 2, heads: 4, kv: 2, ffn: 512, vocab: 64,
					wtype: typ, bias: arch == "qwen2", tied: arch == "qwen2", embedSameAsWeights: true, weightScale: 0.05}
				m := loadSpec(t, &s, Options{})
				logits := make([]float32, m.Config().Vocab)
				st := m.NewState(16)
				toks := testTokens[:6]
				p := tensor.NewPool(2)
				defer p.Close()
				if err := st.Forward(p, toks, logits); err != nil {
					t.Fatal(err)
				}
				d, sc := maxDiff(logits, s.refLogits(toks))
				tol := 5e-2
				if typ == tensor.F16 || typ == tensor.BF16 {
					tol = 1e-2
				}
				if d > tol*max(1, sc) || sc < 0.1 {
					t.Errorf("%v logits differ from the reference by %.3g (scale %.3g)", typ, d, sc)
				}
				t.Logf("%v: largest difference %.3g at logit scale %.3g", typ, d, sc)
			})
		}
	}
}

// TestEmbed checks mean pooling against the reference's final hidden states.
func TestEmbed(t *testing.T) {
	s := f32Specs()[2]
	m := loadSpec(t, &s, Options{BatchSize: 4})
	toks := testTokens[:7]
	want := make([]float64, s.dim)
	for n := 1; n <= len(toks); n++ {
		for i, v := range s.refHidden(toks[:n]) {
			want[i] += v / float64(len(toks))
		}
	}
	got := make([]float32, s.dim)
	if err := m.NewState(16).Embed(nil, toks, got); err != nil {
		t.Fatal(err)
	}
	if d, sc := maxDiff(got, want); d > 1e-4*max(1, sc) {
		t.Errorf("embedding differs from the reference by %.3g (scale %.3g)", d, sc)
	}
	if err := m.NewState(16).Embed(nil, toks, got[:3]); err == nil {
		t.Error("short buffer accepted")
	}
}
