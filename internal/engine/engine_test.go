package engine

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/engine/sample"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/testenv"
)

// sharedModels returns the shared test data folder (see internal/testenv).
func sharedModels(t testing.TB) string {
	t.Helper()
	return testenv.Shared(t, "models")
}

type golden struct {
	Prompt           string         `json:"prompt"`
	PromptTokens     []int          `json:"prompt_tokens"`
	CompletionText   string         `json:"completion_text"`
	CompletionTokens []int          `json:"completion_tokens"`
	TopLogprobs      [][][2]float64 `json:"top_logprobs"`
}

func openStories(t testing.TB) (*Model, golden) {
	return openStoriesWith(t, Options{Threads: 2})
}

func openStoriesWith(t testing.TB, opts Options) (*Model, golden) {
	t.Helper()
	dir := filepath.Join(sharedModels(t), "stories260K")
	m, err := Open(filepath.Join(dir, "stories260K-f32.gguf"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	data, err := os.ReadFile(filepath.Join(dir, "golden-once-upon-a-time.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return m, g
}

func ptr[T any](v T) *T { return &v }

// TestGoldenChat runs the golden prompt through the whole engine — plain template, tokenizer,
// forward pass, greedy sampler, streaming decoder — and compares with llama.cpp's reference: with
// llama.cpp's half-precision cache the log-probabilities agree within 1e-3; with the default float32
// cache (which differs from llama.cpp's rounding) within 1e-2, and the tokens exactly either way.
func TestGoldenChat(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		tol  float64
	}{
		{"half-cache", Options{Threads: 2}, 1e-3},
		{"f32-cache", Options{Threads: 2, Float32Cache: true}, 1e-2},
	} {
		t.Run(c.name, func(t *testing.T) { goldenChat(t, c.opts, c.tol) })
	}
}

func goldenChat(t *testing.T, opts Options, tol float64) {
	m, g := openStoriesWith(t, opts)
	if m.Info().Template != TemplatePlain {
		t.Fatalf("template %q, want plain for a base model without a template", m.Info().Template)
	}
	prompt, truncated, err := m.Prompt([]chat.Message{{Role: chat.User, Content: g.Prompt}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(prompt, g.PromptTokens) || truncated != 0 {
		t.Fatalf("prompt tokens %v, want %v", prompt, g.PromptTokens)
	}
	var streamed strings.Builder
	req := &chat.Request{
		Messages:  []chat.Message{{Role: chat.User, Content: g.Prompt}},
		MaxTokens: len(g.CompletionTokens),
		Sampling:  chat.Sampling{Temperature: ptr(0.0)},
		Logprobs:  true, TopLogprobs: 3,
	}
	resp, err := m.Chat(context.Background(), req, func(d chat.Delta) error {
		streamed.WriteString(d.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != g.CompletionText {
		t.Errorf("completion\n got %q\nwant %q", resp.Message.Content, g.CompletionText)
	}
	if streamed.String() != resp.Message.Content {
		t.Errorf("streamed text differs from the response")
	}
	if resp.FinishReason != chat.FinishLength || resp.Usage.CompletionTokens != 64 || resp.Usage.PromptTokens != 5 {
		t.Errorf("finish %s, usage %+v", resp.FinishReason, resp.Usage)
	}
	if resp.Usage.FLOPs <= 0 || resp.Usage.Duration <= 0 || resp.Usage.TimeToFirstToken <= 0 {
		t.Errorf("compute accounting missing: %+v", resp.Usage)
	}
	if len(resp.Logprobs) != 64 {
		t.Fatalf("%d logprobs, want 64", len(resp.Logprobs))
	}
	for step, want := range g.TopLogprobs {
		lp := resp.Logprobs[step]
		if len(lp.Top) != 3 {
			t.Fatalf("step %d: %d alternatives", step, len(lp.Top))
		}
		for k, w := range want {
			if want := string(m.Tokenizer().TokenBytes(int(w[0]))); lp.Top[k].Token != want {
				t.Errorf("step %d alt %d: token %q, want %q (id %d)", step, k, lp.Top[k].Token, want, int(w[0]))
			}
			if math.Abs(lp.Top[k].Logprob-w[1]) > tol {
				t.Errorf("step %d alt %d: logprob %.5f, want %.5f", step, k, lp.Top[k].Logprob, w[1])
			}
		}
		if math.Abs(lp.Logprob-want[0][1]) > tol {
			t.Errorf("step %d: chosen logprob %.5f, want %.5f", step, lp.Logprob, want[0][1])
		}
	}
}

func TestGenerateTokensMatchGolden(t *testing.T) {
	m, g := openStories(t)
	res, err := m.Generate(context.Background(), g.PromptTokens, GenerateOptions{MaxTokens: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Tokens, g.CompletionTokens) {
		t.Errorf("tokens\n got %v\nwant %v", res.Tokens, g.CompletionTokens)
	}
}

func TestStopSequences(t *testing.T) {
	m, g := openStories(t)
	msgs := []chat.Message{{Role: chat.User, Content: g.Prompt}}
	for _, c := range []struct {
		stop []string
		want string
	}{
		{[]string{"Lily"}, ", there was a little girl named "},
		{[]string{"park.", "girl"}, ", there was a little "},
		{[]string{"\n"}, strings.Split(g.CompletionText, "\n")[0]},
		{[]string{"never appears in this story"}, g.CompletionText},
	} {
		var streamed strings.Builder
		resp, err := m.Chat(context.Background(), &chat.Request{
			Messages: msgs, MaxTokens: 64, Stop: c.stop, Sampling: chat.Sampling{Temperature: ptr(0.0)},
		}, func(d chat.Delta) error { streamed.WriteString(d.Content); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if resp.Message.Content != c.want || streamed.String() != c.want {
			t.Errorf("stop %q: got %q (streamed %q), want %q", c.stop, resp.Message.Content, streamed.String(), c.want)
		}
		wantFinish := chat.FinishStop
		if c.want == g.CompletionText {
			wantFinish = chat.FinishLength
		}
		if resp.FinishReason != wantFinish {
			t.Errorf("stop %q: finish %s, want %s", c.stop, resp.FinishReason, wantFinish)
		}
	}
}

func TestSeedsAreReproducible(t *testing.T) {
	m, g := openStories(t)
	run := func(seed int64) string {
		resp, err := m.Chat(context.Background(), &chat.Request{
			Messages: []chat.Message{{Role: chat.User, Content: g.Prompt}}, MaxTokens: 40,
			Sampling: chat.Sampling{Temperature: ptr(1.0), Seed: ptr(seed)},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Message.Content
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("same seed, different output:\n%q\n%q", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same 40-token sample %q", a)
	}
}

func TestContextIsEnforced(t *testing.T) {
	dir := filepath.Join(sharedModels(t), "stories260K")
	m, err := Open(filepath.Join(dir, "stories260K-f32.gguf"), Options{Threads: 1, ContextLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	long := strings.Repeat("The cat sat on the mat. ", 20)
	_, err = m.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: long}}}, nil)
	if fault.CodeOf(err) != fault.ContextLength {
		t.Fatalf("over-long prompt: err = %v, want context_length_exceeded", err)
	}
	// With truncation allowed, the oldest message goes and the drop is reported.
	msgs := []chat.Message{
		{Role: chat.System, Content: "Tell a story."},
		{Role: chat.User, Content: long},
		{Role: chat.User, Content: "Once upon a time"},
	}
	resp, err := m.Chat(context.Background(), &chat.Request{Messages: msgs, TruncatePrompt: true, MaxTokens: 100,
		Sampling: chat.Sampling{Temperature: ptr(0.0)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Truncated <= 0 {
		t.Errorf("truncation not reported: %d", resp.Truncated)
	}
	if resp.Usage.PromptTokens+resp.Usage.CompletionTokens > 32 {
		t.Errorf("used %d+%d tokens in a context of 32", resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
	}
	if resp.FinishReason != chat.FinishLength {
		t.Errorf("finish %s, want length (the context filled up)", resp.FinishReason)
	}
	// Even truncation cannot make a single over-long message fit.
	_, err = m.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: long}},
		TruncatePrompt: true}, nil)
	if fault.CodeOf(err) != fault.ContextLength {
		t.Errorf("err = %v, want context_length_exceeded", err)
	}
}

func TestBadRequests(t *testing.T) {
	m, _ := openStories(t)
	for _, c := range []struct {
		name  string
		req   chat.Request
		code  fault.Code
		param string
	}{
		{"no messages", chat.Request{}, fault.Invalid, "messages"},
		{"negative temperature", chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "x"}},
			Sampling: chat.Sampling{Temperature: ptr(-1.0)}}, fault.Invalid, "temperature"},
		{"top_p above 1", chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "x"}},
			Sampling: chat.Sampling{TopP: ptr(1.5)}}, fault.Invalid, "top_p"},
		{"empty stop", chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "x"}}, Stop: []string{""}}, fault.Invalid, "stop"},
		{"unenforceable json schema", chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "x"}},
			Format: chat.ResponseFormat{Type: chat.FormatJSONSchema, Schema: json.RawMessage(`{"type":"string","format":"date"}`)}},
			fault.Invalid, "response_format"},
		{"unknown format", chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "x"}},
			Format: chat.ResponseFormat{Type: "xml"}}, fault.Invalid, "response_format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Chat(context.Background(), &c.req, nil)
			if fault.CodeOf(err) != c.code {
				t.Errorf("err = %v (code %s), want %s", err, fault.CodeOf(err), c.code)
			}
			if fault.ParamOf(err) != c.param {
				t.Errorf("param = %q, want %q", fault.ParamOf(err), c.param)
			}
		})
	}
	if _, err := m.Generate(context.Background(), []int{1, 9999}, GenerateOptions{}, nil); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("out-of-vocabulary token: %v", err)
	}
}

