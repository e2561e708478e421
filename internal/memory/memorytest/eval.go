package memorytest

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

// NDCG returns nDCG@k of a ranking of document ids against the relevant set (binary relevance).
func NDCG(ranked []string, rel map[string]bool, k int) float64 {
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

// Recall returns recall@k of a ranking against the relevant set.
func Recall(ranked []string, rel map[string]bool, k int) float64 {
	found := 0
	for _, id := range ranked[:min(k, len(ranked))] {
		if rel[id] {
			found++
		}
	}
	return float64(found) / float64(len(rel))
}

// SciFact holds the SciFact training claims and their evidence documents.
type SciFact struct {
	// Dir holds one Markdown file per corpus document, named <id>.md.
	Dir string
	// Docs are the corpus's document ids in file order.
	Docs    []string
	Queries map[string]string
	Qrels   map[string]map[string]bool
}

// LoadSciFact writes every document of ../shared/evals/scifact as a Markdown file ("# title", then
// the abstract) under a temporary folder and reads the training claims and judgements.
func LoadSciFact(t testing.TB) SciFact {
	t.Helper()
	return LoadSciFactInto(t, t.TempDir())
}

// LoadSciFactInto is LoadSciFact writing the documents under dir.
func LoadSciFactInto(t testing.TB, dir string) SciFact {
	t.Helper()
	root := testenv.Shared(t, "evals", "scifact")
	sf := SciFact{Dir: dir, Queries: map[string]string{}, Qrels: map[string]map[string]bool{}}
	f, err := os.Open(filepath.Join(root, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var d struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sf.Dir, d.ID+".md"), []byte("# "+d.Title+"\n\n"+d.Text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		sf.Docs = append(sf.Docs, d.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
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
		sf.Queries[q.ID] = q.Text
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
		if sf.Qrels[f[0]] == nil {
			sf.Qrels[f[0]] = map[string]bool{}
		}
		sf.Qrels[f[0]][f[1]] = true
	}
	return sf
}

// DocOf maps a chunk's source path back to its SciFact document id.
func DocOf(path string) string { return strings.TrimSuffix(filepath.Base(path), ".md") }

// System is a named ranking function over SciFact claims: document ids, best first.
type System struct {
	Name   string
	Search func(q string) ([]string, error)
}

// Result is one system's figures over the training claims.
type Result struct {
	NDCG10, Recall100 float64
	P50, P99          time.Duration
}

// Evaluate runs sys over every judged claim and logs and returns its nDCG@10, recall@100 and
// latency percentiles.
func (sf SciFact) Evaluate(t testing.TB, sys System) Result {
	t.Helper()
	var r Result
	var lat []time.Duration
	n := 0
	for qid, rel := range sf.Qrels {
		t0 := time.Now()
		ids, err := sys.Search(sf.Queries[qid])
		lat = append(lat, time.Since(t0))
		if err != nil {
			t.Fatalf("%s: %v", sys.Name, err)
		}
		r.NDCG10 += NDCG(ids, rel, 10)
		r.Recall100 += Recall(ids, rel, 100)
		n++
	}
	if n == 0 {
		t.Fatal("SciFact: no judged claims")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.NDCG10, r.Recall100 = r.NDCG10/float64(n), r.Recall100/float64(n)
	r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("%s: %d claims, nDCG@10 %.3f, recall@100 %.3f, latency p50 %v p99 %v", sys.Name, n, r.NDCG10, r.Recall100, r.P50, r.P99)
	return r
}

// TextSystem ranks by s.SearchText, keeping hits whose coverage is at least minCoverage.
func TextSystem(s memory.TextSearcher, minCoverage float64) System {
	name := "bm25 k1=0.9 b=0.4 (SearchText)"
	if minCoverage > 0 {
		name = fmt.Sprintf("bm25 behind a gate of coverage ≥ %.2f", minCoverage)
	}
	return System{name, func(q string) ([]string, error) {
		hits, err := s.SearchText(context.Background(), q, 100)
		var ids []string
		for _, h := range hits {
			if h.Coverage >= minCoverage {
				ids = append(ids, DocOf(h.Chunk.Source))
			}
		}
		return ids, err
	}}
}

// RunSciFact ingests SciFact into s (one chunk per abstract, as the reference BM25 scores whole
// documents), logs the ingest rate, evaluates SearchText with and without the default relevance
// gate and then the extra systems, and checks the bar (BM25 nDCG@10 ≥ 0.83) and that the gate
// costs at most 0.01. It returns the ungated BM25 result.
func RunSciFact(t *testing.T, s memory.Store, extra ...func(SciFact) System) Result {
	ts, ok := s.(memory.TextSearcher)
	if !ok {
		t.Fatalf("%T is not a TextSearcher", s)
	}
	sf := LoadSciFact(t)
	start := time.Now()
	rep, err := memory.Ingest(context.Background(), s, []string{sf.Dir}, memory.Options{ChunkRunes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("ingested %d documents (%d chunks) in %v: %.0f docs/s", rep.Added, rep.Chunks, took.Round(time.Millisecond), float64(rep.Added)/took.Seconds())
	bm25 := sf.Evaluate(t, TextSystem(ts, 0))
	gated := sf.Evaluate(t, TextSystem(ts, memory.DefaultMinCoverage))
	for _, e := range extra {
		sf.Evaluate(t, e(sf))
	}
	if bm25.NDCG10 < 0.83 {
		t.Errorf("BM25 nDCG@10 = %.3f, below the bar 0.83", bm25.NDCG10)
	}
	if gated.NDCG10 < bm25.NDCG10-0.01 {
		t.Errorf("the relevance gate costs too much: nDCG@10 %.3f behind it, %.3f without", gated.NDCG10, bm25.NDCG10)
	}
	return bm25
}
