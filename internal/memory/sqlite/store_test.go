package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
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

func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(t.TempDir(), "memory.db")
	s, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "notes", "ghosts.md"), "---\ntitle: Ghosts\nauthor: K\n---\n# Ghosts\n\n"+
		"We are summoning ghosts, not building animals.\n\n## Numbers\n\nThe brain has 100T synapses; order 0x7f3a-B.\n")
	writeFile(t, filepath.Join(dir, "notes", "ko.txt"), "## 통제\n\n우리는 통제를 잃어가고 있습니다. 보상 해킹이 문제입니다.\n")
	writeFile(t, filepath.Join(dir, "other.html"), "<h1>Other</h1><p>Animals learn by reward, ghosts by imitation.</p>")
	rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{})
	if err != nil || rep.Added != 3 {
		t.Fatalf("ingest: %+v %v", rep, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// Reopening applies no migration again.
	s.Close()
	if s, err = Open(ctx, dbPath); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Version(ctx); err != nil || v != len(migrations) {
		t.Fatalf("version %d, %v", v, err)
	}
	src, err := s.Source(ctx, filepath.Join(dir, "notes", "ghosts.md"))
	if err != nil || src.Title != "Ghosts" || src.Meta["author"] != "K" || src.Kind != "markdown" || src.IngestedAt.IsZero() {
		t.Fatalf("source %+v %v", src, err)
	}
	if _, err := s.Source(ctx, "/nope"); !errors.Is(err, memory.ErrNotFound) {
		t.Errorf("missing source: %v", err)
	}

	for _, tt := range []struct {
		phrase string
		want   []string
	}{
		{"summoning ghosts", []string{"ghosts.md:Ghosts"}},
		{"100T", []string{"ghosts.md:Ghosts/Numbers"}},
		{"0x7F3A-b", []string{"ghosts.md:Ghosts/Numbers"}},
		{"we are summoning ghosts, not building", []string{"ghosts.md:Ghosts"}},
		{"보상 해킹이", []string{"ko.txt:통제"}},
		{"ghosts", []string{"ghosts.md:Ghosts", "other.html:Other"}},
		{"ghosts summoning", nil},
		{"summoning ghosts not building plants", nil},
		{"ghosts not building animals we are", nil}, // every 4-gram exists only if in order
		{"", nil},
	} {
		hits, err := s.LookupExact(ctx, tt.phrase, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := chunkIDs(hits); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LookupExact(%q) = %q, want %q", tt.phrase, got, tt.want)
		}
	}
	hits, err := s.SearchText(ctx, "animals and ghosts", 10)
	if err != nil || len(hits) != 2 || hits[0].Coverage != 1 || hits[0].Chunk.StartLine == 0 {
		t.Fatalf("SearchText: %+v %v", hits, err)
	}
	hits, err = s.SearchText(ctx, "통제가 문제", 10)
	if err != nil || len(hits) != 1 || filepath.Base(hits[0].Chunk.Source) != "ko.txt" {
		t.Fatalf("Korean SearchText: %q %v", chunkIDs(hits), err)
	}

	// A changed file replaces its chunks everywhere.
	writeFile(t, filepath.Join(dir, "other.html"), "<h1>Other</h1><p>Entirely different words now.</p>")
	if rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil || rep.Updated != 1 || rep.Unchanged != 2 {
		t.Fatalf("re-ingest: %+v %v", rep, err)
	}
	if hits, _ := s.LookupExact(ctx, "ghosts by imitation", 10); len(hits) != 0 {
		t.Errorf("old text still found: %q", chunkIDs(hits))
	}
	if hits, _ := s.SearchText(ctx, "entirely different", 10); len(hits) != 1 {
		t.Errorf("new text not found: %q", chunkIDs(hits))
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	srcs, err := s.Sources(ctx)
	if err != nil || len(srcs) != 3 {
		t.Fatalf("sources %v %v", srcs, err)
	}

	// Removing a folder removes the sources under it, not a sibling with the same prefix.
	writeFile(t, filepath.Join(dir, "notes2.md"), "# sibling\n\ntext")
	if _, err := memory.Ingest(ctx, s, []string{filepath.Join(dir, "notes2.md")}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RemoveSource(ctx, filepath.Join(dir, "notes")); err != nil || n != 2 {
		t.Fatalf("RemoveSource: %d %v", n, err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Sources != 2 || st.Chunks != 2 || st.NGrams == 0 || st.Terms == 0 || st.Bytes == 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if n, err := s.RemoveSource(ctx, filepath.Join(dir, "notes")); err != nil || n != 0 {
		t.Fatalf("second RemoveSource: %d %v", n, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSearchGate checks the fused search on the Korean seeds: a question about the essays finds the
// passage, and questions about things the essays never mention return nothing.
func TestSearchGate(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := memory.Ingest(ctx, s, []string{filepath.Join(sharedDir(t), "corpus", "seeds")}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ query, want string }{
		{"파이썬으로 파일을 지워버리는 보상 해킹", "파이썬 코드를 짜서"},
		{`"Ghost Coin"`, "Ghost Coin(GHOST)"},
		{"GPQA Diamond", "GPQA Diamond Benchmark"},
	} {
		hits, err := memory.Search(ctx, s, tt.query, memory.SearchOptions{K: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || !strings.Contains(hits[0].Chunk.Text, tt.want) {
			t.Errorf("Search(%q): top hit does not contain %q: %q", tt.query, tt.want, chunkIDs(hits))
		}
	}
	for _, q := range []string{
		"quantum chromodynamics lattice gauge theory",
		"바나나 우유 레시피와 설탕",
		"the recipe for lemon cake",
		// Unrelated, but sharing a common word with the essays.
		"패션 모델의 런웨이 워킹 연습 방법",
		"축구 경기에서 오프사이드 규칙의 역사",
		"the history of the Roman empire and its model emperors",
	} {
		hits, err := memory.Search(ctx, s, q, memory.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if raw, _ := s.SearchText(ctx, q, 1); len(raw) > 0 {
			t.Logf("%q: best coverage %.2f", q, raw[0].Coverage)
		}
		if len(hits) != 0 {
			t.Errorf("Search(%q) passed the gate: %q (coverage %.2f)", q, chunkIDs(hits), hits[0].Coverage)
		}
	}
}

// TestConcurrentSearch reads while a batch is written, under the race detector.
func TestConcurrentSearch(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	dir := t.TempDir()
	writeCorpus(t, dir, 60, 5)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{BatchChunks: 10})
		errs <- err
	}()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := memory.Search(ctx, s, "ghost model 통제를", memory.SearchOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
