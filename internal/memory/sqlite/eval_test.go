package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
	"github.com/seance-dev/seance/internal/testenv"
)

// sharedDir returns the shared test-data folder (see internal/testenv).
func sharedDir(t testing.TB) string { return testenv.Shared(t) }

// TestSciFact ingests the SciFact corpus and checks BM25's nDCG@10 on the training claims against
// the bar (0.83), comparing with FTS5's built-in bm25().
func TestSciFact(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 5183 documents")
	}
	ctx := context.Background()
	docs := t.TempDir()
	sf := memorytest.LoadSciFactInto(t, docs)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	// One chunk per abstract, as the reference BM25 scores whole documents.
	rep, err := memory.Ingest(ctx, s, []string{docs}, memory.Options{ChunkRunes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("ingested %d documents (%d chunks) in %v: %.0f docs/s", rep.Added, rep.Chunks, took, float64(rep.Added)/took.Seconds())
	type system struct {
		name   string
		search func(q string) ([]string, error)
	}
	systems := []system{
		{"bm25 k1=0.9 b=0.4 (SearchText)", func(q string) ([]string, error) {
			hits, err := s.SearchText(ctx, q, 100)
			ids := make([]string, len(hits))
			for i, h := range hits {
				ids[i] = memorytest.DocOf(h.Chunk.Source)
			}
			return ids, err
		}},
		{"fts5 bm25() k1=1.2 b=0.75", func(q string) ([]string, error) {
			cids, err := s.searchFTS5(ctx, q, 100)
			if err != nil {
				return nil, err
			}
			cs, err := s.chunks(ctx, cids)
			ids := make([]string, len(cs))
			for i, c := range cs {
				ids[i] = memorytest.DocOf(c.Source)
			}
			return ids, err
		}},
	}
	// The relevance gate: how much of the BM25 ranking survives it, at the default and around it.
	gate := func(min float64) system {
		return system{fmt.Sprintf("bm25 behind a gate of coverage ≥ %.2f", min), func(q string) ([]string, error) {
			hits, err := s.SearchText(ctx, q, 100)
			var ids []string
			for _, h := range hits {
				if h.Coverage >= min {
					ids = append(ids, memorytest.DocOf(h.Chunk.Source))
				}
			}
			return ids, err
		}}
	}
	for _, g := range []float64{0.1, 0.2, 0.3} {
		systems = append(systems, gate(g))
	}
	systems = append(systems, gate(memory.DefaultMinCoverage))
	var first, gated float64
	for i, sys := range systems {
		var ndcg, recall float64
		var lat []time.Duration
		n := 0
		for qid, rel := range sf.Qrels {
			q := sf.Queries[qid]
			t0 := time.Now()
			ids, err := sys.search(q)
			lat = append(lat, time.Since(t0))
			if err != nil {
				t.Fatal(err)
			}
			ndcg += memorytest.NDCG(ids, rel, 10)
			recall += memorytest.Recall(ids, rel, 100)
			n++
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		ndcg, recall = ndcg/float64(n), recall/float64(n)
		t.Logf("%s: %d claims, nDCG@10 %.3f, recall@100 %.3f, latency p50 %v p99 %v", sys.name, n, ndcg, recall,
			lat[len(lat)/2], lat[len(lat)*99/100])
		switch i {
		case 0:
			first = ndcg
		case len(systems) - 1:
			gated = ndcg
		}
	}
	if first < 0.83 {
		t.Errorf("BM25 nDCG@10 = %.3f, below the bar 0.83", first)
	}
	if gated < first-0.01 {
		t.Errorf("the relevance gate costs too much: nDCG@10 %.3f behind it, %.3f without", gated, first)
	}
}
