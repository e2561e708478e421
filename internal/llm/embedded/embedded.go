// Package embedded adapts the in-process engine (internal/engine) to the llm.Model contract: it opens
// GGUF files for the "gguf:" scheme and recognises the tool calls small models write as text.
package embedded

import (
	"context"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/engine"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/toolcalls"
)

// Model is an opened GGUF model served through the llm.Model contract.
type Model struct {
	m *engine.Model
}

var (
	_ llm.Model     = (*Model)(nil)
	_ llm.Describer = (*Model)(nil)
	_ llm.Embedder  = (*Model)(nil)
)

// Embed embeds texts by mean pooling of the model's final hidden states (see engine.Model.Embed).
func (m *Model) Embed(ctx context.Context, inputs []string) ([][]float32, int, error) {
	return m.m.Embed(ctx, inputs)
}

// Open opens the GGUF file at path.
func Open(path string, opts engine.Options) (*Model, error) {
	m, err := engine.Open(path, opts)
	if err != nil {
		return nil, err
	}
	return &Model{m: m}, nil
}

// Engine returns the underlying engine model.
func (m *Model) Engine() *engine.Model { return m.m }

// Close releases the model.
func (m *Model) Close() error { return m.m.Close() }

// Describe describes the model.
func (m *Model) Describe() llm.Info {
	in := m.m.Info()
	return toInfo(in)
}

func toInfo(in engine.Info) llm.Info {
	return llm.Info{
		ID:            in.Name,
		URL:           "gguf:" + in.Path,
		Backend:       "gguf",
		Architecture:  in.Architecture,
		Parameters:    in.Parameters,
		ContextLength: in.ContextLength,
		Quantization:  in.Quantization,
		Size:          in.Size,
	}
}

// Inspect fills info from a GGUF file's header (for model listings).
func Inspect(path string, info *llm.Info) error {
	in, err := engine.Inspect(path)
	if err != nil {
		return err
	}
	got := toInfo(in)
	info.Architecture, info.Parameters, info.ContextLength = got.Architecture, got.Parameters, got.ContextLength
	info.Quantization, info.Backend = got.Quantization, "gguf"
	if info.URL == "" {
		info.URL = got.URL
	}
	return nil
}

// Chat runs a completion. When tools are offered, text that may be a tool call is held back while
// streaming and parsed at the end, so a call written as text reaches the caller as a tool call and
// never as prose.
func (m *Model) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	tools := req.Tools
	if req.ToolChoice.Mode == chat.ToolChoiceNone || (req.Format.Type != "" && req.Format.Type != chat.FormatText) {
		tools = nil // structured output is the answer itself, never a tool call
	}
	if len(tools) == 0 {
		return m.m.Chat(ctx, req, stream)
	}
	return withToolCalls(ctx, m.m, req, stream)
}

// chatter is the engine's Chat; an interface so the tool-call handling is testable with a fake.
type chatter interface {
	Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error)
}

// withToolCalls runs a completion with tools offered: text that may be a tool call is held back while
// streaming and parsed at the end.
func withToolCalls(ctx context.Context, m chatter, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	tools := req.Tools
	var (
		text string // everything generated so far
		sent int    // bytes of text passed on to stream
	)
	var inner chat.StreamFunc
	if stream != nil {
		inner = func(d chat.Delta) error {
			text += d.Content
			if safe := toolcalls.SafePrefix(text, tools); safe > sent {
				out := chat.Delta{Content: text[sent:safe], Logprobs: d.Logprobs}
				sent = safe
				return stream(out)
			}
			return nil
		}
	}
	resp, err := m.Chat(ctx, req, inner)
	if err != nil {
		return nil, err
	}
	calls, rest, ok := toolcalls.Parse(resp.Message.Content[sent:], tools)
	if ok {
		resp.Message.ToolCalls = calls
		resp.Message.Content = resp.Message.Content[:sent] + rest
		resp.FinishReason = chat.FinishToolCalls
		if stream != nil {
			if rest != "" {
				if err := stream(chat.Delta{Content: rest}); err != nil {
					return nil, err
				}
			}
			d := chat.Delta{}
			for i, c := range calls {
				d.ToolCalls = append(d.ToolCalls, chat.ToolCallDelta{Index: i, ID: c.ID, Name: c.Name, Arguments: c.Arguments})
			}
			if err := stream(d); err != nil {
				return nil, err
			}
		}
		return resp, nil
	}
	if req.ToolChoice.Mode == chat.ToolChoiceRequired || req.ToolChoice.Mode == chat.ToolChoiceFunction {
		// The model did not call a tool although it had to; say so rather than pretend.
		return nil, fault.New(fault.Unprocessable, "the model was required to call a tool but answered in text")
	}
	if stream != nil && sent < len(resp.Message.Content) {
		if err := stream(chat.Delta{Content: resp.Message.Content[sent:]}); err != nil {
			return nil, err
		}
	}
	return resp, nil
}
