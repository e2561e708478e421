package team

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm"
)

// fake is a scripted model whose answer is computed from the request by fn. It streams the answer word
// by word (one delta per word), counts a token per word of input and output, and records requests.
type fake struct {
	name string
	fn   func(req *chat.Request) (string, error)
	// wait, when set, is waited for (or ctx) before answering; delay is slept before each word.
	wait  <-chan struct{}
	delay time.Duration
	// start is sent the request as the call begins (if set).
	start chan<- *chat.Request
	// slots, when set, bounds how many calls the fake serves at once (a backend's batch size).
	slots chan struct{}

	mu   sync.Mutex
	reqs []*chat.Request
}

var _ llm.Model = (*fake)(nil)

// wordRE splits a reply into streamed tokens: a word with the whitespace after it.
var wordRE = regexp.MustCompile(`\S+\s*`)

func answer(s string) func(*chat.Request) (string, error) {
	return func(*chat.Request) (string, error) { return s, nil }
}

func (f *fake) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.start != nil {
		f.start <- req
	}
	if f.slots != nil {
		select {
		case f.slots <- struct{}{}:
			defer func() { <-f.slots }()
		case <-ctx.Done():
			return nil, fmt.Errorf("fake %s: %w", f.name, ctx.Err())
		}
	}
	if f.wait != nil {
		select {
		case <-f.wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("fake %s: %w", f.name, ctx.Err())
		}
	}
	text, err := f.fn(req)
	if err != nil {
		return nil, err
	}
	words := wordRE.FindAllString(strings.TrimSpace(text), -1)
	for _, w := range words {
		if f.delay > 0 {
			t := time.NewTimer(f.delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("fake %s: %w", f.name, ctx.Err())
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fake %s: %w", f.name, err)
		}
		if stream != nil {
			if err := stream(chat.Delta{Content: w}); err != nil {
				return nil, err
			}
		}
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(strings.Fields(m.Content))
	}
	return &chat.Response{
		Model:        f.name,
		Message:      chat.Message{Role: chat.Assistant, Content: strings.Join(words, "")},
		FinishReason: chat.FinishStop,
		Usage:        chat.Usage{PromptTokens: prompt, CompletionTokens: len(words), FLOPs: float64(100 * (prompt + len(words)))},
	}, nil
}

func (f *fake) requests() []*chat.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*chat.Request(nil), f.reqs...)
}

// cast is a set of members for a test.
type cast struct {
	models map[string]llm.Model
	agents map[string]*Agent
}

func newCast() *cast { return &cast{models: map[string]llm.Model{}, agents: map[string]*Agent{}} }

func (c *cast) add(name string, m llm.Model, a *Agent) *cast {
	c.models[name] = m
	if a != nil {
		a.Name = name
		c.agents[name] = a
	}
	return c
}

func (c *cast) resolve(_ context.Context, name string) (llm.Model, *Agent, error) {
	m, ok := c.models[name]
	if !ok {
		return nil, nil, errors.New("no such member")
	}
	return m, c.agents[name], nil
}

func mustTeam(t testing.TB, spec Team, c *cast) *Model {
	t.Helper()
	m, err := New(spec, c.resolve, Options{})
	if err != nil {
		t.Fatalf("New(%s): %v", spec.Name, err)
	}
	return m
}

func ask(q string) *chat.Request {
	return &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: q}}}
}

// run runs m and collects what it streamed.
func runTeam(t testing.TB, ctx context.Context, m *Model, req *chat.Request) (*Result, string, error) {
	t.Helper()
	var streamed strings.Builder
	res, err := m.Run(ctx, req, func(d chat.Delta) error {
		streamed.WriteString(d.Content)
		return nil
	})
	if res != nil {
		checkEvents(t, res)
	}
	return res, streamed.String(), err
}

// checkEvents checks invariants every run's events keep.
func checkEvents(t testing.TB, res *Result) {
	t.Helper()
	ev := res.Events
	if len(ev) < 2 || ev[0].Kind != RunStarted || ev[len(ev)-1].Kind != RunFinished {
		t.Fatalf("events do not start with run_started and end with run_finished: %v", kinds(ev))
	}
	for i := 1; i < len(ev); i++ {
		if ev[i].Seq <= ev[i-1].Seq || ev[i].Time.Before(ev[i-1].Time) {
			t.Fatalf("events out of order at %d: seq %d after %d", i, ev[i].Seq, ev[i-1].Seq)
		}
	}
	started, finished := 0, 0
	for _, e := range ev {
		switch e.Kind {
		case MemberStarted:
			started++
		case MemberFinished:
			finished++
		}
	}
	if started != len(res.Calls) || finished != len(res.Calls) {
		t.Fatalf("%d calls but %d member_started and %d member_finished events", len(res.Calls), started, finished)
	}
	var sum Usage
	for _, c := range res.Calls {
		sum = sum.add(c.Usage)
	}
	if sum.TotalTokens() != res.Totals.TotalTokens() {
		t.Fatalf("totals %d tokens, calls sum to %d", res.Totals.TotalTokens(), sum.TotalTokens())
	}
}

func kinds(ev []Event) []EventKind {
	var out []EventKind
	for _, e := range ev {
		out = append(out, e.Kind)
	}
	return out
}

// callsOf returns the calls of member in role, ordered by round.
func callsOf(res *Result, member, role string) []Call {
	var out []Call
	for _, c := range res.Calls {
		if c.Member == member && c.Role == role {
			out = append(out, c)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Round < out[j-1].Round; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func system(c Call) string {
	if len(c.Input) > 0 && c.Input[0].Role == chat.System {
		return c.Input[0].Content
	}
	return ""
}

func lastContent(c Call) string {
	if len(c.Input) == 0 {
		return ""
	}
	return c.Input[len(c.Input)-1].Content
}
