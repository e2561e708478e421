package openai

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var meta = Meta{ID: "chatcmpl-1", Created: 1700000000, Model: "tiny"}

func TestFromChat(t *testing.T) {
	resps := []*chat.Response{
		{
			Message:      chat.Message{Role: chat.Assistant, Content: "Hi"},
			FinishReason: chat.FinishStop,
			Usage: chat.Usage{PromptTokens: 5, CompletionTokens: 2, CachedTokens: 3, Duration: 1500 * time.Microsecond,
				TimeToFirstToken: 250 * time.Microsecond, FLOPs: 1e6},
			Logprobs: []chat.TokenLogprob{{Token: "Hi", Logprob: -0.5, Top: []chat.TopLogprob{{Token: "Hi", Logprob: -0.5}, {Token: "Yo", Bytes: []byte{89, 111}, Logprob: math.Inf(-1)}}}},
		},
		{
			Message:      chat.Message{Role: chat.Assistant, ToolCalls: []chat.ToolCall{{ID: "call_1", Name: "f", Arguments: `{"a":1}`}}},
			FinishReason: chat.FinishToolCalls,
			Usage:        chat.Usage{PromptTokens: 5, CompletionTokens: 4, Duration: time.Millisecond, FLOPs: 2e6},
			Truncated:    7,
		},
	}
	got := mustJSON(t, FromChat(meta, resps))
	want := `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"tiny","choices":[` +
		`{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null},"logprobs":{"content":[{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.5,"bytes":[72,105]},{"token":"Yo","logprob":-9999,"bytes":[89,111]}]}],"refusal":null},"finish_reason":"stop"},` +
		`{"index":1,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":3}},` +
		`"seance":{"duration_ms":2.5,"ttft_ms":0.25,"flops":3000000,"truncated_tokens":7}}`
	if got != want {
		t.Errorf("FromChat:\n got %s\nwant %s", got, want)
	}
}

func TestChunks(t *testing.T) {
	tests := []struct {
		name string
		c    *ChatCompletionChunk
		want string
	}{
		{"role", RoleChunk(meta, 1),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[{"index":1,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`},
		{"content", DeltaChunk(meta, 0, chat.Delta{Content: "a<b"}),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[{"index":0,"delta":{"content":"a\u003cb"},"logprobs":null,"finish_reason":null}]}`},
		{"tool first fragment", DeltaChunk(meta, 0, chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "call_9", Name: "f"}}}),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`},
		{"tool later fragment", DeltaChunk(meta, 0, chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, Arguments: `{"x"`}}}),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\""}}]},"logprobs":null,"finish_reason":null}]}`},
		{"finish", FinishChunk(meta, 0, &chat.Response{FinishReason: chat.FinishLength}),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}`},
		{"usage", UsageChunk(meta, []*chat.Response{{Usage: chat.Usage{PromptTokens: 3, CompletionTokens: 1}}}),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"seance":{"duration_ms":0,"ttft_ms":0,"flops":0,"truncated_tokens":0}}`},
	}
	for _, tt := range tests {
		if got := mustJSON(t, tt.c); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	if c := DeltaChunk(meta, 0, chat.Delta{}); c != nil {
		t.Errorf("an empty delta made chunk %s", mustJSON(t, c))
	}
}

func TestNewError(t *testing.T) {
	if got, want := mustJSON(t, NewError("bad", "invalid_request_error", "", "")),
		`{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := mustJSON(t, NewError("bad", "invalid_request_error", "n", "invalid_request")),
		`{"error":{"message":"bad","type":"invalid_request_error","param":"n","code":"invalid_request"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
