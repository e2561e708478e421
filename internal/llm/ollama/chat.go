package ollama

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/remote"
	"github.com/seance-dev/seance/internal/llm/retry"
	"github.com/seance-dev/seance/internal/llm/toolcalls"
)

type wireRequest struct {
	Model       string          `json:"model"`
	Messages    []wireMessage   `json:"messages"`
	Tools       []wireTool      `json:"tools,omitempty"`
	Format      json.RawMessage `json:"format,omitempty"`
	Options     wireOptions     `json:"options"`
	Stream      bool            `json:"stream"` // Ollama streams unless told false
	KeepAlive   string          `json:"keep_alive,omitempty"`
	Logprobs    bool            `json:"logprobs,omitempty"`
	TopLogprobs int             `json:"top_logprobs,omitempty"`
}

type wireOptions struct {
	NumCtx           int      `json:"num_ctx"`
	NumPredict       int      `json:"num_predict,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	MinP             *float64 `json:"min_p,omitempty"`
	RepeatPenalty    *float64 `json:"repeat_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	Stop             []string `json:"stop,omitempty"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    string         `json:"content"`
	Thinking   string         `json:"thinking,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolName   string         `json:"tool_name,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wireToolCall struct {
	ID       string `json:"id,omitempty"`
	Function struct {
		Index     int             `json:"index,omitempty"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"` // an object in Ollama's API
	} `json:"function"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	} `json:"function"`
}

// wireChunk is one line of /api/chat's NDJSON stream, or its whole non-streamed reply.
type wireChunk struct {
	Model              string       `json:"model"`
	Message            *wireMessage `json:"message"`
	Done               bool         `json:"done"`
	DoneReason         string       `json:"done_reason"`
	TotalDuration      int64        `json:"total_duration"`
	LoadDuration       int64        `json:"load_duration"`
	PromptEvalCount    int          `json:"prompt_eval_count"`
	PromptEvalDuration int64        `json:"prompt_eval_duration"`
	EvalCount          int          `json:"eval_count"`
	EvalDuration       int64        `json:"eval_duration"`
	Logprobs           []struct {
		Token       string  `json:"token"`
		Logprob     float64 `json:"logprob"`
		Bytes       []int   `json:"bytes"`
		TopLogprobs []struct {
			Token   string  `json:"token"`
			Logprob float64 `json:"logprob"`
			Bytes   []int   `json:"bytes"`
		} `json:"top_logprobs"`
	} `json:"logprobs"`
	Error string `json:"error"`
}

// buildRequest converts a chat.Request to Ollama's /api/chat request.
func (c *Client) buildRequest(ctx context.Context, req *chat.Request, stream bool) (*wireRequest, error) {
	model, err := c.modelFor(req.Model)
	if err != nil {
		return nil, err
	}
	if req.MaxTokens < 0 {
		return nil, fault.Param("max_tokens", "max_tokens must not be negative")
	}
	s := req.Sampling
	w := &wireRequest{
		Model:     model,
		Stream:    stream,
		KeepAlive: c.keepAlive,
		Options: wireOptions{
			NumCtx: c.contextSize(ctx, model), NumPredict: req.MaxTokens, Stop: req.Stop,
			Temperature: s.Temperature, TopP: s.TopP, TopK: s.TopK, MinP: s.MinP, RepeatPenalty: s.RepeatPenalty,
			PresencePenalty: s.PresencePenalty, FrequencyPenalty: s.FrequencyPenalty, Seed: s.Seed,
		},
	}
	if req.Logprobs {
		w.Logprobs, w.TopLogprobs = true, req.TopLogprobs
	}
	// Ollama's tool results name the tool, not the call: find the name of each answered call.
	callNames := map[string]string{}
	for i, m := range req.Messages {
		wm := wireMessage{Role: string(m.Role), Content: m.Content}
		switch m.Role {
		case chat.System, chat.User:
		case chat.Assistant:
			for _, tc := range m.ToolCalls {
				callNames[tc.ID] = tc.Name
				var wc wireToolCall
				wc.Function.Name = tc.Name
				wc.Function.Arguments = json.RawMessage(argsObject(tc.Arguments))
				wm.ToolCalls = append(wm.ToolCalls, wc)
			}
		case chat.Tool:
			wm.ToolName = m.Name
			if wm.ToolName == "" {
				wm.ToolName = callNames[m.ToolCallID]
			}
			wm.ToolCallID = m.ToolCallID
		default:
			return nil, fault.Param("messages", "message %d has unknown role %q", i, m.Role)
		}
		w.Messages = append(w.Messages, wm)
	}
	// Ollama has no tool_choice. "none" is honoured by offering no tools and "function" by offering
	// only the named tool; "required" cannot be enforced and is treated as "auto".
	tools := req.Tools
	switch req.ToolChoice.Mode {
	case chat.ToolChoiceNone:
		tools = nil
	case chat.ToolChoiceFunction:
		tools = nil
		for _, t := range req.Tools {
			if t.Name == req.ToolChoice.Name {
				tools = []chat.ToolSpec{t}
			}
		}
		if tools == nil {
			return nil, fault.Param("tool_choice", "tool_choice names %q, which is not among the tools", req.ToolChoice.Name)
		}
	}
	for _, t := range tools {
		if t.Name == "" {
			return nil, fault.Param("tools", "a tool has no name")
		}
		var wt wireTool
		wt.Type = "function"
		wt.Function.Name, wt.Function.Description, wt.Function.Parameters = t.Name, t.Description, t.Parameters
		if len(wt.Function.Parameters) == 0 {
			wt.Function.Parameters = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		w.Tools = append(w.Tools, wt)
	}
	switch req.Format.Type {
	case "", chat.FormatText:
	case chat.FormatJSONObject:
		w.Format = json.RawMessage(`"json"`)
	case chat.FormatJSONSchema:
		if len(req.Format.Schema) == 0 || !json.Valid(req.Format.Schema) {
			return nil, fault.Param("response_format", "json_schema response format needs a valid schema")
		}
		w.Format = req.Format.Schema
	default:
		return nil, fault.Param("response_format", "unknown response format %q", req.Format.Type)
	}
	return w, nil
}

// argsObject returns tool-call arguments as a JSON object text for Ollama, which wants an object.
func argsObject(args string) string {
	args = strings.TrimSpace(args)
	if strings.HasPrefix(args, "{") && json.Valid([]byte(args)) {
		return args
	}
	return "{}"
}

// Chat runs one chat completion with /api/chat. With stream non-nil the NDJSON reply is streamed and
// each delta is passed to stream in order from the calling goroutine. Failures before any delta
// reached the caller are retried (429, 5xx, connection errors); canceling ctx stops promptly.
func (c *Client) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	if req == nil {
		return nil, fault.New(fault.Invalid, "ollama backend: nil request")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	start := time.Now()
	w, err := c.buildRequest(ctx, req, stream != nil)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "ollama backend: cannot encode request")
	}
	c.log.Debug("chat request", "model", w.Model, "num_ctx", w.Options.NumCtx, "messages", len(w.Messages), "stream", w.Stream)
	var resp *chat.Response
	err = c.retry(ctx, "chat", func() error {
		httpResp, err := c.send(ctx, "POST", "/api/chat", body)
		if err != nil {
			return err
		}
		defer httpResp.Body.Close()
		resp, err = c.readReply(ctx, httpResp.Body, req, stream, start)
		return err
	})
	if err != nil {
		return nil, err
	}
	if resp.Model == "" {
		resp.Model = w.Model
	}
	resp.Usage.Duration = time.Since(start)
	return resp, nil
}

// readReply reads the NDJSON stream (or the single object of a non-streamed reply).
func (c *Client) readReply(ctx context.Context, r io.Reader, req *chat.Request, stream chat.StreamFunc, start time.Time) (*chat.Response, error) {
	mayRepair := c.repair && len(req.Tools) > 0 && req.ToolChoice.Mode != chat.ToolChoiceNone
	a := &accumulator{req: req, stream: stream, guard: mayRepair && stream != nil, repair: mayRepair}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, c.ctxError(ctx, "chat")
			}
			ferr := fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream, "ollama broke off its reply")
			if !a.delivered {
				return nil, &retry.Error{Err: ferr}
			}
			return nil, ferr
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var ch wireChunk
		if err := json.Unmarshal(line, &ch); err != nil {
			return nil, fault.Wrap(err, fault.Upstream, "ollama sent a line that is not a chat chunk")
		}
		if ch.Error != "" {
			msg := c.redact(ch.Error)
			return nil, fault.New(remote.Classify(500, msg), "ollama error: %s", msg)
		}
		if err := a.add(&ch, start); err != nil {
			return nil, err
		}
		if ch.Done {
			break
		}
	}
	if !a.done {
		ferr := fault.New(fault.Upstream, "ollama ended its reply before it was done")
		if !a.delivered {
			return nil, &retry.Error{Err: ferr}
		}
		return nil, ferr
	}
	return a.finish(start)
}

// readLine returns the next line (any length up to maxReply), or io.EOF after the last.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxReply {
			return nil, errors.New("ollama reply line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			return line, nil
		}
		return line, err
	}
}

// accumulator assembles a reply from chunks and passes deltas on.
type accumulator struct {
	req    *chat.Request
	stream chat.StreamFunc
	guard  bool // hold back text that may be a tool call written as text
	repair bool

	content   strings.Builder
	emitted   int
	calls     []chat.ToolCall
	logprobs  []chat.TokenLogprob
	final     wireChunk
	model     string
	done      bool
	delivered bool
	ttft      time.Duration
}

func (a *accumulator) add(ch *wireChunk, start time.Time) error {
	if ch.Model != "" {
		a.model = ch.Model
	}
	var d chat.Delta
	if m := ch.Message; m != nil {
		// m.Thinking is kept out of the content.
		if m.Content != "" {
			a.content.WriteString(m.Content)
			d.Content = a.releasable()
		}
		for _, tc := range m.ToolCalls {
			id := tc.ID
			if id == "" {
				id = "call_" + strconv.Itoa(len(a.calls))
			}
			call := chat.ToolCall{ID: id, Name: tc.Function.Name, Arguments: compactArgs(tc.Function.Arguments)}
			d.ToolCalls = append(d.ToolCalls, chat.ToolCallDelta{Index: len(a.calls), ID: call.ID, Name: call.Name, Arguments: call.Arguments})
			a.calls = append(a.calls, call)
		}
	}
	for _, lp := range ch.Logprobs {
		tl := chat.TokenLogprob{Token: lp.Token, Logprob: lp.Logprob, Bytes: intsToBytes(lp.Bytes)}
		for _, t := range lp.TopLogprobs {
			tl.Top = append(tl.Top, chat.TopLogprob{Token: t.Token, Logprob: t.Logprob, Bytes: intsToBytes(t.Bytes)})
		}
		a.logprobs = append(a.logprobs, tl)
		d.Logprobs = append(d.Logprobs, tl)
	}
	if ch.Done {
		a.done, a.final = true, *ch
	}
	return a.emit(d, start)
}

func (a *accumulator) releasable() string {
	text := a.content.String()
	safe := len(text)
	switch {
	case a.guard && a.emitted == 0:
		safe = toolcalls.SafePrefix(text, a.req.Tools)
	case a.guard:
		// The start is known not to be a call; only tags after what was passed on matter.
		safe = a.emitted + toolcalls.TagIndex(text[a.emitted:])
	}
	if safe <= a.emitted {
		return ""
	}
	s := text[a.emitted:safe]
	a.emitted = safe
	return s
}

func (a *accumulator) emit(d chat.Delta, start time.Time) error {
	if a.stream == nil || (d.Content == "" && len(d.ToolCalls) == 0 && len(d.Logprobs) == 0) {
		return nil
	}
	if !a.delivered {
		a.delivered, a.ttft = true, time.Since(start)
	}
	return a.stream(d)
}

func (a *accumulator) finish(start time.Time) (*chat.Response, error) {
	text := a.content.String()
	calls := a.calls
	var tail chat.Delta
	if a.repair && len(calls) == 0 {
		if repaired, rest, ok := toolcalls.Parse(text, a.req.Tools); ok {
			sent := strings.TrimSpace(text[:a.emitted])
			if strings.HasPrefix(rest, sent) {
				tail.Content = rest[len(sent):]
			}
			text, calls = rest, repaired
			for i, c := range calls {
				tail.ToolCalls = append(tail.ToolCalls, chat.ToolCallDelta{Index: i, ID: c.ID, Name: c.Name, Arguments: c.Arguments})
			}
			a.emitted = a.content.Len()
		}
	}
	if a.emitted < a.content.Len() {
		tail.Content = a.content.String()[a.emitted:]
		a.emitted = a.content.Len()
	}
	if err := a.emit(tail, start); err != nil {
		return nil, err
	}
	f := a.final
	resp := &chat.Response{
		Model:    a.model,
		Message:  chat.Message{Role: chat.Assistant, Content: text, ToolCalls: calls},
		Logprobs: a.logprobs,
		Usage:    chat.Usage{PromptTokens: f.PromptEvalCount, CompletionTokens: f.EvalCount},
	}
	switch {
	case f.DoneReason == "length":
		resp.FinishReason = chat.FinishLength
	case len(calls) > 0:
		resp.FinishReason = chat.FinishToolCalls
	default:
		resp.FinishReason = chat.FinishStop
	}
	if a.stream != nil {
		resp.Usage.TimeToFirstToken = a.ttft
	} else if f.LoadDuration+f.PromptEvalDuration > 0 {
		// Without a stream, the server's load and prompt time is the best measure of the first token.
		resp.Usage.TimeToFirstToken = time.Duration(f.LoadDuration + f.PromptEvalDuration)
	}
	return resp, nil
}

// compactArgs returns Ollama's argument object as compact JSON text (a string holding JSON is
// unwrapped; nothing becomes {}).
func compactArgs(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(strings.TrimSpace(s))
		}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
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
