package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
)

// TestFactsAppendOnly checks that the schema itself refuses to change or delete a remembered fact or
// its index rows, whatever SQL runs, and that facts survive reopening the store.
func TestFactsAppendOnly(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "memory.db")
	s, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Remember(ctx, memory.Fact{Text: "The archive key lives in vault 7.", Agent: "keeper", Source: "notes.md:4"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE facts SET text = 'The archive key lives in vault 9.' WHERE id = ?`,
		`UPDATE facts SET valid_until = '2000-01-01T00:00:00.000000Z' WHERE id = ?`,
		`DELETE FROM facts WHERE id = ?`,
		`UPDATE fact_ngrams SET hash = 1 WHERE fact_id = ?`,
		`DELETE FROM fact_ngrams WHERE fact_id = ?`,
	} {
		_, err := s.db.ExecContext(ctx, q, f.ID)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want a refusal", q, err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM facts`); err == nil {
		t.Error("deleting every fact was allowed")
	}
	s.Close()

	s, err = Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Fact(ctx, f.ID)
	if err != nil || got.Text != f.Text || !got.RecordedAt.Equal(f.RecordedAt) || got.Agent != "keeper" {
		t.Fatalf("after reopening: %+v %v", got, err)
	}
	if hits, err := s.LookupFacts(ctx, "vault 7", memory.FactFilter{}); err != nil || len(hits) != 1 {
		t.Fatalf("lookup after reopening: %v %v", hits, err)
	}
}
