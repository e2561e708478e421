package embed

import (
	"context"
	"errors"
	"testing"

	"github.com/seance-dev/seance/internal/testenv"
)

// fakeLLM is an llm.Embedder returning scripted vectors or an error.
type fakeLLM struct {
	vecs [][]float32
	err  error
}

func (f *fakeLLM) Embed(ctx context.Context, inputs []string) ([][]float32, int, error) {
	return f.vecs, len(inputs), f.err
}

func TestModel(t *testing.T) {
	ctx := context.Background()
	f := &fakeLLM{vecs: [][]float32{{1, 2, 3}}}
	m, err := Probe(ctx, f, "openai+http://127.0.0.1:1/v1#emb")
	if err != nil || m.Dim() != 3 || m.Name() != "openai+http://127.0.0.1:1/v1#emb" {
		t.Fatalf("probe: %v %v", m, err)
	}
	if v, err := m.Embed(ctx, []string{"x"}); err != nil || len(v) != 1 {
		t.Errorf("embed: %v %v", v, err)
	}
	if _, err := m.Embed(ctx, []string{"x", "y"}); err == nil {
		t.Error("a short answer was accepted")
	}
	f.vecs = [][]float32{{1, 2}}
	if _, err := m.Embed(ctx, []string{"x"}); err == nil {
		t.Error("a vector of the wrong length was accepted")
	}
	f.err = errors.New("down")
	if _, err := Probe(ctx, f, "x"); err == nil {
		t.Error("probe ignored the model's error")
	}
	if _, err := NewModel(f, "", 3); err == nil {
		t.Error("a nameless model was accepted")
	}
}

func TestUseLite(t *testing.T) {
	u, err := LoadUseLite(testenv.Shared(t, "models", "use-lite-en"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := u.Embed(context.Background(), []string{"The cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply today."})
	if err != nil || len(v) != 3 || len(v[0]) != u.Dim() || u.Name() != UseLiteName {
		t.Fatalf("embed: %d vectors, %v", len(v), err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	if near, far := dot(v[0], v[1]), dot(v[0], v[2]); near <= far {
		t.Errorf("cat/kitten %.3f not above cat/stocks %.3f", near, far)
	}
}
