package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/llm/llmtest"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/team"
)

// TestAgentRemembersAndRecalls runs an agent whose scripted model calls remember and then recall
// through the real tool runtime over the home's real SQLite memory: the fact is stored with the
// agent's and run's names, recall hands it back to the model with its provenance, the audit log has
// both calls, and the fact is still there after the store is reopened.
func TestAgentRemembersAndRecalls(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	cfg := config.Default(t.TempDir())
	if err := os.MkdirAll(filepath.Join(cfg.Home, "policy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Home, "policy", "archivist.yaml"), []byte("memory: write\ndefault: auto\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mem, err := a.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := a.OpenTools(ctx, ToolsOptions{Workspace: filepath.Join(t.TempDir(), "ws"), Run: "r9", Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()

	remember, _ := json.Marshal(map[string]any{"fact": "The Kestrel release is frozen until the audit ends.", "source": "https://tracker.example/KES-12"})
	recall, _ := json.Marshal(map[string]any{"query": "Kestrel release"})
	m := llmtest.NewScripted(
		llmtest.Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: "1", Name: "remember", Arguments: string(remember)}}}}},
		llmtest.Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: "2", Name: "recall", Arguments: string(recall)}}}}},
		llmtest.Turn{Reply: chat.Response{Message: chat.Message{Content: "The release is frozen [fact #1]."}}},
	)
	wrapped, err := tools.AgentModel(m, &team.Agent{Name: "archivist", Tools: []string{"recall", "remember"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := wrapped.Chat(ctx, &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "note the freeze"}}}, nil)
	if err != nil || resp.Message.Content != "The release is frozen [fact #1]." {
		t.Fatalf("%+v %v", resp, err)
	}
	// What the model read back from each call.
	reqs := m.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model calls", len(reqs))
	}
	last := reqs[2].Messages
	var results []string
	for _, msg := range last {
		if msg.Role == chat.Tool {
			results = append(results, msg.Content)
		}
	}
	if len(results) != 2 || results[0] != "remembered as fact #1" ||
		!strings.Contains(results[1], "1. fact #1 · remembered by archivist in run r9") ||
		!strings.Contains(results[1], "source: https://tracker.example/KES-12") || !strings.Contains(results[1], "Kestrel release is frozen") {
		t.Fatalf("tool results %q", results)
	}

	es, err := audit.Show(a.AuditPath(), audit.Filter{Kind: "call", Run: "r9", Agent: "archivist"})
	if err != nil || len(es) != 2 || es[0].Tool != "remember" || es[1].Tool != "recall" || es[0].Decision != "allow" || es[1].Decision != "allow" {
		t.Fatalf("audit %+v %v", es, err)
	}

	mem.Close()
	mem, err = a.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	f, err := mem.Fact(ctx, 1)
	if err != nil || f.Agent != "archivist" || f.Run != "r9" || f.Source != "https://tracker.example/KES-12" || !f.Current(f.RecordedAt) {
		t.Fatalf("after reopening: %+v %v", f, err)
	}
	if hits, err := memory.Search(ctx, mem, "Kestrel", memory.SearchOptions{}); err != nil || len(hits) != 1 || hits[0].Fact == nil {
		t.Fatalf("search after reopening: %+v %v", hits, err)
	}
}
