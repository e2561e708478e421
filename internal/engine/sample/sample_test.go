package sample

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func mustNew(t *testing.T, p Params) *Sampler {
	t.Helper()
	s, err := New(p)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	return s
}

func TestValidate(t *testing.T) {
	bad := []struct {
		p     Params
		param string
	}{
		{Params{Temperature: -0.1}, "Temperature"},
		{Params{Temperature: math.NaN()}, "Temperature"},
		{Params{TopK: -1}, "TopK"},
		{Params{TopP: 1.5}, "TopP"},
		{Params{MinP: -0.5}, "MinP"},
		{Params{RepeatPenalty: math.Inf(1)}, "RepeatPenalty"},
		{Params{RepeatLastN: -2}, "RepeatLastN"},
		{Params{PresencePenalty: 2.5}, "PresencePenalty"},
		{Params{FrequencyPenalty: -3}, "FrequencyPenalty"},
		{Params{TopLogprobs: 21}, "TopLogprobs"},
	}
	for _, tc := range bad {
		_, err := New(tc.p)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("New(%+v) = %v, want a ParamError naming %s", tc.p, err, tc.param)
		}
	}
	if _, err := New(Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, TopLogprobs: 5}); err != nil {
		t.Errorf("valid params rejected: %v", err)
	}
}

func TestGreedyArgmax(t *testing.T) {
	s := mustNew(t, Params{})
	logits := []float32{0.1, 3, -2, 3, 2.9}
	orig := slices.Clone(logits)
	for range 5 {
		if got := s.Sample(logits, nil).Token; got != 1 {
			t.Fatalf("greedy = %d, want 1 (lowest id among ties)", got)
		}
	}
	if !slices.Equal(logits, orig) {
		t.Errorf("Sample modified logits: %v", logits)
	}
	if got := s.Sample(nil, nil).Token; got != -1 {
		t.Errorf("empty logits: token %d, want -1", got)
	}
}

func TestTopK1IsGreedy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 5000)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	want := mustNew(t, Params{}).Sample(logits, nil).Token
	s := mustNew(t, Params{Temperature: 1.5, TopK: 1, Seed: 7})
	for range 50 {
		if got := s.Sample(logits, nil).Token; got != want {
			t.Fatalf("top-k 1 chose %d, greedy %d", got, want)
		}
	}
}

// keptSet samples many times and returns the set of tokens ever drawn.
func keptSet(t *testing.T, p Params, logits []float32, draws int) []int {
	t.Helper()
	s := mustNew(t, p)
	seen := map[int]bool{}
	for range draws {
		seen[s.Sample(logits, nil).Token] = true
	}
	var out []int
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func logitsFromProbs(p []float64) []float32 {
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = float32(math.Log(v))
	}
	return out
}

func TestTopPKeepsExpectedSet(t *testing.T) {
	// Probabilities 0.5, 0.25, 0.15, 0.06, 0.04 spread over shuffled ids.
	probs := []float64{0.06, 0.5, 0.04, 0.15, 0.25}
	logits := logitsFromProbs(probs)
	cases := []struct {
		p    float64
		want []int
	}{
		{0.4, []int{1}},           // 0.5 ≥ 0.4
		{0.6, []int{1, 4}},        // 0.5+0.25
		{0.8, []int{1, 3, 4}},     // 0.9
		{0.95, []int{0, 1, 3, 4}}, // 0.96
	}
	for _, tc := range cases {
		// Both the heap path (no top-k) and the sorted path (top-k ≥ vocab size after selection).
		for _, k := range []int{0, 4} {
			got := keptSet(t, Params{Temperature: 1, TopP: tc.p, TopK: k, Seed: 3}, logits, 4000)
			want := tc.want
			if k == 4 {
				want = slices.DeleteFunc(slices.Clone(want), func(id int) bool { return id == 2 })
			}
			if !slices.Equal(got, want) {
				t.Errorf("top-p %v top-k %d kept %v, want %v", tc.p, k, got, want)
			}
		}
	}
}

