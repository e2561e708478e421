package uselite

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// sharedDir returns ../shared beside the repository root (the directory holding go.mod).
func sharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// modelDir returns the shared USE-lite model directory, skipping when it is absent.
func modelDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(sharedDir(tb), "models", "use-lite-en")
	if _, err := os.Stat(filepath.Join(dir, ModelFile)); err != nil {
		tb.Skipf("USE-lite model not found: %v", err)
	}
	return dir
}

var (
	loadOnce   sync.Once
	loadModel  *Model
	loadErr    error
	loadedFrom string
)

// testModel loads the shared model once for all tests.
func testModel(tb testing.TB) *Model {
	tb.Helper()
	dir := modelDir(tb)
	loadOnce.Do(func() {
		loadModel, loadErr = Load(dir)
		loadedFrom = dir
	})
	if loadErr != nil {
		tb.Fatalf("Load(%s): %v", loadedFrom, loadErr)
	}
	return loadModel
}

type golden struct {
	Sentences []struct {
		Text      string    `json:"text"`
		Embedding []float64 `json:"embedding"`
	} `json:"sentences"`
}

func readGolden(tb testing.TB) golden {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(modelDir(tb), "golden-tfjs.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		tb.Fatal(err)
	}
	if len(g.Sentences) != 5 {
		tb.Fatalf("golden file has %d sentences, want 5", len(g.Sentences))
	}
	return g
}

func cosine(a []float32, b []float64) float64 {
	var dot, na, nb float64
	for k := range a {
		dot += float64(a[k]) * b[k]
		na += float64(a[k]) * float64(a[k])
		nb += b[k] * b[k]
	}
	return dot / math.Sqrt(na*nb)
}

func cosine32(a, b []float32) float64 {
	bb := make([]float64, len(b))
	for k, v := range b {
		bb[k] = float64(v)
	}
	return cosine(a, bb)
}

// TestGoldenTFJS checks every golden sentence against TensorFlow.js's embedding, embedded both as
// one batch and one at a time.
func TestGoldenTFJS(t *testing.T) {
	m := testModel(t)
	g := readGolden(t)
	texts := make([]string, len(g.Sentences))
	for k, s := range g.Sentences {
		texts[k] = s.Text
	}
	batch, err := m.Embed(texts)
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range g.Sentences {
		single, err := m.Embed([]string{s.Text})
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string][]float32{"batch": batch[k], "single": single[0]} {
			if len(v) != Dim {
				t.Fatalf("%q (%s): %d dimensions, want %d", s.Text, name, len(v), Dim)
			}
			c := cosine(v, s.Embedding)
			t.Logf("%-40q %-6s cosine %.10f (1 - cosine = %.1e)", s.Text, name, c, 1-c)
			if c < 0.9999 {
				t.Errorf("%q (%s): cosine to TF.js %.6f, want ≥ 0.9999 (ids %v)", s.Text, name, c, m.Tokenizer().Encode(s.Text))
			}
			var norm float64
			for _, x := range v {
				norm += float64(x) * float64(x)
			}
			if math.Abs(norm-1) > 1e-4 {
				t.Errorf("%q (%s): squared norm %.6f, want 1", s.Text, name, norm)
			}
		}
	}
}

// TestReferencePairs checks the pair similarities the model's README gives.
func TestReferencePairs(t *testing.T) {
	m := testModel(t)
	pairs := []struct {
		a, b string
		want float64
	}{
		{"The cat sits on the mat.", "A kitten is resting on a rug.", 0.6474},
		{"How do I bake bread?", "What is a recipe for sourdough?", 0.6922},
		{"The cat sits on the mat.", "Stock markets fell sharply today.", 0.0556},
	}
	for _, p := range pairs {
		v, err := m.Embed([]string{p.a, p.b})
		if err != nil {
			t.Fatal(err)
		}
		c := cosine32(v[0], v[1])
		t.Logf("%q vs %q: %.6f (reference %.4f)", p.a, p.b, c, p.want)
		if math.Abs(c-p.want) > 1e-3 {
			t.Errorf("%q vs %q: cosine %.4f, want %.4f ± 0.001", p.a, p.b, c, p.want)
		}
	}
}

