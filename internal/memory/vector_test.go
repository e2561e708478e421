package memory

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

func vhit(id int64, cos float64) Hit { return Hit{Chunk: Chunk{ID: id}, Score: cos, Method: "vector"} }

func TestFuseVectors(t *testing.T) {
	text := []Hit{hit(1, 0.9), hit(2, 0.5)}
	vec := []Hit{vhit(2, 0.8), vhit(3, 0.5), vhit(4, 0.1)}
	// 4 fails the cosine gate; 2 is in both lists; vector hits carry no coverage, so they are
	// gated by their cosine, not by coverage.
	got := Fuse([][]Hit{text, vec}, SearchOptions{K: 10})
	if want := []int64{2, 1, 3}; !reflect.DeepEqual(ids(got), want) {
		t.Errorf("fused %v, want %v", ids(got), want)
	}
	if got := Fuse([][]Hit{text, vec}, SearchOptions{K: 10, MinCosine: -1}); len(got) != 4 {
		t.Errorf("disabled cosine gate: %v", ids(got))
	}
	// Exact lists are weighted; a negative weight drops them.
	ex := []Hit{{Chunk: Chunk{ID: 3}, Coverage: 1, Method: "exact"}}
	if got := Fuse([][]Hit{{hit(1, 0.9)}, ex}, SearchOptions{K: 10, ExactWeight: 2}); !reflect.DeepEqual(ids(got), []int64{3, 1}) {
		t.Errorf("exact ×2: %v", ids(got))
	}
	if got := Fuse([][]Hit{{hit(1, 0.9)}, ex}, SearchOptions{K: 10, ExactWeight: 0.5}); !reflect.DeepEqual(ids(got), []int64{1, 3}) {
		t.Errorf("exact ×0.5: %v", ids(got))
	}
	if got := Fuse([][]Hit{{hit(1, 0.9)}, ex}, SearchOptions{K: 10, ExactWeight: -1}); !reflect.DeepEqual(ids(got), []int64{1}) {
		t.Errorf("exact off: %v", ids(got))
	}
}

// fakeEmbedder returns zero vectors of dim values.
type fakeEmbedder struct{ dim int }

func (f fakeEmbedder) Name() string { return "fake" }
func (f fakeEmbedder) Dim() int     { return f.dim }
func (f fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = make([]float32, f.dim)
	}
	return out, nil
}

func TestEmbedPendingNeedsVectorStore(t *testing.T) {
	ctx := context.Background()
	if _, err := EmbedPending(ctx, newMapStore(), fakeEmbedder{dim: 4}, EmbedOptions{}); fault.CodeOf(err) != fault.Unsupported {
		t.Errorf("EmbedPending on a store without vectors: %v", err)
	}
	if _, err := Ingest(ctx, newMapStore(), []string{t.TempDir()}, Options{Embedder: fakeEmbedder{dim: 4}}); fault.CodeOf(err) != fault.Unsupported {
		t.Errorf("Ingest with an embedder on a store without vectors: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	Normalize(v)
	if math.Abs(float64(v[0])-0.6) > 1e-6 || math.Abs(float64(v[1])-0.8) > 1e-6 {
		t.Errorf("Normalize = %v", v)
	}
	z := []float32{0, 0}
	Normalize(z)
	if z[0] != 0 || z[1] != 0 {
		t.Errorf("zero vector became %v", z)
	}
}

func TestBlend(t *testing.T) {
	text := []Hit{{Chunk: Chunk{ID: 1}, Score: 10, Coverage: 0.9, Method: "text"}, {Chunk: Chunk{ID: 2}, Score: 9, Coverage: 0.5, Method: "text"}}
	vec := []Hit{vhit(2, 0.8), vhit(3, 0.9)}
	got := Blend(text, vec, 0.5)
	// 2: 0.9 + 0.4 = 1.3; 1: 1.0; 3: 0.45.
	if want := []int64{2, 1, 3}; !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("blend %v, want %v", ids(got), want)
	}
	if math.Abs(got[0].Score-1.3) > 1e-9 || got[0].Coverage != 0.5 || got[2].Method != "vector" || got[2].Coverage != 0 {
		t.Errorf("blended hits %+v", got)
	}
	// A small weight keeps the BM25 order.
	if got := Blend(text, vec, 0.05); !reflect.DeepEqual(ids(got), []int64{1, 2, 3}) {
		t.Errorf("small weight: %v", ids(got))
	}
	if got := Blend(nil, vec, 0); !reflect.DeepEqual(ids(got), []int64{3, 2}) {
		t.Errorf("vectors only: %v", ids(got))
	}
}

// vecStore is a Store with scripted full-text and vector retrievers.
type vecStore struct {
	*mapStore
	text, vec []Hit
}

func (s vecStore) SearchText(context.Context, string, int) ([]Hit, error) { return s.text, nil }
func (s vecStore) PendingVectors(context.Context, string, int) ([]Chunk, int, error) {
	return nil, 0, nil
}
func (s vecStore) PutVectors(context.Context, string, int, []Vector) error { return nil }
func (s vecStore) SearchVectors(context.Context, string, []float32, int) ([]Hit, error) {
	return s.vec, nil
}
func (s vecStore) PruneVectors(context.Context) (int, error) { return 0, nil }

func TestSearchHybrid(t *testing.T) {
	st := vecStore{newMapStore(),
		[]Hit{{Chunk: Chunk{ID: 1}, Score: 5, Coverage: 0.9, Method: "text"}, {Chunk: Chunk{ID: 2}, Score: 4, Coverage: 0.1, Method: "text"}},
		[]Hit{vhit(4, 0.9), vhit(2, 0.3), vhit(5, 0.2)}}
	got, err := Search(context.Background(), st, "a long question without names at all", SearchOptions{K: 10, Embedder: fakeEmbedder{dim: 4}})
	if err != nil {
		t.Fatal(err)
	}
	// 2 fails both gates (coverage 0.1, cosine 0.3); 5 fails the cosine gate.
	if want := []int64{1, 4}; !reflect.DeepEqual(ids(got), want) {
		t.Errorf("hybrid %v, want %v", ids(got), want)
	}
	// Without an embedder the vector list is not asked for.
	got, err = Search(context.Background(), st, "a long question without names at all", SearchOptions{K: 10})
	if err != nil || !reflect.DeepEqual(ids(got), []int64{1}) {
		t.Errorf("text only: %v %v", ids(got), err)
	}
}
