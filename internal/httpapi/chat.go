package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/openai"
)

// chatCompletions serves POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return fault.New(fault.TooLarge, "request body is larger than %d bytes", s.opts.MaxBodyBytes)
	}
	wire, err := openai.DecodeChatRequest(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, n, stream, includeUsage, err := openai.ToChat(wire)
	if err != nil {
		return err
	}
	// A team run names itself in a header before any output, so a client can follow its events.
	ctx := llm.WithRunObserver(r.Context(), func(id string) { w.Header().Add(RunHeader, id) })
	r = r.WithContext(ctx)
	model, err := s.models.Model(ctx, wire.Model)
	if err != nil {
		return fmt.Errorf("find model %q: %w", wire.Model, err)
	}
	release, err := s.limit.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()

	meta := openai.Meta{ID: s.newID("chatcmpl-"), Created: s.now().Unix(), Model: wire.Model}
	if stream {
		return s.streamChat(w, r, model, req, n, includeUsage, meta)
	}
	resps := make([]*chat.Response, 0, n)
	for i := range n {
		resp, err := model.Chat(ctx, choiceRequest(req, i), nil)
		if err != nil {
			return fmt.Errorf("choice %d: %w", i, err)
		}
		s.fillToolCallIDs(resp)
		s.metrics.tokens(wire.Model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
		resps = append(resps, resp)
	}
	writeJSON(w, http.StatusOK, openai.FromChat(meta, resps))
	return nil
}

// choiceRequest is the request of choice i: with a seed, choice i uses seed+i so that the choices
// differ and the whole response stays reproducible.
func choiceRequest(req *chat.Request, i int) *chat.Request {
	if i == 0 || req.Sampling.Seed == nil {
		return req
	}
	c := *req
	seed := *req.Sampling.Seed + int64(i)
	c.Sampling.Seed = &seed
	return &c
}

// fillToolCallIDs gives every tool call without an id one: clients need ids to answer calls.
func (s *Server) fillToolCallIDs(resp *chat.Response) {
	for k := range resp.Message.ToolCalls {
		if resp.Message.ToolCalls[k].ID == "" {
			resp.Message.ToolCalls[k].ID = s.newID("call_")
		}
	}
}

// streamChat runs the n choices of a streamed request, sending chunks as the model produces them.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, model llm.Model, req *chat.Request,
	n int, includeUsage bool, meta openai.Meta) error {
	ctx := r.Context()
	out := newSSE(w)
	resps := make([]*chat.Response, 0, n)
	for i := range n {
		cs := &choiceStream{s: s, out: out, meta: meta, index: i, tools: map[int]*streamedTool{}}
		resp, err := model.Chat(ctx, choiceRequest(req, i), cs.delta)
		if err == nil {
			err = cs.finish(resp)
		}
		if err != nil {
			err = fmt.Errorf("choice %d: %w", i, err)
			if out.started && fault.CodeOf(err) != fault.Canceled {
				_, env := envelope(err)
				_ = out.send(env)
			}
			return err
		}
		s.metrics.tokens(meta.Model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
		resps = append(resps, resp)
	}
	if includeUsage {
		if err := out.send(openai.UsageChunk(meta, resps)); err != nil {
			return err
		}
	}
	return out.done()
}

// streamedTool is what a stream has sent of one tool call.
type streamedTool struct {
	id, name string
}

// choiceStream turns the deltas of one choice into chunks. It keeps what it sent so that finish can
// send what a backend returned in its Response without streaming it (tool calls repaired from text
// at the end, or a backend that does not stream at all).
type choiceStream struct {
	s       *Server
	out     *sse
	meta    openai.Meta
	index   int
	begun   bool
	content strings.Builder
	tools   map[int]*streamedTool
}

// begin sends the choice's first chunk (the assistant role) once.
func (c *choiceStream) begin() error {
	if c.begun {
		return nil
	}
	c.begun = true
	return c.out.send(openai.RoleChunk(c.meta, c.index))
}

// delta is the chat.StreamFunc of the choice.
func (c *choiceStream) delta(d chat.Delta) error {
	if d.Content == "" && len(d.ToolCalls) == 0 && len(d.Logprobs) == 0 {
		return nil
	}
	if err := c.begin(); err != nil {
		return err
	}
	if len(d.ToolCalls) > 0 {
		// Only the first fragment of a call carries id and name (a repeated name would be appended by
		// clients); a call without an id gets one.
		calls := make([]chat.ToolCallDelta, len(d.ToolCalls))
		for k, tc := range d.ToolCalls {
			st := c.tools[tc.Index]
			if st == nil {
				st = &streamedTool{id: tc.ID, name: tc.Name}
				if st.id == "" {
					st.id = c.s.newID("call_")
				}
				c.tools[tc.Index] = st
				tc.ID = st.id
			} else {
				tc.ID = ""
				if st.name != "" {
					tc.Name = ""
				} else {
					st.name = tc.Name
				}
			}
			calls[k] = tc
		}
		d.ToolCalls = calls
	}
	c.content.WriteString(d.Content)
	if ch := openai.DeltaChunk(c.meta, c.index, d); ch != nil {
		return c.out.send(ch)
	}
	return nil
}

// finish sends what resp holds beyond the streamed deltas, then the finish chunk.
func (c *choiceStream) finish(resp *chat.Response) error {
	if err := c.begin(); err != nil {
		return err
	}
	var extra chat.Delta
	if rest, ok := strings.CutPrefix(resp.Message.Content, c.content.String()); ok {
		extra.Content = rest
	}
	for k, tc := range resp.Message.ToolCalls {
		if st, ok := c.tools[k]; ok {
			resp.Message.ToolCalls[k].ID = st.id // the response agrees with the stream
			continue
		}
		if tc.ID == "" {
			tc.ID = c.s.newID("call_")
			resp.Message.ToolCalls[k].ID = tc.ID
		}
		extra.ToolCalls = append(extra.ToolCalls, chat.ToolCallDelta{Index: k, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	if ch := openai.DeltaChunk(c.meta, c.index, extra); ch != nil {
		if err := c.out.send(ch); err != nil {
			return err
		}
	}
	return c.out.send(openai.FinishChunk(c.meta, c.index, resp))
}

// sse writes server-sent events. The headers go out with the first event.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	failed  error
}

func newSSE(w http.ResponseWriter) *sse { return &sse{w: w, rc: http.NewResponseController(w)} }

func (e *sse) start() {
	if e.started {
		return
	}
	e.started = true
	if rec, ok := e.w.(*recorder); ok {
		rec.streamed = true
	}
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // ask reverse proxies not to buffer the stream
	e.w.WriteHeader(http.StatusOK)
}

// send writes v as one "data:" event and flushes it.
func (e *sse) send(v any) error {
	body, err := marshal(v)
	if err != nil {
		return fault.Wrap(err, fault.Internal, "encode chunk")
	}
	return e.write(append(append([]byte("data: "), body...), '\n', '\n'))
}

// done ends the stream.
func (e *sse) done() error { return e.write([]byte("data: [DONE]\n\n")) }

func (e *sse) write(b []byte) error {
	if e.failed != nil {
		return e.failed
	}
	e.start()
	if _, err := e.w.Write(b); err != nil {
		e.failed = fault.Wrap(fmt.Errorf("%w: %w", errClientGone, err), fault.Canceled, "client went away")
		return e.failed
	}
	if err := e.rc.Flush(); err != nil {
		e.failed = fault.Wrap(fmt.Errorf("%w: %w", errClientGone, err), fault.Canceled, "client went away")
		return e.failed
	}
	return nil
}
