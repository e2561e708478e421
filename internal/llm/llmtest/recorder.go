package llmtest

import (
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/chat"
)

// Recorder collects the deltas of a streamed completion; pass its Stream method as the
// chat.StreamFunc. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	deltas []chat.Delta
}

// Stream records d.
func (r *Recorder) Stream(d chat.Delta) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deltas = append(r.deltas, d)
	return nil
}

// Deltas returns the recorded deltas.
func (r *Recorder) Deltas() []chat.Delta {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Delta(nil), r.deltas...)
}

// Content returns the streamed text.
func (r *Recorder) Content() string {
	var b strings.Builder
	for _, d := range r.Deltas() {
		b.WriteString(d.Content)
	}
	return b.String()
}

// ToolCalls reassembles the streamed tool-call fragments the way a client does: by Index, the first
// fragment naming the call, later ones appending to its arguments.
func (r *Recorder) ToolCalls() []chat.ToolCall {
	var calls []chat.ToolCall
	for _, d := range r.Deltas() {
		for _, tc := range d.ToolCalls {
			for len(calls) <= tc.Index {
				calls = append(calls, chat.ToolCall{})
			}
			c := &calls[tc.Index]
			if tc.ID != "" {
				c.ID = tc.ID
			}
			if tc.Name != "" {
				c.Name = tc.Name
			}
			c.Arguments += tc.Arguments
		}
	}
	return calls
}
