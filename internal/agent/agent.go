// Package agent is the tool loop: Model wraps an llm.Model so that the model can call tools. It offers
// the agent's tools with every request; when the model answers with tool calls (structured, or written
// as text and repaired by the backend), it runs them through a tool.Runtime — validation, policy,
// workspace snapshots, audit — appends the assistant's calls and the results, and asks again, until
// the model answers without calls or the step limit ends the loop (the answer is then partial).
//
// An agent Model is an llm.Model itself, so it can be a team member. agent imports tool, llm, chat and
// fault.
package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/tool"
)

// DefaultMaxSteps is the step limit when Options.MaxSteps is zero.
const DefaultMaxSteps = 8

// Options configure a Model.
type Options struct {
	// Agent names the agent for the policy, commits and the audit log (required).
	Agent string
	// Tools are the tool names offered (nil: every tool of the runtime's registry). Tools the agent's
	// policy denies outright are not offered.
	Tools []string
	// MaxSteps bounds the model calls that may answer with tool calls (default DefaultMaxSteps). When
	// the model still calls tools after that, the calls are not run and the model is asked once more,
	// without tools, to answer with what it has; that answer is partial.
	MaxSteps int
	// Done, when set, receives the record of every Chat that produced a result.
	Done func(*Result)
}

// Model is a model that calls tools. It is safe for concurrent use (each Chat is its own loop; the
// runtime serialises calls on the workspace).
type Model struct {
	model llm.Model
	rt    *tool.Runtime
	opts  Options
}

var _ llm.Model = (*Model)(nil)

