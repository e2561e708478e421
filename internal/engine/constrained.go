package engine

import (
	"math"

	"github.com/seance-dev/seance/internal/engine/constrain"
	"github.com/seance-dev/seance/internal/engine/sample"
	"github.com/seance-dev/seance/internal/fault"
)

// Constrained decoding (response_format json_object / json_schema) works by rejection with
// masking: the sampler's choice is kept when its bytes are an acceptable continuation of the JSON
// value (constrain.Acceptor); otherwise its logit is set to -Inf, so are those of the unacceptable
// tokens among the rankedCheck most likely ones, and the sampler draws again. Greedy decoding thus
// walks down the ranking, and sampling draws from the distribution restricted to the acceptable
// tokens. After maxRejections refused draws the whole vocabulary is checked once and every
// unacceptable token masked; only when no token at all is acceptable does the generation fail. End-of-generation tokens are acceptable only when the value is complete, other
// tokens without text never. The reported log-probabilities are the model's raw ones, before the
// masking.
//
// When the token budget (max_tokens or the context) is about to run out before the value can be
// complete, only tokens that bring the value closer to completion (constrain.Acceptor.Remaining)
// are acceptable, so the output still closes; this is best effort, as a single token may open more
// than the rest of the budget can close.
const (
	// maxRejections is how many refused draws are tried before the full scan.
	maxRejections = 16
	// rankedCheck is how many of the most likely tokens are checked at the first refusal, so that
	// most steps need one more draw at most.
	rankedCheck = 64
	// forceSlack is how many tokens before the budget runs out completion is enforced.
	forceSlack = 4
)

// constrained holds the constrained-decoding state of one generation.
type constrained struct {
	m      *Model
	acc    *constrain.Acceptor
	smp    *sample.Sampler
	lse    float64 // log-sum-exp of this step's raw logits, once computed (NaN before)
	masked []maskedLogit
	ranked []int // scratch for the most likely token ids
}

type maskedLogit struct {
	id int
	v  float32
}

func newConstrained(m *Model, s *constrain.Schema, smp *sample.Sampler) *constrained {
	return &constrained{m: m, acc: s.NewAcceptor(), smp: smp}
}

// closed reports whether the JSON value is complete and nothing but whitespace can follow.
func (c *constrained) closed() bool { return c.acc.Closed() }

// pick returns an acceptable token, starting from r (the sampler's choice on the raw logits), and
// advances the acceptor past it. budget is the number of tokens still allowed, this one included.
// It may overwrite logits.
func (c *constrained) pick(r sample.Result, logits []float32, history []int, budget int) (sample.Result, error) {
	raw := r
	c.lse = math.NaN()
	c.masked = c.masked[:0]
	rem := c.acc.Remaining()
	if rem+forceSlack >= budget {
		if got, ok := c.search(r, logits, history, rem, true); ok {
			return c.take(got, raw, logits)
		}
		c.restore(logits)
	}
	got, ok := c.search(r, logits, history, rem, false)
	if !ok {
		return r, fault.New(fault.Unprocessable,
			"constrained decoding: no token of the model's vocabulary can continue the JSON output")
	}
	return c.take(got, raw, logits)
}

// search rejects and masks candidates until one is acceptable: maxRejections draws, then one
// scan of the whole vocabulary. It reports false when no token is acceptable.
func (c *constrained) search(r sample.Result, logits []float32, history []int, rem int, forced bool) (sample.Result, bool) {
	for i := range maxRejections {
		if c.ok(r.Token, rem, forced) {
			return r, true
		}
		c.mask(logits, r.Token)
		if i == 0 {
			c.ranked = topIDs(logits, rankedCheck, c.ranked[:0])
			for _, id := range c.ranked {
				if !c.ok(id, rem, forced) {
					c.mask(logits, id)
				}
			}
		}
		r = c.smp.Sample(logits, history)
	}
	best := -1
	for id := range logits {
		if !c.ok(id, rem, forced) {
			c.mask(logits, id)
			continue
		}
		if best < 0 || logits[id] > logits[best] {
			best = id
		}
	}
	if best < 0 {
		return r, false
	}
	r = c.smp.Sample(logits, history)
	if !c.ok(r.Token, rem, forced) {
		// Every acceptable token had a -Inf logit and the sampler fell back on a masked one.
		r = sample.Result{Token: best}
	}
	return r, true
}

