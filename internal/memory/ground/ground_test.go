package ground

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/llmtest"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/sqlite"
)

// newStore ingests files (relative path → content) under a temporary folder into a real SQLite
// store and returns the store and the folder.
func newStore(t *testing.T, files map[string]string) (*sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

var files = map[string]string{
	"landmarks/eiffel.md":  "---\ntitle: The Eiffel Tower\n---\n# The Eiffel Tower\n\nThe Eiffel Tower was completed in 1889 for the World's Fair in Paris.\nIt is 330 metres tall.\n",
	"landmarks/everest.md": "# Mount Everest\n\nMount Everest is the highest mountain on Earth, at 8,849 metres above sea level.\n",
	"notes/brain.md":       "# 뇌\n\n인간의 뇌가 100T(100조) 시냅스 규모라는 점을 고려하면, 거대 모델이 필요할지도 모릅니다.\n",
}

func ask(q string) *chat.Request {
	return &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: q}}}
}

func systemOf(req *chat.Request) string {
	if len(req.Messages) == 0 || req.Messages[0].Role != chat.System {
		return ""
	}
	return req.Messages[0].Content
}

func TestGroundedCitesCorrectly(t *testing.T) {
	store, dir := newStore(t, files)
	inner := llmtest.NewScripted(llmtest.Turn{
		Check: func(req *chat.Request) error {
			sys := systemOf(req)
			if !strings.Contains(sys, "[1] The Eiffel Tower") || !strings.Contains(sys, "completed in 1889") ||
				!strings.Contains(sys, "cite it") {
				return errors.New("the system prompt does not give the Eiffel Tower as source [1]: " + sys)
			}
			return nil
		},
		Reply: chat.Response{Message: chat.Message{Content: "The Eiffel Tower was completed in 1889 for the World's Fair [1]. It is 330 metres tall [1]."}},
	})
	m, err := New(inner, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	var streamed strings.Builder
	resp, err := m.Chat(context.Background(), ask("When was the Eiffel Tower completed?"), func(d chat.Delta) error {
		streamed.WriteString(d.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g := resp.Grounding
	if g == nil || len(g.Sources) == 0 {
		t.Fatalf("no grounding: %+v", resp)
	}
	src := g.Sources[0]
	if src.N != 1 || src.Path != filepath.Join(dir, "landmarks", "eiffel.md") || src.Title != "The Eiffel Tower" ||
		src.StartLine < 4 || src.EndLine < src.StartLine || !strings.Contains(src.Text, "1889") {
		t.Errorf("source 1 = %+v", src)
	}
	if g.Query != "When was the Eiffel Tower completed?" {
		t.Errorf("query %q", g.Query)
	}
	if c := g.Check; c.Claims != 2 || c.Supported != 2 || len(c.Sentences) != 2 {
		t.Errorf("check %+v", c)
	}
	if streamed.String() != resp.Message.Content {
		t.Errorf("streamed %q, answer %q", streamed.String(), resp.Message.Content)
	}
}

func TestGroundedFlagsWrongCitations(t *testing.T) {
	store, _ := newStore(t, files)
	inner := llmtest.NewScripted(llmtest.Turn{Reply: chat.Response{Message: chat.Message{Content: "The Eiffel Tower was completed in 1901 for the World's Fair [1]. " +
		"It stands in Rome [1]. It is the tallest tower in Europe [7]. It was designed by Gustave Eiffel's company."}}})
	m, err := New(inner, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Chat(context.Background(), ask("When was the Eiffel Tower completed?"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Grounding.Check
	if c.Supported != 0 || c.Unsupported != 2 || c.BadCitations != 1 || c.Uncited != 1 {
		t.Fatalf("check %+v", c)
	}
	want := []string{"1901 not in source [1]", "rome not in source [1]", "cites [7]", "without a citation"}
	for i, s := range c.Sentences {
		if !strings.Contains(s.Reason, want[i]) || s.Supported {
			t.Errorf("sentence %d %q: %s %q, want a flag with %q", i, s.Text, s.Verdict, s.Reason, want[i])
		}
	}
}

func TestGroundedKorean(t *testing.T) {
	store, dir := newStore(t, files)
	inner := llmtest.NewScripted(llmtest.Turn{Reply: chat.Response{Message: chat.Message{Content: "인간의 뇌는 100T 시냅스 규모입니다 [1]."}}})
	m, err := New(inner, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Chat(context.Background(), ask("인간 뇌의 시냅스 규모는?"), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := resp.Grounding
	if len(g.Sources) == 0 || g.Sources[0].Path != filepath.Join(dir, "notes", "brain.md") {
		t.Fatalf("sources %+v", g.Sources)
	}
	if g.Check.Supported != 1 || g.Check.Claims != 1 {
		t.Errorf("check %+v", g.Check)
	}
}

func TestGroundedNoSources(t *testing.T) {
	store, _ := newStore(t, files)
	inner := llmtest.NewScripted(llmtest.Turn{
		Check: func(req *chat.Request) error {
			if sys := systemOf(req); !strings.Contains(sys, "no sources") || strings.Contains(sys, "[1]") {
				return errors.New("the prompt should say there are no sources: " + sys)
			}
			return nil
		},
		Reply: chat.Response{Message: chat.Message{Content: "Knead the dough and bake it at 250 degrees for 40 minutes."}},
	})
	m, err := New(inner, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	var streamed strings.Builder
	resp, err := m.Chat(context.Background(), ask("How do I bake sourdough bread at home?"), func(d chat.Delta) error {
		streamed.WriteString(d.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Message.Content, NoSources) || !strings.HasPrefix(streamed.String(), NoSources) {
		t.Errorf("answer %q, streamed %q: want the no-sources notice first", resp.Message.Content, streamed.String())
	}
	g := resp.Grounding
	if len(g.Sources) != 0 {
		t.Errorf("sources %+v", g.Sources)
	}
	// The notice is not a claim; the model's own uncited sentence is flagged.
	if len(g.Check.Sentences) != 2 || g.Check.Sentences[0].Verdict != string(memory.NoClaim) || g.Check.Uncited != 1 {
		t.Errorf("check %+v", g.Check)
	}
}

func TestGroundedScopesAndSystem(t *testing.T) {
	store, dir := newStore(t, files)
	inner := llmtest.NewScripted(llmtest.Turn{
		Check: func(req *chat.Request) error {
			if len(req.Messages) != 2 {
				return errors.New("want one system message and the question")
			}
			sys := systemOf(req)
			if !strings.HasPrefix(sys, "You are terse.") || strings.Contains(sys, "Eiffel") {
				return errors.New("the system prompt should keep the caller's and hold no out-of-scope source: " + sys)
			}
			return nil
		},
		Reply: chat.Response{Message: chat.Message{Content: "The sources do not contain the answer."}},
	})
	m, err := New(inner, Options{Store: store, Scopes: []string{filepath.Join(dir, "notes") + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	req := ask("When was the Eiffel Tower completed?")
	req.Messages = append([]chat.Message{{Role: chat.System, Content: "You are terse."}}, req.Messages...)
	resp, err := m.Chat(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Grounding.Sources) != 0 || resp.Grounding.Check.Claims != 0 {
		t.Errorf("grounding %+v", resp.Grounding)
	}
	if _, err := New(inner, Options{Store: store, Scopes: []string{"notes"}}); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("a relative scope: %v", err)
	}
}

func TestGroundedErrors(t *testing.T) {
	store, _ := newStore(t, files)
	inner := llmtest.NewScripted(llmtest.Turn{Err: fault.New(fault.Upstream, "backend down")})
	m, err := New(inner, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.System, Content: "x"}}}, nil)
	if fault.CodeOf(err) != fault.Invalid {
		t.Errorf("no user message: %v", err)
	}
	if _, err := m.Chat(context.Background(), ask("When was the Eiffel Tower completed?"), nil); fault.CodeOf(err) != fault.Upstream {
		t.Errorf("inner error: %v", err)
	}
	if _, err := New(nil, Options{Store: store}); err == nil {
		t.Error("New without a model")
	}
	if _, err := New(inner, Options{}); err == nil {
		t.Error("New without a store")
	}
}
