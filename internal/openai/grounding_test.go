package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
)

func TestGroundingExtension(t *testing.T) {
	meta := Meta{ID: "chatcmpl-1", Created: 1, Model: "librarian"}
	grounded := &chat.Response{Message: chat.Message{Content: "It is tall [1]. It is red [2]."}, Grounding: &chat.Grounding{
		Query:   "how tall?",
		Sources: []chat.GroundingSource{{N: 1, Path: "/notes/t.md", StartLine: 3, EndLine: 5, Title: "Tower", Text: "It is tall."}},
		Check: chat.CitationCheck{Claims: 2, Supported: 1, BadCitations: 1, Sentences: []chat.SentenceCheck{
			{Text: "It is tall [1].", Citations: []int{1}, Supported: true, Score: 1, Verdict: "supported", Reason: "r"},
			{Text: "It is red [2].", Citations: []int{2}, Verdict: "bad_citation", Reason: "cites [2]"},
		}},
	}}
	var got struct {
		Grounding *Grounding `json:"seance_grounding"`
	}
	for name, v := range map[string]any{
		"completion":   FromChat(meta, []*chat.Response{grounded}),
		"finish chunk": FinishChunk(meta, 0, grounded),
		"usage chunk":  UsageChunk(meta, []*chat.Response{grounded}),
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got.Grounding = nil
		if err := json.Unmarshal(b, &got); err != nil || got.Grounding == nil {
			t.Fatalf("%s: no seance_grounding in %s", name, b)
		}
		g := got.Grounding
		if g.Query != "how tall?" || len(g.Sources) != 1 || g.Sources[0].Path != "/notes/t.md" || g.Sources[0].EndLine != 5 ||
			g.Check.OK || g.Check.BadCitations != 1 || len(g.Check.Sentences) != 2 || g.Check.Sentences[1].Verdict != "bad_citation" {
			t.Errorf("%s: %s", name, b)
		}
	}
	plain := &chat.Response{Message: chat.Message{Content: "hi"}}
	for name, v := range map[string]any{"completion": FromChat(meta, []*chat.Response{plain}), "finish chunk": FinishChunk(meta, 0, plain)} {
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), "seance_grounding") {
			t.Errorf("%s of an ungrounded model: %s", name, b)
		}
	}
	// Lists are [] rather than null, so clients can iterate without checks.
	b, _ := json.Marshal(GroundingFromChat(&chat.Grounding{Check: chat.CitationCheck{Sentences: []chat.SentenceCheck{{Text: "x"}}}}))
	if !strings.Contains(string(b), `"sources":[]`) || !strings.Contains(string(b), `"citations":[]`) || !strings.Contains(string(b), `"ok":true`) {
		t.Errorf("empty grounding: %s", b)
	}
}
