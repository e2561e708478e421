// Package sample picks the next token from a model's logits: greedy, temperature, top-k, top-p,
// min-p, repetition/presence/frequency penalties, seeded randomness and log-probabilities.
//
// The order of the steps follows llama.cpp's default sampler chain: penalties → top-k → top-p →
// min-p → temperature → draw. It is imported by internal/engine; it imports only the standard
// library.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MaxTopLogprobs is the largest Params.TopLogprobs accepted, as in the OpenAI API.
const MaxTopLogprobs = 20

// Params configures a Sampler. The zero value is greedy decoding with no penalties.
type Params struct {
	// Temperature divides the logits before the draw; 0 means greedy (argmax).
	Temperature float64
	// TopK keeps only the K most likely tokens; 0 means off.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability sums to at least TopP;
	// 0 and 1 mean off.
	TopP float64
	// MinP drops tokens whose probability is below MinP times that of the most likely token; 0 means off.
	MinP float64
	// RepeatPenalty divides positive and multiplies negative logits of tokens seen in the last
	// RepeatLastN tokens of history (llama.cpp semantics); 0 and 1 mean off.
	RepeatPenalty float64
	// RepeatLastN is how many of the most recent history tokens the penalties look at; 0 means all.
	RepeatLastN int
	// PresencePenalty is subtracted once from the logit of every seen token; FrequencyPenalty is
	// subtracted once per occurrence. Both are in [-2, 2] as in the OpenAI API; 0 means off.
	PresencePenalty, FrequencyPenalty float64
	// Seed seeds the random draws: the same seed, logits and history give the same tokens. Every
	// value, 0 included, is a fixed seed; callers that want variety pick a random one.
	Seed uint64
	// TopLogprobs is how many of the most likely alternatives Result.Top reports (0 to MaxTopLogprobs).
	TopLogprobs int
}

// ParamError reports a parameter out of its range. Param is the name of the Params field.
type ParamError struct {
	Param string
	Msg   string
}

// Error returns "sample: <param> <msg>".
func (e *ParamError) Error() string { return "sample: " + e.Param + " " + e.Msg }

// Validate checks every field of p and returns a *ParamError naming the first one out of range.
func (p Params) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(p.Temperature) || p.Temperature < 0:
		return &ParamError{"Temperature", fmt.Sprintf("must be a finite number >= 0, got %v", p.Temperature)}
	case p.TopK < 0:
		return &ParamError{"TopK", fmt.Sprintf("must be >= 0, got %d", p.TopK)}
	case !finite(p.TopP) || p.TopP < 0 || p.TopP > 1:
		return &ParamError{"TopP", fmt.Sprintf("must be in [0, 1], got %v", p.TopP)}
	case !finite(p.MinP) || p.MinP < 0 || p.MinP > 1:
		return &ParamError{"MinP", fmt.Sprintf("must be in [0, 1], got %v", p.MinP)}
	case !finite(p.RepeatPenalty) || p.RepeatPenalty < 0:
		return &ParamError{"RepeatPenalty", fmt.Sprintf("must be a finite number >= 0, got %v", p.RepeatPenalty)}
	case p.RepeatLastN < 0:
		return &ParamError{"RepeatLastN", fmt.Sprintf("must be >= 0, got %d", p.RepeatLastN)}
	case !finite(p.PresencePenalty) || p.PresencePenalty < -2 || p.PresencePenalty > 2:
		return &ParamError{"PresencePenalty", fmt.Sprintf("must be in [-2, 2], got %v", p.PresencePenalty)}
	case !finite(p.FrequencyPenalty) || p.FrequencyPenalty < -2 || p.FrequencyPenalty > 2:
		return &ParamError{"FrequencyPenalty", fmt.Sprintf("must be in [-2, 2], got %v", p.FrequencyPenalty)}
	case p.TopLogprobs < 0 || p.TopLogprobs > MaxTopLogprobs:
		return &ParamError{"TopLogprobs", fmt.Sprintf("must be in [0, %d], got %d", MaxTopLogprobs, p.TopLogprobs)}
	}
	return nil
}

// Candidate is one token with its log-probability under the model (log-softmax of the raw logits).
type Candidate struct {
	Token   int
	Logprob float64
}

// Result is the outcome of one Sample call.
type Result struct {
	// Token is the chosen token id, or -1 when the logits were empty.
	Token int
	// Logprob is the log-probability of Token under the model's raw distribution.
	Logprob float64
	// Top holds the Params.TopLogprobs most likely tokens by model probability, best first.
	Top []Candidate
}

// Sampler draws tokens according to its Params. It keeps scratch buffers and a random source, so
// it is not safe for concurrent use; use one Sampler per generation.
type Sampler struct {
	p    Params
	rng  *rand.Rand
	buf  []cand
	vals []float32
	seen map[int]int // token → count in the penalty window; reused between calls
	pen  map[int]float32
}

type cand struct {
	id    int32
	logit float32
}

// New validates p and returns a Sampler.
func New(p Params) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{
		p:    p,
		rng:  rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)),
		seen: make(map[int]int),
		pen:  make(map[int]float32),
	}, nil
}

