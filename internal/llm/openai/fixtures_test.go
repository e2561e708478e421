package openai

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/llmtest"
)

func ptr[T any](v T) *T { return &v }

var weatherTool = chat.ToolSpec{Name: "get_weather",
	Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}

func replayClient(t *testing.T, fixture string, opts Options) (*Client, *llmtest.Server) {
	t.Helper()
	srv := llmtest.Replay(t, llmtest.LoadFixture(t, filepath.Join("testdata", fixture)))
	opts.BaseURL = srv.URL + "/v1"
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 1
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestFixtureLlamaCppStreamText(t *testing.T) {
	c, srv := replayClient(t, "llamacpp_stream_text.txtar", Options{Model: "qwen2.5-0.5b-instruct"})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{
		Model:     "ignored-because-options-name-one",
		Messages:  []chat.Message{{Role: chat.System, Content: "Be brief."}, {Role: chat.User, Content: "Say hi"}},
		Sampling:  chat.Sampling{Temperature: ptr(0.0), Seed: ptr(int64(7))},
		MaxTokens: 16,
		Stop:      []string{"\n\n"},
	}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Content(); got != "Hi there!" {
		t.Errorf("streamed content = %q", got)
	}
	if len(rec.Deltas()) != 3 {
		t.Errorf("got %d deltas, want 3 (the role-only and final chunks carry no delta)", len(rec.Deltas()))
	}
	if resp.Message.Content != "Hi there!" || resp.Message.Role != chat.Assistant || resp.FinishReason != chat.FinishStop {
		t.Errorf("response = %+v", resp)
	}
	u := resp.Usage
	if u.PromptTokens != 20 || u.CompletionTokens != 3 || u.CachedTokens != 12 {
		t.Errorf("usage = %+v, want 20 prompt, 3 completion, 12 cached", u)
	}
	if u.Duration <= 0 || u.TimeToFirstToken <= 0 || u.TimeToFirstToken > u.Duration {
		t.Errorf("durations = %v total, %v to first token", u.Duration, u.TimeToFirstToken)
	}
	if resp.Model != "qwen2.5-0.5b-instruct" {
		t.Errorf("model = %q", resp.Model)
	}
	if srv.Served() != 1 {
		t.Errorf("served %d exchanges", srv.Served())
	}
}

func TestFixtureVLLMStreamCRLFComments(t *testing.T) {
	c, _ := replayClient(t, "vllm_stream_crlf_comments.txtar", Options{Model: "Qwen/Qwen2.5-1.5B-Instruct"})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "hi"}}}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "Bonjour le monde" || rec.Content() != "Bonjour le monde" {
		t.Errorf("content = %q, streamed %q", resp.Message.Content, rec.Content())
	}
	if resp.FinishReason != chat.FinishStop {
		t.Errorf("finish = %q", resp.FinishReason)
	}
	if resp.Usage.PromptTokens != 0 || resp.Usage.CompletionTokens != 0 {
		t.Errorf("usage = %+v, want zero token counts when the server sends none", resp.Usage)
	}
}

func TestFixtureParallelCallsAllIndexZero(t *testing.T) {
	c, _ := replayClient(t, "vllm_stream_parallel_index0.txtar", Options{Model: "m"})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{
		Messages:   []chat.Message{{Role: chat.User, Content: "weather and time"}},
		Tools:      []chat.ToolSpec{weatherTool, {Name: "get_time", Description: "Current time"}},
		ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceAuto},
	}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{
		{ID: "chatcmpl-tool-aaa", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "chatcmpl-tool-bbb", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
		{ID: "chatcmpl-tool-ccc", Name: "get_time", Arguments: `{}`},
	}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) {
		t.Errorf("tool calls = %+v\nwant %+v", resp.Message.ToolCalls, want)
	}
	streamed := rec.ToolCalls()
	if len(streamed) != 3 {
		t.Fatalf("streamed %d calls, want 3: %+v", len(streamed), streamed)
	}
	for i, s := range streamed {
		if s.ID != want[i].ID || s.Name != want[i].Name || finalArguments(s.Arguments) != want[i].Arguments {
			t.Errorf("streamed call %d = %+v, want %+v", i, s, want[i])
		}
	}
	if resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("finish = %q", resp.FinishReason)
	}
	if resp.Usage.CachedTokens != 64 || resp.Usage.PromptTokens != 120 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestFixtureMissingIDsObjectArguments(t *testing.T) {
	c, _ := replayClient(t, "stream_missing_ids_object_args.txtar", Options{})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{
		Model:    "local",
		Messages: []chat.Message{{Role: chat.User, Content: "x"}},
		Tools:    []chat.ToolSpec{weatherTool, {Name: "get_time"}},
	}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{
		{ID: "call_0", Name: "get_weather", Arguments: `{"city":"Lima","days":2}`},
		{ID: "call_1", Name: "get_time", Arguments: `{}`},
	}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) {
		t.Errorf("tool calls = %+v\nwant %+v", resp.Message.ToolCalls, want)
	}
	if !reflect.DeepEqual(rec.ToolCalls(), want) {
		t.Errorf("streamed calls = %+v", rec.ToolCalls())
	}
	if resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("finish = %q, want tool_calls although the server said stop", resp.FinishReason)
	}
}

