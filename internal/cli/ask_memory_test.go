package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/openai"
)

// fakeBackend is an OpenAI-compatible server on 127.0.0.1 whose answer is computed from the request by
// answer; it records the system prompts it received.
type fakeBackend struct {
	mu      sync.Mutex
	systems []string
	answer  func(system string) string
}

func (f *fakeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wire, err := openai.DecodeChatRequest(r.Body, 1<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, _, stream, _, err := openai.ToChat(wire)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	system := ""
	if len(req.Messages) > 0 && req.Messages[0].Role == chat.System {
		system = req.Messages[0].Content
	}
	f.mu.Lock()
	f.systems = append(f.systems, system)
	f.mu.Unlock()
	resp := &chat.Response{Model: "m", Message: chat.Message{Role: chat.Assistant, Content: f.answer(system)},
		FinishReason: chat.FinishStop, Usage: chat.Usage{PromptTokens: 10, CompletionTokens: 5}}
	meta := openai.Meta{ID: "chatcmpl-1", Created: 1, Model: "m"}
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(openai.FromChat(meta, []*chat.Response{resp}))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, ch := range []any{openai.RoleChunk(meta, 0), openai.DeltaChunk(meta, 0, chat.Delta{Content: resp.Message.Content}),
		openai.FinishChunk(meta, 0, resp)} {
		b, _ := json.Marshal(ch)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func TestAskMemory(t *testing.T) {
	r := &runner{t: t, user: t.TempDir()}
	docs := t.TempDir()
	for name, text := range map[string]string{
		"ghosts.md": "# Ghosts\n\nWe are summoning ghosts, not building animals.\nA small model should only think; facts belong in a memory.\n",
		"baking.md": "# Bread\n\nSourdough needs a starter fed with flour and water.\n",
	} {
		if err := os.WriteFile(filepath.Join(docs, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mode := "right"
	fb := &fakeBackend{answer: func(system string) string {
		switch {
		case !strings.Contains(system, "[1] Ghosts"):
			return "I do not know."
		case mode == "right":
			return "We are summoning ghosts, not building animals [1]. Facts belong in a memory [1]."
		default:
			return "We are summoning ghosts since 1999 [1]. Ghosts are made of ectoplasm [4]. Animals dream of electric sheep."
		}
	}}
	srv := httptest.NewServer(fb)
	defer srv.Close()
	home := filepath.Join(r.user, ".seance")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("backends:\n  - name: fake\n    url: openai+%s/v1\n", srv.URL)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := r.run("", "memory", "add", docs); code != 0 {
		t.Fatalf("memory add: %s", errs)
	}

	code, out, errs := r.run("", "ask", "--model", "fake/m", "--memory", "--k", "2", "--json", "why", "summoning", "ghosts?")
	if code != 0 {
		t.Fatalf("ask --memory --json: exit %d: %s", code, errs)
	}
	var res askResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Grounding == nil {
		t.Fatalf("not a grounded JSON result (%v): %s", err, out)
	}
	g := res.Grounding
	if len(g.Sources) != 1 || g.Sources[0].N != 1 || g.Sources[0].Path != filepath.Join(docs, "ghosts.md") ||
		g.Sources[0].StartLine != 1 || g.Sources[0].EndLine != 4 || g.Sources[0].Title != "Ghosts" {
		t.Errorf("sources %+v", g.Sources)
	}
	if !g.Check.OK || g.Check.Claims != 2 || g.Check.Supported != 2 || len(g.Check.Sentences) != 2 {
		t.Errorf("check %+v", g.Check)
	}
	if !strings.Contains(fb.systems[0], "We are summoning ghosts") || !strings.Contains(fb.systems[0], "cite it") {
		t.Errorf("the backend did not get the sources: %q", fb.systems[0])
	}

	mode = "wrong"
	code, out, errs = r.run("", "ask", "--model", "fake/m", "--memory", "--quiet", "why", "summoning", "ghosts?")
	if code != 0 {
		t.Fatalf("ask --memory: exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"We are summoning ghosts since 1999 [1].",
		"Sources:\n  [1] " + filepath.Join(docs, "ghosts.md") + ":1-4  Ghosts",
		"Check: 3 claims: 0 supported, 1 unsupported, 1 bad citations, 1 uncited",
		`✗ unsupported: "We are summoning ghosts since 1999 [1]." — 1999 not in source [1]`,
		`✗ bad citation: "Ghosts are made of ectoplasm [4]." — cites [4] but there are 1 sources`,
		`✗ uncited: "Animals dream of electric sheep."`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = r.run("", "ask", "--model", "fake/m", "--memory", "lemon", "cake", "recipe")
	if code != 0 || !strings.HasPrefix(out, "No sources were found in memory") || !strings.Contains(out, "Sources: none") {
		t.Errorf("unrelated question: exit %d:\n%s", code, out)
	}
	if code, _, errs = r.run("", "ask", "--model", "fake/m", "--k", "3", "hi"); code != 2 || !strings.Contains(errs, "--k needs --memory") {
		t.Errorf("--k without --memory: exit %d: %s", code, errs)
	}
	if code, _, errs = r.run("", "ask", "--model", "fake/m", "--memory", "--k", "0", "hi"); code != 2 || !strings.Contains(errs, "--k must be") {
		t.Errorf("--k 0: exit %d: %s", code, errs)
	}
}