// New wraps model with the tools of rt.
func New(model llm.Model, rt *tool.Runtime, opts Options) (*Model, error) {
	if model == nil || rt == nil {
		return nil, fault.New(fault.Invalid, "agent: a model and a tool runtime are required")
	}
	if strings.TrimSpace(opts.Agent) == "" {
		return nil, fault.New(fault.Invalid, "agent: no agent name")
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if _, err := rt.Specs(opts.Agent, opts.Tools); err != nil {
		return nil, fmt.Errorf("agent %s: %w", opts.Agent, err)
	}
	return &Model{model: model, rt: rt, opts: opts}, nil
}

// Result is the record of one Chat: every tool call, why the loop ended, the summed usage.
type Result struct {
	Agent string
	// Steps counts the model calls.
	Steps int
	// Calls are the tool calls run (or refused), in order.
	Calls []tool.Record
	// Partial is set when the step limit ended the loop; Reasons says so.
	Partial bool
	Reasons []string
	Usage   chat.Usage
	// Messages is the whole conversation, the request's messages first.
	Messages []chat.Message
}

type resultKey struct{}

// Observe returns a context under which every Chat of an agent Model passes its Result to fn (after
// Options.Done), so that a caller can record the tool calls of one request.
func Observe(ctx context.Context, fn func(*Result)) context.Context {
	return context.WithValue(ctx, resultKey{}, fn)
}

// Chat runs the tool loop for req. The caller's own tools (req.Tools) stay offered: a response that
// calls one of them, and none of the agent's, is returned to the caller to run. Content the model
// writes at any step is streamed as it comes (steps separated by a blank line) and the response's
// content is exactly what was streamed; tool-call deltas are not forwarded. Usage sums every step.
// When the step limit ends the loop, the response's FinishReason is "length" and the Result is
// marked partial.
func (m *Model) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	specs, err := m.rt.Specs(m.opts.Agent, m.opts.Tools)
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, s := range specs {
		own[s.Name] = true
	}
	callerTools := map[string]bool{}
	r := *req
	r.Messages = append([]chat.Message(nil), req.Messages...)
	r.Tools = append([]chat.ToolSpec(nil), req.Tools...)
	for _, s := range req.Tools {
		callerTools[s.Name] = true
	}
	for _, s := range specs {
		if !callerTools[s.Name] {
			r.Tools = append(r.Tools, s)
		}
	}

	res := &Result{Agent: m.opts.Agent}
	var (
		answer   strings.Builder
		streamed bool // something was forwarded, so a later step's text starts after a blank line
		last     *chat.Response
		started  = time.Now()
	)
	defer func() {
		res.Messages = r.Messages
		if m.opts.Done != nil {
			m.opts.Done(res)
		}
		if fn, ok := ctx.Value(resultKey{}).(func(*Result)); ok && fn != nil {
			fn(res)
		}
	}()

	for step := 0; ; step++ {
		final := step >= m.opts.MaxSteps
		if final {
			r.ToolChoice = chat.ToolChoice{Mode: chat.ToolChoiceNone}
		}
		sep := streamed
		stepText := 0
		forward := func(d chat.Delta) error {
			if d.Content == "" {
				return nil
			}
			stepText += len(d.Content)
			if sep {
				answer.WriteString("\n\n")
				if stream != nil {
					if err := stream(chat.Delta{Content: "\n\n"}); err != nil {
						return err
					}
				}
				sep = false
			}
			answer.WriteString(d.Content)
			streamed = true
			if stream != nil {
				return stream(chat.Delta{Content: d.Content, Logprobs: d.Logprobs})
			}
			return nil
		}
		sreq := r
		sreq.Messages = append([]chat.Message(nil), r.Messages...)
		resp, err := m.model.Chat(ctx, &sreq, forward)
		res.Steps++
		if err != nil {
			return nil, fmt.Errorf("agent %s, step %d: %w", m.opts.Agent, res.Steps, err)
		}
		res.Usage = res.Usage.Add(resp.Usage)
		last = resp
		if c := resp.Message.Content; c != "" && stepText == 0 {
			// A backend that did not stream this step: its content is taken from the response.
			if err := forward(chat.Delta{Content: c}); err != nil {
				return nil, err
			}
		}
		calls := resp.Message.ToolCalls
		if len(calls) == 0 {
			break
		}
		if final {
			// The model ignored the instruction to stop: its calls are dropped.
			break
		}
		for _, c := range calls {
			if !own[c.Name] && callerTools[c.Name] {
				// The caller's tool: the caller runs these calls.
				out := *resp
				out.Message.Content = answer.String()
				out.Usage = res.Usage
				out.Usage.Duration = time.Since(started)
				return &out, nil
			}
		}
		msg := resp.Message
		msg.Role = chat.Assistant
		msg.ToolCalls = append([]chat.ToolCall(nil), calls...)
		for i := range msg.ToolCalls {
			if msg.ToolCalls[i].ID == "" {
				msg.ToolCalls[i].ID = fmt.Sprintf("call_%d_%d", res.Steps, i)
			}
		}
		r.Messages = append(r.Messages, msg)
		if step+1 >= m.opts.MaxSteps {
			// These calls are the last the limit allows; after them the model must answer.
			res.Partial = true
			res.Reasons = append(res.Reasons, fmt.Sprintf("step limit of %d reached: the model was asked to answer without further tool calls", m.opts.MaxSteps))
		}
		for _, c := range msg.ToolCalls {
			rec, err := m.rt.Call(ctx, m.opts.Agent, c)
			res.Calls = append(res.Calls, rec)
			if err != nil {
				return nil, fmt.Errorf("agent %s: %w", m.opts.Agent, err)
			}
			content := rec.Result.Content
			if content == "" {
				content = "(no output)"
			}
			r.Messages = append(r.Messages, chat.Message{Role: chat.Tool, Name: c.Name, ToolCallID: c.ID, Content: content})
		}
		if res.Partial {
			r.Messages = append(r.Messages, chat.Message{Role: chat.User,
				Content: fmt.Sprintf("The tool step limit (%d) is reached: answer now with what you have, without calling tools.", m.opts.MaxSteps)})
		}
	}
	out := *last
	out.Message = chat.Message{Role: chat.Assistant, Content: answer.String()}
	out.Usage = res.Usage
	out.FinishReason = last.FinishReason
	if len(last.Message.ToolCalls) > 0 || out.FinishReason == chat.FinishToolCalls || out.FinishReason == "" {
		out.FinishReason = chat.FinishStop
	}
	if res.Partial {
		out.FinishReason = chat.FinishLength
	}
	r.Messages = append(r.Messages, out.Message)
	return &out, nil
}
