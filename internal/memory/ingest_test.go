package memory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// mapStore is an in-memory Store for tests.
type mapStore struct {
	mu      sync.Mutex
	sources map[string]Source
	chunks  map[string][]Chunk
	batches int
}

func newMapStore() *mapStore {
	return &mapStore{sources: map[string]Source{}, chunks: map[string][]Chunk{}}
}

func (m *mapStore) Source(_ context.Context, path string) (Source, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sources[path]
	if !ok {
		return s, fmt.Errorf("source %s: %w", path, ErrNotFound)
	}
	return s, nil
}

func (m *mapStore) Replace(_ context.Context, src Source, chunks []Chunk) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sources[src.Path], m.chunks[src.Path] = src, chunks
	return nil
}

func (m *mapStore) ReplaceBatch(ctx context.Context, us []Update) error {
	m.batches++
	for _, u := range us {
		if err := m.Replace(ctx, u.Source, u.Chunks); err != nil {
			return err
		}
	}
	return nil
}

func (m *mapStore) RemoveSource(_ context.Context, path string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for p := range m.sources {
		if p == path || strings.HasPrefix(p, path+"/") {
			delete(m.sources, p)
			delete(m.chunks, p)
			n++
		}
	}
	return n, nil
}

func (m *mapStore) Close() error { return nil }

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIngest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.md"), []byte(sampleMarkdown))
	write(t, filepath.Join(dir, "sub", "b.txt"), []byte("plain text\n\nsecond paragraph\n"))
	write(t, filepath.Join(dir, "sub", "c.html"), []byte("<title>C</title><p>hello html</p>"))
	write(t, filepath.Join(dir, "bin.txt"), []byte("abc\x00def"))
	write(t, filepath.Join(dir, "empty.md"), []byte(" \n\n"))
	write(t, filepath.Join(dir, "latin1.txt"), []byte("caf\xe9"))
	write(t, filepath.Join(dir, "huge.txt"), []byte(strings.Repeat("big ", 1000)))
	write(t, filepath.Join(dir, "scripts.html"), []byte("<script>only()</script>"))
	write(t, filepath.Join(dir, "image.png"), []byte("\x89PNG"))
	write(t, filepath.Join(dir, ".hidden", "h.md"), []byte("# hidden"))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	store := newMapStore()
	var progress []Progress
	opts := Options{MaxFileBytes: 2000, Now: func() time.Time { return now }, Progress: func(p Progress) { progress = append(progress, p) }}
	rep, err := Ingest(ctx, store, []string{dir, filepath.Join(dir, "a.md")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 3 || rep.Updated != 0 || rep.Unchanged != 0 || rep.Chunks != 5 {
		t.Errorf("report %+v", rep)
	}
	reasons := map[string]string{}
	for _, s := range rep.Skipped {
		reasons[filepath.Base(s.Path)] = s.Reason
	}
	want := map[string]string{"bin.txt": "binary", "empty.md": "empty", "latin1.txt": "invalid UTF-8",
		"huge.txt": "too large: 4000 bytes, the limit is 2000", "scripts.html": "no text"}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Errorf("skipped %v, want %v", reasons, want)
	}
	if len(progress) != 8 || progress[7].Done != 8 || progress[7].Total != 8 {
		t.Errorf("progress %+v", progress)
	}
	a := store.sources[filepath.Join(dir, "a.md")]
	if a.Title != "Ghosts" || a.Kind != "markdown" || a.Meta["year"] != "2025" || a.Hash != hashString(sampleMarkdown) ||
		!a.IngestedAt.Equal(now) || a.Commit != "" {
		t.Errorf("source a.md = %+v", a)
	}
	c := store.chunks[filepath.Join(dir, "sub", "c.html")]
	if len(c) != 1 || c[0].Title != "C" || c[0].Text != "hello html" || c[0].Source != filepath.Join(dir, "sub", "c.html") {
		t.Errorf("c.html chunks %+v", c)
	}
	if b := store.sources[filepath.Join(dir, "sub", "b.txt")]; b.Title != "b" || b.Kind != "text" {
		t.Errorf("b.txt title %q kind %q", b.Title, b.Kind)
	}

	// Re-ingest: unchanged files are skipped; a changed one is replaced.
	write(t, filepath.Join(dir, "sub", "b.txt"), []byte("new text\n"))
	rep, err = Ingest(ctx, store, []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 0 || rep.Updated != 1 || rep.Unchanged != 2 {
		t.Errorf("second report %+v", rep)
	}
	if ch := store.chunks[filepath.Join(dir, "sub", "b.txt")]; len(ch) != 1 || ch[0].Text != "new text" {
		t.Errorf("b.txt after update: %+v", ch)
	}

	// A missing path is NotFound and ingests nothing.
	_, err = Ingest(ctx, newMapStore(), []string{filepath.Join(dir, "nope")}, opts)
	if fault.CodeOf(err) != fault.NotFound {
		t.Errorf("missing path: %v", err)
	}
	// A cancelled context stops the run.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Ingest(cctx, newMapStore(), []string{dir}, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestIngestBatches(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		write(t, filepath.Join(dir, fmt.Sprintf("f%d.md", i)), []byte(fmt.Sprintf("# F%d\n\nbody %d\n", i, i)))
	}
	store := newMapStore()
	rep, err := Ingest(context.Background(), store, []string{dir}, Options{BatchChunks: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 10 || store.batches != 4 {
		t.Errorf("added %d in %d batches, want 10 in 4", rep.Added, store.batches)
	}
}

func TestIngestGitCommit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "notes.md"), []byte("# Notes\n\ncommitted text\n"))
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	for _, args := range [][]string{{"init", "-q"}, {"add", "notes.md"}, {"commit", "-q", "-m", "notes"}} {
		cmd := exec.Command(git, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(git, "rev-parse", "HEAD")
	cmd.Dir, cmd.Env = dir, env
	head, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	store := newMapStore()
	if _, err := Ingest(context.Background(), store, []string{dir}, Options{Git: git}); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for p := range store.sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if len(paths) != 1 {
		t.Fatalf("sources %v", paths)
	}
	src := store.sources[paths[0]]
	if src.Commit != strings.TrimSpace(string(head)) || store.chunks[paths[0]][0].Commit != src.Commit {
		t.Errorf("commit %q, want %q", src.Commit, head)
	}
}
