package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
)

// fakeModel is a hand-written llm.Model whose behaviour is a function field. It counts its calls.
type fakeModel struct {
	chat  func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error)
	calls atomic.Int64
}

var _ llm.Model = (*fakeModel)(nil)

func (m *fakeModel) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	m.calls.Add(1)
	return m.chat(ctx, req, stream)
}

// fakeEmbedder is a fakeModel that also embeds.
type fakeEmbedder struct {
	fakeModel
	embed func(ctx context.Context, inputs []string) ([][]float32, int, error)
}

var _ llm.Embedder = (*fakeEmbedder)(nil)

func (m *fakeEmbedder) Embed(ctx context.Context, inputs []string) ([][]float32, int, error) {
	return m.embed(ctx, inputs)
}

// fakeSource serves a fixed set of models.
type fakeSource struct {
	models map[string]llm.Model
	infos  []llm.Info
}

func (s *fakeSource) Model(ctx context.Context, id string) (llm.Model, error) {
	if m, ok := s.models[id]; ok {
		return m, nil
	}
	return nil, fault.New(fault.NotFound, "model %q does not exist", id)
}

func (s *fakeSource) Models(ctx context.Context) ([]llm.Info, error) { return s.infos, nil }

// turn is a scripted completion: deltas streamed in order, then the response.
type turn struct {
	deltas []chat.Delta
	resp   chat.Response
	// delay is slept (respecting ctx) before each delta.
	delay time.Duration
}

// scripted returns a chat function that plays t, whether streamed or not, and records the requests.
func scripted(t turn, seen *[]chat.Request, mu *sync.Mutex) func(context.Context, *chat.Request, chat.StreamFunc) (*chat.Response, error) {
	return func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		if seen != nil {
			mu.Lock()
			*seen = append(*seen, *req)
			mu.Unlock()
		}
		for _, d := range t.deltas {
			if t.delay > 0 {
				select {
				case <-time.After(t.delay):
				case <-ctx.Done():
					return nil, fmt.Errorf("fake model: %w", ctx.Err())
				}
			}
			if stream != nil {
				if err := stream(d); err != nil {
					return nil, err
				}
			}
		}
		resp := t.resp
		resp.Message.ToolCalls = append([]chat.ToolCall(nil), t.resp.Message.ToolCalls...)
		return &resp, nil
	}
}

// contentTurn streams "Once", " upon", " a time." and answers with the same text.
func contentTurn() turn {
	return turn{
		deltas: []chat.Delta{{Content: "Once"}, {Content: " upon"}, {Content: " a time."}},
		resp: chat.Response{
			Message:      chat.Message{Role: chat.Assistant, Content: "Once upon a time."},
			FinishReason: chat.FinishStop,
			Usage: chat.Usage{PromptTokens: 7, CompletionTokens: 3, Duration: 12 * time.Millisecond,
				TimeToFirstToken: 4 * time.Millisecond, FLOPs: 1.5e9},
		},
	}
}

// toolTurn streams two tool calls in fragments.
func toolTurn() turn {
	return turn{
		deltas: []chat.Delta{
			{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "call_a", Name: "get_weather"}}},
			{ToolCalls: []chat.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}},
			{ToolCalls: []chat.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
			{ToolCalls: []chat.ToolCallDelta{{Index: 1, ID: "call_b", Name: "get_time", Arguments: `{}`}}},
		},
		resp: chat.Response{
			Message: chat.Message{Role: chat.Assistant, ToolCalls: []chat.ToolCall{
				{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
				{ID: "call_b", Name: "get_time", Arguments: `{}`},
			}},
			FinishReason: chat.FinishToolCalls,
			Usage:        chat.Usage{PromptTokens: 20, CompletionTokens: 9},
		},
	}
}

// newTestServer starts a server with opts over the given models on 127.0.0.1.
func newTestServer(t *testing.T, opts Options, models map[string]llm.Model) (*Server, *httptest.Server) {
	t.Helper()
	var infos []llm.Info
	for id := range models {
		infos = append(infos, llm.Info{ID: id, Backend: "fake"})
	}
	if opts.Models == nil {
		opts.Models = &fakeSource{models: models, infos: infos}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}
