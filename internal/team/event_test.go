package team

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPublisherDropsSlowSubscribers(t *testing.T) {
	p := NewPublisher("run1", time.Now())
	fast, cancelFast := p.Subscribe(100)
	defer cancelFast()
	slow, _ := p.Subscribe(2)
	for i := range 5 {
		e := p.Publish(Event{Kind: MemberDelta, Text: string(rune('a' + i))})
		if e.Seq != int64(i+1) || e.Run != "run1" || e.Time.IsZero() {
			t.Fatalf("event %d stamped %+v", i, e)
		}
	}
	if p.Dropped() != 1 {
		t.Fatalf("dropped %d", p.Dropped())
	}
	var got []int64
	for e := range slow {
		got = append(got, e.Seq)
	}
	if !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("slow subscriber got %v before it was dropped", got)
	}
	p.Publish(Event{Kind: RunFinished})
	p.Close()
	got = nil
	for e := range fast {
		got = append(got, e.Seq)
	}
	if !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("fast subscriber got %v", got)
	}
	// A late subscriber gets the kept events (no deltas) and a closed channel.
	late, _ := p.Subscribe(1)
	var lateKinds []EventKind
	for e := range late {
		lateKinds = append(lateKinds, e.Kind)
	}
	if !slices.Equal(lateKinds, []EventKind{RunFinished}) {
		t.Fatalf("late subscriber got %v", lateKinds)
	}
	if e := p.Publish(Event{Kind: RunStarted}); e.Seq != 0 {
		t.Fatal("publish after close was delivered")
	}
}

func TestRunEventsLive(t *testing.T) {
	c := newCast().
		add("a", &fake{name: "a", fn: answer("alpha beta")}, nil).
		add("b", &fake{name: "b", fn: answer("gamma")}, nil)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		events []Event
	)
	m, err := New(Team{Name: "mix", Pattern: MoA, Members: []string{"a", "b"}}, c.resolve, Options{
		Observe: func(r *Run) {
			ch, _ := r.Subscribe(1024)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range ch {
					mu.Lock()
					events = append(events, e)
					mu.Unlock()
				}
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var saved *Result
	m.opts.Done = func(r *Result) { saved = r }
	resp, err := m.Chat(context.Background(), ask("q"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if saved == nil || resp.Message.Content != "gamma" || resp.Model != "mix" {
		t.Fatalf("resp %+v saved %v", resp, saved != nil)
	}
	var deltas []string
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		if e.Kind == MemberDelta && e.Member == "a" {
			deltas = append(deltas, e.Text)
		}
	}
	if strings.Join(deltas, "|") != "alpha |beta" {
		t.Fatalf("member deltas of a: %q", deltas)
	}
	last := events[len(events)-1]
	if last.Kind != RunFinished || last.Usage == nil || last.Usage.TotalTokens() != saved.Totals.TotalTokens() {
		t.Fatalf("last event %+v", last)
	}
	b, err := json.Marshal(last)
	if err != nil || !strings.Contains(string(b), `"kind":"run_finished"`) || !strings.Contains(string(b), `"seq":`) {
		t.Fatalf("json %s %v", b, err)
	}
}

// A nested team's events reach the outer run's live stream as nested events naming the outer call,
// in order, but stay out of the outer transcript (which holds the nested run whole).
func TestNestedTeamEventsAreForwarded(t *testing.T) {
	c := newCast().
		add("s1", &fake{name: "s1", fn: answer("answer is 3")}, nil).
		add("s2", &fake{name: "s2", fn: answer("answer is 3")}, nil)
	inner := mustTeam(t, Team{Name: "voters", Pattern: Vote, Members: []string{"s1", "s2"},
		Params: json.RawMessage(`{"samples":2,"extract":"number"}`)}, c)
	c.add("voters", inner, nil).add("agg", &fake{name: "agg", fn: answer("final")}, nil)
	var (
		wg     sync.WaitGroup
		events []Event
	)
	outer, err := New(Team{Name: "outer", Pattern: MoA, Members: []string{"voters", "agg"}}, c.resolve, Options{
		Observe: func(r *Run) {
			ch, _ := r.Subscribe(4096)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range ch {
					events = append(events, e)
				}
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := outer.Run(context.Background(), ask("q"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var kinds []EventKind
	innerRun := ""
	for _, e := range events {
		if e.Kind != Nested {
			continue
		}
		if e.Nested == nil || e.Member != "voters" || e.Step == 0 {
			t.Fatalf("nested event without its outer call: %+v", e)
		}
		if innerRun == "" {
			innerRun = e.Nested.Run
		}
		if e.Nested.Run != innerRun || e.Nested.Run == res.Run {
			t.Fatalf("nested event of run %q (inner %q, outer %q)", e.Nested.Run, innerRun, res.Run)
		}
		kinds = append(kinds, e.Nested.Kind)
	}
	if len(kinds) < 4 || kinds[0] != RunStarted || kinds[len(kinds)-1] != RunFinished || !slices.Contains(kinds, VoteTally) {
		t.Fatalf("nested kinds %v", kinds)
	}
	call := callsOf(res, "voters", "proposer")[0]
	if call.Sub == nil || call.Sub.Run != innerRun {
		t.Fatalf("the transcript's nested run %+v, forwarded run %q", call.Sub, innerRun)
	}
	for _, e := range res.Events {
		if e.Kind == Nested {
			t.Fatalf("the transcript keeps a nested event: %+v", e)
		}
	}
}
