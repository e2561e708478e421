// Package openai holds the wire structs of the OpenAI Chat Completions, Models and Embeddings APIs and
// pure functions that convert them to and from internal/chat values. It does no I/O beyond reading a
// request body handed to it; internal/httpapi serves these types and the backends of internal/llm may
// reuse them.
//
// JSON tags live here (and in backends) only: the rest of seance works on chat values.
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/seance-dev/seance/internal/fault"
)

// Limits that DecodeChatRequest enforces on top of the API's documented ranges.
const (
	// MaxN is the largest n (number of choices) a request may ask for.
	MaxN = 16
	// MaxTopLogprobs is the largest top_logprobs, as in the OpenAI API.
	MaxTopLogprobs = 20
	// MaxStop is the largest number of stop sequences.
	MaxStop = 16
	// MaxTools is the largest number of tools, as in the OpenAI API.
	MaxTools = 128
)

// ChatRequest is the body of POST /v1/chat/completions. Pointer fields distinguish "absent" from zero.
// Fields the API defines but seance does not use (metadata, store, service_tier, ...) are decoded
// only where a value could change the result and must therefore be rejected (logit_bias, modalities).
type ChatRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`

	Tools             []Tool      `json:"tools,omitempty"`
	ToolChoice        *ToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool       `json:"parallel_tool_calls,omitempty"`

	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`

	N                   *int               `json:"n,omitempty"`
	Seed                *int64             `json:"seed,omitempty"`
	Temperature         *float64           `json:"temperature,omitempty"`
	TopP                *float64           `json:"top_p,omitempty"`
	MaxTokens           *int               `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int               `json:"max_completion_tokens,omitempty"`
	Stop                Stop               `json:"stop,omitempty"`
	Logprobs            *bool              `json:"logprobs,omitempty"`
	TopLogprobs         *int               `json:"top_logprobs,omitempty"`
	PresencePenalty     *float64           `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty,omitempty"`
	LogitBias           map[string]float64 `json:"logit_bias,omitempty"`
	Modalities          []string           `json:"modalities,omitempty"`

	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	User          string         `json:"user,omitempty"`

	// Non-standard sampling parameters, accepted as llama.cpp's server does.
	TopK          *int     `json:"top_k,omitempty"`
	MinP          *float64 `json:"min_p,omitempty"`
	RepeatPenalty *float64 `json:"repeat_penalty,omitempty"`

	// Seance holds seance's own request options.
	Seance *RequestExtension `json:"seance,omitempty"`
}

// RequestExtension holds seance's non-standard request options (the "seance" object of a request).
type RequestExtension struct {
	// TruncatePrompt lets the model drop the oldest non-system messages of a prompt that does not fit
	// its context instead of failing with context_length_exceeded.
	TruncatePrompt bool `json:"truncate_prompt,omitempty"`
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// Message is one message of a request.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	// Refusal is an assistant message's refusal text; seance treats it as content.
	Refusal string `json:"refusal,omitempty"`
}

// Content is a message's content: a string, an array of content parts, or null.
type Content struct {
	// Text is the content when it was a plain string.
	Text *string
	// Parts is the content when it was an array of parts.
	Parts []ContentPart
}

// TextContent returns a Content holding s.
func TextContent(s string) Content { return Content{Text: &s} }

// IsNull reports whether the content is absent or null.
func (c Content) IsNull() bool { return c.Text == nil && c.Parts == nil }

// UnmarshalJSON accepts a string, an array of content parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		c.Text = &s
		return nil
	case b[0] == '[':
		parts := []ContentPart{}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		c.Parts = parts
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Content]()}
}

// MarshalJSON writes the string, the array of parts, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.Text != nil:
		return json.Marshal(*c.Text)
	case c.Parts != nil:
		return json.Marshal(c.Parts)
	}
	return []byte("null"), nil
}

// ContentPart is one part of an array content. seance accepts "text" (and "refusal" in assistant
// messages); image, audio and file parts are decoded only to be rejected with a clear error.
type ContentPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text,omitempty"`
	Refusal    string          `json:"refusal,omitempty"`
	ImageURL   json.RawMessage `json:"image_url,omitempty"`
	InputAudio json.RawMessage `json:"input_audio,omitempty"`
	File       json.RawMessage `json:"file,omitempty"`
}

