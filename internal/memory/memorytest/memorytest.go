// Package memorytest is the behaviour test suite every memory.Store implementation must pass, and
// the evaluation helpers (SciFact, the Korean query set) the stores' tests share. The embedded
// (memory/sqlite) and PostgreSQL (memory/postgres) stores both run Run; only tests import it.
package memorytest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/testenv"
)

// Checker is a store that can verify its own consistency (both stores can); Run calls Check after
// every change when the store has it.
type Checker interface {
	Check(ctx context.Context) error
}

// full is the set of capabilities the suite exercises.
type full interface {
	memory.Store
	memory.ExactSearcher
	memory.TextSearcher
	memory.Lister
	memory.Statter
}

// Run runs the store-behaviour suite against the stores open returns: each subtest opens its own
// empty store (and may run in parallel with the others), so open must give a fresh, isolated store
// every time, closed by the test's cleanup. The store must implement ExactSearcher, TextSearcher,
// Lister and Statter; a store that lacks one fails the suite.
func Run(t *testing.T, open func(t *testing.T) memory.Store) {
	get := func(t *testing.T) full {
		t.Helper()
		s := open(t)
		f, ok := s.(full)
		if !ok {
			t.Fatalf("%T lacks a capability the suite needs (ExactSearcher, TextSearcher, Lister, Statter)", s)
		}
		return f
	}
	t.Run("Store", func(t *testing.T) { t.Parallel(); testStore(t, get(t)) })
	t.Run("Gate", func(t *testing.T) { t.Parallel(); testGate(t, get(t)) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, get(t)) })
	t.Run("Atomic", func(t *testing.T) { t.Parallel(); testAtomic(t, get(t)) })
	t.Run("Korean", func(t *testing.T) { t.Parallel(); testKorean(t, get(t)) })
	t.Run("Vectors", func(t *testing.T) { t.Parallel(); testVectors(t, open(t)) })
	runGraph(t, get)
	t.Run("Facts", func(t *testing.T) { t.Parallel(); testFacts(t, get(t)) })
}

func check(t *testing.T, s memory.Store) {
	t.Helper()
	if c, ok := s.(Checker); ok {
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteFile writes text to path, creating its folder.
func WriteFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ChunkIDs names hits as "file:heading/path", for comparisons.
func ChunkIDs(hits []memory.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, filepath.Base(h.Chunk.Source)+":"+strings.Join(h.Chunk.Headings, "/"))
	}
	return out
}