func TestMinPKeepsExpectedSet(t *testing.T) {
	probs := []float64{0.06, 0.5, 0.04, 0.15, 0.25}
	logits := logitsFromProbs(probs)
	cases := []struct {
		p    float64
		want []int
	}{
		{0.6, []int{1}},          // 0.3 threshold
		{0.4, []int{1, 4}},       // 0.2
		{0.1, []int{0, 1, 3, 4}}, // 0.05
		{0.05, []int{0, 1, 2, 3, 4}},
	}
	for _, tc := range cases {
		got := keptSet(t, Params{Temperature: 1, MinP: tc.p, Seed: 5}, logits, 4000)
		if !slices.Equal(got, tc.want) {
			t.Errorf("min-p %v kept %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestTopKKeepsExpectedSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64())
	}
	order := make([]int, len(logits))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if logits[a] > logits[b] {
			return -1
		}
		return 1
	})
	want := slices.Clone(order[:5])
	slices.Sort(want)
	got := keptSet(t, Params{Temperature: 5, TopK: 5, Seed: 1}, logits, 3000)
	if !slices.Equal(got, want) {
		t.Errorf("top-k 5 kept %v, want %v", got, want)
	}
}

func TestRepeatPenalty(t *testing.T) {
	s := mustNew(t, Params{RepeatPenalty: 2})
	logits := []float32{4, -1, 3, 0.5}
	s.penalties(logits, []int{0, 1, 1, 9, -3})
	want := map[int]float32{0: 2, 1: -2}
	if len(s.pen) != len(want) {
		t.Fatalf("penalised %v, want %v", s.pen, want)
	}
	for id, v := range want {
		if s.pen[id] != v {
			t.Errorf("token %d: %v, want %v", id, s.pen[id], v)
		}
	}
	// Greedy respects the penalty: token 0 (4 → 2) loses to token 2 (3).
	if got := s.Sample(logits, []int{0}).Token; got != 2 {
		t.Errorf("greedy with penalty chose %d, want 2", got)
	}
	// The window: with RepeatLastN 1 only the last token counts.
	s = mustNew(t, Params{RepeatPenalty: 2, RepeatLastN: 1})
	if got := s.Sample(logits, []int{0, 3}).Token; got != 0 {
		t.Errorf("token 0 outside the window was penalised (chose %d)", got)
	}
}

func TestPresenceFrequencyPenalty(t *testing.T) {
	s := mustNew(t, Params{PresencePenalty: 0.5, FrequencyPenalty: 0.25})
	logits := []float32{1, 1, 1}
	s.penalties(logits, []int{0, 0, 0, 2})
	if got, want := s.pen[0], float32(1-0.5-3*0.25); got != want {
		t.Errorf("token 0: %v, want %v", got, want)
	}
	if got, want := s.pen[2], float32(1-0.5-0.25); got != want {
		t.Errorf("token 2: %v, want %v", got, want)
	}
	if _, ok := s.pen[1]; ok {
		t.Error("unseen token 1 penalised")
	}
}

