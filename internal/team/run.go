package team

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
)

// member is a resolved team member.
type member struct {
	name  string
	model llm.Model
	agent *Agent
	err   error
}

// step is one member call a pattern asks for.
type step struct {
	Member string
	Role   string
	Round  int
	// System is the pattern's instruction, merged into the member's system message.
	System   string
	Messages []chat.Message
	Seed     *int64
	// Final streams the call's deltas to the caller.
	Final bool
}

// reply is the outcome of one member call.
type reply struct {
	text   string
	finish chat.FinishReason
	err    error
}

// outcome is what a pattern answers.
type outcome struct {
	answer string
	finish chat.FinishReason
	// streamed is set when the answer already reached the caller through a final stage.
	streamed bool
}

// run is the state of one team run. Patterns call members through it; it enforces the budget, keeps
// the transcript and publishes events.
type run struct {
	m       *Model
	spec    *Team
	id      string
	req     *chat.Request
	client  chat.StreamFunc
	pub     *Publisher
	parent  context.Context
	ctx     context.Context
	cancel  context.CancelCauseFunc
	started time.Time

	wallStop  func() bool
	wallFired chan struct{}
	endWall   context.CancelFunc

	members map[string]*member
	refs    []MemberRef

	tokens     atomic.Int64
	budgetOnce sync.Once

	mu        sync.Mutex
	calls     []Call
	reasons   []string
	partial   bool
	skipped   int
	firstOut  time.Time
	streamed  bool
	clientErr error
	route     *RouteInfo
	tally     *Tally
	rounds    int
	approved  *bool
}

func newRun(ctx context.Context, m *Model, req *chat.Request, stream chat.StreamFunc) *run {
	r := &run{
		m:       m,
		spec:    &m.spec,
		id:      newRunID(),
		req:     req,
		client:  stream,
		parent:  ctx,
		started: time.Now(),
		members: map[string]*member{},
	}
	r.pub = NewPublisher(r.id, r.started)
	base := ctx
	r.endWall = func() {}
	if w := m.spec.Budget.Wall; w > 0 {
		base, r.endWall = context.WithTimeoutCause(ctx, w, errWallBudget)
		r.wallFired = make(chan struct{})
		wctx := base
		r.wallStop = context.AfterFunc(wctx, func() {
			defer close(r.wallFired)
			if errors.Is(context.Cause(wctx), errWallBudget) {
				r.budgetExceeded(fmt.Sprintf("wall-time budget of %v exceeded", w))
			}
		})
	}
	r.ctx, r.cancel = context.WithCancelCause(base)
	return r
}

func (r *run) parallel() int {
	if p := r.spec.Budget.Parallel; p > 0 {
		return p
	}
	return 4
}

// execute runs the pattern and assembles the result.
func (r *run) execute() (*Result, error) {
	r.pub.Publish(Event{Kind: RunStarted, Team: r.spec.Name, Pattern: r.spec.Pattern})
	r.resolveMembers()

	var out outcome
	var err error
	p := r.m.plan
	switch r.spec.Pattern {
	case Route:
		out, err = route(r, p.route)
	case Vote:
		out, err = vote(r, p.vote)
	case MoA:
		out, err = moa(r, p.moa)
	case Debate:
		out, err = debate(r, p.debate)
	case Review:
		out, err = review(r, p.review)
	default:
		err = fault.New(fault.Internal, "team %q: pattern %q has no runner", r.spec.Name, r.spec.Pattern)
	}
	r.mu.Lock()
	clientGone := r.clientErr != nil
	r.mu.Unlock()
	if err == nil && !out.streamed && out.answer != "" && r.parent.Err() == nil && !clientGone {
		// A computed answer (a vote, an approved draft) reaches the caller as one delta.
		err = r.forward(chat.Delta{Content: out.answer})
	}

	// Stop the wall clock and wait for its event, so every event precedes run_finished.
	if r.wallStop != nil && !r.wallStop() {
		<-r.wallFired
	}
	r.endWall()
	cause := context.Cause(r.ctx)
	r.cancel(context.Canceled)

	r.mu.Lock()
	clientErr := r.clientErr
	if r.skipped > 0 {
		r.partial = true
		r.reasons = append(r.reasons, plural(r.skipped, "member call was", "member calls were")+" not started")
	}
	r.mu.Unlock()
	switch {
	case r.parent.Err() != nil:
		err = fault.Wrap(context.Cause(r.parent), fault.Canceled, "team %q: run canceled", r.spec.Name)
	case clientErr != nil:
		err = clientErr
	case err != nil && errors.Is(cause, errTokenBudget):
		err = fault.Wrap(err, fault.TooLarge, "team %q: token budget of %d exceeded before an answer", r.spec.Name, r.spec.Budget.Tokens)
	case err != nil && errors.Is(cause, errWallBudget):
		err = fault.Wrap(err, fault.Timeout, "team %q: wall-time budget of %v exceeded before an answer", r.spec.Name, r.spec.Budget.Wall)
	}
	return r.result(out, err), err
}

