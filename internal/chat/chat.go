// Package chat holds the data that flows between every layer of seance: messages, tool calls,
// sampling options, streamed deltas, usage and compute accounting.
//
// It is pure data: no I/O, no JSON tags (wire formats live in internal/openai and the backends).
// Every other internal package may import it; it imports only the standard library.
package chat

import (
	"encoding/json"
	"time"
)

// Role is the author of a message.
type Role string

// The roles seance understands. Backends map them to their own wire names.
const (
	System    Role = "system"
	User      Role = "user"
	Assistant Role = "assistant"
	Tool      Role = "tool"
)

// Message is one turn of a conversation.
type Message struct {
	Role    Role
	Content string
	// Name optionally names the author (a persona in a debate, a tool for Role Tool).
	Name string
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall
	// ToolCallID links a Role Tool message to the call it answers.
	ToolCallID string
}

// ToolCall is a complete call of a function tool.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON object text of the arguments, as the model produced it
	// (after repair of known small-model formats; see internal/llm/toolcalls).
	Arguments string
}

// ToolSpec describes a function tool offered to the model.
type ToolSpec struct {
	Name        string
	Description string
	// Parameters is a JSON Schema object; nil means no parameters.
	Parameters json.RawMessage
}

// ToolChoiceMode says whether and how the model must call tools.
type ToolChoiceMode string

// Tool choice modes, as in the OpenAI API. The zero value means "auto" when tools are present.
const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
	ToolChoiceFunction ToolChoiceMode = "function" // call the tool named in ToolChoice.Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string // for ToolChoiceFunction
}

// FormatType is the kind of output the caller asked for.
type FormatType string

// Response formats, as in the OpenAI API. The zero value means text.
const (
	FormatText       FormatType = "text"
	FormatJSONObject FormatType = "json_object"
	FormatJSONSchema FormatType = "json_schema"
)

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	Type   FormatType
	Name   string
	Schema json.RawMessage
	Strict bool
}

// Sampling holds the sampling parameters. A nil pointer means "the backend's default";
// backends forward only what is set.
type Sampling struct {
	Temperature      *float64 // 0 = greedy
	TopP             *float64
	TopK             *int
	MinP             *float64
	RepeatPenalty    *float64 // multiplicative, llama.cpp style; 1 = off
	PresencePenalty  *float64
	FrequencyPenalty *float64
	Seed             *int64 // same seed, same model, same request → same output (embedded engine)
}

// Request is one chat completion request, independent of any wire format.
type Request struct {
	// Model is the backend-side model name. Backends whose URL already names the model ignore it.
	Model      string
	Messages   []Message
	Tools      []ToolSpec
	ToolChoice ToolChoice
	Format     ResponseFormat
	Sampling   Sampling
	// MaxTokens limits the completion; 0 means until the context is full or the backend's default.
	MaxTokens int
	// Stop sequences end the completion; the stop text itself is not returned.
	Stop []string
	// Logprobs asks for the log-probability of every generated token, with TopLogprobs alternatives.
	Logprobs    bool
	TopLogprobs int
	// TruncatePrompt allows a backend to drop the oldest non-system messages of a prompt that does not
	// fit its context, reporting what it dropped in Response.Truncated. Without it such a prompt is an
	// error (fault.ContextLength), never a silent cut.
	TruncatePrompt bool
}

// FinishReason says why a completion ended.
type FinishReason string

// Finish reasons, as in the OpenAI API.
const (
	FinishStop      FinishReason = "stop"
	FinishLength    FinishReason = "length"
	FinishToolCalls FinishReason = "tool_calls"
)

// TopLogprob is one alternative at a generated position.
type TopLogprob struct {
	Token   string
	Bytes   []byte
	Logprob float64
}

// TokenLogprob is the log-probability of one generated token and its best alternatives.
type TokenLogprob struct {
	Token   string
	Bytes   []byte
	Logprob float64
	Top     []TopLogprob
}

// ToolCallDelta is a fragment of a tool call in a stream. The first fragment of a call carries its
// Index, ID and Name; later fragments with the same Index append to Arguments.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// Delta is one streamed piece of a completion. Backends call the stream callback with deltas in order;
// the final Response is returned separately and always holds the whole result.
type Delta struct {
	Content   string
	ToolCalls []ToolCallDelta
	Logprobs  []TokenLogprob
}

// Usage counts the tokens and compute of a completion.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	// CachedTokens are prompt tokens served from a cache (not recomputed).
	CachedTokens int
	// Duration is the wall time of the whole call; TimeToFirstToken until the first delta.
	Duration         time.Duration
	TimeToFirstToken time.Duration
	// FLOPs estimates the floating-point operations spent (2 × parameters × tokens plus the attention
	// term); 0 when the backend cannot know it.
	FLOPs float64
}

// TotalTokens is PromptTokens + CompletionTokens.
func (u Usage) TotalTokens() int { return u.PromptTokens + u.CompletionTokens }

// Add returns the sum of two usages. Durations add up: it is used for compute accounting, not for
// wall-clock time of parallel work.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		PromptTokens:     u.PromptTokens + v.PromptTokens,
		CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		CachedTokens:     u.CachedTokens + v.CachedTokens,
		Duration:         u.Duration + v.Duration,
		TimeToFirstToken: u.TimeToFirstToken + v.TimeToFirstToken,
		FLOPs:            u.FLOPs + v.FLOPs,
	}
}

// Response is the complete result of a chat completion.
type Response struct {
	// Model names the model that answered, as the backend reports it.
	Model        string
	Message      Message // Role is Assistant
	FinishReason FinishReason
	Usage        Usage
	Logprobs     []TokenLogprob
	// Truncated is the number of prompt tokens dropped under Request.TruncatePrompt.
	Truncated int
	// Grounding is set by a grounded model (internal/memory/ground): the sources it retrieved and the
	// check of the answer's citations. Nil for other models.
	Grounding *Grounding
}

// Grounding is what a grounded model put into the prompt and how the answer's citations held up.
type Grounding struct {
	// Query is the text the sources were retrieved for (the last user message).
	Query string
	// Sources are the numbered sources of the prompt, in order (Sources[i].N == i+1); empty when
	// nothing passed the memory's relevance gate.
	Sources []GroundingSource
	// Check is the citation check of the answer.
	Check CitationCheck
}

// GroundingSource is one numbered source with its provenance.
type GroundingSource struct {
	// N is the number the answer cites it by, from 1.
	N int
	// Path is the source file; StartLine and EndLine the 1-based inclusive line range of the passage.
	Path               string
	StartLine, EndLine int
	Title              string
	Headings           []string
	// Commit is the git commit of the source file, "" outside a repository.
	Commit string
	// Text is the passage as the prompt gave it.
	Text string
	// Score is the retrieval score (method-specific; higher is better).
	Score float64
}

// CitationCheck summarises the check of an answer's citations (internal/memory CheckCitations).
type CitationCheck struct {
	Sentences []SentenceCheck
	// Claims counts the sentences that needed support; the other counts are by verdict.
	Claims, Supported, Unsupported, BadCitations, Uncited int
}

// SentenceCheck is the verdict on one sentence of an answer.
type SentenceCheck struct {
	Text      string
	Citations []int
	Supported bool
	// Score is the support score in [0, 1].
	Score float64
	// Verdict is "supported", "unsupported", "bad_citation", "uncited" or "no_claim".
	Verdict string
	Reason  string
}

// StreamFunc receives deltas of a streamed completion. Returning an error stops the completion; the
// backend returns that error.
type StreamFunc func(Delta) error