// Params returns the parameters the Sampler was made with.
func (s *Sampler) Params() Params { return s.p }

// Sample chooses the next token from logits (one per vocabulary entry), given the tokens generated
// or read so far in history (used by the penalties only).
//
// Sample never modifies logits or history. Result.Logprob and Result.Top are the log-softmax of the
// raw logits, before penalties, truncation and temperature, which is what OpenAI's API and
// llama.cpp's server report: they describe the model, not the sampler's settings. They are never
// below MinLogprob. Logits that are NaN are treated as -Inf, +Inf as the largest float32. Greedy decoding (Temperature 0) picks the largest penalised logit, the
// lowest id on ties.
func (s *Sampler) Sample(logits []float32, history []int) Result {
	n := len(logits)
	if n == 0 {
		return Result{Token: -1, Logprob: math.Inf(-1)}
	}
	lse := logSumExp(logits)
	res := Result{}
	if s.p.TopLogprobs > 0 {
		res.Top = topByLogit(logits, s.p.TopLogprobs, lse)
	}
	s.penalties(logits, history)
	// The working logits: a cleaned copy with the penalised values patched in, so the loops
	// below need no map lookups.
	if cap(s.vals) < n {
		s.vals = make([]float32, n)
	}
	vals := s.vals[:n]
	for i, v := range logits {
		vals[i] = clean(v)
	}
	for t, v := range s.pen {
		vals[t] = v
	}

	if s.p.Temperature == 0 {
		best := 0
		bv := vals[0]
		for i, v := range vals {
			if v > bv {
				best, bv = i, v
			}
		}
		res.Token = best
		res.Logprob = logprob(clean(logits[best]), lse, n)
		return res
	}

	if cap(s.buf) < n {
		s.buf = make([]cand, n)
	}
	c := s.buf[:n]
	for i, v := range vals {
		c[i] = cand{int32(i), v}
	}
	sorted := false
	if k := s.p.TopK; k > 0 && k < len(c) {
		selectTop(c, k)
		c = c[:k]
		sortDesc(c)
		sorted = true
	}
	if topP := s.p.TopP; topP > 0 && topP < 1 {
		c, sorted = truncateTopP(c, topP, sorted)
	}
	if minP := s.p.MinP; minP > 0 {
		c = truncateMinP(c, minP)
	}
	tok := s.draw(c)
	res.Token = tok
	res.Logprob = logprob(clean(logits[tok]), lse, n)
	return res
}

// clean maps NaN to -Inf and +Inf to the largest float32, so that comparisons stay a total order
// and the log-sum-exp stays finite whenever any logit is.
func clean(v float32) float32 {
	switch {
	case v != v:
		return float32(math.Inf(-1))
	case v > math.MaxFloat32:
		return math.MaxFloat32
	}
	return v
}

// MinLogprob is the floor of reported log-probabilities: tokens the model rules out (a -Inf logit)
// report it instead of -Inf, which JSON cannot carry. OpenAI's API uses the same value.
const MinLogprob = -9999.0

// logprob is log-softmax of a cleaned raw logit given the log-sum-exp of all of them. When every
// logit is -Inf the distribution is taken as uniform over the n tokens.
func logprob(v float32, lse float64, n int) float64 {
	if math.IsInf(lse, -1) {
		return -math.Log(float64(n))
	}
	return max(float64(v)-lse, MinLogprob)
}

func logSumExp(logits []float32) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		if f := float64(clean(v)); f > m {
			m = f
		}
	}
	if math.IsInf(m, 0) {
		return m
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(clean(v)) - m)
	}
	return m + math.Log(sum)
}

// topByLogit returns the k largest logits as log-probabilities, best first, lowest id on ties.
func topByLogit(logits []float32, k int, lse float64) []Candidate {
	if k > len(logits) {
		k = len(logits)
	}
	top := make([]cand, 0, k)
	for i, v := range logits {
		v = clean(v)
		if len(top) == k && !better(cand{int32(i), v}, top[k-1]) {
			continue
		}
		// Insertion into a short sorted list: k is at most MaxTopLogprobs.
		j := len(top)
		if j < k {
			top = append(top, cand{})
		} else {
			j = k - 1
		}
		for j > 0 && better(cand{int32(i), v}, top[j-1]) {
			top[j] = top[j-1]
			j--
		}
		top[j] = cand{int32(i), v}
	}
	out := make([]Candidate, len(top))
	for i, t := range top {
		out[i] = Candidate{Token: int(t.id), Logprob: logprob(t.logit, lse, len(logits))}
	}
	return out
}

// better orders candidates by logit descending, then id ascending.
func better(a, b cand) bool {
	if a.logit != b.logit {
		return a.logit > b.logit
	}
	return a.id < b.id
}

