package team

import (
	"sync"
	"time"
)

// EventKind names what an Event reports.
type EventKind string

// The event kinds, in the order a run emits them.
const (
	RunStarted     EventKind = "run_started"
	MemberStarted  EventKind = "member_started"
	MemberDelta    EventKind = "member_delta"
	MemberFinished EventKind = "member_finished"
	RoundFinished  EventKind = "round_finished"
	VoteTally      EventKind = "vote_tally"
	RouteChosen    EventKind = "route_chosen"
	BudgetExceeded EventKind = "budget_exceeded"
	RunFinished    EventKind = "run_finished"
	// Nested carries an event of a team that is itself a member (in Event.Nested), live only: the
	// transcript holds the nested run whole, in its call's Sub.
	Nested EventKind = "nested"
)

// Event is one step of a run, as shown live (SSE, `seance run --events`) and saved in the transcript.
// Fields that do not apply to a kind are zero and omitted from JSON.
//
// Event and the other transcript types (Result, Call, Usage, Tally) carry JSON tags: they are the
// team package's own serialised format, read back by internal/home and served as is.
type Event struct {
	// Seq increases by one with every event of a run, starting at 1, in the order events were published.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Elapsed is the time since the run started.
	Elapsed time.Duration `json:"elapsed_ns"`
	Run     string        `json:"run"`
	Kind    EventKind     `json:"kind"`
	// Step is the 1-based index of the member call in Result.Calls (member events).
	Step   int    `json:"step,omitempty"`
	Member string `json:"member,omitempty"`
	// Role is the member's role in the pattern: "router", "member", "sample", "proposer", "aggregator",
	// "debater", "moderator", "generator", "reviewer", "reviser".
	Role  string `json:"role,omitempty"`
	Round int    `json:"round,omitempty"`
	// Text is the delta text (member_delta), the member's answer (member_finished), the chosen member
	// (route_chosen) or the team's answer (run_finished).
	Text  string `json:"text,omitempty"`
	Usage *Usage `json:"usage,omitempty"`
	Tally *Tally `json:"tally,omitempty"`
	// Error is the failure of a member or a run, Code its fault code.
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
	// Team and Pattern are set on run_started.
	Team    string  `json:"team,omitempty"`
	Pattern Pattern `json:"pattern,omitempty"`
	// Partial and Reasons are set on run_finished and budget_exceeded.
	Partial bool     `json:"partial,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Nested is the nested team's own event (kind nested); Step and Member name the outer call that
	// runs the nested team. Nested events may nest again.
	Nested *Event `json:"nested,omitempty"`
}

// Publisher fans a run's events out to subscribers without ever blocking the run: each subscriber has a
// buffered channel, and one whose buffer is full when an event arrives is dropped (its channel closed)
// and counted. It keeps every event except member deltas and nested events for late subscribers and
// the transcript.
// It is safe for concurrent use.
type Publisher struct {
	run   string
	start time.Time
	now   func() time.Time

	// tap, when set, receives every stamped event in order (a nested run's events, forwarded to
	// the outer run); it is called with the lock held, so it must not publish here.
	tap func(Event)

	mu      sync.Mutex
	seq     int64
	subs    []chan Event
	kept    []Event
	dropped int
	closed  bool
}

// NewPublisher returns a Publisher for the run with id run, started at start.
func NewPublisher(run string, start time.Time) *Publisher {
	return &Publisher{run: run, start: start, now: time.Now}
}

// Publish stamps e with the next sequence number, the time and the run id, and delivers it. It never
// blocks. It returns the stamped event; after Close it does nothing and returns e unchanged.
func (p *Publisher) Publish(e Event) Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return e
	}
	p.seq++
	e.Seq = p.seq
	e.Time = p.now()
	e.Elapsed = e.Time.Sub(p.start)
	e.Run = p.run
	if e.Kind != MemberDelta && e.Kind != Nested {
		p.kept = append(p.kept, e)
	}
	if p.tap != nil {
		p.tap(e)
	}
	live := p.subs[:0]
	for _, ch := range p.subs {
		select {
		case ch <- e:
			live = append(live, ch)
		default:
			close(ch)
			p.dropped++
		}
	}
	clear(p.subs[len(live):])
	p.subs = live
	return e
}

// Subscribe returns a channel of the run's events with room for buffer events (at least 1), first the
// kept events published so far (not their deltas), then live ones. The channel is closed when the run
// ends, when the subscriber falls buffer events behind (it is dropped), or when cancel is called.
func (p *Publisher) Subscribe(buffer int) (events <-chan Event, cancel func()) {
	buffer = max(buffer, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan Event, max(buffer, len(p.kept)))
	for _, e := range p.kept {
		ch <- e
	}
	if p.closed {
		close(ch)
		return ch, func() {}
	}
	p.subs = append(p.subs, ch)
	return ch, func() { p.unsubscribe(ch) }
}

func (p *Publisher) unsubscribe(ch chan Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.subs {
		if c == ch {
			p.subs = append(p.subs[:i], p.subs[i+1:]...)
			close(ch)
			return
		}
	}
}

// Dropped returns how many subscribers were dropped for falling behind.
func (p *Publisher) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// Events returns the kept events (all but member deltas and nested events) published so far.
func (p *Publisher) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.kept...)
}

// Close closes every subscriber's channel; later events are discarded.
func (p *Publisher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.subs {
		close(ch)
	}
	p.subs = nil
}
