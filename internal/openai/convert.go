package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

// toolName is the pattern the OpenAI API requires of function names.
var toolName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`) })

// Validate checks the request's parameters against the ranges the OpenAI API documents (and seance's
// own limits such as MaxN). It returns the first problem as a *fault.Error whose Param names the
// parameter.
func (r *ChatRequest) Validate() error {
	if strings.TrimSpace(r.Model) == "" {
		return fault.Param("model", "you must provide a model parameter")
	}
	if len(r.Messages) == 0 {
		return fault.Param("messages", "messages must be a non-empty array")
	}
	for i := range r.Messages {
		if _, err := messageToChat(i, &r.Messages[i]); err != nil {
			return err
		}
	}
	if err := r.validateSampling(); err != nil {
		return err
	}
	if err := r.validateTools(); err != nil {
		return err
	}
	if err := r.validateFormat(); err != nil {
		return err
	}
	if len(r.LogitBias) > 0 {
		return unsupported("logit_bias", "logit_bias is not supported")
	}
	for _, m := range r.Modalities {
		if m != "text" {
			return unsupported("modalities", "only the text modality is supported, not %q", m)
		}
	}
	return nil
}

func unsupported(param, format string, args ...any) *fault.Error {
	return &fault.Error{Code: fault.Unsupported, Param: param, Message: fmt.Sprintf(format, args...)}
}

func inRange(param string, v *float64, lo, hi float64) error {
	if v == nil {
		return nil
	}
	if math.IsNaN(*v) || *v < lo || *v > hi {
		return fault.Param(param, "%s must be between %g and %g, got %g", param, lo, hi, *v)
	}
	return nil
}

func (r *ChatRequest) validateSampling() error {
	if r.N != nil && (*r.N < 1 || *r.N > MaxN) {
		return fault.Param("n", "n must be between 1 and %d, got %d", MaxN, *r.N)
	}
	for _, c := range []struct {
		name   string
		v      *float64
		lo, hi float64
	}{
		{"temperature", r.Temperature, 0, 2},
		{"top_p", r.TopP, 0, 1},
		{"presence_penalty", r.PresencePenalty, -2, 2},
		{"frequency_penalty", r.FrequencyPenalty, -2, 2},
		{"min_p", r.MinP, 0, 1},
	} {
		if err := inRange(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	if r.RepeatPenalty != nil && (math.IsNaN(*r.RepeatPenalty) || *r.RepeatPenalty <= 0 || math.IsInf(*r.RepeatPenalty, 0)) {
		return fault.Param("repeat_penalty", "repeat_penalty must be a positive number (1 disables it), got %g", *r.RepeatPenalty)
	}
	if r.TopK != nil && *r.TopK < 0 {
		return fault.Param("top_k", "top_k must be 0 (disabled) or positive, got %d", *r.TopK)
	}
	if r.MaxTokens != nil && *r.MaxTokens < 1 {
		return fault.Param("max_tokens", "max_tokens must be at least 1, got %d", *r.MaxTokens)
	}
	if r.MaxCompletionTokens != nil && *r.MaxCompletionTokens < 1 {
		return fault.Param("max_completion_tokens", "max_completion_tokens must be at least 1, got %d", *r.MaxCompletionTokens)
	}
	if r.TopLogprobs != nil {
		if *r.TopLogprobs < 0 || *r.TopLogprobs > MaxTopLogprobs {
			return fault.Param("top_logprobs", "top_logprobs must be between 0 and %d, got %d", MaxTopLogprobs, *r.TopLogprobs)
		}
		if *r.TopLogprobs > 0 && (r.Logprobs == nil || !*r.Logprobs) {
			return fault.Param("top_logprobs", "logprobs must be true when top_logprobs is used")
		}
	}
	if len(r.Stop) > MaxStop {
		return fault.Param("stop", "stop may hold at most %d sequences, got %d", MaxStop, len(r.Stop))
	}
	return nil
}

func (r *ChatRequest) validateTools() error {
	if len(r.Tools) > MaxTools {
		return fault.Param("tools", "tools may hold at most %d tools, got %d", MaxTools, len(r.Tools))
	}
	names := make(map[string]bool, len(r.Tools))
	for i, t := range r.Tools {
		p := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return fault.Param(p+".type", "tool type must be \"function\", got %q", t.Type)
		}
		if !toolName().MatchString(t.Function.Name) {
			return fault.Param(p+".function.name",
				"function name %q must be 1 to 64 characters of a-z, A-Z, 0-9, underscore or dash", t.Function.Name)
		}
		if names[t.Function.Name] {
			return fault.Param(p+".function.name", "duplicate function name %q", t.Function.Name)
		}
		names[t.Function.Name] = true
		if !isObjectOrNull(t.Function.Parameters) {
			return fault.Param(p+".function.parameters", "function parameters must be a JSON Schema object")
		}
	}
	if r.ToolChoice == nil {
		return nil
	}
	switch r.ToolChoice.Mode {
	case "", "auto", "none":
	case "required":
		if len(r.Tools) == 0 {
			return fault.Param("tool_choice", "tool_choice %q needs tools", "required")
		}
	case "function":
		if r.ToolChoice.Name == "" {
			return fault.Param("tool_choice.function.name", "tool_choice must name a function")
		}
		if !names[r.ToolChoice.Name] {
			return fault.Param("tool_choice.function.name", "tool_choice names function %q, which is not among tools", r.ToolChoice.Name)
		}
	default:
		return fault.Param("tool_choice", `tool_choice must be "none", "auto", "required" or a function, got %q`, r.ToolChoice.Mode)
	}
	return nil
}

func (r *ChatRequest) validateFormat() error {
	f := r.ResponseFormat
	if f == nil {
		return nil
	}
	switch f.Type {
	case "text", "json_object":
	case "json_schema":
		if f.JSONSchema == nil {
			return fault.Param("response_format.json_schema", "response_format of type json_schema needs json_schema")
		}
		if !toolName().MatchString(f.JSONSchema.Name) {
			return fault.Param("response_format.json_schema.name",
				"json_schema name %q must be 1 to 64 characters of a-z, A-Z, 0-9, underscore or dash", f.JSONSchema.Name)
		}
		if !isObjectOrNull(f.JSONSchema.Schema) {
			return fault.Param("response_format.json_schema.schema", "json_schema schema must be a JSON Schema object")
		}
	default:
		return fault.Param("response_format.type", `response_format type must be "text", "json_object" or "json_schema", got %q`, f.Type)
	}
	return nil
}

func isObjectOrNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null" || raw[0] == '{'
}

// messageToChat converts and checks message i.
func messageToChat(i int, m *Message) (chat.Message, error) {
	p := fmt.Sprintf("messages[%d]", i)
	out := chat.Message{Name: m.Name}
	switch m.Role {
	case "system", "developer":
		out.Role = chat.System
	case "user":
		out.Role = chat.User
	case "assistant":
		out.Role = chat.Assistant
	case "tool":
		out.Role = chat.Tool
		if m.ToolCallID == "" {
			return out, fault.Param(p+".tool_call_id", "a tool message needs tool_call_id")
		}
		out.ToolCallID = m.ToolCallID
	case "":
		return out, fault.Param(p+".role", "message role is missing")
	default:
		return out, fault.Param(p+".role", `role must be "system", "developer", "user", "assistant" or "tool", got %q`, m.Role)
	}
	text, err := contentText(p+".content", out.Role, m.Content)
	if err != nil {
		return out, err
	}
	if out.Role == chat.Assistant && text == "" && m.Refusal != "" {
		text = m.Refusal
	}
	out.Content = text
	if len(m.ToolCalls) > 0 && out.Role != chat.Assistant {
		return out, fault.Param(p+".tool_calls", "only assistant messages may have tool_calls")
	}
	if m.Content.IsNull() && len(m.ToolCalls) == 0 && m.Refusal == "" {
		return out, fault.Param(p+".content", "message content is missing")
	}
	for j, tc := range m.ToolCalls {
		tp := fmt.Sprintf("%s.tool_calls[%d]", p, j)
		if tc.Type != "" && tc.Type != "function" {
			return out, fault.Param(tp+".type", "tool call type must be \"function\", got %q", tc.Type)
		}
		if tc.Function.Name == "" {
			return out, fault.Param(tp+".function.name", "tool call needs a function name")
		}
		out.ToolCalls = append(out.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return out, nil
}

// contentText joins the text parts of a content; other part kinds are rejected.
func contentText(param string, role chat.Role, c Content) (string, error) {
	if c.Text != nil {
		return *c.Text, nil
	}
	var b strings.Builder
	for k, part := range c.Parts {
		pp := fmt.Sprintf("%s[%d]", param, k)
		switch part.Type {
		case "text":
			b.WriteString(part.Text)
		case "refusal":
			if role != chat.Assistant {
				return "", fault.Param(pp+".type", "refusal parts are only allowed in assistant messages")
			}
			b.WriteString(part.Refusal)
		case "image_url", "input_image":
			return "", unsupported(pp, "image content is not supported: the models seance serves take text only")
		case "input_audio":
			return "", unsupported(pp, "audio content is not supported: the models seance serves take text only")
		case "file":
			return "", unsupported(pp, "file content is not supported: send the text as a text part")
		case "":
			return "", fault.Param(pp+".type", "content part type is missing")
		default:
			return "", fault.Param(pp+".type", "unknown content part type %q", part.Type)
		}
	}
	return b.String(), nil
}

// ToChat converts a request into a chat.Request, the number of choices n, whether to stream, and
// whether a streamed response ends with a usage chunk. It validates the request first, so it is safe
// on a request that did not come from DecodeChatRequest.
func ToChat(r *ChatRequest) (req *chat.Request, n int, stream bool, includeUsage bool, err error) {
	if err := r.Validate(); err != nil {
		return nil, 0, false, false, err
	}
	req = &chat.Request{Model: r.Model}
	req.Messages = make([]chat.Message, 0, len(r.Messages))
	for i := range r.Messages {
		m, err := messageToChat(i, &r.Messages[i])
		if err != nil {
			return nil, 0, false, false, err
		}
		req.Messages = append(req.Messages, m)
	}
	for _, t := range r.Tools {
		req.Tools = append(req.Tools, chat.ToolSpec{
			Name:        t.Function.Name,
			Description: t.Function.Description,
			Parameters:  nullToNil(t.Function.Parameters),
		})
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Mode {
		case "auto":
			req.ToolChoice.Mode = chat.ToolChoiceAuto
		case "none":
			req.ToolChoice.Mode = chat.ToolChoiceNone
		case "required":
			req.ToolChoice.Mode = chat.ToolChoiceRequired
		case "function":
			req.ToolChoice = chat.ToolChoice{Mode: chat.ToolChoiceFunction, Name: tc.Name}
		}
	}
	if f := r.ResponseFormat; f != nil {
		req.Format.Type = chat.FormatType(f.Type)
		if s := f.JSONSchema; s != nil && f.Type == "json_schema" {
			req.Format.Name = s.Name
			req.Format.Schema = nullToNil(s.Schema)
			req.Format.Strict = s.Strict != nil && *s.Strict
		}
	}
	req.Sampling = chat.Sampling{
		Temperature:      r.Temperature,
		TopP:             r.TopP,
		TopK:             r.TopK,
		MinP:             r.MinP,
		RepeatPenalty:    r.RepeatPenalty,
		PresencePenalty:  r.PresencePenalty,
		FrequencyPenalty: r.FrequencyPenalty,
		Seed:             r.Seed,
	}
	switch {
	case r.MaxCompletionTokens != nil:
		req.MaxTokens = *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		req.MaxTokens = *r.MaxTokens
	}
	for _, s := range r.Stop {
		if s != "" { // an empty stop sequence would end every completion at once
			req.Stop = append(req.Stop, s)
		}
	}
	if r.Logprobs != nil && *r.Logprobs {
		req.Logprobs = true
		if r.TopLogprobs != nil {
			req.TopLogprobs = *r.TopLogprobs
		}
	}
	if r.Seance != nil {
		req.TruncatePrompt = r.Seance.TruncatePrompt
	}
	n = 1
	if r.N != nil {
		n = *r.N
	}
	includeUsage = r.Stream && r.StreamOptions != nil && r.StreamOptions.IncludeUsage
	return req, n, r.Stream, includeUsage, nil
}

func nullToNil(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}