// topIDs appends to dst the ids of the k largest finite logits, in no particular order.
func topIDs(logits []float32, k int, dst []int) []int {
	// A min-heap of the best k so far, by logit.
	less := func(a, b int) bool { return logits[dst[a]] < logits[dst[b]] }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(dst) {
				return
			}
			m := l
			if r := l + 1; r < len(dst) && less(r, l) {
				m = r
			}
			if !less(m, i) {
				return
			}
			dst[i], dst[m] = dst[m], dst[i]
			i = m
		}
	}
	for id, v := range logits {
		if math.IsInf(float64(v), -1) || v != v {
			continue
		}
		if len(dst) < k {
			dst = append(dst, id)
			for i := len(dst) - 1; i > 0 && less(i, (i-1)/2); i = (i - 1) / 2 {
				dst[i], dst[(i-1)/2] = dst[(i-1)/2], dst[i]
			}
			continue
		}
		if v > logits[dst[0]] {
			dst[0] = id
			down(0)
		}
	}
	return dst
}

// ok reports whether token id is acceptable now; forced also requires it to bring the value
// closer to completion.
func (c *constrained) ok(id, rem int, forced bool) bool {
	if id < 0 {
		return false
	}
	if c.m.tok.IsEOG(id) {
		return c.acc.Complete()
	}
	b := c.m.tok.TokenBytes(id)
	if len(b) == 0 {
		return false
	}
	if !forced {
		return c.acc.Accepts(b)
	}
	after, ok := c.acc.Try(b)
	return ok && after < rem
}

// mask sets token id's logit to -Inf, remembering the raw value; the first call of a step computes
// the raw log-sum-exp for the log-probabilities.
func (c *constrained) mask(logits []float32, id int) {
	if math.IsNaN(c.lse) {
		c.lse = logSumExp(logits)
	}
	c.masked = append(c.masked, maskedLogit{id, logits[id]})
	logits[id] = float32(math.Inf(-1))
}

// restore undoes this step's masking.
func (c *constrained) restore(logits []float32) {
	for i := len(c.masked) - 1; i >= 0; i-- {
		logits[c.masked[i].id] = c.masked[i].v
	}
	c.masked = c.masked[:0]
}

// take advances the acceptor past the chosen token and gives it the raw log-probabilities.
func (c *constrained) take(r, raw sample.Result, logits []float32) (sample.Result, error) {
	if !math.IsNaN(c.lse) {
		r.Logprob = rawLogprob(logits[r.Token], c.lse, len(logits))
		r.Top = raw.Top
	}
	if !c.m.tok.IsEOG(r.Token) && !c.acc.Feed(c.m.tok.TokenBytes(r.Token)) {
		return r, fault.New(fault.Internal, "constrained decoding: token %d was chosen but refused", r.Token)
	}
	return r, nil
}

// rawLogprob is log-softmax of a raw logit given the log-sum-exp of all, as package sample
// computes it (NaN as -Inf, a floor of sample.MinLogprob, uniform when every logit is -Inf).
func rawLogprob(v float32, lse float64, n int) float64 {
	if math.IsInf(lse, -1) {
		return -math.Log(float64(n))
	}
	f := float64(cleanLogit(v))
	return max(f-lse, sample.MinLogprob)
}

func cleanLogit(v float32) float32 {
	switch {
	case v != v:
		return float32(math.Inf(-1))
	case v > math.MaxFloat32:
		return math.MaxFloat32
	}
	return v
}

func logSumExp(logits []float32) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = max(m, float64(cleanLogit(v)))
	}
	if math.IsInf(m, 0) {
		return m
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(cleanLogit(v)) - m)
	}
	return m + math.Log(sum)
}
