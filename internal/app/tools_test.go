package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/llm/llmtest"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/team"
)

func TestOpenToolsRunsAnAgentUnderThePolicy(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	cfg := config.Default(t.TempDir())
	if err := os.MkdirAll(filepath.Join(cfg.Home, "policy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Home, "policy", "scribe.yaml"), []byte("write: ['**']\ndefault: auto\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.OpenTools(ctx, ToolsOptions{Workspace: cfg.Home}); err == nil {
		t.Fatal("a workspace holding the policy folder was accepted")
	}
	tools, err := a.OpenTools(ctx, ToolsOptions{Workspace: filepath.Join(t.TempDir(), "ws"), Run: "r7"})
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()
	args, _ := json.Marshal(map[string]string{"path": "poem.txt", "content": "rain"})
	m := llmtest.NewScripted(
		llmtest.Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: "1", Name: "write_file", Arguments: string(args)}}}}},
		llmtest.Turn{Reply: chat.Response{Message: chat.Message{Content: "written"}}},
	)
	plain, err := tools.AgentModel(m, &team.Agent{Name: "scribe"}, 0)
	if err != nil || plain != m {
		t.Fatalf("an agent without tools was wrapped: %v", err)
	}
	if _, err := tools.AgentModel(m, &team.Agent{Name: "scribe", Tools: []string{"teleport"}}, 0); err == nil {
		t.Error("an unknown tool name was accepted")
	}
	wrapped, err := tools.AgentModel(m, &team.Agent{Name: "scribe", Tools: []string{"write_file"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := wrapped.Chat(ctx, &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "write"}}}, nil)
	if err != nil || resp.Message.Content != "written" {
		t.Fatalf("%+v %v", resp, err)
	}
	if b, err := tools.Workspace.ReadFile("poem.txt", 0); err != nil || string(b) != "rain" {
		t.Errorf("poem.txt %q %v", b, err)
	}
	es, err := audit.Show(a.AuditPath(), audit.Filter{Kind: "call", Run: "r7", Agent: "scribe"})
	if err != nil || len(es) != 1 || es[0].Commit == "" {
		t.Errorf("audit %+v %v", es, err)
	}
}