// result assembles the Result and publishes run_finished.
func (r *run) result(out outcome, err error) *Result {
	r.mu.Lock()
	res := &Result{
		Run:     r.id,
		Team:    r.spec.Name,
		Pattern: r.spec.Pattern,
		Source:  r.spec.Source,
		SHA:     r.spec.SHA,
		Members: r.refs,
		Input:   r.req.Messages,
		Partial: r.partial,
		Reasons: append([]string(nil), r.reasons...),
		Calls:   append([]Call(nil), r.calls...),
		Route:   r.route,
		Tally:   r.tally,
		Rounds:  r.rounds,
		Started: r.started,
	}
	if !r.firstOut.IsZero() {
		res.TTFT = r.firstOut.Sub(r.started)
	}
	res.Approved = r.approved
	r.mu.Unlock()
	if err == nil {
		res.Answer, res.Finish = out.answer, out.finish
		if res.Finish == "" {
			res.Finish = chat.FinishStop
		}
	} else {
		res.Error, res.Code = errText(err)
	}
	for _, c := range res.Calls {
		res.Totals = res.Totals.add(c.Usage)
	}
	res.Finished = time.Now()
	res.Wall = res.Finished.Sub(r.started)
	total := res.Totals
	r.pub.Publish(Event{Kind: RunFinished, Text: res.Answer, Usage: &total, Partial: res.Partial,
		Reasons: res.Reasons, Error: res.Error, Code: string(res.Code)})
	r.pub.Close()
	res.Events = r.pub.Events()
	res.Dropped = r.pub.Dropped()
	return res
}

// resolveMembers resolves every member once. A member that cannot be resolved fails when called.
func (r *run) resolveMembers() {
	for _, name := range r.spec.Members {
		if _, ok := r.members[name]; ok {
			continue
		}
		mem := &member{name: name}
		mem.model, mem.agent, mem.err = r.m.resolve(r.ctx, name)
		if mem.err == nil && mem.model == nil {
			mem.err = fault.New(fault.NotFound, "member %q resolved to no model", name)
		}
		if mem.err != nil {
			mem.err = fmt.Errorf("resolve member %q: %w", name, mem.err)
		}
		r.members[name] = mem
		ref := MemberRef{Name: name, Kind: "model"}
		switch {
		case mem.agent != nil:
			ref.Kind, ref.Model, ref.Source, ref.SHA = "agent", mem.agent.Model, mem.agent.Source, mem.agent.SHA
		case mem.model != nil:
			if t, ok := mem.model.(*Model); ok {
				ref.Kind, ref.Source, ref.SHA = "team", t.spec.Source, t.spec.SHA
			}
		}
		if mem.err != nil {
			ref.Error = mem.err.Error()
		}
		r.refs = append(r.refs, ref)
	}
}

// description is what the model router is told about a member.
func (r *run) description(name string) string {
	m := r.members[name]
	switch {
	case m == nil:
		return ""
	case m.agent != nil:
		return m.agent.Description
	}
	if t, ok := m.model.(*Model); ok {
		return t.spec.Description
	}
	return ""
}

// label is how a member is named to other members (its persona in a debate).
func (r *run) label(name string) string {
	if m := r.members[name]; m != nil && m.agent != nil && m.agent.Persona != "" {
		return m.agent.Persona
	}
	return name
}