// ToolCall is a call of a function tool, in an assistant message or a response.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function of a tool call and carries its JSON arguments text.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a tool offered to the model. Only "function" tools exist in Chat Completions.
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function describes a function tool.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is "none", "auto", "required", or {"type":"function","function":{"name":...}}.
type ToolChoice struct {
	// Mode is "none", "auto" or "required" for the string form, "function" for the object form.
	Mode string
	// Name is the function the object form names.
	Name string
}

type toolChoiceObject struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// UnmarshalJSON accepts the string and the object forms.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	*t = ToolChoice{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &t.Mode)
	case b[0] == '{':
		var o toolChoiceObject
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		t.Mode, t.Name = o.Type, o.Function.Name
		if t.Mode == "" {
			t.Mode = "function"
		}
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[ToolChoice]()}
}

// MarshalJSON writes the string form, or the object form when a function is named.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Mode == "function" || t.Name != "" {
		var o toolChoiceObject
		o.Type = "function"
		o.Function.Name = t.Name
		return json.Marshal(o)
	}
	return json.Marshal(t.Mode)
}

// ResponseFormat asks for text, any JSON object, or JSON that follows a schema.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the json_schema of a response_format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Stop is the stop parameter: one string or an array of strings.
type Stop []string

// UnmarshalJSON accepts a string, an array of strings, or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	*s = nil
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	case b[0] == '[':
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return &json.UnmarshalTypeError{Value: "array", Type: reflect.TypeFor[Stop]()}
		}
		*s = many
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Stop]()}
}

// jsonKind names the JSON type of a value for error messages.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// DecodeChatRequest reads a chat completion request of at most limit bytes from r, decodes it and
// validates it. Unknown fields are ignored. Errors are *fault.Error: fault.TooLarge for a body over
// limit, fault.Invalid for malformed JSON, a wrong type or an out-of-range value (with Param naming
// the parameter), fault.Unsupported for input seance cannot handle (images, audio, logit_bias).
func DecodeChatRequest(r io.Reader, limit int64) (*ChatRequest, error) {
	body, err := readLimited(r, limit)
	if err != nil {
		return nil, err
	}
	var req ChatRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// readLimited reads all of r, failing with fault.TooLarge past limit bytes (limit <= 0: no limit).
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, readError(err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, readError(err)
	}
	if int64(len(b)) > limit {
		return nil, fault.New(fault.TooLarge, "request body is larger than %d bytes", limit)
	}
	return b, nil
}

func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.Wrap(err, fault.TooLarge, "request body is larger than %d bytes", mbe.Limit)
	}
	return fault.Wrap(err, fault.Invalid, "read request body")
}

// decodeJSON unmarshals one JSON value and classifies errors with parameter names.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fault.New(fault.Invalid, "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	if err == nil {
		// Anything but whitespace after the object is malformed.
		if _, terr := dec.Token(); terr != io.EOF {
			return fault.New(fault.Invalid, "malformed JSON: unexpected data after the top-level value")
		}
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		fe  *fault.Error
	)
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &typ):
		param := typ.Field
		if param == "" {
			return fault.Wrap(err, fault.Invalid, "request body must be a JSON object, not %s", typ.Value)
		}
		return &fault.Error{Code: fault.Invalid, Param: param, Err: err,
			Message: fmt.Sprintf("invalid type for %q: expected %s, got %s", param, typeName(typ.Type), typ.Value)}
	case errors.As(err, &syn):
		return fault.Wrap(err, fault.Invalid, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fault.Wrap(err, fault.Invalid, "malformed JSON: unexpected end of input")
	}
	return fault.Wrap(err, fault.Invalid, "malformed JSON: %s", err.Error())
}

// typeName describes a Go type as the JSON type a client must send.
func typeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t {
	case reflect.TypeFor[Content]():
		return "a string or an array of content parts"
	case reflect.TypeFor[ToolChoice]():
		return `"none", "auto", "required" or a {"type":"function"} object`
	case reflect.TypeFor[Stop]():
		return "a string or an array of strings"
	case reflect.TypeFor[Input]():
		return "a string or an array of strings"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}
