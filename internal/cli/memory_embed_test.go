package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/testenv"
)

// TestMemoryEmbed ingests with USE-lite vectors and finds a passage by meaning through hybrid search.
func TestMemoryEmbed(t *testing.T) {
	model := testenv.Shared(t, "models", "use-lite-en")
	r := &runner{t: t, user: t.TempDir()}
	docs := t.TempDir()
	for name, text := range map[string]string{
		"cat.md":   "# Pets\n\nThe cat sleeps on the mat all afternoon.\n",
		"stock.md": "# Markets\n\nShare prices fell sharply after the bank raised rates.\n",
	} {
		if err := os.WriteFile(filepath.Join(docs, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := r.run("", "memory", "add", "--embed", model, "--json", docs)
	var rep struct {
		Added    int `json:"added"`
		Embedded int `json:"embedded"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Added != 2 || rep.Embedded != 2 || !strings.Contains(errs, "[2/2] vectors") {
		t.Fatalf("add --embed: exit %d: %s %s", code, out, errs)
	}
	// No word of the query is in the cat passage; only its vector can find it.
	code, out, errs = r.run("", "memory", "search", "--embed", model, "--json", "-k", "1", "a kitten resting on a rug")
	var hits []struct {
		Source string `json:"source"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &hits) != nil || len(hits) != 1 || filepath.Base(hits[0].Source) != "cat.md" {
		t.Fatalf("search --embed: exit %d: %s %s", code, out, errs)
	}
	if code, _, errs = r.run("", "memory", "search", "--embed", filepath.Join(docs, "missing"), "cat"); code == 0 {
		t.Errorf("an unknown embedder was accepted: %s", errs)
	}
}
