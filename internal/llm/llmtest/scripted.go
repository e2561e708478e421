package llmtest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
)

// Turn is one scripted answer of a Scripted model.
type Turn struct {
	// Reply is returned as the response (its Role is set to Assistant). When streaming, its content is
	// passed on word by word and each tool call as one delta.
	Reply chat.Response
	// Err, when set, is returned instead of Reply.
	Err error
	// Check, when set, inspects the request; an error from it fails the call with fault.Invalid.
	Check func(*chat.Request) error
}

// Scripted is a fake llm.Model that answers calls with its Turns in order, for tests of code that
// drives models (agents, teams, HTTP handlers). It records the requests it receives. A call after the
// last turn fails with fault.Internal. It is safe for concurrent use (turns are then consumed in the
// order calls arrive).
type Scripted struct {
	mu       sync.Mutex
	turns    []Turn
	next     int
	requests []*chat.Request
}

var _ llm.Model = (*Scripted)(nil)

// NewScripted returns a Scripted model that plays turns.
func NewScripted(turns ...Turn) *Scripted { return &Scripted{turns: turns} }

// Requests returns the requests received so far.
func (s *Scripted) Requests() []*chat.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*chat.Request(nil), s.requests...)
}

// Chat plays the next turn.
func (s *Scripted) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	i := s.next
	s.next++
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scripted model: %w", err)
	}
	if i >= len(s.turns) {
		return nil, fault.New(fault.Internal, "scripted model: call %d but only %d turns scripted", i+1, len(s.turns))
	}
	t := s.turns[i]
	if t.Check != nil {
		if err := t.Check(req); err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "scripted model: request %d rejected", i+1)
		}
	}
	if t.Err != nil {
		return nil, t.Err
	}
	resp := t.Reply
	resp.Message.Role = chat.Assistant
	resp.Message.ToolCalls = append([]chat.ToolCall(nil), t.Reply.Message.ToolCalls...)
	if stream != nil {
		for _, w := range splitWords(resp.Message.Content) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("scripted model: %w", err)
			}
			if err := stream(chat.Delta{Content: w}); err != nil {
				return nil, err
			}
		}
		for j, tc := range resp.Message.ToolCalls {
			d := chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: j, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}}}
			if err := stream(d); err != nil {
				return nil, err
			}
		}
	}
	if resp.FinishReason == "" {
		resp.FinishReason = chat.FinishStop
		if len(resp.Message.ToolCalls) > 0 {
			resp.FinishReason = chat.FinishToolCalls
		}
	}
	return &resp, nil
}

// splitWords splits s into pieces that concatenate back to s, each a word with its trailing space.
func splitWords(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
