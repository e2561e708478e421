package memorytest

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/vecindex"
)

// BagEmbedder is a deterministic fake embedder: each normalised word adds one to a hashed
// dimension, so texts sharing words have a high cosine. It counts the calls and texts it embeds.
type BagEmbedder struct {
	N     int
	Calls atomic.Int64
	Texts atomic.Int64
}

func (e *BagEmbedder) Name() string { return fmt.Sprintf("bag-%d", e.N) }
func (e *BagEmbedder) Dim() int     { return e.N }
func (e *BagEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.Calls.Add(1)
	e.Texts.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, e.N)
		for _, w := range memory.Words(t) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%uint32(e.N)]++
		}
		out[i] = v
	}
	return out, nil
}

func (e *BagEmbedder) one(t *testing.T, text string) []float32 {
	t.Helper()
	v, err := e.Embed(context.Background(), []string{text})
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// vectorOptioner is a VectorStore whose search strategy can be chosen (both stores).
type vectorOptioner interface {
	SetVectorOptions(vecindex.Options)
}

// testVectors is the vector part of the suite, for stores that are memory.VectorStores: pending
// texts, storage keyed by text hash, search, validation, re-embedding only what changed, pruning,
// caches that follow writes, the IVF path and concurrent puts and searches.
func testVectors(t *testing.T, st memory.Store) {
	s, ok := st.(interface {
		memory.VectorStore
		memory.Store
	})
	if !ok {
		t.Skipf("%T keeps no vectors", st)
	}
	ctx := context.Background()
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "a.md"), "# Bread\n\nKnead the dough and let the sourdough rise overnight.\n\n# Tea\n\nGreen tea is brewed at eighty degrees.\n")
	WriteFile(t, filepath.Join(dir, "b.md"), "# Trains\n\nThe train station is north of the river.\n")
	WriteFile(t, filepath.Join(dir, "c.md"), "# Trains\n\nThe train station is north of the river.\n") // the same text twice
	emb := &BagEmbedder{N: 64}
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	pending, left, err := s.PendingVectors(ctx, emb.Name(), 2)
	if err != nil || left != 3 || len(pending) != 2 || pending[0].Hash == "" || pending[0].Text == "" {
		t.Fatalf("pending before embedding: %d of %d, %v", len(pending), left, err)
	}
	var progress [][2]int
	n, err := memory.EmbedPending(ctx, s, emb, memory.EmbedOptions{Batch: 2, Progress: func(done, total int) {
		progress = append(progress, [2]int{done, total})
	}})
	if err != nil || n != 3 || emb.Texts.Load() != 3 || emb.Calls.Load() != 2 {
		t.Fatalf("embedded %d (%d texts in %d calls), %v; want 3 in 2", n, emb.Texts.Load(), emb.Calls.Load(), err)
	}
	if !slices.Equal(progress, [][2]int{{2, 3}, {3, 3}}) {
		t.Errorf("progress %v", progress)
	}
	if _, left, err := s.PendingVectors(ctx, emb.Name(), 10); err != nil || left != 0 {
		t.Fatalf("pending after embedding: %d %v", left, err)
	}
	if _, left, err := s.PendingVectors(ctx, "another", 10); err != nil || left != 3 {
		t.Fatalf("pending for another embedder: %d %v", left, err)
	}
	check(t, s)

	hits, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, "when is the sourdough dough ready"), 2)
	if err != nil || len(hits) != 2 {
		t.Fatalf("search: %q %v", ChunkIDs(hits), err)
	}
	if hits[0].Chunk.Headings[0] != "Bread" || hits[0].Method != "vector" || hits[0].Score <= hits[1].Score ||
		hits[0].Score > 1.0001 || hits[0].Chunk.ID == 0 || hits[0].Chunk.Source == "" || hits[0].Chunk.StartLine == 0 {
		t.Errorf("hits %q, %+v", ChunkIDs(hits), hits[0])
	}
	// A text that repeats is one vector but every chunk of it is a hit.
	hits, err = s.SearchVectors(ctx, emb.Name(), emb.one(t, "train station river"), 5)
	if err != nil || len(hits) != 4 || hits[0].Chunk.Headings[0] != "Trains" || hits[1].Chunk.Headings[0] != "Trains" ||
		hits[0].Score != hits[1].Score || hits[0].Chunk.Source == hits[1].Chunk.Source {
		t.Errorf("repeated text: %q %v", ChunkIDs(hits), err)
	}
	if hits, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, "train"), 1); err != nil || len(hits) != 1 {
		t.Errorf("k=1 with a repeated text: %q %v", ChunkIDs(hits), err)
	}
	if h, err := s.SearchVectors(ctx, "nobody", make([]float32, 64), 3); err != nil || len(h) != 0 {
		t.Errorf("unknown embedder: %v %v", h, err)
	}
	if h, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, "tea"), 0); err != nil || len(h) != 0 {
		t.Errorf("k=0: %v %v", h, err)
	}
	if _, err := s.SearchVectors(ctx, emb.Name(), make([]float32, 10), 3); err == nil {
		t.Error("a query of the wrong dimension was accepted")
	}
	nan := make([]float32, 64)
	nan[3] = float32(math.NaN())
	if _, err := s.SearchVectors(ctx, emb.Name(), nan, 3); err == nil {
		t.Error("a NaN query was accepted")
	}
	for _, bad := range []struct {
		what string
		dim  int
		vecs []memory.Vector
	}{
		{"vectors of another dimension", 8, []memory.Vector{{Hash: "x", Vec: make([]float32, 8)}}},
		{"a vector shorter than its dimension", 64, []memory.Vector{{Hash: "x", Vec: make([]float32, 8)}}},
		{"a NaN vector", 64, []memory.Vector{{Hash: "x", Vec: nan}}},
		{"a vector without a hash", 64, []memory.Vector{{Vec: make([]float32, 64)}}},
		{"no embedder dimension", 0, nil},
	} {
		if err := s.PutVectors(ctx, emb.Name(), bad.dim, bad.vecs); err == nil {
			t.Errorf("%s were accepted", bad.what)
		}
	}

	// A put is seen by the next search (the cache follows the generation): give the Tea text the
	// vector of a query about trains, twice in one batch (the last one counts).
	tea, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, "green tea brewed"), 1)
	if err != nil || len(tea) != 1 || tea[0].Chunk.Headings[0] != "Tea" {
		t.Fatalf("tea: %q %v", ChunkIDs(tea), err)
	}
	if err := s.PutVectors(ctx, emb.Name(), 64, []memory.Vector{
		{Hash: tea[0].Chunk.Hash, Vec: emb.one(t, "green tea brewed")},
		{Hash: tea[0].Chunk.Hash, Vec: emb.one(t, "zeppelin hangar")},
	}); err != nil {
		t.Fatal(err)
	}
	if hits, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, "zeppelin hangar"), 1); err != nil || len(hits) != 1 ||
		hits[0].Chunk.Headings[0] != "Tea" || hits[0].Score < 0.999 {
		t.Errorf("after replacing a vector: %q %v", ChunkIDs(hits), err)
	}

	// Changing one chunk of a.md re-embeds only that chunk; the old vector is pruned.
	WriteFile(t, filepath.Join(dir, "a.md"), "# Bread\n\nKnead the dough and let the sourdough rise overnight.\n\n# Tea\n\nBlack tea wants boiling water.\n")
	emb.Texts.Store(0)
	rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{Embedder: emb})
	if err != nil || rep.Updated != 1 || rep.Embedded != 1 || emb.Texts.Load() != 1 {
		t.Fatalf("re-ingest: %+v, %d texts embedded, %v", rep, emb.Texts.Load(), err)
	}
	hits, err = s.SearchVectors(ctx, emb.Name(), emb.one(t, "black tea boiling water"), 1)
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Chunk.Text, "Black tea") {
		t.Errorf("after the change: %q %v", ChunkIDs(hits), err)
	}
	// Hybrid search: the vector list joins the fusion, behind its cosine gate.
	fused, err := memory.Search(ctx, s, "sourdough rising", memory.SearchOptions{Embedder: emb, K: 3})
	if err != nil || len(fused) == 0 || fused[0].Chunk.Headings[0] != "Bread" {
		t.Errorf("hybrid search: %q %v", ChunkIDs(fused), err)
	}
	check(t, s)
	// Removing the sources leaves three vectors to prune (the changed text's old one is gone).
	if _, err := s.RemoveSource(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PruneVectors(ctx); err != nil || p != 3 {
		t.Errorf("pruned %d, %v; want 3", p, err)
	}
	if p, err := s.PruneVectors(ctx); err != nil || p != 0 {
		t.Errorf("pruned %d again, %v", p, err)
	}
	if h, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, "black tea"), 3); err != nil || len(h) != 0 {
		t.Errorf("after removal: %q %v", ChunkIDs(h), err)
	}
	check(t, s)

	testVectorIndex(t, s)
}

