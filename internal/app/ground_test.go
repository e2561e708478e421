package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/openai/openai-go/v3"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/llmtest"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/openai"
)

// TestServeGroundedAgent serves agents whose front matter has memory: through the real HTTP server
// and reads the seance_grounding extension with the official SDK: one agent's scripted model cites
// correctly, the other's cites wrongly; the memory is the real SQLite store with ingested files.
func TestServeGroundedAgent(t *testing.T) {
	a, client, _ := startApp(t, "models:\n  right: fake://right\n  wrong: fake://wrong\n", nil)
	ctx := context.Background()

	// The scripted models check that they were given the agent's prompt and the numbered sources.
	givenSources := func(req *chat.Request) error {
		sys := req.Messages[0].Content
		if req.Messages[0].Role != chat.System || !strings.HasPrefix(sys, "You answer from the notes.") ||
			!strings.Contains(sys, "[1] The Eiffel Tower") || !strings.Contains(sys, "completed in 1889") {
			return errors.New("no agent prompt or sources in: " + sys)
		}
		return nil
	}
	good := "The Eiffel Tower was completed in 1889 for the World's Fair [1]. It is 330 metres tall [1]."
	bad := "The Eiffel Tower was completed in 1901 [1]. It was designed by Gustave Eiffel [3]. It is painted gold."
	models := map[string]llm.Model{
		"right": llmtest.NewScripted(
			llmtest.Turn{Check: givenSources, Reply: chat.Response{Message: chat.Message{Content: good}}},
			llmtest.Turn{Check: givenSources, Reply: chat.Response{Message: chat.Message{Content: good}}},
		),
		"wrong": llmtest.NewScripted(
			llmtest.Turn{Check: givenSources, Reply: chat.Response{Message: chat.Message{Content: bad}}},
			llmtest.Turn{Check: givenSources, Reply: chat.Response{Message: chat.Message{Content: bad}}},
		),
	}
	a.reg.Register("fake", func(_ context.Context, u *url.URL) (llm.Model, error) { return models[u.Host], nil })

	notes := t.TempDir()
	for name, text := range map[string]string{
		"eiffel.md":  "# The Eiffel Tower\n\nThe Eiffel Tower was completed in 1889 for the World's Fair in Paris.\nIt is 330 metres tall.\n",
		"everest.md": "# Mount Everest\n\nMount Everest is the highest mountain on Earth.\n",
	} {
		if err := os.WriteFile(filepath.Join(notes, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := a.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := memory.Ingest(ctx, store, []string{notes}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitHome(ctx); err != nil {
		t.Fatal(err)
	}
	for name, model := range map[string]string{"librarian": "right", "fabulist": "wrong"} {
		agent := "---\nname: " + name + "\nmodel: " + model + "\nmemory: [\"*\"]\n---\n\nYou answer from the notes.\n"
		if err := os.WriteFile(filepath.Join(a.Config().Home, "agents", name+".md"), []byte(agent), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	list, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range list.Data {
		listed[m.ID] = true
	}
	if !listed["librarian"] || !listed["fabulist"] {
		t.Errorf("grounded agents not in /v1/models: %s", list.RawJSON())
	}

	question := []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("When was the Eiffel Tower completed?")}
	grounding := func(raw string) openai.Grounding {
		t.Helper()
		var g openai.Grounding
		if raw == "" {
			t.Fatal("no seance_grounding")
		}
		if err := json.Unmarshal([]byte(raw), &g); err != nil {
			t.Fatalf("seance_grounding %s: %v", raw, err)
		}
		return g
	}
	checkSources := func(g openai.Grounding) {
		t.Helper()
		if len(g.Sources) == 0 || g.Sources[0].N != 1 || g.Sources[0].Path != filepath.Join(notes, "eiffel.md") ||
			g.Sources[0].StartLine != 1 || g.Sources[0].EndLine != 4 || g.Sources[0].Title != "The Eiffel Tower" {
			t.Errorf("sources %+v", g.Sources)
		}
	}

	// Non-streamed: the correct citations are supported.
	resp, err := client.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{Model: "librarian", Messages: question})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != good {
		t.Errorf("answer %q", resp.Choices[0].Message.Content)
	}
	g := grounding(resp.JSON.ExtraFields["seance_grounding"].Raw())
	checkSources(g)
	if !g.Check.OK || g.Check.Claims != 2 || g.Check.Supported != 2 || g.Query != "When was the Eiffel Tower completed?" {
		t.Errorf("check of the right answer %+v", g.Check)
	}

	// Non-streamed: the wrong ones are flagged.
	resp, err = client.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{Model: "fabulist", Messages: question})
	if err != nil {
		t.Fatal(err)
	}
	g = grounding(resp.JSON.ExtraFields["seance_grounding"].Raw())
	checkSources(g)
	wantFlags := func(g openai.Grounding) {
		t.Helper()
		c := g.Check
		if c.OK || c.Supported != 0 || c.Unsupported != 1 || c.BadCitations != 1 || c.Uncited != 1 || len(c.Sentences) != 3 {
			t.Fatalf("check of the wrong answer %+v", c)
		}
		for i, want := range []string{"1901 not in source [1]", "cites [3]", "without a citation"} {
			if s := c.Sentences[i]; s.Supported || !strings.Contains(s.Reason, want) {
				t.Errorf("sentence %d: %+v, want a flag with %q", i, s, want)
			}
		}
	}
	wantFlags(g)

	// Streamed: the grounding arrives on the finish chunk (and on the usage chunk).
	for _, model := range []string{"librarian", "fabulist"} {
		stream := client.Chat.Completions.NewStreaming(ctx, sdk.ChatCompletionNewParams{Model: model, Messages: question,
			StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}})
		var content strings.Builder
		var onFinish, onUsage string
		for stream.Next() {
			c := stream.Current()
			raw := c.JSON.ExtraFields["seance_grounding"].Raw()
			if len(c.Choices) > 0 {
				content.WriteString(c.Choices[0].Delta.Content)
				if c.Choices[0].FinishReason != "" {
					onFinish = raw
				} else if raw != "" {
					t.Errorf("%s: grounding on a content chunk %s", model, c.RawJSON())
				}
			} else {
				onUsage = raw
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		g := grounding(onFinish)
		checkSources(g)
		if onUsage != onFinish {
			t.Errorf("%s: the usage chunk's grounding differs from the finish chunk's", model)
		}
		if model == "librarian" {
			if content.String() != good || !g.Check.OK || g.Check.Supported != 2 {
				t.Errorf("streamed librarian: %q, %+v", content.String(), g.Check)
			}
		} else {
			wantFlags(g)
		}
	}

	// An agent without memory: is not served on its own, and a bad scope is a clear error.
	if _, err := a.ModelStrict(ctx, "moderator"); err == nil {
		t.Error("an agent without memory: should not be served as a model")
	}
	bad2 := "---\nname: lost\nmodel: right\nmemory: [notes]\n---\n"
	if err := os.WriteFile(filepath.Join(a.Config().Home, "agents", "lost.md"), []byte(bad2), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ModelStrict(ctx, "lost"); err == nil || !strings.Contains(err.Error(), "neither * nor an absolute path") {
		t.Errorf("relative memory scope: %v", err)
	}
}
