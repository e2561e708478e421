package openai

import (
	"math"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

// Object names of the responses.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
	ObjectList                = "list"
	ObjectModel               = "model"
	ObjectEmbedding           = "embedding"
)

// Meta identifies one completion: the same id, created time and model name appear in the response and
// in every chunk of a stream.
type Meta struct {
	ID      string
	Created int64 // Unix seconds
	Model   string
}

// ChatCompletion is the response of a non-streamed chat completion.
type ChatCompletion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	// Seance is seance's compute accounting (a non-standard field that clients ignore).
	Seance *Accounting `json:"seance,omitempty"`
	// Grounding is set for grounded models: the sources and citation check of choice 0.
	Grounding *Grounding `json:"seance_grounding,omitempty"`
}

// Choice is one choice of a ChatCompletion.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	Logprobs     *Logprobs       `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

// ResponseMessage is the assistant message of a Choice. Content is null when the model only called
// tools.
type ResponseMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Usage counts the tokens of a completion.
type Usage struct {
	PromptTokens        int                  `json:"prompt_tokens"`
	CompletionTokens    int                  `json:"completion_tokens"`
	TotalTokens         int                  `json:"total_tokens"`
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details,omitempty"`
}

// PromptTokensDetails breaks prompt tokens down.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// Accounting is the "seance" extension object of a response and of the final usage chunk: the compute
// a completion spent.
type Accounting struct {
	// DurationMS is the wall time of the model calls, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	// TTFTMS is the time to the first token of the first choice, in milliseconds.
	TTFTMS float64 `json:"ttft_ms"`
	// FLOPs estimates the floating-point operations of all choices; 0 when unknown.
	FLOPs float64 `json:"flops"`
	// TruncatedTokens counts prompt tokens dropped under seance.truncate_prompt.
	TruncatedTokens int `json:"truncated_tokens"`
}

// Logprobs holds the log-probabilities of a choice's (or a chunk's) tokens.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
	Refusal []TokenLogprob `json:"refusal"`
}

// TokenLogprob is one token's log-probability and its best alternatives.
type TokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one alternative token.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatCompletionChunk is one event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
	Seance            *Accounting   `json:"seance,omitempty"`
	// Grounding is set on the finish chunk of a grounded model's choice (and on the usage chunk,
	// for choice 0).
	Grounding *Grounding `json:"seance_grounding,omitempty"`
}

// ChunkChoice is one choice's part of a chunk.
type ChunkChoice struct {
	Index        int        `json:"index"`
	Delta        ChunkDelta `json:"delta"`
	Logprobs     *Logprobs  `json:"logprobs"`
	FinishReason *string    `json:"finish_reason"`
}

// ChunkDelta is what a chunk adds to a choice's message.
type ChunkDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []ToolCallChunk `json:"tool_calls,omitempty"`
}

// ToolCallChunk is a fragment of a tool call. The first fragment of a call carries its id, type and
// function name; later fragments with the same index carry more of the arguments.
type ToolCallChunk struct {
	Index    int               `json:"index"`
	ID       string            `json:"id,omitempty"`
	Type     string            `json:"type,omitempty"`
	Function FunctionCallChunk `json:"function"`
}

// FunctionCallChunk is the function part of a tool-call fragment.
type FunctionCallChunk struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// FromChat builds the response of a non-streamed completion whose choices are resps, in order.
func FromChat(meta Meta, resps []*chat.Response) *ChatCompletion {
	out := &ChatCompletion{
		ID:      meta.ID,
		Object:  ObjectChatCompletion,
		Created: meta.Created,
		Model:   meta.Model,
		Choices: make([]Choice, 0, len(resps)),
	}
	for i, r := range resps {
		msg := ResponseMessage{Role: "assistant"}
		if r.Message.Content != "" || len(r.Message.ToolCalls) == 0 {
			s := r.Message.Content
			msg.Content = &s
		}
		for _, tc := range r.Message.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Type: "function",
				Function: FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
		}
		c := Choice{Index: i, Message: msg, FinishReason: finishReason(r)}
		if r.Logprobs != nil {
			c.Logprobs = LogprobsFromChat(r.Logprobs)
		}
		out.Choices = append(out.Choices, c)
	}
	out.Usage, out.Seance = UsageFromChat(resps)
	if len(resps) > 0 {
		out.Grounding = GroundingFromChat(resps[0].Grounding)
	}
	return out
}

// finishReason is the response's finish reason, "stop" when the backend left it empty.
func finishReason(r *chat.Response) string {
	if r.FinishReason == "" {
		if len(r.Message.ToolCalls) > 0 {
			return string(chat.FinishToolCalls)
		}
		return string(chat.FinishStop)
	}
	return string(r.FinishReason)
}

