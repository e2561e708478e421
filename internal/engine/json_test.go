package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/engine/constrain"
	"github.com/seance-dev/seance/internal/engine/sample"
	"github.com/seance-dev/seance/internal/fault"
)

// jsonChat runs a constrained chat on stories260K (which knows nothing about JSON) and returns the
// response and the concatenated stream.
func jsonChat(t *testing.T, m *Model, format chat.ResponseFormat, seed int64, maxTokens int, logprobs bool) (*chat.Response, string) {
	t.Helper()
	var streamed strings.Builder
	resp, err := m.Chat(context.Background(), &chat.Request{
		Messages:  []chat.Message{{Role: chat.User, Content: "Once upon a time"}},
		Format:    format,
		MaxTokens: maxTokens,
		Sampling:  chat.Sampling{Temperature: ptr(1.0), Seed: ptr(seed)},
		Logprobs:  logprobs, TopLogprobs: 3,
	}, func(d chat.Delta) error { streamed.WriteString(d.Content); return nil })
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return resp, streamed.String()
}

func TestJSONObjectIsValid(t *testing.T) {
	m, _ := openStories(t)
	for seed := range int64(6) {
		resp, streamed := jsonChat(t, m, chat.ResponseFormat{Type: chat.FormatJSONObject}, seed, 120, false)
		out := resp.Message.Content
		t.Logf("seed %d (%s, %d tokens): %s", seed, resp.FinishReason, resp.Usage.CompletionTokens, out)
		if !json.Valid([]byte(out)) {
			t.Errorf("seed %d: not valid JSON: %q", seed, out)
		}
		if !strings.HasPrefix(strings.TrimSpace(out), "{") {
			t.Errorf("seed %d: not an object: %q", seed, out)
		}
		if streamed != out {
			t.Errorf("seed %d: streamed %q, returned %q", seed, streamed, out)
		}
		if resp.FinishReason != chat.FinishStop {
			t.Errorf("seed %d: finish %s, want stop", seed, resp.FinishReason)
		}
	}
}

func TestJSONSchemaShape(t *testing.T) {
	m, _ := openStories(t)
	schema := json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","maxLength":20},
		"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}`)
	format := chat.ResponseFormat{Type: chat.FormatJSONSchema, Name: "person", Schema: schema}
	for seed := range int64(4) {
		resp, streamed := jsonChat(t, m, format, seed, 80, true)
		out := resp.Message.Content
		t.Logf("seed %d (%s): %s", seed, resp.FinishReason, out)
		var got struct {
			Name *string `json:"name"`
			Age  *int    `json:"age"`
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(out)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Errorf("seed %d: %q does not decode: %v", seed, out, err)
			continue
		}
		if got.Name == nil || got.Age == nil || len([]rune(*got.Name)) > 20 {
			t.Errorf("seed %d: %q breaks the schema", seed, out)
		}
		if streamed != out {
			t.Errorf("seed %d: streamed %q, returned %q", seed, streamed, out)
		}
		// One log-probability per token, the model's own: never the -Inf of a masked logit.
		if len(resp.Logprobs) != resp.Usage.CompletionTokens {
			t.Errorf("seed %d: %d logprobs for %d tokens", seed, len(resp.Logprobs), resp.Usage.CompletionTokens)
		}
		for _, lp := range resp.Logprobs {
			if lp.Logprob > 0 || lp.Logprob < -9999 || len(lp.Top) != 3 || lp.Top[0].Logprob < lp.Logprob {
				t.Errorf("seed %d: implausible logprob %+v", seed, lp)
				break
			}
		}
	}
}

