package llama

import (
	"math"
	"sync"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
)

// State is one sequence being computed: its position, its KV cache, and scratch buffers. It is not
// safe for concurrent use; use one State per concurrent sequence.
type State struct {
	m   *Model
	ctx int
	pos int
	// k holds, for every layer, ctx rows of KVHeads·HeadDim keys; v holds the values transposed,
	// KVHeads·ValueDim rows of ctx positions, so that weighting them is a dot product over positions.
	// k16 and v16 hold both as rows instead when the cache is half precision.
	k, v     []float32
	k16, v16 []uint16
	kb, vb   []float32 // new keys and values before conversion to half precision

	x, xb, xb2, q, att, hb, hb2 []float32
	cos, sin                    []float32
}

// NewState returns an empty sequence with a KV cache of ctxLen positions (the model's training
// context when ctxLen <= 0). The cache takes Layers·ctxLen·KVHeads·(HeadDim+ValueDim)·4 bytes, half
// that with Options.HalfCache.
func (m *Model) NewState(ctxLen int) *State {
	if ctxLen <= 0 {
		ctxLen = m.cfg.ContextLength
	}
	c := m.cfg
	s := &State{m: m, ctx: ctxLen}
	nk, nv := c.Layers*ctxLen*c.KVHeads*c.HeadDim, c.Layers*ctxLen*c.KVHeads*c.ValueDim
	if m.opts.HalfCache {
		s.k16, s.v16 = make([]uint16, nk), make([]uint16, nv)
	} else {
		s.k, s.v = make([]float32, nk), make([]float32, nv)
	}
	return s
}

// CacheBytes returns the memory held by the KV cache.
func (s *State) CacheBytes() int64 {
	return int64(len(s.k)+len(s.v))*4 + int64(len(s.k16)+len(s.v16))*2
}

// Pos returns the number of tokens in the cache: the position of the next token.
func (s *State) Pos() int { return s.pos }

// Context returns the capacity of the cache in tokens.
func (s *State) Context() int { return s.ctx }

// Truncate rewinds the sequence to its first n tokens (clamped to [0, Pos()]), so that a new
// continuation can reuse a cached prefix.
func (s *State) Truncate(n int) {
	s.pos = max(0, min(n, s.pos))
}

// Forward appends tokens to the sequence, computing them in batches, and writes the logits of the
// last one into logits, which must have length Vocab (or be nil to skip the output projection).
// Tokens past the cache's capacity are fault.ContextLength; token ids out of range and a wrong
// logits length are fault.Invalid. On error the state is unchanged. p may be nil (serial).
func (s *State) Forward(p *tensor.Pool, tokens []int, logits []float32) error {
	if logits != nil && len(logits) != s.m.cfg.Vocab {
		return fault.New(fault.Invalid, "llama: logits buffer has %d entries, vocabulary %d", len(logits), s.m.cfg.Vocab)
	}
	return s.run(p, tokens, logits, nil)
}

// Embed appends tokens to the sequence like Forward and writes into dst (length Dim) the mean over
// these tokens of their final hidden states (after output_norm): a sentence embedding by mean
// pooling. Call it on a fresh State (or after Truncate(0)) to embed one text.
func (s *State) Embed(p *tensor.Pool, tokens []int, dst []float32) error {
	if len(dst) != s.m.cfg.Dim {
		return fault.New(fault.Invalid, "llama: embedding buffer has %d entries, model dimension %d", len(dst), s.m.cfg.Dim)
	}
	clear(dst)
	if err := s.run(p, tokens, nil, dst); err != nil {
		return err
	}
	inv := 1 / float32(len(tokens))
	for i := range dst {
		dst[i] *= inv
	}
	return nil
}

