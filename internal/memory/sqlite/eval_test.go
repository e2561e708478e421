package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/testenv"
)

// sharedDir returns the shared test-data folder (see internal/testenv).
func sharedDir(t testing.TB) string { return testenv.Shared(t) }

// ranking metrics over one query: ranked document ids and the relevant set.
func ndcgAt(ranked []string, rel map[string]bool, k int) float64 {
	dcg := 0.0
	for i, id := range ranked[:min(k, len(ranked))] {
		if rel[id] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	idcg := 0.0
	for i := 0; i < min(k, len(rel)); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

func recallAt(ranked []string, rel map[string]bool, k int) float64 {
	found := 0
	for _, id := range ranked[:min(k, len(ranked))] {
		if rel[id] {
			found++
		}
	}
	return float64(found) / float64(len(rel))
}

// scifact holds the SciFact training claims and their evidence documents.
type scifact struct {
	// docs are the corpus's document ids in file order.
	docs    []string
	queries map[string]string
	qrels   map[string]map[string]bool
}

// loadSciFact writes every corpus document as a Markdown file ("# title", then the abstract) under
// dir and reads the training claims and judgements.
func loadSciFact(t testing.TB, dir string) scifact {
	root := filepath.Join(sharedDir(t), "evals", "scifact")
	f, err := os.Open(filepath.Join(root, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var docs []string
	for sc.Scan() {
		var d struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d.ID+".md"), []byte("# "+d.Title+"\n\n"+d.Text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sf := scifact{docs: docs, queries: map[string]string{}, qrels: map[string]map[string]bool{}}
	qb, err := os.ReadFile(filepath.Join(root, "train-queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(qb)), "\n") {
		var q struct {
			ID   string `json:"_id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			t.Fatal(err)
		}
		sf.queries[q.ID] = q.Text
	}
	rb, err := os.ReadFile(filepath.Join(root, "train-qrels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(rb)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 3 || f[2] == "0" {
			continue
		}
		if sf.qrels[f[0]] == nil {
			sf.qrels[f[0]] = map[string]bool{}
		}
		sf.qrels[f[0]][f[1]] = true
	}
	return sf
}

// docOf maps a chunk's source path back to its SciFact document id.
func docOf(path string) string { return strings.TrimSuffix(filepath.Base(path), ".md") }

// TestSciFact ingests the SciFact corpus and checks BM25's nDCG@10 on the training claims against
// the bar (0.83), comparing with FTS5's built-in bm25().
func TestSciFact(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 5183 documents")
	}
	ctx := context.Background()
	docs := t.TempDir()
	sf := loadSciFact(t, docs)
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
				ids[i] = docOf(h.Chunk.Source)
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
				ids[i] = docOf(c.Source)
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
					ids = append(ids, docOf(h.Chunk.Source))
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
		for qid, rel := range sf.qrels {
			q := sf.queries[qid]
			t0 := time.Now()
			ids, err := sys.search(q)
			lat = append(lat, time.Since(t0))
			if err != nil {
				t.Fatal(err)
			}
			ndcg += ndcgAt(ids, rel, 10)
			recall += recallAt(ids, rel, 100)
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