// UsageFromChat sums the usage of the choices of one request. As in the OpenAI API the prompt is
// counted once (it is the same prompt for every choice); completion tokens, compute and time add up.
func UsageFromChat(resps []*chat.Response) (*Usage, *Accounting) {
	var sum chat.Usage
	truncated := 0
	for _, r := range resps {
		sum = sum.Add(r.Usage)
		truncated = max(truncated, r.Truncated)
	}
	u := &Usage{CompletionTokens: sum.CompletionTokens}
	a := &Accounting{
		DurationMS:      millis(sum.Duration),
		FLOPs:           sum.FLOPs,
		TruncatedTokens: truncated,
	}
	if len(resps) > 0 {
		u.PromptTokens = resps[0].Usage.PromptTokens
		a.TTFTMS = millis(resps[0].Usage.TimeToFirstToken)
		if c := resps[0].Usage.CachedTokens; c > 0 {
			u.PromptTokensDetails = &PromptTokensDetails{CachedTokens: c}
		}
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u, a
}

// millis converts d to milliseconds, rounded to microseconds.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// LogprobsFromChat converts token log-probabilities to the OpenAI shape.
func LogprobsFromChat(lps []chat.TokenLogprob) *Logprobs {
	out := &Logprobs{Content: make([]TokenLogprob, 0, len(lps))}
	for _, lp := range lps {
		t := TokenLogprob{
			Token:       lp.Token,
			Logprob:     finite(lp.Logprob),
			Bytes:       byteInts(lp.Bytes, lp.Token),
			TopLogprobs: make([]TopLogprob, 0, len(lp.Top)),
		}
		for _, top := range lp.Top {
			t.TopLogprobs = append(t.TopLogprobs, TopLogprob{
				Token: top.Token, Logprob: finite(top.Logprob), Bytes: byteInts(top.Bytes, top.Token)})
		}
		out.Content = append(out.Content, t)
	}
	return out
}

// minLogprob stands for the log-probability of an impossible token (-Inf, which JSON cannot carry),
// as the OpenAI API does.
const minLogprob = -9999.0

// finite maps -Inf and NaN to minLogprob.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, -1) || x < minLogprob {
		return minLogprob
	}
	return min(x, 0)
}

// byteInts is the bytes of a token as JSON numbers (the API's shape), from b or else the token text.
func byteInts(b []byte, token string) []int {
	if b == nil {
		b = []byte(token)
	}
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

func chunk(meta Meta, choices []ChunkChoice) *ChatCompletionChunk {
	return &ChatCompletionChunk{
		ID:      meta.ID,
		Object:  ObjectChatCompletionChunk,
		Created: meta.Created,
		Model:   meta.Model,
		Choices: choices,
	}
}

// RoleChunk is the first chunk of choice index: the assistant role and empty content.
func RoleChunk(meta Meta, index int) *ChatCompletionChunk {
	empty := ""
	return chunk(meta, []ChunkChoice{{Index: index, Delta: ChunkDelta{Role: "assistant", Content: &empty}}})
}

// DeltaChunk is the chunk of one streamed delta of choice index. The first fragment of each tool call
// (the one with an ID) gets type "function"; it returns nil for a delta that carries nothing.
func DeltaChunk(meta Meta, index int, d chat.Delta) *ChatCompletionChunk {
	if d.Content == "" && len(d.ToolCalls) == 0 && len(d.Logprobs) == 0 {
		return nil
	}
	c := ChunkChoice{Index: index}
	if d.Content != "" || len(d.ToolCalls) == 0 {
		s := d.Content
		c.Delta.Content = &s
	}
	for _, tc := range d.ToolCalls {
		f := ToolCallChunk{Index: tc.Index, ID: tc.ID, Function: FunctionCallChunk{Name: tc.Name, Arguments: tc.Arguments}}
		if tc.ID != "" {
			f.Type = "function"
		}
		c.Delta.ToolCalls = append(c.Delta.ToolCalls, f)
	}
	if len(d.Logprobs) > 0 {
		c.Logprobs = LogprobsFromChat(d.Logprobs)
	}
	return chunk(meta, []ChunkChoice{c})
}

// FinishChunk is the last chunk of choice index of resp: an empty delta and the finish reason.
func FinishChunk(meta Meta, index int, resp *chat.Response) *ChatCompletionChunk {
	reason := finishReason(resp)
	c := chunk(meta, []ChunkChoice{{Index: index, FinishReason: &reason}})
	c.Grounding = GroundingFromChat(resp.Grounding)
	return c
}

// UsageChunk is the chunk that ends a stream with stream_options.include_usage: no choices, the usage
// and seance's accounting of all choices.
func UsageChunk(meta Meta, resps []*chat.Response) *ChatCompletionChunk {
	c := chunk(meta, []ChunkChoice{})
	c.Usage, c.Seance = UsageFromChat(resps)
	if len(resps) > 0 {
		c.Grounding = GroundingFromChat(resps[0].Grounding)
	}
	return c
}

// ErrorResponse is the OpenAI error envelope.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the error object of the envelope. Param and Code are null when empty.
type ErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// NewError returns an error envelope; empty param or code become null.
func NewError(message, typ, param, code string) *ErrorResponse {
	e := &ErrorResponse{Error: ErrorBody{Message: message, Type: typ}}
	if param != "" {
		e.Error.Param = &param
	}
	if code != "" {
		e.Error.Code = &code
	}
	return e
}

// ModelList is the response of GET /v1/models.
type ModelList struct {
	Object string        `json:"object"`
	Data   []ModelObject `json:"data"`
}

// ModelObject describes one model.
type ModelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Seance holds what seance knows about the model (a non-standard field).
	Seance *ModelDetails `json:"seance,omitempty"`
}

// ModelDetails is the "seance" extension of a ModelObject. Zero fields are unknown and omitted.
type ModelDetails struct {
	Backend       string `json:"backend,omitempty"`
	Architecture  string `json:"architecture,omitempty"`
	Parameters    int64  `json:"parameters,omitempty"`
	ContextLength int    `json:"context_length,omitempty"`
	Quantization  string `json:"quantization,omitempty"`
	Size          int64  `json:"size,omitempty"`
	Source        string `json:"source,omitempty"`
}
