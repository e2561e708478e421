package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
)

// TestFactsAppendOnly checks that the schema itself refuses to change, delete or truncate remembered
// facts and their index rows, whatever SQL runs, and that facts survive reopening the store.
func TestFactsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s, schema := openSchema(t)
	f, err := s.Remember(ctx, memory.Fact{Text: "The archive key lives in vault 7.", Agent: "keeper", Source: "notes.md:4"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE facts SET text = 'The archive key lives in vault 9.' WHERE id = $1`,
		`UPDATE facts SET valid_until = now() WHERE id = $1`,
		`DELETE FROM facts WHERE id = $1`,
		`UPDATE fact_ngrams SET hash = 1 WHERE fact_id = $1`,
		`DELETE FROM fact_ngrams WHERE fact_id = $1`,
	} {
		_, err := s.pool.Exec(ctx, q, f.ID)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want a refusal", q, err)
		}
	}
	for _, q := range []string{`TRUNCATE facts CASCADE`, `TRUNCATE fact_ngrams`} {
		if _, err := s.pool.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want a refusal", q, err)
		}
	}

	s2, err := Open(ctx, testDSN(t), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Fact(ctx, f.ID)
	if err != nil || got.Text != f.Text || !got.RecordedAt.Equal(f.RecordedAt) || got.Agent != "keeper" {
		t.Fatalf("after reopening: %+v %v", got, err)
	}
	if hits, err := s2.LookupFacts(ctx, "vault 7", memory.FactFilter{}); err != nil || len(hits) != 1 {
		t.Fatalf("lookup after reopening: %v %v", hits, err)
	}
}
