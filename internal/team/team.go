package team

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
)

// Resolver finds a member by name: the model to call and, when the member is an agent, its spec (nil
// for a team or a bare model). A team member is resolved to its *Model. Resolver must be safe for
// concurrent use.
type Resolver func(ctx context.Context, name string) (llm.Model, *Agent, error)

// Options configure a team Model.
type Options struct {
	// Observe, when set, is called with every run of the team as it starts, before its first event,
	// so a caller can subscribe to its events.
	Observe func(*Run)
	// Done, when set, receives the result of every run (finished, partial or failed), e.g. to save its
	// transcript. It is called before Chat returns.
	Done func(*Result)
}

// Model is a team bound to a resolver: an llm.Model, so a team can be served like any model and can
// be a member of another team.
type Model struct {
	spec    Team
	plan    *plan
	resolve Resolver
	opts    Options
}

var (
	_ llm.Model     = (*Model)(nil)
	_ llm.Describer = (*Model)(nil)
)

// New checks t's parameters against its members and returns it as a Model. Errors are fault.Invalid
// and name the team and the parameter.
func New(t Team, resolve Resolver, opts Options) (*Model, error) {
	if resolve == nil {
		return nil, fault.New(fault.Invalid, "team %q: no member resolver", t.Name)
	}
	t.Members = slices.Clone(t.Members)
	p, err := compile(&t)
	if err != nil {
		return nil, err
	}
	return &Model{spec: t, plan: p, resolve: resolve, opts: opts}, nil
}

// Team returns the team's spec.
func (m *Model) Team() Team { return m.spec }

// Describe describes the team as a model.
func (m *Model) Describe() llm.Info {
	return llm.Info{ID: m.spec.Name, Backend: "team", Source: m.spec.Source}
}

// Run is a handle on a running team, given to Options.Observe and ObserveRuns callbacks.
type Run struct {
	// ID identifies the run (it names the transcript).
	ID   string
	Team string
	pub  *Publisher
}

// Subscribe returns the run's events (see Publisher.Subscribe).
func (r *Run) Subscribe(buffer int) (<-chan Event, func()) { return r.pub.Subscribe(buffer) }

type observerKey struct{}

// ObserveRuns returns a context under which a team's Chat calls observe with the run it starts (as
// Options.Observe does), e.g. so an HTTP handler learns the run id and can serve its events. Runs of
// teams nested as members are not observed.
func ObserveRuns(ctx context.Context, observe func(*Run)) context.Context {
	return context.WithValue(ctx, observerKey{}, observe)
}

// subKey carries a *subResult sink to a member that is itself a team.
type subKey struct{}

type subResult struct {
	res *Result
	// forward receives the nested run's events, to be published by the outer run.
	forward func(Event)
}

// Chat runs the team on req. The final stage streams through stream; the Response's Usage sums every
// member call. A run that produced an answer without all of its work (a failed member, a budget cut)
// still returns it; Run reports which.
func (m *Model) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	res, err := m.Run(ctx, req, stream)
	if err != nil {
		return nil, err
	}
	return res.Response(), nil
}

// Run runs the team on req and returns its full result. The result is returned (and passed to
// Options.Done) even when err is not nil, holding whatever the run did. Errors: fault.Canceled when
// ctx is canceled, fault.Timeout or fault.TooLarge when a budget ran out before any answer, the
// member's error when every path to an answer failed.
func (m *Model) Run(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*Result, error) {
	if req == nil || len(req.Messages) == 0 {
		return nil, fault.Param("messages", "team %q: the request has no messages", m.spec.Name)
	}
	observe, _ := ctx.Value(observerKey{}).(func(*Run))
	sink, _ := ctx.Value(subKey{}).(*subResult)
	// Neither reaches the members' own runs.
	ctx = context.WithValue(ctx, observerKey{}, (func(*Run))(nil))
	ctx = context.WithValue(ctx, subKey{}, (*subResult)(nil))

	r := newRun(ctx, m, req, stream)
	if sink != nil {
		r.pub.tap = sink.forward
	}
	handle := &Run{ID: r.id, Team: m.spec.Name, pub: r.pub}
	if m.opts.Observe != nil {
		m.opts.Observe(handle)
	}
	if observe != nil {
		observe(handle)
	}
	res, err := r.execute()
	if sink != nil {
		sink.res = res
	}
	if m.opts.Done != nil {
		m.opts.Done(res)
	}
	return res, err
}

// Budget errors are the causes a run's context is canceled with.
var (
	errTokenBudget = errors.New("token budget exceeded")
	errWallBudget  = errors.New("wall-time budget exceeded")
	errMemberTime  = errors.New("member timeout")
)

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:4])
}

// memberRequest builds the request sent to member m for step s.
func memberRequest(orig *chat.Request, m *member, s *step) *chat.Request {
	req := &chat.Request{
		Messages:  withSystem(agentSystem(m.agent), s.System, s.Messages),
		Sampling:  orig.Sampling,
		MaxTokens: orig.MaxTokens,
		Stop:      orig.Stop,
	}
	if m.agent != nil {
		req.Sampling = overlay(req.Sampling, m.agent.Sampling)
		if m.agent.MaxTokens > 0 {
			req.MaxTokens = m.agent.MaxTokens
		}
	}
	if s.Seed != nil {
		seed := *s.Seed
		req.Sampling.Seed = &seed
	}
	return req
}

func agentSystem(a *Agent) string {
	if a == nil {
		return ""
	}
	return a.System
}

// withSystem merges the agent's system prompt, the pattern's instructions and a leading system message
// of msgs into one leading system message (many chat templates accept only one, first).
func withSystem(agent, pattern string, msgs []chat.Message) []chat.Message {
	var parts []string
	for _, s := range []string{agent, pattern} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	rest := msgs
	if len(msgs) > 0 && msgs[0].Role == chat.System {
		if msgs[0].Content != "" {
			parts = append(parts, msgs[0].Content)
		}
		rest = msgs[1:]
	}
	out := make([]chat.Message, 0, len(rest)+1)
	if len(parts) > 0 {
		sys := parts[0]
		for _, p := range parts[1:] {
			sys += "\n\n" + p
		}
		out = append(out, chat.Message{Role: chat.System, Content: sys})
	}
	return append(out, rest...)
}

// overlay returns base with every field set in top replacing base's: an agent's own sampling wins
// over the request's.
func overlay(base, top chat.Sampling) chat.Sampling {
	if top.Temperature != nil {
		base.Temperature = top.Temperature
	}
	if top.TopP != nil {
		base.TopP = top.TopP
	}
	if top.TopK != nil {
		base.TopK = top.TopK
	}
	if top.MinP != nil {
		base.MinP = top.MinP
	}
	if top.RepeatPenalty != nil {
		base.RepeatPenalty = top.RepeatPenalty
	}
	if top.PresencePenalty != nil {
		base.PresencePenalty = top.PresencePenalty
	}
	if top.FrequencyPenalty != nil {
		base.FrequencyPenalty = top.FrequencyPenalty
	}
	if top.Seed != nil {
		base.Seed = top.Seed
	}
	return base
}

// lastUser returns the content of the last user message.
func lastUser(msgs []chat.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == chat.User {
			return msgs[i].Content
		}
	}
	return ""
}

func errText(err error) (string, fault.Code) {
	if err == nil {
		return "", ""
	}
	return err.Error(), fault.CodeOf(err)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