func TestFixtureReasoningNotMixedIn(t *testing.T) {
	c, _ := replayClient(t, "stream_reasoning_no_usage.txtar", Options{Model: "r1"})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "n?"}}}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "42" || rec.Content() != "42" {
		t.Errorf("content = %q, streamed %q; reasoning must stay out", resp.Message.Content, rec.Content())
	}
	if resp.FinishReason != chat.FinishStop {
		t.Errorf("finish = %q, want stop: the reply has no tool calls", resp.FinishReason)
	}
}

func TestFixtureStreamTextToolCallRepaired(t *testing.T) {
	c, _ := replayClient(t, "stream_text_tool_call.txtar", Options{Model: "tiny"})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{
		Messages: []chat.Message{{Role: chat.User, Content: "weather in Rome"}},
		Tools:    []chat.ToolSpec{{Name: "get_weather"}},
	}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{{ID: "call_0", Name: "get_weather", Arguments: `{"city":"Rome"}`}}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) {
		t.Errorf("tool calls = %+v", resp.Message.ToolCalls)
	}
	if resp.Message.Content != "Checking now." {
		t.Errorf("content = %q", resp.Message.Content)
	}
	if strings.Contains(rec.Content(), "<tool") || strings.Contains(rec.Content(), "get_weather") {
		t.Errorf("the text tool call leaked into the stream: %q", rec.Content())
	}
	if !strings.HasPrefix(rec.Content(), "Checking now.") {
		t.Errorf("streamed content = %q, want the preamble", rec.Content())
	}
	if !reflect.DeepEqual(rec.ToolCalls(), want) {
		t.Errorf("streamed calls = %+v", rec.ToolCalls())
	}
	if resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("finish = %q", resp.FinishReason)
	}
}