func (s *State) run(p *tensor.Pool, tokens []int, logits, sum []float32) error {
	c := s.m.cfg
	switch {
	case len(tokens) == 0:
		return fault.New(fault.Invalid, "llama: no tokens to compute")
	case s.pos+len(tokens) > s.ctx:
		return fault.New(fault.ContextLength, "llama: %d tokens after %d would exceed the context of %d tokens", len(tokens), s.pos, s.ctx)
	}
	for i, t := range tokens {
		if t < 0 || t >= c.Vocab {
			return fault.New(fault.Invalid, "llama: token %d at index %d is outside the vocabulary of %d", t, i, c.Vocab)
		}
	}
	bs := s.m.opts.BatchSize
	for start := 0; start < len(tokens); start += bs {
		end := min(start+bs, len(tokens))
		var out []float32
		if end == len(tokens) {
			out = logits
		}
		s.step(p, tokens[start:end], out, sum)
	}
	return nil
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// step computes n tokens at positions s.pos.. in one batch, writes the last one's logits when
// logits is not nil, and adds every token's final normalised hidden state to sum when it is not nil.
func (s *State) step(p *tensor.Pool, toks []int, logits, sum []float32) {
	m, c := s.m, s.m.cfg
	n, dim := len(toks), c.Dim
	qDim, kvDim, vDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.KVHeads*c.ValueDim
	half := c.RopeDim / 2
	s.x = grow(s.x, n*dim)
	s.xb = grow(s.xb, n*dim)
	s.xb2 = grow(s.xb2, n*dim)
	s.q = grow(s.q, n*qDim)
	s.att = grow(s.att, n*c.Heads*c.ValueDim)
	s.hb = grow(s.hb, n*c.FFN)
	s.hb2 = grow(s.hb2, n*c.FFN)
	s.cos = grow(s.cos, n*half)
	s.sin = grow(s.sin, n*half)

	for t, tok := range toks {
		m.embd.Row(tok, s.x[t*dim:(t+1)*dim])
		theta := float32(s.pos + t)
		for i := 0; i < half; i++ {
			th := theta
			if m.freqFactors != nil {
				th /= m.freqFactors[i]
			}
			sn, cs := math.Sincos(float64(th * m.freqScale))
			s.cos[t*half+i], s.sin[t*half+i] = float32(cs), float32(sn)
			theta *= m.thetaScale
		}
	}

	half16 := m.opts.HalfCache
	if half16 {
		s.kb = grow(s.kb, n*kvDim)
	}
	s.vb = grow(s.vb, n*vDim)
	for li := range m.layers {
		ly := &m.layers[li]
		// New keys go straight into a float32 cache; values (stored transposed) and keys for a
		// half-precision cache are converted after RoPE.
		k, v := s.kb, s.vb
		if !half16 {
			k = s.k[(li*s.ctx+s.pos)*kvDim : (li*s.ctx+s.pos+n)*kvDim]
		}

		rmsNorm(s.xb, s.x, ly.attnNorm, dim, c.RMSEps)
		if ly.qkvFused {
			tensor.MatMuls(p, []*tensor.Matrix{ly.wq, ly.wk, ly.wv}, [][]float32{s.q, k, v}, s.xb, n)
		} else {
			ly.wq.MatMul(p, s.q, s.xb, n)
			ly.wk.MatMul(p, k, s.xb, n)
			ly.wv.MatMul(p, v, s.xb, n)
		}
		addBias(s.q, ly.bq)
		addBias(k, ly.bk)
		addBias(v, ly.bv)
		s.rope(s.q, c.Heads, n)
		s.rope(k, c.KVHeads, n)

		if half16 {
			tensor.ToHalf(s.k16[(li*s.ctx+s.pos)*kvDim:], k)
			tensor.ToHalf(s.v16[(li*s.ctx+s.pos)*vDim:], v)
		} else {
			vt := s.v[li*vDim*s.ctx : (li+1)*vDim*s.ctx]
			for t := 0; t < n; t++ {
				for col, x := range v[t*vDim : (t+1)*vDim] {
					vt[col*s.ctx+s.pos+t] = x
				}
			}
		}
		s.attention(p, li, n)
		ly.wo.MatMul(p, s.xb2, s.att, n)
		add(s.x, s.xb2)

		rmsNorm(s.xb, s.x, ly.ffnNorm, dim, c.RMSEps)
		if ly.ffnFused {
			tensor.MatMuls(p, []*tensor.Matrix{ly.gate, ly.up}, [][]float32{s.hb, s.hb2}, s.xb, n)
		} else {
			ly.gate.MatMul(p, s.hb, s.xb, n)
			ly.up.MatMul(p, s.hb2, s.xb, n)
		}
		tensor.SwiGLU(s.hb, s.hb, s.hb2)
		ly.down.MatMul(p, s.xb2, s.hb, n)
		add(s.x, s.xb2)
	}
	s.pos += n
	if sum != nil {
		for t := 0; t < n; t++ {
			h := s.xb[t*dim : (t+1)*dim]
			rmsNorm(h, s.x[t*dim:(t+1)*dim], m.outNorm, dim, c.RMSEps)
			add(sum, h)
		}
	}
	if logits != nil {
		last := s.xb[:dim]
		rmsNorm(last, s.x[(n-1)*dim:n*dim], m.outNorm, dim, c.RMSEps)
		m.out.MatVec(p, logits, last)
	}
}

// rope rotates the first RopeDim dimensions of each of the heads of n rows of x, at positions
// s.pos+t: adjacent pairs (2i, 2i+1) for llama, pairs (i, i+RopeDim/2) in NeoX style for qwen2.
func (s *State) rope(x []float32, heads, n int) {
	c := s.m.cfg
	hd, half := c.HeadDim, c.RopeDim/2
	for t := 0; t < n; t++ {
		cs, sn := s.cos[t*half:(t+1)*half], s.sin[t*half:(t+1)*half]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*hd : (t*heads+h+1)*hd]
			if c.RopeNeox {
				for i := 0; i < half; i++ {
					x0, x1 := v[i], v[i+half]
					v[i] = x0*cs[i] - x1*sn[i]
					v[i+half] = x0*sn[i] + x1*cs[i]
				}
				continue
			}
			for i := 0; i < half; i++ {
				x0, x1 := v[2*i], v[2*i+1]
				v[2*i] = x0*cs[i] - x1*sn[i]
				v[2*i+1] = x0*sn[i] + x1*cs[i]
			}
		}
	}
}