// penalties fills s.pen with the penalised logits of the tokens seen in the penalty window.
func (s *Sampler) penalties(logits []float32, history []int) {
	clear(s.pen)
	rep := s.p.RepeatPenalty
	if rep == 0 {
		rep = 1
	}
	if (rep == 1 && s.p.PresencePenalty == 0 && s.p.FrequencyPenalty == 0) || len(history) == 0 {
		return
	}
	win := history
	if n := s.p.RepeatLastN; n > 0 && n < len(win) {
		win = win[len(win)-n:]
	}
	clear(s.seen)
	for _, t := range win {
		if t >= 0 && t < len(logits) {
			s.seen[t]++
		}
	}
	for t, count := range s.seen {
		v := float64(clean(logits[t]))
		if v <= 0 {
			v *= rep
		} else {
			v /= rep
		}
		v -= float64(count)*s.p.FrequencyPenalty + s.p.PresencePenalty
		s.pen[t] = float32(v)
	}
}

// selectTop moves the k best candidates (by better) to c[:k], in no particular order. It is an
// iterative quickselect with a median-of-three pivot: O(len(c)) on average.
func selectTop(c []cand, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three into c[hi] as the pivot.
		if better(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if better(c[hi], c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if better(c[mid], c[hi]) {
			c[mid], c[hi] = c[hi], c[mid]
		}
		pivot := c[hi]
		store := lo
		for i := lo; i < hi; i++ {
			if better(c[i], pivot) {
				c[i], c[store] = c[store], c[i]
				store++
			}
		}
		c[store], c[hi] = c[hi], c[store]
		switch {
		case store == k-1 || store == k:
			return
		case store < k:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
}

// sortDesc sorts c by better (insertion sort for short slices, heap sort otherwise).
func sortDesc(c []cand) {
	if len(c) <= 32 {
		for i := 1; i < len(c); i++ {
			for j := i; j > 0 && better(c[j], c[j-1]); j-- {
				c[j], c[j-1] = c[j-1], c[j]
			}
		}
		return
	}
	h := c
	heapify(h)
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		siftDown(h[:end], 0)
	}
	// The heap pops the best to the end: reverse into descending order.
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
}

// heapify builds a heap whose root is the best candidate.
func heapify(h []cand) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
}

func siftDown(h []cand, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && better(h[r], h[l]) {
			m = r
		}
		if !better(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// truncateTopP keeps the smallest prefix of the candidates, best first, whose probability (softmax
// at temperature 1 over c) reaches p. When c is not sorted yet it pops candidates off a heap one at
// a time, so only the kept prefix is ever ordered. The result is sorted.
func truncateTopP(c []cand, p float64, sorted bool) ([]cand, bool) {
	maxv := math.Inf(-1)
	for _, x := range c {
		if float64(x.logit) > maxv {
			maxv = float64(x.logit)
		}
	}
	if math.IsInf(maxv, -1) {
		return c, sorted
	}
	var z float64
	for _, x := range c {
		z += math.Exp(float64(x.logit) - maxv)
	}
	if sorted {
		var cum float64
		for i, x := range c {
			cum += math.Exp(float64(x.logit)-maxv) / z
			if cum >= p {
				return c[:i+1], true
			}
		}
		return c, true
	}
	// Heap extraction: popped candidates collect at the end of c, best last.
	heapify(c)
	var cum float64
	end := len(c)
	for end > 0 {
		best := c[0]
		end--
		c[0], c[end] = c[end], c[0]
		siftDown(c[:end], 0)
		cum += math.Exp(float64(best.logit)-maxv) / z
		if cum >= p {
			break
		}
	}
	kept := c[end:]
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	return kept, true
}

// truncateMinP keeps the candidates whose probability is at least p times the largest, i.e. whose
// logit is at least max + ln(p). The best candidate is always kept. Order is preserved.
func truncateMinP(c []cand, p float64) []cand {
	maxv := float32(math.Inf(-1))
	for _, x := range c {
		if x.logit > maxv {
			maxv = x.logit
		}
	}
	if math.IsInf(float64(maxv), -1) {
		return c
	}
	limit := float64(maxv) + math.Log(p)
	out := c[:0]
	for _, x := range c {
		if float64(x.logit) >= limit {
			out = append(out, x)
		}
	}
	return out
}

// draw applies the temperature to the remaining candidates and draws one by its probability.
func (s *Sampler) draw(c []cand) int {
	invT := 1 / s.p.Temperature
	maxv := math.Inf(-1)
	best := c[0]
	for _, x := range c {
		if float64(x.logit) > maxv || (float64(x.logit) == maxv && x.id < best.id) {
			maxv = float64(x.logit)
			best = x
		}
	}
	if math.IsInf(maxv, -1) {
		// Every candidate is impossible: fall back to the lowest id among them.
		return int(best.id)
	}
	var z float64
	for _, x := range c {
		z += math.Exp((float64(x.logit) - maxv) * invT)
	}
	if math.IsInf(z, 0) || math.IsNaN(z) || z == 0 {
		return int(best.id)
	}
	r := s.rng.Float64() * z
	var cum float64
	for _, x := range c {
		cum += math.Exp((float64(x.logit) - maxv) * invT)
		if r < cum {
			return int(x.id)
		}
	}
	// Rounding left r just above the total: take the last candidate with weight.
	for i := len(c) - 1; i >= 0; i-- {
		if !math.IsInf(float64(c[i].logit), -1) {
			return int(c[i].id)
		}
	}
	return int(best.id)
}
