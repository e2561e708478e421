package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/llmtest"
)

func ptr[T any](v T) *T { return &v }

func replayClient(t *testing.T, fixture string, opts Options) (*Client, *llmtest.Server) {
	t.Helper()
	srv := llmtest.Replay(t, llmtest.LoadFixture(t, filepath.Join("testdata", fixture)))
	opts.BaseURL = srv.URL
	opts.RetryDelay = time.Millisecond
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

var hello = []chat.Message{{Role: chat.User, Content: "Hello"}}

func TestShowThenStream(t *testing.T) {
	c, srv := replayClient(t, "show_then_stream.txtar", Options{Model: "llama3.2:1b", KeepAlive: "10m"})
	var rec llmtest.Recorder
	req := &chat.Request{Messages: hello, Sampling: chat.Sampling{Temperature: ptr(0.2)}, MaxTokens: 64, Stop: []string{"END"}}
	resp, err := c.Chat(context.Background(), req, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "Hello! How can I help?" || rec.Content() != resp.Message.Content {
		t.Errorf("content %q, streamed %q", resp.Message.Content, rec.Content())
	}
	if resp.FinishReason != chat.FinishStop || resp.Usage.PromptTokens != 26 || resp.Usage.CompletionTokens != 7 {
		t.Errorf("response = %+v", resp)
	}
	if resp.Usage.TimeToFirstToken <= 0 || resp.Usage.Duration < resp.Usage.TimeToFirstToken {
		t.Errorf("usage times = %+v", resp.Usage)
	}
	if srv.Served() != 2 {
		t.Errorf("served %d exchanges, want show + chat", srv.Served())
	}
	if got := c.Describe().ContextLength; got != DefaultNumCtx {
		t.Errorf("described context length = %d", got)
	}
}

func TestShowIsAskedOnce(t *testing.T) {
	var shows, chats atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/api/show":
			shows.Add(1)
			io.WriteString(w, `{"model_info":{"general.architecture":"qwen2","qwen2.context_length":2048}}`)
		case "/api/chat":
			chats.Add(1)
			if err := llmtest.MatchJSON([]byte(`{"options":{"num_ctx":2048},"stream":false}`), body); err != nil {
				t.Error(err)
			}
			io.WriteString(w, `{"message":{"role":"assistant","content":"ok"},"done":true}`)
		}
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Model: "qwen2.5:0.5b"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Chat(context.Background(), &chat.Request{Messages: hello}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if shows.Load() != 1 || chats.Load() != 3 {
		t.Errorf("show asked %d times for %d chats", shows.Load(), chats.Load())
	}
}

func TestStreamToolCalls(t *testing.T) {
	c, _ := replayClient(t, "stream_tool_calls.txtar", Options{Model: "qwen2.5:0.5b", NumCtx: 4096})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{
		Messages: []chat.Message{
			{Role: chat.User, Content: "weather?"},
			{Role: chat.Assistant, ToolCalls: []chat.ToolCall{{ID: "call_p", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: chat.Tool, ToolCallID: "call_p", Content: "sunny"},
		},
		Tools: []chat.ToolSpec{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
	}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{
		{ID: "call_0", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
		{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Rome","days":2}`},
	}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) || !reflect.DeepEqual(rec.ToolCalls(), want) {
		t.Errorf("calls = %+v, streamed %+v", resp.Message.ToolCalls, rec.ToolCalls())
	}
	if resp.FinishReason != chat.FinishToolCalls || resp.Usage.PromptTokens != 140 {
		t.Errorf("response = %+v", resp)
	}
}

func TestNonStreamModelfileNumCtx(t *testing.T) {
	c, _ := replayClient(t, "nonstream_modelfile_numctx.txtar", Options{})
	resp, err := c.Chat(context.Background(), &chat.Request{
		Model: "mistral:7b", Messages: hello,
		Format:   chat.ResponseFormat{Type: chat.FormatJSONObject},
		Sampling: chat.Sampling{Seed: ptr(int64(3))},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != chat.FinishLength || resp.Message.Content != `{"a": 1` || resp.Model != "mistral:7b" {
		t.Errorf("response = %+v", resp)
	}
	if resp.Usage.TimeToFirstToken != 300*time.Millisecond || resp.Usage.CompletionTokens != 8 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestErrorNotFound(t *testing.T) {
	c, srv := replayClient(t, "error_not_found.txtar", Options{Model: "nope:latest", NumCtx: 2048})
	_, err := c.Chat(context.Background(), &chat.Request{Messages: hello}, nil)
	if fault.CodeOf(err) != fault.NotFound || !strings.Contains(fault.Message(err), "try pulling it first") {
		t.Fatalf("err = %v (code %q)", err, fault.CodeOf(err))
	}
	if srv.Served() != 1 {
		t.Errorf("served %d: a 404 is not retried", srv.Served())
	}
}

func TestStreamErrorMidway(t *testing.T) {
	c, srv := replayClient(t, "stream_error_midway.txtar", Options{Model: "m", NumCtx: 2048})
	var rec llmtest.Recorder
	_, err := c.Chat(context.Background(), &chat.Request{Messages: hello}, rec.Stream)
	if fault.CodeOf(err) != fault.Upstream || !strings.Contains(fault.Message(err), "unexpected EOF") {
		t.Fatalf("err = %v (code %q)", err, fault.CodeOf(err))
	}
	if rec.Content() != "Once" || srv.Served() != 1 {
		t.Errorf("streamed %q, served %d", rec.Content(), srv.Served())
	}
}

func TestStreamTextToolCallRepaired(t *testing.T) {
	c, _ := replayClient(t, "stream_text_tool_call.txtar", Options{Model: "tiny", NumCtx: 2048})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{Messages: hello, Tools: []chat.ToolSpec{{Name: "get_weather"}}}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.ToolCall{{ID: "call_0", Name: "get_weather", Arguments: `{"city":"Lyon"}`}}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) || resp.Message.Content != "" || resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("response = %+v", resp)
	}
	if rec.Content() != "" || !reflect.DeepEqual(rec.ToolCalls(), want) {
		t.Errorf("streamed content %q, calls %+v", rec.Content(), rec.ToolCalls())
	}
}

func TestListModels(t *testing.T) {
	c, _ := replayClient(t, "tags.txtar", Options{})
	infos, err := c.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 {
		t.Fatalf("got %d models", len(infos))
	}
	in := infos[0]
	if in.ID != "llama3.2:1b" || in.Parameters != 1_200_000_000 || in.Quantization != "Q8_0" || in.Size != 1321098329 ||
		in.Architecture != "llama" || in.Modified.IsZero() || !strings.HasPrefix(in.URL, "ollama://127.0.0.1:") ||
		!strings.HasSuffix(in.URL, "/llama3.2:1b") {
		t.Errorf("info = %+v", in)
	}
	if infos[1].Parameters != 137_000_000 {
		t.Errorf("parameters = %d", infos[1].Parameters)
	}
}

func TestEmbed(t *testing.T) {
	c, _ := replayClient(t, "embed.txtar", Options{Model: "nomic-embed-text", NumCtx: 2048})
	vecs, n, err := c.Embed(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vecs, [][]float32{{0.1, 0.2, 0.3}, {-0.1, 0, 1}}) || n != 8 {
		t.Errorf("vectors %v, tokens %d", vecs, n)
	}
}

func TestRetry503ThenOK(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`)
			return
		}
		io.WriteString(w, `{"message":{"role":"assistant","content":"ok"},"done":true,"done_reason":"stop"}`)
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Model: "m", NumCtx: 1024, RetryDelay: time.Millisecond})
	resp, err := c.Chat(context.Background(), &chat.Request{Messages: hello}, nil)
	if err != nil || resp.Message.Content != "ok" || calls.Load() != 3 {
		t.Fatalf("resp %+v err %v after %d calls", resp, err, calls.Load())
	}
	c2, _ := New(Options{BaseURL: srv.URL, Model: "m", NumCtx: 1024, MaxRetries: -1})
	calls.Store(0)
	_, err = c2.Chat(context.Background(), &chat.Request{Messages: hello}, nil)
	if fault.CodeOf(err) != fault.Upstream || !strings.Contains(fault.Message(err), "server busy") {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelMidStream(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		limit := time.After(10 * time.Second)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, `{"message":{"role":"assistant","content":"t%d "},"done":false}`+"\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-limit:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Model: "m", NumCtx: 1024})
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	var at time.Time
	_, err := c.Chat(ctx, &chat.Request{Messages: hello}, func(chat.Delta) error {
		if n++; n == 3 {
			at = time.Now()
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || time.Since(at) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(at))
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("server still streaming after cancel")
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, base, model string
		numCtx          int
		keep            string
	}{
		{"ollama://127.0.0.1:11434/llama3.2:1b", "http://127.0.0.1:11434", "llama3.2:1b", 0, ""},
		{"ollama:///qwen2.5:0.5b", "http://127.0.0.1:11434", "qwen2.5:0.5b", 0, ""},
		{"ollama://gpu-box/mistral", "http://gpu-box:11434", "mistral", 0, ""},
		{"ollama://[::1]:9999/m:tag?num_ctx=4096&keep_alive=10m", "http://[::1]:9999", "m:tag", 4096, "10m"},
		{"ollama:///hf.co/org/repo:Q4_K_M", "http://127.0.0.1:11434", "hf.co/org/repo:Q4_K_M", 0, ""},
		{"ollama+https://proxy.example/llama3", "https://proxy.example:11434", "llama3", 0, ""},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		o, err := ParseURL(u)
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", tt.in, err)
		}
		if o.BaseURL != tt.base || o.Model != tt.model || o.NumCtx != tt.numCtx || o.KeepAlive != tt.keep {
			t.Errorf("ParseURL(%q) = %+v", tt.in, o)
		}
	}
	for _, bad := range []string{"ollama://host:1/", "ollama:///m?num_ctx=-1", "ollama://u:p@h/m", "http://h/m"} {
		u, _ := url.Parse(bad)
		if _, err := ParseURL(u); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("ParseURL(%q) err = %v, want invalid", bad, err)
		}
	}
}

func TestContextFromShow(t *testing.T) {
	info := map[string]json.RawMessage{"general.architecture": json.RawMessage(`"gemma3"`), "gemma3.context_length": json.RawMessage(`4096`)}
	if n := contextFromShow("", info); n != 4096 {
		t.Errorf("small model context = %d, want 4096", n)
	}
	if n := contextFromShow("num_ctx 16384", info); n != 16384 {
		t.Errorf("Modelfile num_ctx = %d", n)
	}
	if n := contextFromShow("", nil); n != DefaultNumCtx {
		t.Errorf("unknown = %d", n)
	}
}

func TestToolChoiceNoneSendsNoTools(t *testing.T) {
	c, err := New(Options{Model: "m", NumCtx: 1})
	if err != nil {
		t.Fatal(err)
	}
	tools := []chat.ToolSpec{{Name: "a"}, {Name: "b"}}
	w, err := c.buildRequest(context.Background(), &chat.Request{Messages: hello, Tools: tools, ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceNone}}, false)
	if err != nil || len(w.Tools) != 0 {
		t.Errorf("tools = %+v, err %v", w.Tools, err)
	}
	w, err = c.buildRequest(context.Background(), &chat.Request{Messages: hello, Tools: tools, ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceFunction, Name: "b"}}, false)
	if err != nil || len(w.Tools) != 1 || w.Tools[0].Function.Name != "b" {
		t.Errorf("tools = %+v, err %v", w.Tools, err)
	}
	if _, err := c.buildRequest(context.Background(), &chat.Request{Messages: hello, Tools: tools, ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceFunction, Name: "zz"}}, false); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("unknown forced tool err = %v", err)
	}
}
