package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemoryGraph(t *testing.T) {
	r := &runner{t: t, user: t.TempDir()}
	docs := t.TempDir()
	for name, text := range map[string]string{
		"ghosts.md": "# Ghosts\n\nAndrej Karpathy trains an LLM on Tiny Shakespeare. Karpathy says the LLM is a ghost.\n",
		"other.md":  "# Other\n\nTiny Shakespeare is small. Then Karpathy wrote nanoGPT.\n",
		"ko.md":     "# 통제\n\n보상 해킹은 통제의 문제이다. 보상 해킹을 막으려면 통제가 필요하다.\n",
	} {
		if err := os.WriteFile(filepath.Join(docs, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := r.run("", "memory", "add", docs); code != 0 {
		t.Fatalf("add: exit %d: %s", code, errs)
	}

	code, out, errs := r.run("", "memory", "graph", "--json", "Karpathy")
	if code != 0 {
		t.Fatalf("graph: exit %d: %s", code, errs)
	}
	var g graphJSON
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("graph --json: %v: %s", err, out)
	}
	if g.Entity.Key != "karpathy" || g.Entity.Name != "Karpathy" || g.Entity.Chunks != 2 {
		t.Errorf("entity %+v", g.Entity)
	}
	nbs := map[string]neighbourJSON{}
	for _, nb := range g.Neighbours {
		nbs[nb.Key] = nb
	}
	if nb, ok := nbs["tiny shakespeare"]; !ok || nb.Chunks != 2 || nb.Relation != "co" {
		t.Errorf("neighbour tiny shakespeare: %+v (all %+v)", nb, g.Neighbours)
	}
	if _, ok := nbs["nanogpt"]; !ok {
		t.Errorf("no neighbour nanogpt: %+v", g.Neighbours)
	}
	if len(g.Chunks) != 2 || g.Chunks[0].Source == "" || g.Chunks[0].StartLine == 0 {
		t.Errorf("chunks %+v", g.Chunks)
	}
	for _, c := range g.Chunks {
		if !strings.Contains(c.Text, "Karpathy") {
			t.Errorf("a passage that does not mention Karpathy: %q", c.Text)
		}
	}

	// Text output, a Korean entity with a particle, and a directed relation.
	code, out, errs = r.run("", "memory", "graph", "통제를")
	if code != 0 || !strings.Contains(out, `key "통제"`) || !strings.Contains(out, "← of") || !strings.Contains(out, "문제") ||
		!strings.Contains(out, filepath.Join(docs, "ko.md")) {
		t.Errorf("graph 통제를: exit %d:\n%s%s", code, out, errs)
	}
	if code, out, _ := r.run("", "memory", "graph", "-k", "1", "-n", "1", "--json", "Karpathy"); code != 0 ||
		json.Unmarshal([]byte(out), &g) != nil || len(g.Chunks) != 1 || len(g.Neighbours) != 1 {
		t.Errorf("graph -k 1 -n 1: exit %d: %s", code, out)
	}

	// Rebuilding keeps the same graph.
	if code, _, errs := r.run("", "memory", "graph", "--rebuild"); code != 0 || !strings.Contains(errs, "re-extracted the graph of 3 passages") {
		t.Errorf("graph --rebuild: exit %d: %s", code, errs)
	}
	if code, out, _ := r.run("", "memory", "graph", "--rebuild", "--json", "Karpathy"); code != 0 || json.Unmarshal([]byte(out), &g) != nil || g.Entity.Chunks != 2 {
		t.Errorf("graph --rebuild Karpathy: exit %d: %s", code, out)
	}

	// An unknown entity is an error that names the known ones among its words.
	code, _, errs = r.run("", "memory", "graph", "Karpathy and Zebras")
	if code != 1 || !strings.Contains(errs, `no entity "karpathy and zebras"`) || !strings.Contains(errs, `"karpathy"`) {
		t.Errorf("unknown entity: exit %d: %s", code, errs)
	}
	for _, args := range [][]string{{"memory", "graph"}, {"memory", "graph", "--", "..."}, {"memory", "graph", "-k", "-1", "x"}} {
		if code, _, errs := r.run("", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errs)
		}
	}
}

func TestPadWidthCountsWideCharacters(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"ai", 6, "ai    "},
		{"내용", 6, "내용  "},
		{"보상 해킹", 10, "보상 해킹 "},
		{"toolongforit", 4, "toolongforit"},
	} {
		if got := padWidth(c.s, c.n); got != c.want {
			t.Errorf("padWidth(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
