package sqlite

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
	"github.com/seance-dev/seance/internal/memory/vecindex"
)

func TestVectors(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.md"), "# Bread\n\nKnead the dough and let the sourdough rise overnight.\n\n# Tea\n\nGreen tea is brewed at eighty degrees.\n")
	writeFile(t, filepath.Join(dir, "b.md"), "# Trains\n\nThe train station is north of the river.\n")
	emb := &memorytest.BagEmbedder{N: 64}
	var progress [][2]int
	rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{Embedder: emb, EmbedBatch: 2,
		EmbedProgress: func(done, total int) { progress = append(progress, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Embedded != 3 || emb.Texts.Load() != 3 || emb.Calls.Load() != 2 {
		t.Fatalf("embedded %d texts in %d calls (report %d), want 3 in 2", emb.Texts.Load(), emb.Calls.Load(), rep.Embedded)
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
	emb.Texts.Store(0)
	rep, err = memory.Ingest(ctx, s, []string{dir}, memory.Options{Embedder: emb})
	if err != nil || rep.Updated != 1 || rep.Embedded != 1 || emb.Texts.Load() != 1 {
		t.Fatalf("re-ingest: %+v, %d texts embedded, %v", rep, emb.Texts.Load(), err)
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

// BenchmarkSearchVectors measures SearchVectors (with the lookup of the hits' chunks) over 10k and
// 100k random 512-dimensional vectors, by exact scan and with the default options (IVF above
// vecindex.DefaultThreshold; random vectors are the IVF's worst case for recall, which the vecindex
// benchmarks measure on clustered ones), reporting p50 and p99 and the first query's time, which
// loads the vectors (and builds the IVF index).
func BenchmarkSearchVectors(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
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
		for _, mode := range []struct {
			name string
			opts vecindex.Options
		}{{"exact", vecindex.Options{Exact: true}}, {"default", vecindex.Options{}}} {
			b.Run(fmt.Sprintf("%d/%s", n, mode.name), func(b *testing.B) {
				s.SetVectorOptions(mode.opts)
				t0 := time.Now()
				if _, err := s.SearchVectors(ctx, "bench", q, 10); err != nil { // loads the cache
					b.Fatal(err)
				}
				load := time.Since(t0)
				var lat []time.Duration
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
				b.ReportMetric(float64(load.Milliseconds()), "first-ms")
			})
		}
	}
}

// TestVectorsTwoHandles checks that a store sees vectors another handle (another process, say)
// wrote after it had cached the embedder's vectors: the generation makes it reload.
func TestVectorsTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "memory.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	memorytest.TwoHandles(t, a, b)
}
