package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
)

// rawTokens splits a query at everything that is not a letter or digit, as unicode61 does.
func rawTokens(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

func orQuery(tokens []string) string {
	var quoted []string
	for _, t := range tokens {
		quoted = append(quoted, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
	}
	return strings.Join(quoted, " OR ")
}

// TestKoreanRetrieval compares tokenisations for Korean full-text search on the seed essays:
// FTS5's unicode61 and trigram tokenisers over the raw text against memory.Terms (stems with
// particles stripped plus character bigrams) ranked by this store's BM25, and requires the chosen
// one to be at least as good as the others and to reach recall@5 ≥ 0.8.
func TestKoreanRetrieval(t *testing.T) {
	ctx := context.Background()
	seeds := filepath.Join(sharedDir(t), "corpus", "seeds")
	s, err := Open(ctx, filepath.Join(t.TempDir(), "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := memory.Ingest(ctx, s, []string{seeds}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE VIRTUAL TABLE raw61 USING fts5(text, tokenize = 'unicode61')`,
		`INSERT INTO raw61 (rowid, text) SELECT id, text FROM chunks`,
		`CREATE VIRTUAL TABLE rawtri USING fts5(text, tokenize = 'trigram')`,
		`INSERT INTO rawtri (rowid, text) SELECT id, text FROM chunks`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ftsSearch := func(table string, tokens []string) ([]int64, error) {
		if len(tokens) == 0 {
			return nil, nil
		}
		return s.ids(ctx, `SELECT rowid FROM `+table+` WHERE `+table+` MATCH ? ORDER BY bm25(`+table+`) LIMIT 10`, orQuery(tokens))
	}
	systems := []struct {
		name   string
		search func(q string) ([]int64, error)
	}{
		{"unicode61 (raw text, fts5 bm25)", func(q string) ([]int64, error) { return ftsSearch("raw61", rawTokens(q)) }},
		{"trigram (raw text, fts5 bm25)", func(q string) ([]int64, error) {
			var long []string
			for _, tok := range rawTokens(q) {
				if len([]rune(tok)) >= 3 {
					long = append(long, tok)
				}
			}
			return ftsSearch("rawtri", long)
		}},
		{"memory.Terms (fts5 bm25)", func(q string) ([]int64, error) { return s.searchFTS5(ctx, q, 10) }},
		{"memory.Terms (SearchText bm25)", func(q string) ([]int64, error) {
			hits, err := s.SearchText(ctx, q, 10)
			ids := make([]int64, len(hits))
			for i, h := range hits {
				ids[i] = h.Chunk.ID
			}
			return ids, err
		}},
	}
	texts := map[int64]string{}
	rows, err := s.db.QueryContext(ctx, `SELECT id, text FROM chunks`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			t.Fatal(err)
		}
		texts[id] = text
	}
	rows.Close()
	recall := make([]float64, len(systems))
	for i, sys := range systems {
		var r5, mrr float64
		for _, kq := range memorytest.KoreanQueries {
			ids, err := sys.search(kq.Query)
			if err != nil {
				t.Fatalf("%s: %q: %v", sys.name, kq.Query, err)
			}
			rank := 0
			for j, id := range ids {
				if strings.Contains(texts[id], kq.Want) {
					rank = j + 1
					break
				}
			}
			if rank > 0 && rank <= 5 {
				r5++
			}
			if rank > 0 {
				mrr += 1 / float64(rank)
			}
			if testing.Verbose() && i == len(systems)-1 && (rank == 0 || rank > 5) {
				t.Logf("  missed: %q (rank %d)", kq.Query, rank)
			}
		}
		n := float64(len(memorytest.KoreanQueries))
		recall[i] = r5 / n
		t.Logf("%-32s recall@5 %.3f  MRR@10 %.3f", sys.name, r5/n, mrr/n)
	}
	// Every target passage found by SearchText must pass the relevance gate.
	for _, kq := range memorytest.KoreanQueries {
		hits, err := s.SearchText(ctx, kq.Query, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if strings.Contains(h.Chunk.Text, kq.Want) && h.Coverage < memory.DefaultMinCoverage {
				t.Errorf("%q: the right passage has coverage %.2f, below the gate %.2f", kq.Query, h.Coverage, memory.DefaultMinCoverage)
			}
		}
	}
	chosen := recall[len(recall)-1]
	for i, r := range recall[:len(recall)-1] {
		if r > chosen {
			t.Errorf("%s recalls more (%.3f) than the chosen analysis (%.3f)", systems[i].name, r, chosen)
		}
	}
	if chosen < 0.8 {
		t.Errorf("recall@5 = %.3f, want ≥ 0.8", chosen)
	}
}
