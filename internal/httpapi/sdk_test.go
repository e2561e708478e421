package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm"
)

// sdkServer serves models behind a handler that counts HTTP requests, and returns an official SDK
// client for it with retries off (tests that exercise retries pass their own option).
func sdkServer(t *testing.T, opts Options, models map[string]llm.Model, clientOpts ...option.RequestOption) (*Server, sdk.Client, *atomic.Int64) {
	t.Helper()
	s, _ := newTestServer(t, opts, models)
	var count atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		s.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	base := []option.RequestOption{
		option.WithBaseURL(ts.URL + "/v1/"),
		option.WithAPIKey("test-key"),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(30 * time.Second),
	}
	return s, sdk.NewClient(append(base, clientOpts...)...), &count
}

func userParams(model, content string) sdk.ChatCompletionNewParams {
	return sdk.ChatCompletionNewParams{
		Model:    model,
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage(content)},
	}
}

// accumulate reads a whole stream into an accumulator.
func accumulate(t *testing.T, stream *ssestream.Stream[sdk.ChatCompletionChunk]) (sdk.ChatCompletionAccumulator, []sdk.ChatCompletionChunk) {
	t.Helper()
	var acc sdk.ChatCompletionAccumulator
	var chunks []sdk.ChatCompletionChunk
	for stream.Next() {
		c := stream.Current()
		chunks = append(chunks, c)
		if !acc.AddChunk(c) {
			t.Fatalf("accumulator rejected chunk %s", c.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return acc, chunks
}

// comparable strips what legitimately differs between a streamed and a non-streamed completion.
func comparableCompletion(t *testing.T, c sdk.ChatCompletion) string {
	t.Helper()
	type msg struct {
		Content   string
		ToolCalls []struct{ ID, Name, Args string }
	}
	var out struct {
		ID, Model string
		Created   int64
		Choices   []struct {
			Index  int64
			Finish string
			Msg    msg
		}
	}
	out.ID, out.Model, out.Created = c.ID, c.Model, c.Created
	for _, ch := range c.Choices {
		var m msg
		m.Content = ch.Message.Content
		for _, tc := range ch.Message.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, struct{ ID, Name, Args string }{tc.ID, tc.Function.Name, tc.Function.Arguments})
		}
		out.Choices = append(out.Choices, struct {
			Index  int64
			Finish string
			Msg    msg
		}{ch.Index, ch.FinishReason, m})
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSDKChat(t *testing.T) {
	s, client, count := sdkServer(t, Options{}, map[string]llm.Model{"tiny": bySeed()})
	fixIDs(s)
	ctx := context.Background()

	for _, tt := range []struct {
		name string
		seed int64
	}{{"content", 0}, {"tools", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			params := userParams("tiny", "Once?")
			params.Seed = sdk.Int(tt.seed)
			params.N = sdk.Int(2)
			params.Tools = []sdk.ChatCompletionToolUnionParam{sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object"}})}
			full, err := client.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if len(full.Choices) != 2 || full.Usage.PromptTokens == 0 {
				t.Fatalf("completion %s", full.RawJSON())
			}
			params.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
			acc, chunks := accumulate(t, client.Chat.Completions.NewStreaming(ctx, params))
			got, want := comparableCompletion(t, acc.ChatCompletion), comparableCompletion(t, *full)
			// The ids differ (one per request); everything else must agree.
			got = strings.Replace(got, acc.ID, full.ID, 1)
			if got != want {
				t.Errorf("accumulated stream differs from the non-streamed completion:\n got %s\nwant %s", got, want)
			}
			if acc.Usage.PromptTokens != full.Usage.PromptTokens || acc.Usage.CompletionTokens != full.Usage.CompletionTokens {
				t.Errorf("stream usage %+v, non-stream %+v", acc.Usage, full.Usage)
			}
			last := chunks[len(chunks)-1]
			if len(last.Choices) != 0 || !strings.Contains(last.RawJSON(), `"seance":{"duration_ms"`) {
				t.Errorf("last chunk %s is not the usage chunk with accounting", last.RawJSON())
			}
			for _, c := range chunks {
				if c.ID != chunks[0].ID || c.Created != chunks[0].Created || c.Model != "tiny" || c.Object != "chat.completion.chunk" {
					t.Errorf("chunk %s differs in id/created/model/object from the first", c.RawJSON())
				}
			}
		})
	}
	if n := count.Load(); n != 4 {
		t.Errorf("server saw %d requests, want 4", n)
	}
}

func TestSDKToolCallsStreamed(t *testing.T) {
	_, client, _ := sdkServer(t, Options{}, map[string]llm.Model{"tiny": &fakeModel{chat: scripted(toolTurn(), nil, nil)}})
	stream := client.Chat.Completions.NewStreaming(context.Background(), userParams("tiny", "weather and time?"))
	var acc sdk.ChatCompletionAccumulator
	var finished []sdk.FinishedChatCompletionToolCall
	for stream.Next() {
		acc.AddChunk(stream.Current())
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(finished) != 2 || finished[0].Name != "get_weather" || finished[0].Arguments != `{"city":"Paris"}` ||
		finished[0].ID != "call_a" || finished[1].Name != "get_time" || finished[1].ID != "call_b" {
		t.Errorf("finished tool calls = %+v", finished)
	}
	if fr := acc.Choices[0].FinishReason; fr != "tool_calls" {
		t.Errorf("finish reason %q", fr)
	}
}

func TestSDKErrorsAreNotRetried(t *testing.T) {
	// Retries on: a 4xx must still be sent once.
	m := &fakeModel{chat: scripted(contentTurn(), nil, nil)}
	_, client, count := sdkServer(t, Options{}, map[string]llm.Model{"tiny": m}, option.WithMaxRetries(3))
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		params sdk.ChatCompletionNewParams
		status int
		param  string
		code   string
	}{
		{"temperature", func() sdk.ChatCompletionNewParams {
			p := userParams("tiny", "x")
			p.Temperature = sdk.Float(7)
			return p
		}(), 400, "temperature", "invalid_request"},
		{"unknown model", userParams("nope", "x"), 404, "", "not_found"},
		{"image", sdk.ChatCompletionNewParams{Model: "tiny", Messages: []sdk.ChatCompletionMessageParamUnion{
			sdk.UserMessage([]sdk.ChatCompletionContentPartUnionParam{sdk.ImageContentPart(sdk.ChatCompletionContentPartImageImageURLParam{URL: "https://example.invalid/cat.png"})}),
		}}, 400, "messages[0].content[0]", "unsupported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := count.Load()
			_, err := client.Chat.Completions.New(ctx, tt.params)
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Param != tt.param || apiErr.Code != tt.code {
				t.Errorf("status, param, code = %d, %q, %q; want %d, %q, %q", apiErr.StatusCode, apiErr.Param, apiErr.Code, tt.status, tt.param, tt.code)
			}
			if n := count.Load() - before; n != 1 {
				t.Errorf("the SDK sent %d requests, want 1 (no retry of a 4xx)", n)
			}
		})
	}
	if m.calls.Load() != 0 {
		t.Errorf("the model was called %d times for bad requests", m.calls.Load())
	}
}

func TestSDKOverloadedRetriesAfter(t *testing.T) {
	entered, unblock := make(chan struct{}), make(chan struct{})
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		close(entered)
		select {
		case <-unblock:
		case <-ctx.Done():
		}
		return &chat.Response{Message: chat.Message{Content: "ok"}}, nil
	}}
	_, client, count := sdkServer(t, Options{MaxConcurrent: 1, MaxQueue: -1}, map[string]llm.Model{"tiny": m}, option.WithMaxRetries(1))
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := client.Chat.Completions.New(ctx, userParams("tiny", "hold the slot"), option.WithMaxRetries(0))
		done <- err
	}()
	<-entered
	before := count.Load()
	start := time.Now()
	_, err := client.Chat.Completions.New(ctx, userParams("tiny", "x"))
	elapsed := time.Since(start)
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "overloaded" {
		t.Fatalf("err = %v, want a 503 overloaded error", err)
	}
	if got := apiErr.Response.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if n := count.Load() - before; n != 2 {
		t.Errorf("the SDK sent %d requests, want 2 (one retry)", n)
	}
	if elapsed < 900*time.Millisecond {
		t.Errorf("the SDK retried after %v, before Retry-After's 1s", elapsed)
	}
	close(unblock)
	if err := <-done; err != nil {
		t.Errorf("the request holding the slot failed: %v", err)
	}
}