func TestCancel(t *testing.T) {
	m, g := openStories(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := m.Generate(ctx, g.PromptTokens, GenerateOptions{MaxTokens: 100, Sample: sample.Params{}}, func(p Piece) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.gguf"), Options{})
	if fault.CodeOf(err) != fault.NotFound {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(bad, []byte("GGUF\x03\x00\x00\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(bad, Options{})
	if fault.CodeOf(err) != fault.Unprocessable {
		t.Errorf("corrupt file: %v", err)
	}
}

func TestEmbed(t *testing.T) {
	m, _ := openStories(t)
	vecs, n, err := m.Embed(context.Background(), []string{"The cat sat on the mat.", "The cat sat on the mat.", "A dog ran in the park."})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 3 || len(vecs[0]) != 64 || n == 0 {
		t.Fatalf("%d vectors of %d, %d tokens", len(vecs), len(vecs[0]), n)
	}
	dot := func(a, b []float32) (s float64) {
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	if d := dot(vecs[0], vecs[0]); math.Abs(d-1) > 1e-5 {
		t.Errorf("not normalised: |v|² = %v", d)
	}
	if d := dot(vecs[0], vecs[1]); math.Abs(d-1) > 1e-5 {
		t.Errorf("same text, cosine %v", d)
	}
	if d := dot(vecs[0], vecs[2]); d > 0.9999 {
		t.Errorf("different texts give the same vector (cosine %v)", d)
	}
	// An empty text is just BOS for this vocabulary: it embeds.
	if v, n, err := m.Embed(context.Background(), []string{""}); err != nil || len(v[0]) != 64 || n != 1 {
		t.Errorf("empty text: %v, %d tokens", err, n)
	}
}