// TestEmbedEdgeCases covers texts without tokens, long texts and batches larger than one run.
func TestEmbedEdgeCases(t *testing.T) {
	m := testModel(t)
	long := ""
	for range 60 {
		long += "The quick brown fox jumps over the lazy dog. "
	}
	texts := []string{"", "hello world", "", "", "😹😹", " "}
	if !testing.Short() {
		texts[3] = long // 128 tokens take a while under the race detector
	}
	for len(texts) < batchSize+5 {
		texts = append(texts, "sentence number "+string(rune('a'+len(texts))))
	}
	texts = append(texts, "")
	vecs, err := m.Embed(texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for k, v := range vecs {
		if len(v) != Dim {
			t.Fatalf("text %d: %d dimensions", k, len(v))
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("text %d (%q): non-finite value", k, texts[k])
			}
		}
	}
	// An empty text's vector does not depend on its position, and equals the graph's own result
	// for a token-less row in the middle of a batch.
	if c := cosine32(vecs[0], vecs[len(vecs)-1]); c < 0.999999 {
		t.Errorf("empty texts differ: cosine %.6f", c)
	}
	mid, err := m.run([][]int32{{100}, nil, {200}})
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine32(vecs[0], mid[1]); c < 0.999999 {
		t.Errorf("empty text vector differs from a token-less row: cosine %.6f", c)
	}
	// Each text's vector does not depend on its batch neighbours.
	alone, err := m.Embed([]string{"hello world"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine32(alone[0], vecs[1]); c < 0.99999 {
		t.Errorf("batched and single embeddings differ: cosine %.6f", c)
	}
	if testing.Short() {
		return
	}
	// Tokens past MaxTokens are ignored, as the graph clips them.
	if ids := m.Tokenizer().Encode(long); len(ids) <= MaxTokens {
		t.Fatalf("long text has only %d tokens", len(ids))
	}
	longer, err := m.Embed([]string{long + " And then some more words at the end."})
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine32(longer[0], vecs[3]); c < 0.999999 {
		t.Errorf("text beyond %d tokens changed the embedding: cosine %.6f", MaxTokens, c)
	}
}

func TestEmbedConcurrent(t *testing.T) {
	m := testModel(t)
	want, err := m.Embed([]string{"concurrency is not parallelism"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Embed([]string{"concurrency is not parallelism"})
			if err != nil {
				t.Error(err)
				return
			}
			for k := range got[0] {
				if got[0][k] != want[0][k] {
					t.Errorf("concurrent embedding differs at %d", k)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkEmbedShort measures embeddings per second for short sentences (16 per call), by wall
// clock and by the process's CPU time (cpu-ms/embedding, which a busy shared machine distorts less).
func BenchmarkEmbedShort(b *testing.B) {
	m := testModel(b)
	texts := []string{
		"The cat sits on the mat.", "How do I bake bread?", "Stock markets fell sharply today.",
		"A kitten is resting on a rug.", "What is a recipe for sourdough?", "The weather is nice.",
		"Where is the train station?", "I like green tea.",
	}
	texts = append(texts, texts...)
	benchEmbed(b, m, texts)
}

// BenchmarkEmbedOne measures single-sentence calls, the latency of embedding a query.
func BenchmarkEmbedOne(b *testing.B) {
	benchEmbed(b, testModel(b), []string{"How do I bake bread?"})
}

// BenchmarkEmbedLong measures texts of MaxTokens tokens (a paragraph; the model reads no more),
// eight per call: the cost of embedding chunks at ingestion.
func BenchmarkEmbedLong(b *testing.B) {
	m := testModel(b)
	para := "Recent studies of protein folding suggest that chaperone proteins assist the folding of " +
		"newly synthesized polypeptides, preventing aggregation in the crowded cellular environment. "
	for len(m.Tokenizer().Encode(para)) < MaxTokens {
		para += para
	}
	texts := make([]string, 8)
	for k := range texts {
		texts[k] = fmt.Sprintf("%d. %s", k, para)
	}
	benchEmbed(b, m, texts)
}

func benchEmbed(b *testing.B, m *Model, texts []string) {
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Embed(texts); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * len(texts))
	b.ReportMetric(n/b.Elapsed().Seconds(), "embeddings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Milliseconds())/n, "cpu-ms/embedding")
	}
}
