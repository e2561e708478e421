package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/remote"
	"github.com/seance-dev/seance/internal/llm/retry"
	"github.com/seance-dev/seance/internal/llm/toolcalls"
)

// maxResponse bounds a non-streamed reply body.
const maxResponse = 64 << 20

// Chat runs one chat completion on the server. With stream non-nil the reply is streamed with
// server-sent events and each delta is passed to stream in order from the calling goroutine.
//
// A 429, a 5xx or a connection failure is retried (Options.MaxRetries) as long as no delta has reached
// stream; once one has, a failure ends the call with fault.Upstream. Canceling ctx stops the call
// promptly and returns ctx.Err() wrapped.
func (c *Client) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	if req == nil {
		return nil, fault.New(fault.Invalid, "openai backend: nil request")
	}
	w, err := c.buildRequest(req, stream != nil)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "openai backend: cannot encode request")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	start := time.Now()
	c.log.Debug("chat request", "model", w.Model, "messages", len(w.Messages), "tools", len(w.Tools), "stream", stream != nil)

	var resp *chat.Response
	err = c.retry(ctx, "chat", func() error {
		httpResp, err := c.send(ctx, "POST", "/chat/completions", body, stream != nil)
		if err != nil {
			return err
		}
		defer httpResp.Body.Close()
		if stream == nil {
			resp, err = c.decodeResponse(ctx, httpResp.Body, req)
			return err
		}
		if strings.HasPrefix(httpResp.Header.Get("Content-Type"), "application/json") {
			// A server (or proxy) that ignored "stream": true and sent the whole reply at once.
			if resp, err = c.decodeResponse(ctx, httpResp.Body, req); err != nil {
				return err
			}
			return wholeAsDelta(resp, stream, start)
		}
		resp, err = c.readStream(ctx, httpResp.Body, req, stream, start)
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

// decodeResponse reads a non-streamed reply.
func (c *Client) decodeResponse(ctx context.Context, r io.Reader, req *chat.Request) (*chat.Response, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxResponse))
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.ctxError(ctx, "chat")
		}
		return nil, &retry.Error{Err: fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream, "model server broke off its reply")}
	}
	var w wireResponse
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fault.Wrap(err, fault.Upstream, "model server sent a reply that is not a chat completion")
	}
	if w.Error != nil && w.Error.Message != "" {
		return nil, c.inBandError(w.Error.Message, w.Error.Type)
	}
	if len(w.Choices) == 0 || w.Choices[0].Message == nil {
		return nil, fault.New(fault.Upstream, "model server sent a chat completion without choices")
	}
	ch := w.Choices[0]
	m := ch.Message
	out := &chat.Response{Model: w.Model, Usage: w.Usage.toChat(w.Timings, w.Seance), Logprobs: convertLogprobs(ch.Logprobs)}
	out.Message.Role = chat.Assistant
	if m.Content != nil {
		out.Message.Content = *m.Content
	}
	for i, tc := range m.ToolCalls {
		id := tc.ID
		if id == "" {
			id = generatedID(i)
		}
		out.Message.ToolCalls = append(out.Message.ToolCalls, chat.ToolCall{ID: id, Name: tc.Function.Name,
			Arguments: finalArguments(argumentsText(tc.Function.Arguments))})
	}
	if len(m.ToolCalls) == 0 && m.FunctionCall != nil && m.FunctionCall.Name != "" {
		out.Message.ToolCalls = []chat.ToolCall{{ID: generatedID(0), Name: m.FunctionCall.Name,
			Arguments: finalArguments(argumentsText(m.FunctionCall.Arguments))}}
	}
	wireFinish := ""
	if ch.FinishReason != nil {
		wireFinish = *ch.FinishReason
	}
	if c.mayRepair(req) && len(out.Message.ToolCalls) == 0 {
		if calls, rest, ok := toolcalls.Parse(out.Message.Content, req.Tools); ok {
			c.log.Debug("repaired tool calls written as text", "calls", len(calls))
			out.Message.Content, out.Message.ToolCalls = rest, calls
		}
	}
	out.FinishReason = finishReason(wireFinish, len(out.Message.ToolCalls) > 0)
	return out, nil
}

// wholeAsDelta passes a complete reply to stream as one delta.
func wholeAsDelta(resp *chat.Response, stream chat.StreamFunc, start time.Time) error {
	d := chat.Delta{Content: resp.Message.Content, Logprobs: resp.Logprobs}
	for i, tc := range resp.Message.ToolCalls {
		d.ToolCalls = append(d.ToolCalls, chat.ToolCallDelta{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	resp.Usage.TimeToFirstToken = time.Since(start)
	if d.Content == "" && len(d.ToolCalls) == 0 && len(d.Logprobs) == 0 {
		return nil
	}
	return stream(d)
}

// mayRepair reports whether text tool calls may be looked for in the reply to req.
func (c *Client) mayRepair(req *chat.Request) bool {
	return c.repair && len(req.Tools) > 0 && req.ToolChoice.Mode != chat.ToolChoiceNone
}

// inBandError classifies an error a server reports inside a 200 reply or a stream.
func (c *Client) inBandError(msg, typ string) error {
	msg = c.redact(msg)
	return fault.New(remote.Classify(500, msg+" "+typ), "model server error: %s", msg)
}

// readStream consumes a server-sent event stream. Failures before the first delta reached the
// caller are retryable; later ones are not.
func (c *Client) readStream(ctx context.Context, r io.Reader, req *chat.Request, stream chat.StreamFunc, start time.Time) (*chat.Response, error) {
	acc := newAccumulator(req, c.mayRepair(req), stream)
	sse := newEventReader(r)
	for {
		ev, err := sse.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, c.ctxError(ctx, "chat")
			}
			ferr := fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream, "model server broke off its stream")
			if !acc.delivered {
				return nil, &retry.Error{Err: ferr}
			}
			return nil, ferr
		}
		if ev.done {
			break
		}
		if ev.event == "error" {
			msg, typ := remote.ErrorMessage(ev.data)
			return nil, c.inBandError(msg, typ)
		}
		chunks, err := decodeChunks(ev.data)
		if err != nil {
			return nil, fault.Wrap(err, fault.Upstream, "model server sent a stream event that is not a chat completion chunk")
		}
		for _, ch := range chunks {
			if ch.Error != nil && ch.Error.Message != "" {
				return nil, c.inBandError(ch.Error.Message, ch.Error.Type)
			}
			if ch.Object == "error" && ch.Message != "" {
				return nil, c.inBandError(ch.Message, "")
			}
			if err := acc.add(ch, start); err != nil {
				return nil, err
			}
		}
	}
	if !acc.sawChunk {
		ferr := fault.New(fault.Upstream, "model server ended its stream without a reply")
		return nil, &retry.Error{Err: ferr}
	}
	return acc.finish(start)
}

// decodeChunks decodes the data of one event. It is normally one JSON object, but servers that omit
// the blank line between events produce several objects in one event's data; they are all decoded.
func decodeChunks(data []byte) ([]wireResponse, error) {
	s := strings.TrimSpace(string(data))
	// A [DONE] glued to the last object (no blank line before it) ends the stream anyway.
	s = strings.TrimSpace(strings.TrimSuffix(s, "[DONE]"))
	dec := json.NewDecoder(strings.NewReader(s))
	var out []wireResponse
	for {
		var w wireResponse
		err := dec.Decode(&w)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
}