func TestSeedDeterminism(t *testing.T) {
	logits := logitsFromProbs([]float64{0.2, 0.2, 0.2, 0.2, 0.2})
	run := func(seed uint64) []int {
		s := mustNew(t, Params{Temperature: 1, Seed: seed})
		out := make([]int, 64)
		for i := range out {
			out[i] = s.Sample(logits, nil).Token
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different tokens:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same 64 tokens %v", a)
	}
}

// TestFrequenciesMatchSoftmax checks with a chi-square test that draws follow softmax(logits/T).
func TestFrequenciesMatchSoftmax(t *testing.T) {
	logits := []float32{2, 1, 0.5, 0, -1, -3}
	for _, temp := range []float64{0.7, 1, 1.8} {
		s := mustNew(t, Params{Temperature: temp, Seed: 12345})
		const draws = 60000
		counts := make([]int, len(logits))
		for range draws {
			counts[s.Sample(logits, nil).Token]++
		}
		var z float64
		exp := make([]float64, len(logits))
		for i, l := range logits {
			exp[i] = math.Exp(float64(l) / temp)
			z += exp[i]
		}
		var chi2 float64
		for i := range exp {
			e := exp[i] / z * draws
			d := float64(counts[i]) - e
			chi2 += d * d / e
		}
		// 5 degrees of freedom: the 99.99th percentile is about 25.7; a wrong distribution gives
		// thousands at this many draws.
		if chi2 > 30 {
			t.Errorf("T=%v: chi-square %.1f over 5 dof; counts %v", temp, chi2, counts)
		}
	}
}

func TestLogprobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	logits := make([]float32, 2000)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 4)
	}
	s := mustNew(t, Params{Temperature: 0.5, TopK: 10, RepeatPenalty: 1.3, TopLogprobs: 20, Seed: 1})
	res := s.Sample(logits, []int{1, 2, 3})
	// The log-probabilities are of the raw logits: they sum to one over the vocabulary.
	lse := logSumExp(logits)
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - lse)
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v", sum)
	}
	if want := float64(logits[res.Token]) - lse; math.Abs(res.Logprob-want) > 1e-12 {
		t.Errorf("Logprob %v, want %v", res.Logprob, want)
	}
	if len(res.Top) != 20 {
		t.Fatalf("Top has %d entries, want 20", len(res.Top))
	}
	greedy := mustNew(t, Params{}).Sample(logits, nil).Token
	if res.Top[0].Token != greedy {
		t.Errorf("best top logprob is token %d, argmax %d", res.Top[0].Token, greedy)
	}
	for i := 1; i < len(res.Top); i++ {
		if res.Top[i].Logprob > res.Top[i-1].Logprob {
			t.Errorf("Top not sorted at %d: %v", i, res.Top)
		}
	}
	// Every token outside Top is no more likely than the last one in it.
	in := map[int]bool{}
	for _, c := range res.Top {
		in[c.Token] = true
	}
	last := res.Top[len(res.Top)-1].Logprob
	for i, l := range logits {
		if !in[i] && float64(l)-lse > last {
			t.Fatalf("token %d (%v) missing from Top (last %v)", i, float64(l)-lse, last)
		}
	}
	// A small vocabulary: Top covers all of it and sums to one.
	small := mustNew(t, Params{TopLogprobs: 3}).Sample([]float32{1, 2, 3}, nil)
	var total float64
	for _, c := range small.Top {
		total += math.Exp(c.Logprob)
	}
	if math.Abs(total-1) > 1e-9 {
		t.Errorf("top logprobs over the whole vocabulary sum to %v", total)
	}
}

func TestDegenerateLogits(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name   string
		logits []float32
		want   int // -1: any token
	}{
		{"all -Inf", []float32{-inf, -inf, -inf}, 0},
		{"NaN and -Inf", []float32{nan, -inf, 1}, 2},
		{"+Inf wins", []float32{1, inf, 2}, 1},
	} {
		for _, temp := range []float64{0, 1} {
			s := mustNew(t, Params{Temperature: temp, TopK: 2, TopP: 0.5, MinP: 0.1, TopLogprobs: 3})
			res := s.Sample(tc.logits, nil)
			if tc.want >= 0 && res.Token != tc.want {
				t.Errorf("%s T=%v: token %d, want %d", tc.name, temp, res.Token, tc.want)
			}
			vals := []float64{res.Logprob}
			for _, c := range res.Top {
				vals = append(vals, c.Logprob)
			}
			for _, v := range vals {
				if math.IsNaN(v) || math.IsInf(v, 0) || v > 0 || v < MinLogprob {
					t.Errorf("%s T=%v: logprob %v out of range (%+v)", tc.name, temp, v, res)
				}
			}
		}
	}
}

func TestSelectTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		k := 1 + rng.IntN(n)
		c := make([]cand, n)
		for i := range c {
			c[i] = cand{int32(i), float32(rng.IntN(20))} // many ties
		}
		ref := slices.Clone(c)
		slices.SortFunc(ref, func(a, b cand) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		selectTop(c, k)
		got := slices.Clone(c[:k])
		sortDesc(got)
		if !slices.Equal(got, ref[:k]) {
			t.Fatalf("trial %d n=%d k=%d: got %v want %v", trial, n, k, got, ref[:k])
		}
	}
}

func BenchmarkSample150k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, 150000)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	hist := []int{1, 2, 3, 4, 5}
	for _, bc := range []struct {
		name string
		p    Params
	}{
		{"greedy", Params{}},
		{"topk40-topp0.95", Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1}},
		{"topp0.9-only", Params{Temperature: 0.8, TopP: 0.9}},
		{"logprobs5", Params{Temperature: 0.8, TopK: 40, TopLogprobs: 5}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := New(bc.p)
			for b.Loop() {
				s.Sample(logits, hist)
			}
		})
	}
}