// TestJSONSchemaNested runs a schema with an enum, integer bounds and a bounded array.
func TestJSONSchemaNested(t *testing.T) {
	m, _ := openStories(t)
	schema := json.RawMessage(`{"type":"object","properties":{"pet":{"enum":["cat","dog"]},
		"age":{"type":"integer","minimum":0,"maximum":120},
		"tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3}},
		"required":["pet","age","tags"],"additionalProperties":false}`)
	for seed := range int64(3) {
		resp, _ := jsonChat(t, m, chat.ResponseFormat{Type: chat.FormatJSONSchema, Schema: schema}, seed, 100, false)
		out := resp.Message.Content
		t.Logf("seed %d: %s", seed, out)
		var got struct {
			Pet  string   `json:"pet"`
			Age  *int     `json:"age"`
			Tags []string `json:"tags"`
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Errorf("seed %d: %q: %v", seed, out, err)
			continue
		}
		if got.Pet != "cat" && got.Pet != "dog" || got.Age == nil || *got.Age < 0 || *got.Age > 120 || got.Tags == nil || len(got.Tags) > 3 {
			t.Errorf("seed %d: %q breaks the schema", seed, out)
		}
		for _, tag := range got.Tags {
			if len([]rune(tag)) > 8 {
				t.Errorf("seed %d: tag %q is too long", seed, tag)
			}
		}
	}
}

// TestJSONGreedy checks greedy decoding: the same request twice gives the same valid output.
func TestJSONGreedy(t *testing.T) {
	m, _ := openStories(t)
	run := func() *chat.Response {
		resp, err := m.Chat(context.Background(), &chat.Request{
			Messages:  []chat.Message{{Role: chat.User, Content: "Once upon a time"}},
			Format:    chat.ResponseFormat{Type: chat.FormatJSONSchema, Schema: json.RawMessage(`{"type":"array","items":{"type":"string","maxLength":12},"minItems":1,"maxItems":3}`)},
			MaxTokens: 60, Sampling: chat.Sampling{Temperature: ptr(0.0)}, Logprobs: true,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	a, b := run(), run()
	t.Logf("greedy: %s", a.Message.Content)
	if a.Message.Content != b.Message.Content {
		t.Errorf("greedy runs differ: %q %q", a.Message.Content, b.Message.Content)
	}
	var xs []string
	if err := json.Unmarshal([]byte(a.Message.Content), &xs); err != nil || len(xs) < 1 || len(xs) > 3 {
		t.Errorf("%q: %v", a.Message.Content, err)
	}
}

// TestJSONBudget checks that a small max_tokens still closes the value (the budget steers
// towards completion).
func TestJSONBudget(t *testing.T) {
	m, _ := openStories(t)
	for seed := range int64(4) {
		resp, _ := jsonChat(t, m, chat.ResponseFormat{Type: chat.FormatJSONObject}, seed, 12, false)
		if !json.Valid([]byte(resp.Message.Content)) || resp.Usage.CompletionTokens > 12 {
			t.Errorf("seed %d: %q in %d tokens", seed, resp.Message.Content, resp.Usage.CompletionTokens)
		}
	}
}

func TestJSONSchemaErrors(t *testing.T) {
	m, _ := openStories(t)
	_, err := m.Chat(context.Background(), &chat.Request{
		Messages: []chat.Message{{Role: chat.User, Content: "x"}},
		Format:   chat.ResponseFormat{Type: chat.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"string","pattern":"^a+$"}}}`)},
	}, nil)
	if fault.ParamOf(err) != "response_format" || !strings.Contains(err.Error(), "pattern") {
		t.Errorf("err = %v, want a response_format error naming pattern", err)
	}
}

// BenchmarkConstrainedStories compares the time per generated token of stories260K with and
// without a json_object constraint (the model is tiny, so this shows the constraint's own cost).
func BenchmarkConstrainedStories(b *testing.B) {
	m, g := openStories(b)
	for _, c := range []struct {
		name string
		json *constrain.Schema
	}{{"text", nil}, {"json_object", constrain.AnyObject()}} {
		b.Run(c.name, func(b *testing.B) {
			tokens := 0
			for i := 0; b.Loop(); i++ {
				res, err := m.Generate(context.Background(), g.PromptTokens, GenerateOptions{
					Sample: sample.Params{Temperature: 1, Seed: uint64(i)}, MaxTokens: 100, IgnoreEOG: c.json == nil, JSON: c.json,
				}, nil)
				if err != nil {
					b.Fatal(err)
				}
				tokens += len(res.Tokens)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(tokens), "ns/token")
		})
	}
}