func testStore(t *testing.T, s full) {
	ctx := context.Background()
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "notes", "ghosts.md"), "---\ntitle: Ghosts\nauthor: K\n---\n# Ghosts\n\n"+
		"We are summoning ghosts, not building animals.\n\n## Numbers\n\nThe brain has 100T synapses; order 0x7f3a-B.\n")
	WriteFile(t, filepath.Join(dir, "notes", "ko.txt"), "## 통제\n\n우리는 통제를 잃어가고 있습니다. 보상 해킹이 문제입니다.\n")
	WriteFile(t, filepath.Join(dir, "other.html"), "<h1>Other</h1><p>Animals learn by reward, ghosts by imitation.</p>")
	rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{})
	if err != nil || rep.Added != 3 {
		t.Fatalf("ingest: %+v %v", rep, err)
	}
	check(t, s)
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
		if got := ChunkIDs(hits); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LookupExact(%q) = %q, want %q", tt.phrase, got, tt.want)
		}
	}
	hits, err := s.SearchText(ctx, "animals and ghosts", 10)
	if err != nil || len(hits) != 2 || hits[0].Coverage != 1 || hits[0].Chunk.StartLine == 0 {
		t.Fatalf("SearchText: %+v %v", hits, err)
	}
	// Provenance survives the store.
	c := hits[0].Chunk
	if c.ID == 0 || c.Source == "" || c.Title == "" || c.Hash == "" || c.IngestedAt.IsZero() || c.EndLine < c.StartLine {
		t.Errorf("hit without provenance: %+v", c)
	}
	hits, err = s.SearchText(ctx, "통제가 문제", 10)
	if err != nil || len(hits) != 1 || filepath.Base(hits[0].Chunk.Source) != "ko.txt" {
		t.Fatalf("Korean SearchText: %q %v", ChunkIDs(hits), err)
	}
	if hits, err := s.SearchText(ctx, "zebra", 10); err != nil || len(hits) != 0 {
		t.Errorf("SearchText of an absent word: %q %v", ChunkIDs(hits), err)
	}

	// A changed file replaces its chunks everywhere.
	WriteFile(t, filepath.Join(dir, "other.html"), "<h1>Other</h1><p>Entirely different words now.</p>")
	if rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil || rep.Updated != 1 || rep.Unchanged != 2 {
		t.Fatalf("re-ingest: %+v %v", rep, err)
	}
	if hits, _ := s.LookupExact(ctx, "ghosts by imitation", 10); len(hits) != 0 {
		t.Errorf("old text still found: %q", ChunkIDs(hits))
	}
	if hits, _ := s.SearchText(ctx, "imitation", 10); len(hits) != 0 {
		t.Errorf("old text still found by SearchText: %q", ChunkIDs(hits))
	}
	if hits, _ := s.SearchText(ctx, "entirely different", 10); len(hits) != 1 {
		t.Errorf("new text not found: %q", ChunkIDs(hits))
	}
	check(t, s)
	srcs, err := s.Sources(ctx)
	if err != nil || len(srcs) != 3 {
		t.Fatalf("sources %v %v", srcs, err)
	}
	for i := 1; i < len(srcs); i++ {
		if srcs[i-1].Path >= srcs[i].Path {
			t.Errorf("sources not ordered by path: %q before %q", srcs[i-1].Path, srcs[i].Path)
		}
	}

	// Removing a folder removes the sources under it, not a sibling with the same prefix.
	WriteFile(t, filepath.Join(dir, "notes2.md"), "# sibling\n\ntext")
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
	if hits, _ := s.LookupExact(ctx, "summoning ghosts", 10); len(hits) != 0 {
		t.Errorf("removed source still found: %q", ChunkIDs(hits))
	}
	check(t, s)

	// Text the stores might find awkward round-trips: a NUL past the binary sniff, long "words".
	long := strings.Repeat("x", 3000)
	odd := memory.Source{Path: filepath.Join(dir, "odd.txt"), Title: "odd", Kind: "text", Hash: "h", IngestedAt: time.Now()}
	if err := s.Replace(ctx, odd, []memory.Chunk{{Text: "zeta " + long + " omega", StartLine: 1, EndLine: 1}}); err != nil {
		t.Fatalf("Replace with a 3000-byte word: %v", err)
	}
	if hits, err := s.SearchText(ctx, long, 5); err != nil || len(hits) != 1 {
		t.Errorf("SearchText of a 3000-byte word: %d hits, %v", len(hits), err)
	}
	if hits, err := s.LookupExact(ctx, "zeta "+long, 5); err != nil || len(hits) != 1 {
		t.Errorf("LookupExact with a 3000-byte word: %d hits, %v", len(hits), err)
	}
	if err := s.Replace(ctx, odd, []memory.Chunk{{Text: "before\x00after", StartLine: 1, EndLine: 1}}); err != nil {
		t.Fatalf("Replace with a NUL: %v", err)
	}
	if hits, err := s.LookupExact(ctx, "before", 5); err != nil || len(hits) != 1 {
		t.Errorf("text with a NUL: %d hits, %v", len(hits), err)
	}
	check(t, s)
}

// testGate checks the fused search on the Korean seeds: a question about the essays finds the
// passage, and questions about things the essays never mention return nothing.
func testGate(t *testing.T, s full) {
	ctx := context.Background()
	if _, err := memory.Ingest(ctx, s, []string{testenv.Shared(t, "corpus", "seeds")}, memory.Options{}); err != nil {
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
			t.Errorf("Search(%q): top hit does not contain %q: %q", tt.query, tt.want, ChunkIDs(hits))
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
			t.Errorf("Search(%q) passed the gate: %q (coverage %.2f)", q, ChunkIDs(hits), hits[0].Coverage)
		}
	}
}

