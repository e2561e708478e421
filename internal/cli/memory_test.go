package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemoryCommands(t *testing.T) {
	r := &runner{t: t, user: t.TempDir()}
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "ghosts.md"), []byte("# Ghosts\n\nWe are summoning ghosts, not building animals.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "blob.txt"), []byte("a\x00b"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := r.run("", "memory", "add", docs, "--json")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errs)
	}
	var rep struct {
		Added   int `json:"added"`
		Skipped []struct {
			Path, Reason string
		} `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Added != 1 || len(rep.Skipped) != 1 || rep.Skipped[0].Reason != "binary" {
		t.Fatalf("add report %s (%v)", out, err)
	}
	if !strings.Contains(errs, "skipped "+filepath.Join(docs, "blob.txt")+": binary") {
		t.Errorf("progress on stderr: %q", errs)
	}
	if _, err := os.Stat(filepath.Join(r.user, ".seance", "memory.db")); err != nil {
		t.Errorf("store not in the seance home: %v", err)
	}
	code, out, errs = r.run("", "memory", "add", docs)
	if code != 0 || !strings.Contains(out, "0 added, 0 updated, 1 unchanged, 1 skipped") {
		t.Errorf("second add: exit %d: %s %s", code, out, errs)
	}
	code, out, errs = r.run("", "memory", "search", "-k", "3", "--json", "summoning", "ghosts")
	var hits []struct {
		Source    string   `json:"source"`
		Headings  []string `json:"headings"`
		StartLine int      `json:"start_line"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &hits) != nil || len(hits) != 1 || hits[0].Source != filepath.Join(docs, "ghosts.md") ||
		hits[0].StartLine != 1 || len(hits[0].Headings) != 1 {
		t.Fatalf("search: exit %d: %s %s", code, out, errs)
	}
	if code, out, _ = r.run("", "memory", "search", "lemon cake recipe"); code != 0 || !strings.Contains(out, "no relevant passages") {
		t.Errorf("unrelated search: exit %d: %s", code, out)
	}
	if code, out, _ = r.run("", "memory", "stats"); code != 0 || !strings.Contains(out, "sources  1") {
		t.Errorf("stats: exit %d: %s", code, out)
	}
	if code, out, _ = r.run("", "memory", "rm", docs); code != 0 || !strings.Contains(out, "1 sources removed") {
		t.Errorf("rm: exit %d: %s", code, out)
	}
	if code, out, _ = r.run("", "memory", "stats", "--json"); code != 0 || !strings.Contains(out, `"sources": 0`) {
		t.Errorf("stats after rm: exit %d: %s", code, out)
	}
	for _, args := range [][]string{{"memory"}, {"memory", "nope"}, {"memory", "add"}, {"memory", "search"}} {
		if code, _, _ := r.run("", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := r.run("", "memory", "add", filepath.Join(docs, "missing")); code != 1 || !strings.Contains(errs, "does not exist") {
		t.Errorf("missing path: exit %d: %s", code, errs)
	}
}
