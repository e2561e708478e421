package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/engine/chattmpl"
	"github.com/seance-dev/seance/internal/engine/constrain"
	"github.com/seance-dev/seance/internal/engine/sample"
	"github.com/seance-dev/seance/internal/engine/tokenizer"
	"github.com/seance-dev/seance/internal/fault"
)

// Default sampling of the embedded engine when a request sets nothing: llama.cpp's defaults.
var defaultSampling = sample.Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}

// Chat renders the conversation with the model's template, generates, and streams content deltas.
// Tools are rendered into the prompt when the template supports them; recognising tool calls in the
// output is the caller's job (internal/llm/embedded). The response's Usage carries the compute
// accounting of this call.
func (m *Model) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	start := time.Now()
	schema, err := responseSchema(req.Format)
	if err != nil {
		return nil, err
	}
	params, err := samplingParams(req)
	if err != nil {
		return nil, err
	}
	prompt, truncated, err := m.Prompt(req.Messages, req.Tools, req.TruncatePrompt)
	if err != nil {
		return nil, err
	}
	opts := GenerateOptions{Sample: params, MaxTokens: req.MaxTokens, Stop: req.Stop, Logprobs: req.Logprobs, JSON: schema}
	var onPiece func(Piece) error
	if stream != nil {
		onPiece = func(p Piece) error { return stream(chat.Delta{Content: p.Text, Logprobs: p.Logprobs}) }
	}
	rendered := time.Since(start)
	res, err := m.Generate(ctx, prompt, opts, onPiece)
	if err != nil {
		return nil, err
	}
	resp := &chat.Response{
		Model:        m.info.Name,
		Message:      chat.Message{Role: chat.Assistant, Content: res.Text},
		FinishReason: res.Finish,
		Usage: chat.Usage{
			PromptTokens:     res.PromptTokens,
			CompletionTokens: len(res.Tokens),
			Duration:         time.Since(start),
			TimeToFirstToken: rendered + res.TimeToFirstToken,
			FLOPs:            res.FLOPs,
		},
		Truncated: truncated,
	}
	if req.Logprobs {
		resp.Logprobs = res.Logprobs
	}
	return resp, nil
}

// responseSchema compiles the requested response format: nil for text, any object for
// json_object, the compiled schema for json_schema (a schema the engine cannot enforce is a
// response_format error naming the keyword).
func responseSchema(f chat.ResponseFormat) (*constrain.Schema, error) {
	switch f.Type {
	case "", chat.FormatText:
		return nil, nil
	case chat.FormatJSONObject:
		return constrain.AnyObject(), nil
	case chat.FormatJSONSchema:
		s, err := constrain.Compile(f.Schema)
		if err != nil {
			return nil, fault.Param("response_format", "response_format json_schema: %v", err)
		}
		return s, nil
	}
	return nil, fault.Param("response_format", "response_format %q is not supported by the embedded engine", f.Type)
}

// samplingParams maps a request's sampling options onto the sampler's, starting from the defaults.
func samplingParams(req *chat.Request) (sample.Params, error) {
	p := defaultSampling
	s := req.Sampling
	if s.Temperature != nil {
		p.Temperature = *s.Temperature
	}
	if s.TopK != nil {
		p.TopK = *s.TopK
	}
	if s.TopP != nil {
		p.TopP = *s.TopP
	}
	if s.MinP != nil {
		p.MinP = *s.MinP
	}
	if s.RepeatPenalty != nil {
		p.RepeatPenalty = *s.RepeatPenalty
	}
	if s.PresencePenalty != nil {
		p.PresencePenalty = *s.PresencePenalty
	}
	if s.FrequencyPenalty != nil {
		p.FrequencyPenalty = *s.FrequencyPenalty
	}
	if s.Seed != nil {
		p.Seed = uint64(*s.Seed)
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		p.Seed = binary.LittleEndian.Uint64(b[:])
	}
	if req.Logprobs {
		p.TopLogprobs = req.TopLogprobs
	}
	if err := p.Validate(); err != nil {
		var pe *sample.ParamError
		if errors.As(err, &pe) {
			name := snake(pe.Param)
			return p, fault.Param(name, "%s %s", name, pe.Msg)
		}
		return p, fault.Wrap(err, fault.Invalid, "sampling parameters")
	}
	return p, nil
}

// snake turns a Go field name (TopP) into the API's parameter name (top_p).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Prompt renders messages (and tools) into prompt token ids. Without truncate, a prompt that does
// not fit the context is a fault.ContextLength error; with it, the oldest messages after any leading
// system message are dropped until it fits, and the number of tokens dropped is returned.
func (m *Model) Prompt(msgs []chat.Message, tools []chat.ToolSpec, truncate bool) ([]int, int, error) {
	if len(msgs) == 0 {
		return nil, 0, fault.Param("messages", "at least one message is required")
	}
	full, err := m.encode(msgs, tools)
	if err != nil {
		return nil, 0, err
	}
	if len(full) < m.ctxLen {
		return full, 0, nil
	}
	if !truncate {
		return nil, 0, fault.New(fault.ContextLength,
			"the prompt has %d tokens but the model's context holds %d (with room for at least one more); shorten it or allow truncation",
			len(full), m.ctxLen)
	}
	first := 0
	if msgs[0].Role == chat.System {
		first = 1
	}
	for drop := 1; first+drop < len(msgs); drop++ {
		kept := append(append([]chat.Message(nil), msgs[:first]...), msgs[first+drop:]...)
		toks, err := m.encode(kept, tools)
		if err != nil {
			return nil, 0, err
		}
		if len(toks) < m.ctxLen {
			return toks, len(full) - len(toks), nil
		}
	}
	return nil, 0, fault.New(fault.ContextLength,
		"the prompt does not fit the model's context of %d tokens even with only the last message", m.ctxLen)
}

// encode renders and tokenizes a conversation.
func (m *Model) encode(msgs []chat.Message, tools []chat.ToolSpec) ([]int, error) {
	text, err := m.Render(msgs, tools)
	if err != nil {
		return nil, err
	}
	toks := m.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: m.tmpl != nil})
	// Templates that write the BOS text themselves would get it twice.
	if bos := m.tok.BOS(); len(toks) > 1 && bos >= 0 && toks[0] == bos && toks[1] == bos {
		toks = toks[1:]
	}
	return toks, nil
}

// Render turns a conversation into prompt text with the model's template, or plain text for base
// models.
func (m *Model) Render(msgs []chat.Message, tools []chat.ToolSpec) (string, error) {
	if m.tmpl == nil {
		parts := make([]string, 0, len(msgs))
		for _, msg := range msgs {
			if msg.Content != "" {
				parts = append(parts, msg.Content)
			}
		}
		return strings.Join(parts, "\n\n"), nil
	}
	text, err := m.tmpl.Render(chattmpl.Input{
		Messages:            msgs,
		Tools:               tools,
		AddGenerationPrompt: true,
		BOSToken:            m.tok.TokenText(m.tok.BOS()),
		EOSToken:            m.tok.TokenText(m.tok.EOS()),
	})
	if err != nil {
		return "", fault.Wrap(err, fault.Invalid, "the model's chat template rejected the conversation")
	}
	return text, nil
}
