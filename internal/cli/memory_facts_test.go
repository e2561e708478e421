package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/sqlite"
)

func TestMemoryFacts(t *testing.T) {
	r := &runner{t: t, user: t.TempDir()}
	if code, out, errs := r.run("", "memory", "facts"); code != 0 || !strings.Contains(out, "no current facts") {
		t.Fatalf("an empty memory: exit %d: %s %s", code, out, errs)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(r.user, ".seance", "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	f1, err := s.Remember(ctx, memory.Fact{Text: "The build server is bs-1.", Agent: "ops", Run: "r1", Source: "infra.md:4"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remember(ctx, memory.Fact{Text: "The build server is bs-2 since the move.", Agent: "ops", Source: "ticket 88", Supersedes: f1.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remember(ctx, memory.Fact{Text: "The office wifi password is on the fridge.", Agent: "pat", Source: "memo",
		ValidFrom: time.Now().Add(-2 * time.Hour), ValidUntil: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	code, out, errs := r.run("", "memory", "facts")
	if code != 0 || !strings.Contains(out, "#2  ") || !strings.Contains(out, "bs-2 since the move") || !strings.Contains(out, "corrects #1") ||
		strings.Contains(out, "#1  ") || strings.Contains(out, "wifi") {
		t.Fatalf("current facts: exit %d:\n%s%s", code, out, errs)
	}
	code, out, errs = r.run("", "memory", "facts", "--all")
	if code != 0 || !strings.Contains(out, "ops (run r1)  [superseded by #2]") || !strings.Contains(out, "[expired ") {
		t.Fatalf("all facts: exit %d:\n%s%s", code, out, errs)
	}
	code, out, errs = r.run("", "memory", "facts", "--all", "--json")
	var facts []struct {
		ID           int64  `json:"id"`
		Agent        string `json:"agent"`
		Source       string `json:"source"`
		SupersededBy int64  `json:"superseded_by"`
		Status       string `json:"status"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &facts) != nil || len(facts) != 3 || facts[0].SupersededBy != 2 ||
		facts[0].Source != "infra.md:4" || facts[1].Status != "current" || !strings.HasPrefix(facts[2].Status, "expired") {
		t.Fatalf("JSON: exit %d: %s %s", code, out, errs)
	}
	if code, _, _ := r.run("", "memory", "facts", "extra"); code == 0 {
		t.Error("an argument was accepted")
	}
}

// TestRunOffersMemoryTools checks that `seance run --workspace` opens the memory when an agent lists
// recall or remember: without it such an agent cannot be resolved (its tools are unknown).
func TestRunOffersMemoryTools(t *testing.T) {
	r := newRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	home := filepath.Join(r.user, ".seance")
	for rel, data := range map[string]string{
		"agents/keeper.md": "---\nname: keeper\ndescription: keeps facts\nmodel: default\nmax_tokens: 8\ntools: [recall, remember]\n---\n",
		"teams/vault.yaml": "name: vault\ndescription: one keeper\npattern: vote\nmembers: [keeper]\nparams:\n  samples: 1\n",
	} {
		if err := os.WriteFile(filepath.Join(home, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := r.run("", "run", "--workspace", filepath.Join(t.TempDir(), "ws"), "vault", "Once upon a time")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("run: exit %d %q %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(home, "memory.db")); err != nil {
		t.Errorf("the memory was not opened: %v", err)
	}
}
