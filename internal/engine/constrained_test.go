package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seance-dev/seance/internal/engine/constrain"
	"github.com/seance-dev/seance/internal/engine/sample"
)

func TestTopIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	logits := make([]float32, 500)
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	logits[7] = float32(math.Inf(-1))
	logits[8] = float32(math.NaN())
	got := topIDs(logits, 64, nil)
	slices.Sort(got)
	ids := make([]int, 0, len(logits))
	for i := range logits {
		if i != 7 && i != 8 {
			ids = append(ids, i)
		}
	}
	slices.SortFunc(ids, func(a, b int) int {
		if logits[a] > logits[b] {
			return -1
		}
		return 1
	})
	want := slices.Clone(ids[:64])
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("topIDs = %v, want %v", got, want)
	}
	if got := topIDs(logits[:5], 64, nil); len(got) != 5 {
		t.Errorf("short vocabulary: %v", got)
	}
}

// tokenWithBytes finds a token of the model whose bytes are exactly s.
func tokenWithBytes(t *testing.T, m *Model, s string) int {
	t.Helper()
	for id := range m.net.Config().Vocab {
		if string(m.tok.TokenBytes(id)) == s {
			return id
		}
	}
	t.Fatalf("no token spells %q", s)
	return -1
}

// TestPickMasksAndKeepsRawLogprobs checks one constrained step by hand: the model's favourite token
// is refused, the best acceptable one is taken, and its log-probability is the raw one.
func TestPickMasksAndKeepsRawLogprobs(t *testing.T) {
	m, _ := openStories(t)
	smp, err := sample.New(sample.Params{TopLogprobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	x, brace, space := tokenWithBytes(t, m, "x"), tokenWithBytes(t, m, "{"), tokenWithBytes(t, m, " ")
	logits := make([]float32, m.net.Config().Vocab)
	for i := range logits {
		logits[i] = -5
	}
	logits[x], logits[brace], logits[space] = 4, 1, 2
	raw := slices.Clone(logits)
	c := newConstrained(m, constrain.AnyObject(), smp)
	first := smp.Sample(logits, nil)
	if first.Token != x {
		t.Fatalf("greedy picked %d, want %d", first.Token, x)
	}
	got, err := c.pick(first, logits, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != space { // whitespace before the value is acceptable and ranks above '{'
		t.Fatalf("picked %d (%q), want the space", got.Token, m.tok.TokenBytes(got.Token))
	}
	lse := logSumExp(raw)
	if want := float64(raw[space]) - lse; math.Abs(got.Logprob-want) > 1e-9 {
		t.Errorf("logprob %v, want the raw %v", got.Logprob, want)
	}
	if len(got.Top) != 2 || got.Top[0].Token != x {
		t.Errorf("top %v, want the raw ranking led by %d", got.Top, x)
	}
	// With the budget nearly spent only tokens that bring completion closer count: '{' (the space
	// does not shorten what remains).
	c = newConstrained(m, constrain.AnyObject(), smp)
	copy(logits, raw)
	got, err = c.pick(smp.Sample(logits, nil), logits, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != brace {
		t.Errorf("forced pick %d (%q), want '{'", got.Token, m.tok.TokenBytes(got.Token))
	}
}