// attention computes causal multi-head attention of the n new queries in s.q against the cache
// rows 0..s.pos+t of layer li, writing s.att. Query head h reads KV head h/(Heads/KVHeads).
func (s *State) attention(p *tensor.Pool, li, n int) {
	c := s.m.cfg
	hd, vd := c.HeadDim, c.ValueDim
	qDim, kvDim, vDim := c.Heads*hd, c.KVHeads*hd, c.KVHeads*vd
	group := c.Heads / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	items := n * c.Heads
	half16 := s.m.opts.HalfCache
	var kc, vc []float32
	var kc16, vc16 []uint16
	if half16 {
		kc16 = s.k16[li*s.ctx*kvDim : (li+1)*s.ctx*kvDim]
		vc16 = s.v16[li*s.ctx*vDim : (li+1)*s.ctx*vDim]
	} else {
		kc = s.k[li*s.ctx*kvDim : (li+1)*s.ctx*kvDim]
		vc = s.v[li*vDim*s.ctx : (li+1)*vDim*s.ctx]
	}
	work := func(lo, hi int) {
		sc := scratchPool.Get().(*scratch)
		defer scratchPool.Put(sc)
		sc.grow(s.pos+n, hd)
		for it := lo; it < hi; it++ {
			t, h := it/c.Heads, it%c.Heads
			g := h / group
			q := s.q[t*qDim+h*hd : t*qDim+(h+1)*hd]
			npos := s.pos + t + 1
			out := s.att[(t*c.Heads+h)*vd : (t*c.Heads+h+1)*vd]
			if half16 {
				for i, x := range q {
					sc.q[i] = tensor.RoundHalf(x)
				}
				attendHalf(out, sc.q, kc16[g*hd:], vc16[g*vd:], kvDim, vDim, npos, scale, sc)
				continue
			}
			scores := sc.scores[:npos]
			tensor.Scores(scores, q, kc[g*hd:], kvDim, scale)
			mx := float32(math.Inf(-1))
			for _, x := range scores {
				mx = max(mx, x)
			}
			inv := 1 / tensor.ExpSum(scores, mx)
			for d := range out {
				row := (g*vd + d) * s.ctx
				out[d] = tensor.Dot(scores, vc[row:row+npos]) * inv
			}
		}
	}
	// Splitting tiny amounts of work costs more than it saves.
	if items*(s.pos+n)*hd < 1<<14 {
		work(0, items)
		return
	}
	p.Parallel(items, work)
}