// testConcurrent reads while batches are written, under the race detector.
func testConcurrent(t *testing.T, s full) {
	ctx := context.Background()
	dir := t.TempDir()
	WriteCorpus(t, dir, 60, 5)
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
	check(t, s)
	if st, err := s.Stats(ctx); err != nil || st.Sources != 60 {
		t.Fatalf("after the concurrent ingest: %+v %v", st, err)
	}
}

// testAtomic replaces one source over and over between two versions of 8 chunks while readers look
// up a phrase every chunk of both versions contains: a reader must never see chunks of both versions
// at once, and the store ends consistent.
func testAtomic(t *testing.T, s full) {
	ctx := context.Background()
	version := func(v string) []memory.Chunk {
		var cs []memory.Chunk
		for i := range 8 {
			cs = append(cs, memory.Chunk{Text: fmt.Sprintf("shared marker phrase %s part%d", v, i), StartLine: i + 1, EndLine: i + 1})
		}
		return cs
	}
	src := memory.Source{Path: "/atomic/doc.txt", Title: "doc", Kind: "text", IngestedAt: time.Now()}
	replaceWhileReading(t, s, src, [2]string{"alpha", "beta"}, version, 30, func() error {
		for _, search := range []func() ([]memory.Hit, error){
			func() ([]memory.Hit, error) { return s.LookupExact(ctx, "shared marker phrase", 20) },
			func() ([]memory.Hit, error) { return s.SearchText(ctx, "shared marker phrase", 20) },
		} {
			hits, err := search()
			if err != nil {
				return err
			}
			seen := map[bool]int{}
			for _, h := range hits {
				seen[strings.Contains(h.Chunk.Text, "alpha")]++
			}
			if len(seen) > 1 {
				return fmt.Errorf("a reader saw both versions at once: %d alpha, %d beta chunks", seen[true], seen[false])
			}
		}
		return nil
	})
	hits, err := s.LookupExact(ctx, "shared marker phrase", 20)
	if err != nil || len(hits) != 8 || !strings.Contains(hits[0].Chunk.Text, "beta") {
		t.Fatalf("after the replacements: %d hits, %v", len(hits), err)
	}
	check(t, s)
}

// replaceWhileReading replaces src rounds times, alternating the chunks of the two versions, while
// two readers call read until the writer is done; the first error of either side fails the test.
func replaceWhileReading(t *testing.T, s memory.Store, src memory.Source, versions [2]string,
	chunks func(version string) []memory.Chunk, rounds int, read func() error) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range rounds {
			v := versions[i%2]
			src.Hash = v
			if err := s.Replace(ctx, src, chunks(v)); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := read(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// WriteCorpus generates n Markdown files of a few paragraphs of pseudo-random words (English and
// Korean) under dir, in ten sub-folders; paragraph p of file i ends with the marker "serial<i>-<p>".
func WriteCorpus(t testing.TB, dir string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	vocab := strings.Fields("memory ghost model token chunk engram search index store kernel tensor " +
		"graph vector source commit heading paragraph 통제를 보상 해킹 모델이 데이터를 학습 유령을 소환 오토마타 탈로스")
	for i := range n {
		var b strings.Builder
		fmt.Fprintf(&b, "---\ntitle: doc %d\n---\n# Document %d\n\n", i, i)
		for p := range 2 + rng.IntN(4) {
			if p == 2 {
				fmt.Fprintf(&b, "## Section %d\n\n", p)
			}
			for range 30 + rng.IntN(80) {
				b.WriteString(vocab[rng.IntN(len(vocab))])
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "serial%d-%d.\n\n", i, p)
		}
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%10))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.md", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