func TestFixtureNonStreamToolCalls(t *testing.T) {
	c, _ := replayClient(t, "nonstream_tool_calls.txtar", Options{Model: "qwen"})
	resp, err := c.Chat(context.Background(), &chat.Request{
		Messages: []chat.Message{
			{Role: chat.User, Content: "Weather in Paris and Oslo?"},
			{Role: chat.Assistant, ToolCalls: []chat.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: chat.Tool, ToolCallID: "call_a", Name: "get_weather", Content: "sunny"},
		},
		Tools:      []chat.ToolSpec{weatherTool},
		ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceFunction, Name: "get_weather"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{
		{ID: "call_x1", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
		{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Bergen"}`},
	}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) {
		t.Errorf("tool calls = %+v", resp.Message.ToolCalls)
	}
	if resp.Message.Content != "" || resp.FinishReason != chat.FinishToolCalls || resp.Model != "qwen2.5-7b" {
		t.Errorf("response = %+v", resp)
	}
	if resp.Usage.PromptTokens != 200 || resp.Usage.CompletionTokens != 30 || resp.Usage.CachedTokens != 150 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestFixtureNonStreamPythonicRepair(t *testing.T) {
	c, _ := replayClient(t, "nonstream_pythonic_repair.txtar", Options{})
	req := &chat.Request{
		Messages: []chat.Message{{Role: chat.User, Content: "x"}},
		Tools:    []chat.ToolSpec{{Name: "get_weather"}, {Name: "get_time"}},
	}
	resp, err := c.Chat(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{
		{ID: "call_0", Name: "get_weather", Arguments: `{"city":"Paris","days":2}`},
		{ID: "call_1", Name: "get_time", Arguments: `{"tz":"UTC"}`},
	}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) || resp.Message.Content != "" || resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("response = %+v", resp)
	}
}

func TestFixtureNoRepairWhenDisabled(t *testing.T) {
	c, _ := replayClient(t, "nonstream_pythonic_repair.txtar", Options{NoToolRepair: true})
	resp, err := c.Chat(context.Background(), &chat.Request{
		Messages: []chat.Message{{Role: chat.User, Content: "x"}},
		Tools:    []chat.ToolSpec{{Name: "get_weather"}, {Name: "get_time"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Message.ToolCalls) != 0 || !strings.HasPrefix(resp.Message.Content, "[get_weather(") || resp.FinishReason != chat.FinishStop {
		t.Errorf("response = %+v, want the text untouched", resp)
	}
}

func TestFixtureJSONSchemaLogprobs(t *testing.T) {
	c, _ := replayClient(t, "nonstream_json_format_logprobs.txtar", Options{Model: "m"})
	resp, err := c.Chat(context.Background(), &chat.Request{
		Messages:    []chat.Message{{Role: chat.User, Content: "json"}},
		Format:      chat.ResponseFormat{Type: chat.FormatJSONSchema, Name: "answer", Schema: json.RawMessage(`{"type":"object"}`), Strict: true},
		Logprobs:    true,
		TopLogprobs: 2,
		Sampling:    chat.Sampling{TopK: ptr(40), MinP: ptr(0.05), RepeatPenalty: ptr(1.1)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != chat.FinishLength {
		t.Errorf("finish = %q", resp.FinishReason)
	}
	if len(resp.Logprobs) != 2 || resp.Logprobs[0].Token != "{" || len(resp.Logprobs[0].Top) != 2 ||
		string(resp.Logprobs[0].Top[1].Bytes) != " {" || resp.Logprobs[1].Logprob != -0.2 {
		t.Errorf("logprobs = %+v", resp.Logprobs)
	}
}

func TestFixtureErrors(t *testing.T) {
	tests := []struct {
		fixture string
		code    fault.Code
		msg     string
	}{
		{"llamacpp_error_context.txtar", fault.ContextLength, "exceeds the available context size"},
		{"vllm_error_model_not_found.txtar", fault.NotFound, "The model `nope` does not exist."},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			c, srv := replayClient(t, tt.fixture, Options{Model: "nope"})
			_, err := c.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "x"}}}, nil)
			if fault.CodeOf(err) != tt.code {
				t.Fatalf("code = %q (%v), want %q", fault.CodeOf(err), err, tt.code)
			}
			if !strings.Contains(fault.Message(err), tt.msg) {
				t.Errorf("user message %q does not carry the upstream message %q", fault.Message(err), tt.msg)
			}
			if srv.Served() != 1 {
				t.Errorf("served %d, want 1: client errors are not retried", srv.Served())
			}
		})
	}
}

func TestFixtureListModels(t *testing.T) {
	c, _ := replayClient(t, "llamacpp_models.txtar", Options{})
	infos, err := c.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 {
		t.Fatalf("got %d models", len(infos))
	}
	in := infos[0]
	if in.ID != "qwen2.5-0.5b-instruct-q8_0.gguf" || in.ContextLength != 32768 || in.Parameters != 494032768 ||
		in.Size != 531066880 || in.Backend != "openai" || !strings.HasPrefix(in.URL, "openai+http://127.0.0.1:") ||
		!strings.HasSuffix(in.URL, "/v1#qwen2.5-0.5b-instruct-q8_0.gguf") {
		t.Errorf("info = %+v", in)
	}
}

func TestFixtureEmbeddings(t *testing.T) {
	c, _ := replayClient(t, "embeddings.txtar", Options{Model: "emb"})
	vecs, tokens, err := c.Embed(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{1, 0.25}, {0.5, -0.5}}
	if !reflect.DeepEqual(vecs, want) || tokens != 4 {
		t.Errorf("vectors = %v, tokens = %d", vecs, tokens)
	}
}

func TestFixtureRetryThenJSONForStream(t *testing.T) {
	c, srv := replayClient(t, "retry_429_then_stream.txtar", Options{Model: "gpt-x"})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "hi"}}}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Served() != 3 {
		t.Errorf("served %d exchanges, want 3", srv.Served())
	}
	if resp.Message.Content != "Hello." || rec.Content() != "Hello." || len(rec.Deltas()) != 1 || resp.Usage.CompletionTokens != 2 {
		t.Errorf("response %+v, streamed %q in %d deltas", resp, rec.Content(), len(rec.Deltas()))
	}
}

func TestFixtureRetriesExhausted(t *testing.T) {
	c, srv := replayClient(t, "retry_429_then_stream.txtar", Options{Model: "gpt-x", MaxRetries: 1})
	_, err := c.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "hi"}}}, func(chat.Delta) error { return nil })
	if fault.CodeOf(err) != fault.Upstream || !strings.Contains(fault.Message(err), "upstream connect error") {
		t.Fatalf("err = %v (code %q)", err, fault.CodeOf(err))
	}
	if srv.Served() != 2 {
		t.Errorf("served %d, want 2 (1 try + 1 retry)", srv.Served())
	}
}