// stopped returns why no more member calls may start, or nil.
func (r *run) stopped() error {
	if r.ctx.Err() == nil {
		return nil
	}
	return context.Cause(r.ctx)
}

// addTokens counts n tokens against the budget and cuts the run when it is exceeded.
func (r *run) addTokens(n int) {
	if n == 0 {
		return
	}
	total := r.tokens.Add(int64(n))
	if b := r.spec.Budget.Tokens; b > 0 && total > int64(b) {
		r.budgetOnce.Do(func() {
			r.cancel(errTokenBudget)
			r.budgetExceeded(fmt.Sprintf("token budget of %d exceeded (%d counted); outstanding member calls canceled", b, total))
		})
	}
}

func (r *run) budgetExceeded(reason string) {
	r.mu.Lock()
	r.partial = true
	r.reasons = append(r.reasons, reason)
	r.mu.Unlock()
	r.pub.Publish(Event{Kind: BudgetExceeded, Partial: true, Reasons: []string{reason}})
}

// degrade marks the result partial, with a reason.
func (r *run) degrade(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = true
	r.reasons = append(r.reasons, fmt.Sprintf(format, args...))
}

// forward passes a delta of the final stage to the caller. An error from the caller cancels the run.
func (r *run) forward(d chat.Delta) error {
	r.mu.Lock()
	if r.firstOut.IsZero() {
		r.firstOut = time.Now()
	}
	r.streamed = true
	r.mu.Unlock()
	if r.client == nil {
		return nil
	}
	if err := r.client(d); err != nil {
		r.mu.Lock()
		r.clientErr = err
		r.mu.Unlock()
		r.cancel(err)
		return err
	}
	return nil
}

// call runs one member call: it builds the member's request, counts its tokens as they stream,
// records it in the transcript and publishes its events. A failed call is reported (the result
// becomes partial) and its error returned for the pattern to work around.
func (r *run) call(s step) reply {
	m := r.members[s.Member]
	if m == nil {
		return reply{err: fault.New(fault.Internal, "team %q: %q is not a resolved member", r.spec.Name, s.Member)}
	}
	if err := r.stopped(); err != nil {
		r.mu.Lock()
		r.skipped++
		r.mu.Unlock()
		return reply{err: r.memberErr(s, r.ctx, err)}
	}
	req := memberRequest(r.req, m, &s)
	c := Call{Member: s.Member, Role: s.Role, Round: s.Round, Seed: req.Sampling.Seed, Input: req.Messages, Started: time.Now()}
	if m.agent != nil {
		c.Model = m.agent.Model
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	c.Step = len(r.calls)
	r.calls[c.Step-1].Step = c.Step
	r.mu.Unlock()
	ev := Event{Step: c.Step, Member: s.Member, Role: s.Role, Round: s.Round}
	started := ev
	started.Kind = MemberStarted
	r.pub.Publish(started)

	var (
		resp   *chat.Response
		err    = m.err
		text   strings.Builder
		deltas int
		first  time.Time
		sink   = &subResult{forward: func(inner Event) {
			nested := ev
			nested.Kind, nested.Nested = Nested, &inner
			r.pub.Publish(nested)
		}}
		ctx   = r.ctx
		start = time.Now()
	)
	if err == nil {
		if t := r.spec.Budget.MemberTimeout; t > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, t, errMemberTime)
			defer cancel()
		}
		ctx = context.WithValue(ctx, subKey{}, sink)
		stream := func(d chat.Delta) error {
			if first.IsZero() {
				first = time.Now()
			}
			if d.Content != "" {
				text.WriteString(d.Content)
				delta := ev
				delta.Kind, delta.Text = MemberDelta, d.Content
				r.pub.Publish(delta)
			}
			deltas++
			r.addTokens(1)
			if r.ctx.Err() != nil {
				// Stop now, even if the backend only checks ctx between tokens.
				return context.Cause(r.ctx)
			}
			if s.Final {
				return r.forward(d)
			}
			return nil
		}
		resp, err = m.model.Chat(ctx, req, stream)
	}
	u := Usage{Wall: time.Since(start)}
	if !first.IsZero() {
		u.TTFT = first.Sub(start)
	}
	out := reply{text: text.String()}
	if err == nil && resp == nil {
		err = fault.New(fault.Internal, "member returned no response")
	}
	if err == nil {
		out.text, out.finish = resp.Message.Content, resp.FinishReason
		u.PromptTokens, u.CompletionTokens, u.FLOPs = resp.Usage.PromptTokens, resp.Usage.CompletionTokens, resp.Usage.FLOPs
		if u.TTFT == 0 {
			u.TTFT = resp.Usage.TimeToFirstToken
		}
		if resp.Model != "" {
			c.Model = resp.Model
		}
	}
	if u.TotalTokens() == 0 && deltas > 0 {
		u.CompletionTokens, u.Estimated = deltas, true
	}
	r.addTokens(u.TotalTokens() - deltas)
	if err != nil {
		out.err = r.memberErr(s, ctx, err)
		out.finish = chat.FinishLength
		r.degrade("member %q (%s) failed: %s", s.Member, where(s), fault.Message(out.err))
	}
	c.Output, c.Finish, c.Usage, c.Sub = out.text, out.finish, u, sink.res
	c.Error, c.Code = errText(out.err)
	r.mu.Lock()
	r.calls[c.Step-1] = c
	r.mu.Unlock()
	done := ev
	done.Kind, done.Text, done.Usage, done.Error, done.Code = MemberFinished, out.text, &u, c.Error, string(c.Code)
	r.pub.Publish(done)
	return out
}

