package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func chunkIDs(hits []memory.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, filepath.Base(h.Chunk.Source)+":"+strings.Join(h.Chunk.Headings, "/"))
	}
	return out
}

// TestStore runs the shared store-behaviour suite (internal/memory/memorytest) against the
// embedded store; the PostgreSQL store runs the same suite.
func TestStore(t *testing.T) {
	memorytest.Run(t, func(t *testing.T) memory.Store { return openTemp(t) })
}

// TestReopen checks that reopening a store applies no migration again and keeps its contents.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "memory.db")
	s, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	src := memory.Source{Path: "/r/a.txt", Title: "a", Kind: "text", Hash: "h"}
	if err := s.Replace(ctx, src, []memory.Chunk{{Text: "kept across a reopen", StartLine: 1, EndLine: 1}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, dbPath); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Version(ctx); err != nil || v != len(migrations) {
		t.Fatalf("version %d, %v", v, err)
	}
	if hits, err := s.LookupExact(ctx, "across a reopen", 5); err != nil || len(hits) != 1 {
		t.Fatalf("after reopening: %d hits, %v", len(hits), err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
