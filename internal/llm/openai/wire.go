package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

// The wire structs below are the subset of the chat completions API this client sends and reads.

type wireRequest struct {
	Model          string          `json:"model,omitempty"`
	Messages       []wireMessage   `json:"messages"`
	Tools          []wireTool      `json:"tools,omitempty"`
	ToolChoice     any             `json:"tool_choice,omitempty"`
	ResponseFormat *wireFormat     `json:"response_format,omitempty"`
	Temperature    *float64        `json:"temperature,omitempty"`
	TopP           *float64        `json:"top_p,omitempty"`
	TopK           *int            `json:"top_k,omitempty"`
	MinP           *float64        `json:"min_p,omitempty"`
	RepeatPenalty  *float64        `json:"repeat_penalty,omitempty"`     // llama.cpp's name
	Repetition     *float64        `json:"repetition_penalty,omitempty"` // vLLM's name
	Presence       *float64        `json:"presence_penalty,omitempty"`
	Frequency      *float64        `json:"frequency_penalty,omitempty"`
	Seed           *int64          `json:"seed,omitempty"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	Stop           []string        `json:"stop,omitempty"`
	Logprobs       bool            `json:"logprobs,omitempty"`
	TopLogprobs    *int            `json:"top_logprobs,omitempty"`
	Stream         bool            `json:"stream,omitempty"`
	StreamOptions  *wireStreamOpts `json:"stream_options,omitempty"`
}

type wireStreamOpts struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"` // null for an assistant message that only calls tools
	Name       string         `json:"name,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wireToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name string `json:"name,omitempty"`
	// Arguments is a JSON string holding an object (the standard) — or, from some servers, the object
	// itself. See argumentsText.
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

type wireTool struct {
	Type     string          `json:"type"`
	Function wireFunctionDef `json:"function"`
}

type wireFunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type wireFormat struct {
	Type       string          `json:"type"`
	JSONSchema *wireJSONSchema `json:"json_schema,omitempty"`
}

type wireJSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict bool            `json:"strict,omitempty"`
}

type wireResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	Timings *wireTimings `json:"timings"`
	Seance  *wireSeance  `json:"seance"`
	Error   *wireError   `json:"error"`
	Object  string       `json:"object"`
	Message string       `json:"message"` // vLLM's in-stream error object
}

// wireError is an error object inside a 200 reply or a stream chunk.
type wireError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
}

type wireChoice struct {
	Index        int           `json:"index"`
	Message      *wireRespMsg  `json:"message"`
	Delta        *wireRespMsg  `json:"delta"`
	FinishReason *string       `json:"finish_reason"`
	Logprobs     *wireLogprobs `json:"logprobs"`
}

type wireRespMsg struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent *string        `json:"reasoning_content"` // kept apart, never mixed into content
	Reasoning        *string        `json:"reasoning"`
	ToolCalls        []wireToolCall `json:"tool_calls"`
	FunctionCall     *wireFunction  `json:"function_call"` // the legacy single-call form
}

type wireUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// wireSeance is the accounting extension a seance server adds to a response and its final usage chunk
// (internal/openai.Accounting); only what the client cannot measure itself is read.
type wireSeance struct {
	FLOPs float64 `json:"flops"`
}

// wireTimings is llama.cpp's extra "timings" object.
type wireTimings struct {
	CacheN int `json:"cache_n"`
}

type wireLogprobs struct {
	Content []wireTokenLogprob `json:"content"`
}

type wireTokenLogprob struct {
	Token       string  `json:"token"`
	Logprob     float64 `json:"logprob"`
	Bytes       []int   `json:"bytes"`
	TopLogprobs []struct {
		Token   string  `json:"token"`
		Logprob float64 `json:"logprob"`
		Bytes   []int   `json:"bytes"`
	} `json:"top_logprobs"`
}

// buildRequest converts a chat.Request to the wire request.
func (c *Client) buildRequest(req *chat.Request, stream bool) (*wireRequest, error) {
	w := &wireRequest{
		Model:     c.model,
		MaxTokens: req.MaxTokens,
		Stop:      req.Stop,
		Logprobs:  req.Logprobs,
		Stream:    stream,
	}
	if w.Model == "" {
		w.Model = req.Model
	}
	if req.MaxTokens < 0 {
		return nil, fault.Param("max_tokens", "max_tokens must not be negative")
	}
	if req.Logprobs && req.TopLogprobs > 0 {
		n := req.TopLogprobs
		w.TopLogprobs = &n
	}
	if stream {
		w.StreamOptions = &wireStreamOpts{IncludeUsage: true}
	}
	s := req.Sampling
	w.Temperature, w.TopP, w.TopK, w.MinP = s.Temperature, s.TopP, s.TopK, s.MinP
	w.RepeatPenalty, w.Repetition = s.RepeatPenalty, s.RepeatPenalty
	w.Presence, w.Frequency, w.Seed = s.PresencePenalty, s.FrequencyPenalty, s.Seed

	for i, m := range req.Messages {
		wm := wireMessage{Role: string(m.Role), Name: m.Name, ToolCallID: m.ToolCallID}
		switch m.Role {
		case chat.System, chat.User, chat.Assistant, chat.Tool:
		default:
			return nil, fault.Param("messages", "message %d has unknown role %q", i, m.Role)
		}
		if m.Role == chat.Tool {
			wm.Name = "" // the tool message links by tool_call_id; "name" is not part of it
		}
		content := m.Content
		if m.Content != "" || len(m.ToolCalls) == 0 {
			wm.Content = &content
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			raw, _ := json.Marshal(args)
			wm.ToolCalls = append(wm.ToolCalls, wireToolCall{ID: tc.ID, Type: "function",
				Function: wireFunction{Name: tc.Name, Arguments: raw}})
		}
		w.Messages = append(w.Messages, wm)
	}
	for _, t := range req.Tools {
		if t.Name == "" {
			return nil, fault.Param("tools", "a tool has no name")
		}
		params := t.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		w.Tools = append(w.Tools, wireTool{Type: "function",
			Function: wireFunctionDef{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	if len(req.Tools) > 0 {
		switch req.ToolChoice.Mode {
		case "":
		case chat.ToolChoiceAuto, chat.ToolChoiceNone, chat.ToolChoiceRequired:
			w.ToolChoice = string(req.ToolChoice.Mode)
		case chat.ToolChoiceFunction:
			w.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": req.ToolChoice.Name}}
		default:
			return nil, fault.Param("tool_choice", "unknown tool_choice %q", req.ToolChoice.Mode)
		}
	}
	switch req.Format.Type {
	case "", chat.FormatText:
	case chat.FormatJSONObject:
		w.ResponseFormat = &wireFormat{Type: "json_object"}
	case chat.FormatJSONSchema:
		name := req.Format.Name
		if name == "" {
			name = "response"
		}
		w.ResponseFormat = &wireFormat{Type: "json_schema",
			JSONSchema: &wireJSONSchema{Name: name, Schema: req.Format.Schema, Strict: req.Format.Strict}}
	default:
		return nil, fault.Param("response_format", "unknown response format %q", req.Format.Type)
	}
	return w, nil
}

// argumentsText returns tool-call arguments as JSON text: a JSON string is unquoted, an object (sent
// by some servers instead of a string) is compacted, null is empty.
func argumentsText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// finalArguments returns complete arguments for a finished call: empty becomes "{}", valid JSON is
// compacted, and anything else (a reply cut by max_tokens) is kept as the model wrote it.
func finalArguments(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "{}"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err == nil {
		return buf.String()
	}
	return s
}

// finishReason maps a wire finish reason, given whether the reply holds tool calls. Servers disagree
// ("stop" with tool calls, "tool_calls" without, "eos", "function_call"); the calls decide.
func finishReason(wire string, hasCalls bool) chat.FinishReason {
	switch wire {
	case "length", "max_tokens":
		return chat.FinishLength
	}
	if hasCalls {
		return chat.FinishToolCalls
	}
	return chat.FinishStop
}

func convertLogprobs(lp *wireLogprobs) []chat.TokenLogprob {
	if lp == nil {
		return nil
	}
	out := make([]chat.TokenLogprob, 0, len(lp.Content))
	for _, t := range lp.Content {
		tl := chat.TokenLogprob{Token: t.Token, Logprob: t.Logprob, Bytes: intsToBytes(t.Bytes)}
		for _, a := range t.TopLogprobs {
			tl.Top = append(tl.Top, chat.TopLogprob{Token: a.Token, Logprob: a.Logprob, Bytes: intsToBytes(a.Bytes)})
		}
		out = append(out, tl)
	}
	return out
}

func intsToBytes(v []int) []byte {
	if v == nil {
		return nil
	}
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func (u *wireUsage) toChat(t *wireTimings, s *wireSeance) chat.Usage {
	var out chat.Usage
	if s != nil && s.FLOPs > 0 {
		out.FLOPs = s.FLOPs
	}
	if u != nil {
		out.PromptTokens, out.CompletionTokens = u.PromptTokens, u.CompletionTokens
		if u.PromptTokensDetails != nil {
			out.CachedTokens = u.PromptTokensDetails.CachedTokens
		}
	}
	if out.CachedTokens == 0 && t != nil {
		out.CachedTokens = t.CacheN
	}
	return out
}

// generatedID names a call whose server sent no id: stable and unique within one reply.
func generatedID(n int) string { return "call_" + strconv.Itoa(n) }
