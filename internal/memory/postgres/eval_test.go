package postgres

import (
	"context"
	"testing"

	"github.com/seance-dev/seance/internal/memory/memorytest"
)

// TestSciFact measures BM25 on SciFact's training claims against the bar (nDCG@10 ≥ 0.83),
// as the embedded store's TestSciFact does, and compares PostgreSQL's own ts_rank over the GIN index.
func TestSciFact(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 5183 documents")
	}
	s, _ := openSchema(t)
	ctx := context.Background()
	memorytest.RunSciFact(t, s, func(memorytest.SciFact) memorytest.System {
		return memorytest.System{Name: "ts_rank over tsvector/GIN", Search: func(q string) ([]string, error) {
			ids, err := s.searchTSRank(ctx, q, 100)
			if err != nil {
				return nil, err
			}
			cs, err := readChunks(ctx, s.pool, ids)
			out := make([]string, len(cs))
			for i, c := range cs {
				out[i] = memorytest.DocOf(c.Source)
			}
			return out, err
		}}
	})
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