func TestSDKModelsEmbeddingsAuth(t *testing.T) {
	emb := &fakeEmbedder{
		fakeModel: fakeModel{chat: scripted(contentTurn(), nil, nil)},
		embed: func(ctx context.Context, inputs []string) ([][]float32, int, error) {
			out := make([][]float32, len(inputs))
			for i, s := range inputs {
				out[i] = []float32{float32(len(s)), 0.5, -1}
			}
			return out, 3 * len(inputs), nil
		},
	}
	modified := time.Unix(1690000000, 0)
	src := &fakeSource{
		models: map[string]llm.Model{"emb": emb, "tiny": &fakeModel{chat: scripted(contentTurn(), nil, nil)}},
		infos: []llm.Info{{ID: "emb", Backend: "fake", Modified: modified},
			{ID: "tiny", Backend: "gguf", Architecture: "llama", Parameters: 260000, ContextLength: 512}},
	}
	_, client, _ := sdkServer(t, Options{Models: src, APIKeys: []string{"test-key"}}, nil)
	ctx := context.Background()

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != "emb" || page.Data[0].Created != modified.Unix() || page.Data[1].OwnedBy != "seance" {
		t.Errorf("models = %s", page.RawJSON())
	}
	if !strings.Contains(page.RawJSON(), `"seance":{"backend":"gguf","architecture":"llama","parameters":260000,"context_length":512}`) {
		t.Errorf("model details missing: %s", page.RawJSON())
	}
	one, err := client.Models.Get(ctx, "tiny")
	if err != nil || one.ID != "tiny" {
		t.Errorf("get model: %v %+v", err, one)
	}

	for _, format := range []sdk.EmbeddingNewParamsEncodingFormat{sdk.EmbeddingNewParamsEncodingFormatFloat, sdk.EmbeddingNewParamsEncodingFormatBase64} {
		res, err := client.Embeddings.New(ctx, sdk.EmbeddingNewParams{
			Model:          "emb",
			Input:          sdk.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"ab", "abcd"}},
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(res.Data) != 2 || res.Usage.PromptTokens != 6 {
			t.Fatalf("%s: %s", format, res.RawJSON())
		}
		if got := res.Data[1].Embedding; len(got) != 3 || got[0] != 4 || got[1] != 0.5 || got[2] != -1 {
			t.Errorf("%s: embedding 1 = %v", format, got)
		}
	}
	_, err = client.Embeddings.New(ctx, sdk.EmbeddingNewParams{Model: "tiny",
		Input: sdk.EmbeddingNewParamsInputUnion{OfString: sdk.String("x")}})
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "unsupported" {
		t.Errorf("embeddings on a chat-only model: %v", err)
	}

	_, err = client.Models.List(ctx, option.WithAPIKey("wrong"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("wrong key: %v, want 401", err)
	}
}

func TestSDKStreamErrorEvent(t *testing.T) {
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		if err := stream(chat.Delta{Content: "partial"}); err != nil {
			return nil, err
		}
		return nil, errors.New("engine exploded")
	}}
	_, client, _ := sdkServer(t, Options{}, map[string]llm.Model{"tiny": m})
	stream := client.Chat.Completions.NewStreaming(context.Background(), userParams("tiny", "x"))
	n := 0
	for stream.Next() {
		n++
	}
	var se *ssestream.StreamError
	if err := stream.Err(); !errors.As(err, &se) || !strings.Contains(se.Message, "internal error") {
		t.Errorf("stream error = %v, want the SDK's StreamError carrying the envelope", err)
	}
	if n != 2 {
		t.Errorf("got %d chunks before the error, want 2 (role, content)", n)
	}
}