func where(s step) string {
	if s.Round > 0 {
		return fmt.Sprintf("%s, round %d", s.Role, s.Round)
	}
	return s.Role
}

// memberErr classifies a member's failure: a budget cut, its own timeout, the run's cancellation, or
// the member's error as it was.
func (r *run) memberErr(s step, ctx context.Context, err error) error {
	runCause := context.Cause(r.ctx)
	switch {
	case r.ctx.Err() != nil && errors.Is(runCause, errTokenBudget):
		return fault.Wrap(err, fault.TooLarge, "member %q canceled: token budget exceeded", s.Member)
	case r.ctx.Err() != nil && errors.Is(runCause, errWallBudget):
		return fault.Wrap(err, fault.Timeout, "member %q canceled: wall-time budget exceeded", s.Member)
	case r.ctx.Err() != nil:
		return fault.Wrap(err, fault.Canceled, "member %q canceled", s.Member)
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), errMemberTime):
		return fault.Wrap(err, fault.Timeout, "member %q timed out after %v", s.Member, r.spec.Budget.MemberTimeout)
	}
	return fmt.Errorf("member %q: %w", s.Member, err)
}

// fanOut runs steps in parallel, at most Budget.Parallel at once, and returns their replies in order.
func (r *run) fanOut(steps []step) []reply {
	out := make([]reply, len(steps))
	var g errgroup.Group
	g.SetLimit(r.parallel())
	for i := range steps {
		g.Go(func() error {
			out[i] = r.call(steps[i])
			return nil
		})
	}
	_ = g.Wait() // the goroutines never fail; failures are in out
	return out
}

// final runs the stage whose answer streams to the caller. When it fails after some of its answer
// reached the caller, that part is the answer (marked partial): it cannot be taken back.
func (r *run) final(s step) (outcome, error) {
	s.Final = true
	r.mu.Lock()
	before := r.streamed
	r.mu.Unlock()
	rep := r.call(s)
	r.mu.Lock()
	streamed := r.streamed && !before
	r.mu.Unlock()
	if rep.err != nil {
		if streamed && r.parent.Err() == nil {
			r.degrade("the answer of %q was cut off after it began streaming", s.Member)
			return outcome{answer: rep.text, finish: chat.FinishLength, streamed: true}, nil
		}
		return outcome{}, rep.err
	}
	return outcome{answer: rep.text, finish: rep.finish, streamed: streamed}, nil
}

func (r *run) publishRound(round int, tally *Tally, text string) {
	r.pub.Publish(Event{Kind: RoundFinished, Round: round, Tally: tally, Text: text})
}

func (r *run) publishTally(round int, t Tally) {
	r.pub.Publish(Event{Kind: VoteTally, Round: round, Tally: &t, Text: t.Answer})
}
