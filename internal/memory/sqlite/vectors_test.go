package sqlite

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
)

// bagEmbedder is a deterministic fake embedder: each normalised word adds one to a hashed
// dimension, so texts sharing words have a high cosine. It counts the texts it embeds.
type bagEmbedder struct {
	dim   int
	calls atomic.Int64
	texts atomic.Int64
}

func (e *bagEmbedder) Name() string { return fmt.Sprintf("bag-%d", e.dim) }
func (e *bagEmbedder) Dim() int     { return e.dim }
func (e *bagEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.calls.Add(1)
	e.texts.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, e.dim)
		for _, w := range memory.Words(t) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%uint32(e.dim)]++
		}
		out[i] = v
	}
	return out, nil
}

func TestVectors(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.md"), "# Bread\n\nKnead the dough and let the sourdough rise overnight.\n\n# Tea\n\nGreen tea is brewed at eighty degrees.\n")
	writeFile(t, filepath.Join(dir, "b.md"), "# Trains\n\nThe train station is north of the river.\n")
	emb := &bagEmbedder{dim: 64}
	var progress [][2]int
	rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{Embedder: emb, EmbedBatch: 2,
		EmbedProgress: func(done, total int) { progress = append(progress, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Embedded != 3 || emb.texts.Load() != 3 || emb.calls.Load() != 2 {
		t.Fatalf("embedded %d texts in %d calls (report %d), want 3 in 2", emb.texts.Load(), emb.calls.Load(), rep.Embedded)
	}
	if !slices.Equal(progress, [][2]int{{2, 3}, {3, 3}}) {
		t.Errorf("progress %v", progress)
	}
	if _, left, err := s.PendingVectors(ctx, emb.Name(), 10); err != nil || left != 0 {
		t.Fatalf("pending after ingest: %d %v", left, err)
	}
	q, _ := emb.Embed(ctx, []string{"when is the sourdough dough ready"})
	hits, err := s.SearchVectors(ctx, emb.Name(), q[0], 2)
	if err != nil || len(hits) != 2 {
		t.Fatalf("search: %v %v", hits, err)
	}
	if hits[0].Chunk.Headings[0] != "Bread" || hits[0].Method != "vector" || hits[0].Score <= hits[1].Score || hits[0].Score > 1.0001 {
		t.Errorf("hits %v", chunkIDs(hits))
	}
	// Another embedder's vectors are separate; an unknown embedder has none.
	if h, err := s.SearchVectors(ctx, "nobody", q[0], 3); err != nil || len(h) != 0 {
		t.Errorf("unknown embedder: %v %v", h, err)
	}
	if _, err := s.SearchVectors(ctx, emb.Name(), q[0][:10], 3); err == nil {
		t.Error("a query of the wrong dimension was accepted")
	}
	if err := s.PutVectors(ctx, emb.Name(), 8, []memory.Vector{{Hash: "x", Vec: make([]float32, 8)}}); err == nil {
		t.Error("vectors of another dimension were accepted")
	}
	nan := make([]float32, 64)
	nan[3] = float32(math.NaN())
	if err := s.PutVectors(ctx, emb.Name(), 64, []memory.Vector{{Hash: "x", Vec: nan}}); err == nil {
		t.Error("a NaN vector was accepted")
	}
	if _, err := s.SearchVectors(ctx, emb.Name(), nan, 3); err == nil {
		t.Error("a NaN query was accepted")
	}

	// Changing one chunk of a.md re-embeds only that chunk; the old vector is pruned.
	writeFile(t, filepath.Join(dir, "a.md"), "# Bread\n\nKnead the dough and let the sourdough rise overnight.\n\n# Tea\n\nBlack tea wants boiling water.\n")
	emb.texts.Store(0)
	rep, err = memory.Ingest(ctx, s, []string{dir}, memory.Options{Embedder: emb})
	if err != nil || rep.Updated != 1 || rep.Embedded != 1 || emb.texts.Load() != 1 {
		t.Fatalf("re-ingest: %+v, %d texts embedded, %v", rep, emb.texts.Load(), err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM vectors`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d vectors stored after the change, want 3 (%v)", n, err)
	}
	q, _ = emb.Embed(ctx, []string{"black tea boiling water"})
	hits, err = s.SearchVectors(ctx, emb.Name(), q[0], 1)
	if err != nil || len(hits) != 1 || hits[0].Chunk.Headings[0] != "Tea" {
		t.Errorf("after the change: %v %v", chunkIDs(hits), err)
	}

	// Hybrid search: the vector list joins the fusion, behind its cosine gate.
	fused, err := memory.Search(ctx, s, "sourdough rising", memory.SearchOptions{Embedder: emb, K: 3})
	if err != nil || len(fused) == 0 || fused[0].Chunk.Headings[0] != "Bread" {
		t.Errorf("hybrid search: %v %v", chunkIDs(fused), err)
	}
	none, err := memory.Search(ctx, s, "quantum chromodynamics lattice", memory.SearchOptions{Embedder: emb, K: 3})
	if err != nil || len(none) != 0 {
		t.Errorf("an unrelated query found %v (%v)", chunkIDs(none), err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
	// Removing the sources leaves vectors to prune.
	if _, err := s.RemoveSource(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PruneVectors(ctx); err != nil || p != 3 {
		t.Errorf("pruned %d, %v; want 3", p, err)
	}
	if h, err := s.SearchVectors(ctx, emb.Name(), q[0], 3); err != nil || len(h) != 0 {
		t.Errorf("after removal: %v %v", h, err)
	}
}

// TestTopK checks the bounded heaps of the exact scan against a full sort, across the parallel split.
func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, dim = 5000, 16
	c := &vectorCache{dim: dim, hashes: make([]string, n), data: make([]float32, n*dim)}
	for i := range c.data {
		c.data[i] = float32(r.IntN(5)) // small integers: ties are frequent and sums exact
	}
	q := make([]float32, dim)
	for i := range q {
		q[i] = float32(r.IntN(3))
	}
	all := make([]scored, n)
	for i := range n {
		var s float32
		for j := range dim {
			s += q[j] * c.data[i*dim+j]
		}
		all[i] = scored{i, s}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].row < all[j].row
	})
	for _, k := range []int{1, 10, 100, n + 5} {
		got := c.topK(q, k)
		if !slices.Equal(got, all[:min(k, n)]) {
			t.Errorf("k=%d: top differs from a full sort", k)
		}
	}
}

// BenchmarkSearchVectors measures the exact scan (with the lookup of the hits' chunks) over 10k
// and 100k random 512-dimensional vectors, reporting p50 and p99.
func BenchmarkSearchVectors(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "memory.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			r := rand.New(rand.NewPCG(3, 4))
			const dim = 512
			for lo := 0; lo < n; lo += 5000 {
				vs := make([]memory.Vector, 0, 5000)
				for i := lo; i < min(n, lo+5000); i++ {
					v := make([]float32, dim)
					for j := range v {
						v[j] = float32(r.NormFloat64())
					}
					vs = append(vs, memory.Vector{Hash: fmt.Sprintf("%064x", i), Vec: v})
				}
				if err := s.PutVectors(ctx, "bench", dim, vs); err != nil {
					b.Fatal(err)
				}
			}
			q := make([]float32, dim)
			for j := range q {
				q[j] = float32(r.NormFloat64())
			}
			t0 := time.Now()
			if _, err := s.SearchVectors(ctx, "bench", q, 10); err != nil { // loads the cache
				b.Fatal(err)
			}
			load := time.Since(t0)
			var lat []time.Duration
			b.ResetTimer()
			for b.Loop() {
				t1 := time.Now()
				if _, err := s.SearchVectors(ctx, "bench", q, 10); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t1))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(load.Milliseconds()), "load-ms")
		})
	}
}

// TestIVFRecall measures the experimental IVF index against the exact scan on clustered random
// vectors (4096 unit vectors around 64 centres, 64-d, noisy; queries drawn the same way): recall@10
// must grow with nprobe, reach 0.9 when an eighth of the lists is probed, and be exact when all are.
func TestIVFRecall(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, dim, clusters = 4096, 64, 64
	centres := make([][]float32, clusters)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(r.NormFloat64())
		}
	}
	c := &vectorCache{dim: dim, hashes: make([]string, n), data: make([]float32, n*dim)}
	for i := range n {
		v := c.data[i*dim : (i+1)*dim]
		for j := range v {
			v[j] = centres[i%clusters][j] + 0.7*float32(r.NormFloat64())
		}
		memory.Normalize(v)
	}
	ix := buildIVF(c, 64, 5)
	last := -1.0
	for _, nprobe := range []int{1, 8, 64} {
		var recall float64
		const queries = 50
		for range queries {
			q, centre := make([]float32, dim), centres[r.IntN(clusters)]
			for j := range q {
				q[j] = centre[j] + 0.7*float32(r.NormFloat64())
			}
			memory.Normalize(q)
			recall += overlap(c.topK(q, 10), ix.search(c, q, 10, nprobe))
		}
		recall /= queries
		t.Logf("nprobe %d of 64: recall@10 %.3f", nprobe, recall)
		if recall < last-1e-9 || (nprobe >= 8 && recall < 0.9) || (nprobe == 64 && recall != 1) {
			t.Errorf("nprobe %d: recall@10 %.3f (previous %.3f)", nprobe, recall, last)
		}
		last = recall
	}
}

// overlap returns the share of exact's rows that approx also has.
func overlap(exact, approx []scored) float64 {
	in := map[int]bool{}
	for _, s := range approx {
		in[s.row] = true
	}
	n := 0
	for _, s := range exact {
		if in[s.row] {
			n++
		}
	}
	return float64(n) / float64(len(exact))
}
