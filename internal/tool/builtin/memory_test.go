package builtin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/sqlite"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/tool"
)

// memoryRuntime returns a tool runtime offering recall and remember over a real SQLite memory that
// holds one ingested file, with policies for a "scribe" (may write to the memory) and a "reader" (may
// read it, and write every workspace file, but not the memory), and its audit log.
func memoryRuntime(t *testing.T) (*tool.Runtime, *sqlite.Store, *audit.Log, string) {
	t.Helper()
	ctx := context.Background()
	ws := newWorkspace(t)
	home := t.TempDir()
	pol := filepath.Join(home, "policy")
	if err := os.MkdirAll(pol, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"scribe.yaml": "memory: write\ndefault: auto\n",
		"reader.yaml": "read: ['**']\nwrite: ['**']\nmemory: read\ndefault: auto\n",
	} {
		if err := os.WriteFile(filepath.Join(pol, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log, err := audit.Open(filepath.Join(home, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	store, err := policy.Load(home, policy.Options{Audit: log, Workspaces: []string{ws.Dir()}})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	docs := t.TempDir()
	doc := filepath.Join(docs, "deploy.md")
	if err := os.WriteFile(doc, []byte("# Deploys\n\nProduction deploys need two approvals from the on-call team.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := memory.Ingest(ctx, mem, []string{docs}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	reg, err := Registry(Options{Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := tool.NewRuntime(tool.Options{Registry: reg, Workspace: ws, Policies: store, Audit: log, Run: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	return rt, mem, log, doc
}

func call(t *testing.T, rt *tool.Runtime, agent, name string, args any) tool.Record {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rt.Call(context.Background(), agent, chat.ToolCall{ID: "c", Name: name, Arguments: string(b)})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRecallAndRemember(t *testing.T) {
	rt, mem, log, doc := memoryRuntime(t)
	if reg, _ := Registry(Options{}); strings.Contains(strings.Join(reg.Names(), " "), "recall") {
		t.Error("recall is offered without a memory")
	}

	// A passage, with its provenance.
	rec := call(t, rt, "reader", "recall", map[string]any{"query": "approvals for production deploys"})
	if rec.Verdict != policy.Allow || rec.Result.IsError || !strings.Contains(rec.Result.Content, "1. "+doc+":1-3") ||
		!strings.Contains(rec.Result.Content, "two approvals") || !strings.Contains(rec.Result.Content, "§ Deploys") {
		t.Fatalf("recall of a passage: %+v", rec)
	}
	chunk, err := mem.LookupExact(context.Background(), "two approvals", 1)
	if err != nil || len(chunk) != 1 {
		t.Fatal(chunk, err)
	}

	// The scribe remembers; the reader, who may write nothing, may not.
	rec = call(t, rt, "scribe", "remember", map[string]any{"fact": "Production deploys need two approvals.",
		"source": doc + ":3", "chunk": chunk[0].Chunk.ID})
	if rec.Verdict != policy.Allow || rec.Result.IsError || rec.Result.Content != "remembered as fact #1" {
		t.Fatalf("remember: %+v", rec)
	}
	rec = call(t, rt, "reader", "remember", map[string]any{"fact": "Deploys need no approval.", "source": "a hunch"})
	if rec.Verdict != policy.Refuse || !strings.Contains(rec.Result.Content, "may not write to the memory") {
		t.Fatalf("a reader remembered: %+v", rec)
	}
	f, err := mem.Fact(context.Background(), 1)
	if err != nil || f.Agent != "scribe" || f.Run != "r1" || f.Source != doc+":3" || f.Chunk != chunk[0].Chunk.ID {
		t.Fatalf("stored fact %+v %v", f, err)
	}
	if all, _ := mem.Facts(context.Background(), memory.FactFilter{All: true}); len(all) != 1 {
		t.Fatalf("facts after a refused remember: %+v", all)
	}

	// Refused arguments reach the model as errors; nothing is stored.
	for _, args := range []map[string]any{
		{"fact": "x", "source": "s", "valid_until": "next week"},
		{"fact": "The deploy window is Tuesday.", "source": "s", "supersedes": 42},
		{"fact": "The deploy window is Tuesday.", "source": "s", "valid_until": "2001-01-01"},
		{"fact": "", "source": "s"},
	} {
		rec := call(t, rt, "scribe", "remember", args)
		if !rec.Result.IsError || rec.Error == "" {
			t.Errorf("remember %v: %+v", args, rec)
		}
	}

	// A correction supersedes; recall shows the current fact, and the old one only when asked.
	rec = call(t, rt, "scribe", "remember", map[string]any{"fact": "Production deploys need three approvals since November.",
		"source": "https://wiki.example/deploys", "supersedes": 1, "valid_until": "2999-01-01"})
	if rec.Result.IsError || !strings.Contains(rec.Result.Content, "remembered as fact #2 (it supersedes #1") {
		t.Fatalf("correction: %+v", rec)
	}
	rec = call(t, rt, "reader", "recall", map[string]any{"query": "production deploys approvals", "k": 5})
	out := rec.Result.Content
	if !strings.Contains(out, "fact #2 · remembered by scribe in run r1") || !strings.Contains(out, "source: https://wiki.example/deploys") ||
		!strings.Contains(out, "corrects #1") || strings.Contains(out, "fact #1 ") {
		t.Errorf("recall of facts:\n%s", out)
	}
	rec = call(t, rt, "reader", "recall", map[string]any{"query": "production deploys approvals", "include_expired": true})
	if !strings.Contains(rec.Result.Content, "fact #1 · remembered by scribe") || !strings.Contains(rec.Result.Content, "[Superseded by #2]") {
		t.Errorf("recall with old facts:\n%s", rec.Result.Content)
	}
	if rec := call(t, rt, "reader", "recall", map[string]any{"query": "quantum chromodynamics"}); rec.Result.Content != "no relevant memories found" {
		t.Errorf("an unrelated recall: %q", rec.Result.Content)
	}

	// Every call is audited, the refused one included.
	log.Close()
	es, err := audit.Show(log.Path(), audit.Filter{Kind: "call"})
	if err != nil {
		t.Fatal(err)
	}
	var recalls, remembers, refused int
	for _, e := range es {
		switch e.Tool {
		case "recall":
			recalls++
		case "remember":
			remembers++
			if e.Decision == string(policy.Refuse) {
				refused++
			}
		}
	}
	if recalls != 4 || remembers != 7 || refused != 1 {
		t.Errorf("audit: %d recalls, %d remembers (%d refused)", recalls, remembers, refused)
	}
}

func TestFormatHitsMarksExpiredFacts(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	f := memory.Fact{ID: 3, Text: "The office is closed on Fridays.", Agent: "ops", Source: "memo", RecordedAt: now.Add(-48 * time.Hour),
		ValidFrom: now.Add(-48 * time.Hour), ValidUntil: now.Add(-time.Hour)}
	out := FormatHits([]memory.Hit{memory.FactHit(f, 1, 1, "fact")}, now)
	if !strings.HasPrefix(out, "1. fact #3 · remembered by ops at 2026-04-29T00:00:00Z · source: memo") ||
		!strings.Contains(out, "[Expired 2026-04-30T23:00:00Z]") || !strings.Contains(out, "\n   The office is closed on Fridays.\n") {
		t.Errorf("formatted:\n%s", out)
	}
}
