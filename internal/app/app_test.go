package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/testenv"
)

// storiesPath returns the shared test data folder (see internal/testenv).
func storiesPath(t *testing.T) string {
	t.Helper()
	return testenv.Shared(t, "models", "stories260K", "stories260K-f32.gguf")
}

// startApp builds the real App over a temporary home holding the default model, serves it on
// 127.0.0.1:0 and returns an official SDK client for it.
func startApp(t *testing.T, yaml string, env map[string]string) (*App, sdk.Client, string) {
	t.Helper()
	user := t.TempDir()
	home := filepath.Join(user, ".seance")
	if err := os.MkdirAll(filepath.Join(home, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(storiesPath(t), filepath.Join(home, "models", config.DefaultModelFile)); err != nil {
		t.Fatal(err)
	}
	if yaml != "" {
		if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := map[string]string{"HOME": user}
	for k, v := range env {
		e[k] = v
	}
	cfg, err := config.Load(config.MapEnv(e), config.Flags{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln, "test") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	base := "http://" + ln.Addr().String() + "/v1/"
	client := sdk.NewClient(option.WithBaseURL(base), option.WithAPIKey("unused"), option.WithMaxRetries(0),
		option.WithRequestTimeout(60*time.Second))
	return a, client, base
}

func TestServeEmbeddedWithOpenAISDK(t *testing.T) {
	_, client, _ := startApp(t, "", nil)
	ctx := context.Background()
	params := sdk.ChatCompletionNewParams{
		Model:       "default",
		Messages:    []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("Once upon a time")},
		Temperature: sdk.Float(0),
		MaxTokens:   sdk.Int(64),
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	want := ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said"
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != want {
		t.Fatalf("non-stream content %q, want the golden continuation", resp.Choices[0].Message.Content)
	}
	if resp.Choices[0].FinishReason != "length" || resp.Usage.PromptTokens != 5 || resp.Usage.CompletionTokens != 64 {
		t.Errorf("finish %q usage %+v", resp.Choices[0].FinishReason, resp.Usage)
	}
	if !strings.Contains(resp.RawJSON(), `"seance"`) || !strings.Contains(resp.RawJSON(), `"flops"`) {
		t.Errorf("compute accounting missing from %s", resp.RawJSON())
	}

	params.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc sdk.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		chunks++
		if !acc.AddChunk(stream.Current()) {
			t.Fatal("accumulator rejected a chunk")
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 10 {
		t.Errorf("only %d chunks: the answer was not streamed token by token", chunks)
	}
	if acc.Choices[0].Message.Content != resp.Choices[0].Message.Content {
		t.Errorf("greedy stream %q differs from non-stream %q", acc.Choices[0].Message.Content, resp.Choices[0].Message.Content)
	}
	if acc.Usage.CompletionTokens != 64 {
		t.Errorf("stream usage %+v", acc.Usage)
	}

	list, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range list.Data {
		ids[m.ID] = true
	}
	if !ids["default"] || !ids["stories260K-f32"] {
		t.Errorf("model list %v", ids)
	}
}

func TestServeErrors(t *testing.T) {
	_, client, base := startApp(t, "engine:\n  context_length: 16\n", nil)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		params sdk.ChatCompletionNewParams
		status int
		code   string
	}{
		{"unknown model", sdk.ChatCompletionNewParams{Model: "nope",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")}}, 404, ""},
		{"path is not a model name", sdk.ChatCompletionNewParams{Model: "/etc/passwd",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")}}, 404, ""},
		{"prompt over the context", sdk.ChatCompletionNewParams{Model: "default",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage(strings.Repeat("The cat sat. ", 40))}}, 400, "context_length_exceeded"},
		{"temperature out of range", sdk.ChatCompletionNewParams{Model: "default", Temperature: sdk.Float(7),
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")}}, 400, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.Chat.Completions.New(ctx, c.params)
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an API error", err)
			}
			if apiErr.StatusCode != c.status {
				t.Errorf("status %d, want %d (%s)", apiErr.StatusCode, c.status, apiErr.RawJSON())
			}
			if c.code != "" && apiErr.Code != c.code {
				t.Errorf("code %q, want %q", apiErr.Code, c.code)
			}
		})
	}
	// Malformed JSON straight over HTTP.
	resp, err := http.Post(base+"chat/completions", "application/json", strings.NewReader(`{"model": "default", "messages": [`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"error"`) {
		t.Errorf("malformed JSON: %d %s", resp.StatusCode, body)
	}
}

func TestServeRequiresKey(t *testing.T) {
	_, client, _ := startApp(t, "", map[string]string{config.EnvServeAPIKey: "sk-right"})
	_, err := client.Models.List(context.Background())
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("wrong key: err = %v, want 401", err)
	}
}