// scratch holds one attention worker's buffers: scores (or, for a half-precision cache, the
// per-position factors of the online softmax) and the rounded query.
type scratch struct {
	scores, ms, vs, q []float32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) grow(npos, hd int) {
	sc.scores = grow(sc.scores, npos)
	sc.ms = grow(sc.ms, npos)
	sc.vs = grow(sc.vs, npos)
	sc.q = grow(sc.q, hd)
}

// rmsNorm writes x/sqrt(mean(x²)+eps)·w for each dim-sized row of x into out.
func rmsNorm(out, x, w []float32, dim int, eps float32) {
	for r := 0; r+dim <= len(x); r += dim {
		row := x[r : r+dim]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		scale := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		o := out[r : r+dim]
		for i, v := range row {
			o[i] = v * scale * w[i]
		}
	}
}

// addBias adds b to each len(b)-sized row of x; a nil b adds nothing.
func addBias(x, b []float32) {
	if len(b) == 0 {
		return
	}
	for r := 0; r < len(x); r += len(b) {
		row := x[r : r+len(b)]
		for i := range row {
			row[i] += b[i]
		}
	}
}

func add(x, y []float32) {
	for i := range x {
		x[i] += y[i]
	}
}

// attendHalf is one query head's attention over a half-precision cache. It follows the numerics of
// llama.cpp's CPU flash attention with an F16 cache (its default), so that results agree with it
// closely: q rounded to half precision, scores in float32 with an online softmax, the weighted sum
// of values kept in half precision (see tensor.HalfAccumulate). k and v start at the head's first
// element; rows are kStride and vStride apart.
func attendHalf(out, q []float32, k, v []uint16, kStride, vStride, npos int, scale float32, sc *scratch) {
	scores, ms, vs := sc.scores[:npos], sc.ms[:npos], sc.vs[:npos]
	tensor.HalfScores(scores, q, k, kStride, scale)
	// The online softmax's factors: when a score exceeds the running maximum the sum so far is
	// rescaled by ms and the new value weighs 1; otherwise the new value weighs vs. The first pass
	// finds the running maxima and leaves each factor's exponent in scores (ms 0 marks a rescale),
	// so that one vector call computes all the exponentials.
	m := float32(math.Inf(-1))
	for j, x := range scores {
		if x > m {
			scores[j], ms[j] = m-x, 0
			m = x
		} else {
			scores[j], ms[j] = x-m, 1
		}
	}
	tensor.Exp(scores, scores)
	var sum float32
	for j, e := range scores {
		if ms[j] == 0 {
			ms[j], vs[j] = e, 1
			sum = float32(sum*e) + 1 // the conversion keeps the compiler from fusing
		} else {
			vs[j] = e
			sum += e // sum·1 + e: multiplying by ms = 1 changes nothing
		}
	}
	clear(out)
	tensor.HalfAccumulate(out, v, vStride, ms, vs)
	inv := 1 / sum
	for d := range out {
		out[d] *= inv
	}
}