// testVectorIndex checks SearchVectors through the IVF index (forced by a low threshold) against
// the exact scan on a generated corpus, and puts racing searches.
func testVectorIndex(t *testing.T, s interface {
	memory.VectorStore
	memory.Store
}) {
	ctx := context.Background()
	o, ok := s.(vectorOptioner)
	if !ok {
		t.Logf("%T cannot choose its vector search; the IVF path is not tested", s)
		return
	}
	dir := t.TempDir()
	WriteCorpus(t, dir, 40, 9)
	emb := &BagEmbedder{N: 32}
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{Embedder: emb}); err != nil {
		t.Fatal(err)
	}
	queries := []string{"ghost model memory", "통제를 보상 해킹", "tensor kernel graph vector", "serial3-1 heading"}
	search := func(opts vecindex.Options) [][]string {
		t.Helper()
		o.SetVectorOptions(opts)
		var out [][]string
		for _, q := range queries {
			hits, err := s.SearchVectors(ctx, emb.Name(), emb.one(t, q), 10)
			if err != nil || len(hits) != 10 {
				t.Fatalf("%+v: %q: %d hits, %v", opts, q, len(hits), err)
			}
			var ids []string
			for _, h := range hits {
				ids = append(ids, fmt.Sprintf("%d %.5f", h.Chunk.ID, h.Score))
			}
			out = append(out, ids)
		}
		return out
	}
	exact := search(vecindex.Options{Exact: true})
	if all := search(vecindex.Options{Threshold: 10, Lists: 8, NProbe: 8}); !slices.EqualFunc(all, exact, slices.Equal) {
		t.Errorf("IVF probing every list differs from the exact scan:\n%q\n%q", all, exact)
	}
	if def := search(vecindex.Options{}); !slices.EqualFunc(def, exact, slices.Equal) {
		t.Errorf("the default search of a small corpus is not the exact scan")
	}
	one := search(vecindex.Options{Threshold: 10, Lists: 8, NProbe: 1})
	if slices.EqualFunc(one, exact, slices.Equal) {
		t.Logf("IVF probing one list of eight found the exact answers (possible, not expected)")
	}

	// Puts race searches (run with -race): every search answers, and the store ends consistent.
	o.SetVectorOptions(vecindex.Options{Threshold: 10, Lists: 4, NProbe: 2})
	defer o.SetVectorOptions(vecindex.Options{})
	chunks, _, err := s.PendingVectors(ctx, "racer", 50)
	if err != nil || len(chunks) == 0 {
		t.Fatalf("pending for racer: %d %v", len(chunks), err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Go(func() {
		for i := range 20 {
			c := chunks[i%len(chunks)]
			v, _ := emb.Embed(ctx, []string{c.Text + fmt.Sprint(" round", i)})
			if err := s.PutVectors(ctx, "racer", 32, []memory.Vector{{Hash: c.Hash, Vec: v[0]}}); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 20 {
				q, _ := emb.Embed(ctx, []string{"ghost model"})
				if _, err := s.SearchVectors(ctx, "racer", q[0], 5); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if hits, err := s.SearchVectors(ctx, "racer", emb.one(t, "ghost model"), 5); err != nil || len(hits) == 0 {
		t.Errorf("after the race: %d hits, %v", len(hits), err)
	}
	check(t, s)
}

// VectorStoreHandle is a store with vectors, for TwoHandles.
type VectorStoreHandle interface {
	memory.Store
	memory.VectorStore
}

// TwoHandles checks that store b, which has cached an embedder's vectors, sees the vectors another
// handle a of the same store (another process, say) writes afterwards. It returns the embedder and
// its function from text to vector, for the caller's store-specific checks.
func TwoHandles(t *testing.T, a, b VectorStoreHandle) (*BagEmbedder, func(string) []float32) {
	t.Helper()
	ctx := context.Background()
	emb := &BagEmbedder{N: 32}
	src := memory.Source{Path: "/v/a.txt", Title: "a", Kind: "text", Hash: "h"}
	if err := a.Replace(ctx, src, []memory.Chunk{{Text: "apples and pears", Hash: "h1", StartLine: 1, EndLine: 1},
		{Text: "trains and rivers", Hash: "h2", StartLine: 2, EndLine: 2}}); err != nil {
		t.Fatal(err)
	}
	vec := func(text string) []float32 { v, _ := emb.Embed(ctx, []string{text}); return v[0] }
	if err := a.PutVectors(ctx, emb.Name(), 32, []memory.Vector{{Hash: "h1", Vec: vec("apples and pears")}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := b.SearchVectors(ctx, emb.Name(), vec("trains and rivers"), 5); err != nil || len(hits) != 1 {
		t.Fatalf("before: %d hits, %v", len(hits), err)
	}
	if err := a.PutVectors(ctx, emb.Name(), 32, []memory.Vector{{Hash: "h2", Vec: vec("trains and rivers")}}); err != nil {
		t.Fatal(err)
	}
	hits, err := b.SearchVectors(ctx, emb.Name(), vec("trains and rivers"), 5)
	if err != nil || len(hits) != 2 || hits[0].Chunk.Hash != "h2" {
		t.Fatalf("after the other handle's put: %d hits, %v", len(hits), err)
	}
	return emb, vec
}
