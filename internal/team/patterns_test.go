package team

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

func TestMoALayersAndAggregator(t *testing.T) {
	c := newCast()
	for _, n := range []string{"a", "b", "c"} {
		c.add(n, &fake{name: n, fn: func(req *chat.Request) (string, error) {
			layer := 1
			if strings.Contains(req.Messages[0].Content, "Answers:") {
				layer = 2
			}
			return fmt.Sprintf("%s-layer%d", n, layer), nil
		}}, &Agent{System: "You are " + n + "."})
	}
	c.add("agg", &fake{name: "agg", fn: answer("the synthesis")}, &Agent{System: "You aggregate."})
	m := mustTeam(t, Team{Name: "mix", Pattern: MoA, Members: []string{"a", "b", "c", "agg"}, Params: json.RawMessage(`{"layers":2}`)}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("What is love?"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "the synthesis" || streamed != "the synthesis" || res.Partial {
		t.Fatalf("answer %q streamed %q partial %v", res.Answer, streamed, res.Partial)
	}
	for _, n := range []string{"a", "b", "c"} {
		calls := callsOf(res, n, "proposer")
		if len(calls) != 2 || calls[0].Round != 1 || calls[1].Round != 2 {
			t.Fatalf("%s: calls %+v", n, calls)
		}
		if s := system(calls[0]); s != "You are "+n+"." {
			t.Errorf("%s layer 1 system %q: it must see only its own prompt", n, s)
		}
		want := "1. a-layer1\n\n2. b-layer1\n\n3. c-layer1"
		if s := system(calls[1]); !strings.HasPrefix(s, "You are "+n+".\n\n") || !strings.HasSuffix(s, want) {
			t.Errorf("%s layer 2 system %q: want the agent prompt and the layer-1 answers in proposer order", n, s)
		}
		if lastContent(calls[1]) != "What is love?" {
			t.Errorf("%s layer 2 does not end with the question", n)
		}
	}
	agg := callsOf(res, "agg", "aggregator")
	if len(agg) != 1 || !strings.HasSuffix(system(agg[0]), "1. a-layer2\n\n2. b-layer2\n\n3. c-layer2") {
		t.Fatalf("aggregator received %q", system(agg[0]))
	}
	if res.Rounds != 2 || len(res.Calls) != 7 {
		t.Fatalf("rounds %d, calls %d", res.Rounds, len(res.Calls))
	}
	// The team's usage sums every member's.
	resp := res.Response()
	want := 0
	for _, call := range res.Calls {
		want += call.Usage.TotalTokens()
		if call.Usage.FLOPs == 0 || call.Model == "" || call.Usage.Wall <= 0 {
			t.Errorf("call %d accounting incomplete: %+v", call.Step, call.Usage)
		}
	}
	if resp.Usage.TotalTokens() != want || want == 0 || resp.Usage.FLOPs != res.Totals.FLOPs {
		t.Fatalf("response usage %+v, want %d tokens", resp.Usage, want)
	}
	// Member deltas were published, but are not kept in the transcript.
	for _, e := range res.Events {
		if e.Kind == MemberDelta {
			t.Fatal("member deltas kept in the transcript events")
		}
	}
}

func TestMoAAggregatorStartsWhenLastLayerCompletes(t *testing.T) {
	release := make(chan struct{})
	started := make(chan *chat.Request, 4)
	c := newCast().
		add("fast", &fake{name: "fast", fn: answer("quick")}, nil).
		add("slow", &fake{name: "slow", fn: answer("late"), wait: release}, nil).
		add("agg", &fake{name: "agg", fn: answer("done"), start: started}, nil)
	m := mustTeam(t, Team{Name: "mix", Pattern: MoA, Members: []string{"fast", "slow", "agg"}}, c)
	done := make(chan *Result, 1)
	go func() {
		res, _, _ := runTeam(t, context.Background(), m, ask("q"))
		done <- res
	}()
	select {
	case <-started:
		t.Fatal("the aggregator started before the last proposer finished")
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	req := <-started
	if !strings.Contains(req.Messages[0].Content, "1. quick\n\n2. late") {
		t.Fatalf("aggregator input %q", req.Messages[0].Content)
	}
	if res := <-done; res.Answer != "done" {
		t.Fatalf("answer %q", res.Answer)
	}
}

func TestSelfMoASeeds(t *testing.T) {
	f := &fake{name: "solo", fn: func(req *chat.Request) (string, error) {
		return fmt.Sprintf("seed%d", *req.Sampling.Seed), nil
	}}
	c := newCast().add("solo", f, nil).add("agg", &fake{name: "agg", fn: answer("best")}, nil)
	m := mustTeam(t, Team{Name: "self", Pattern: MoA, Members: []string{"solo", "agg"},
		Params: json.RawMessage(`{"self_moa":true,"samples":3,"seed":10}`)}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	var seeds []int64
	for _, call := range callsOf(res, "solo", "proposer") {
		seeds = append(seeds, *call.Seed)
	}
	slices.Sort(seeds)
	if !slices.Equal(seeds, []int64{10, 11, 12}) {
		t.Fatalf("seeds %v", seeds)
	}
	agg := callsOf(res, "agg", "aggregator")[0]
	for _, s := range []string{"seed10", "seed11", "seed12"} {
		if !strings.Contains(system(agg), s) {
			t.Errorf("aggregator did not see %s", s)
		}
	}
}

func TestMoAProposerFailure(t *testing.T) {
	c := newCast().
		add("ok", &fake{name: "ok", fn: answer("fine")}, nil).
		add("bad", &fake{name: "bad", fn: func(*chat.Request) (string, error) {
			return "", fault.New(fault.Upstream, "server on fire")
		}}, nil).
		add("agg", &fake{name: "agg", fn: answer("merged")}, nil)
	m := mustTeam(t, Team{Name: "mix", Pattern: MoA, Members: []string{"ok", "bad", "agg"}}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || len(res.Reasons) != 1 || !strings.Contains(res.Reasons[0], `"bad"`) || !strings.Contains(res.Reasons[0], "server on fire") {
		t.Fatalf("partial %v reasons %q", res.Partial, res.Reasons)
	}
	bad := callsOf(res, "bad", "proposer")[0]
	if bad.Code != fault.Upstream || bad.Error == "" {
		t.Fatalf("failed call recorded as %+v", bad)
	}
	if s := system(callsOf(res, "agg", "aggregator")[0]); !strings.HasSuffix(s, "Answers:\n\n1. fine") {
		t.Fatalf("aggregator saw %q: a failed proposer must be left out", s)
	}
	if res.Answer != "merged" {
		t.Fatalf("answer %q", res.Answer)
	}
}

func TestMoAAggregatorFailureFallsBack(t *testing.T) {
	c := newCast().
		add("p", &fake{name: "p", fn: answer("proposal")}, nil).
		add("agg", &fake{name: "agg", fn: func(*chat.Request) (string, error) { return "", errors.New("boom") }}, nil)
	m := mustTeam(t, Team{Name: "mix", Pattern: MoA, Members: []string{"p", "agg"}}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "proposal" || streamed != "proposal" || !res.Partial || len(res.Reasons) != 2 {
		t.Fatalf("answer %q streamed %q partial %v reasons %q", res.Answer, streamed, res.Partial, res.Reasons)
	}
}

func TestVoteNumbers(t *testing.T) {
	replies := []string{"I think 1,234.", "The answer is $1234", "#### 1234.0", "maybe 7", "no idea"}
	c := newCast()
	var members []string
	for i, r := range replies {
		n := fmt.Sprintf("m%d", i)
		members = append(members, n)
		c.add(n, &fake{name: n, fn: answer(r)}, nil)
	}
	m := mustTeam(t, Team{Name: "v", Pattern: Vote, Members: members, Params: json.RawMessage(`{"samples":5,"extract":"number"}`)}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	tl := res.Tally
	if tl == nil || tl.Answer != "1234" || tl.Winner != 0 || tl.Votes != 4 || tl.Abstained != 1 || tl.Agreement != 0.75 || tl.Tie {
		t.Fatalf("tally %+v", tl)
	}
	if res.Answer != "I think 1,234." || streamed != res.Answer {
		t.Fatalf("answer %q streamed %q", res.Answer, streamed)
	}
	if res.Partial {
		t.Fatalf("abstaining is not a failure: %q", res.Reasons)
	}
	var tallies int
	for _, e := range res.Events {
		if e.Kind == VoteTally {
			tallies++
			if e.Tally.Answer != "1234" {
				t.Errorf("tally event %+v", e.Tally)
			}
		}
	}
	if tallies != 1 {
		t.Fatalf("%d vote_tally events", tallies)
	}
}

func TestVoteTieBreakAndWeights(t *testing.T) {
	build := func(params string) *Model {
		c := newCast().
			add("x", &fake{name: "x", fn: answer("Answer: (B)")}, nil).
			add("y", &fake{name: "y", fn: answer("The answer is A")}, nil)
		return mustTeam(t, Team{Name: "v", Pattern: Vote, Members: []string{"x", "y"}, Params: json.RawMessage(params)}, c)
	}
	// Samples x,y,x,y: B (0,2) and A (1,3) tie 2-2; B appears first in sample order and wins.
	res, _, err := runTeam(t, context.Background(), build(`{"samples":4,"extract":"choice"}`), ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Tally.Answer != "B" || !res.Tally.Tie || res.Tally.Agreement != 0.5 || res.Tally.Winner != 0 {
		t.Fatalf("tie tally %+v", res.Tally)
	}
	// Weighted: y counts 1.5, so A (3.0) beats B (2.0).
	res, _, err = runTeam(t, context.Background(), build(`{"samples":4,"extract":"choice","weights":{"y":1.5}}`), ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Tally.Answer != "A" || res.Tally.Tie || res.Tally.Winner != 1 || res.Tally.Agreement != 0.6 {
		t.Fatalf("weighted tally %+v", res.Tally)
	}
	// Seeds differ per sample: base from the request.
	req := ask("q")
	seed := int64(100)
	req.Sampling.Seed = &seed
	res, _, err = runTeam(t, context.Background(), build(`{"samples":3,"extract":"choice"}`), req)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []int64
	for _, c := range res.Calls {
		seeds = append(seeds, *c.Seed)
	}
	slices.Sort(seeds)
	if !slices.Equal(seeds, []int64{100, 101, 102}) {
		t.Fatalf("seeds %v", seeds)
	}
}

func TestCountTieBreakRules(t *testing.T) {
	// Weighted tie: equal weight, more ballots wins.
	tl := Count(ExtractExact, []Ballot{
		{Index: 0, Member: "a", Text: "x", Weight: 2},
		{Index: 1, Member: "b", Text: "y"},
		{Index: 2, Member: "c", Text: "y"},
	})
	if tl.Answer != "y" || !tl.Tie || tl.Winner != 1 {
		t.Fatalf("equal weight: %+v", tl)
	}
	// Full tie: the answer seen first in ballot order wins, whatever the slice order.
	tl = Count(ExtractExact, []Ballot{{Index: 3, Text: "late"}, {Index: 1, Text: "Early."}})
	if tl.Answer != "early" || tl.Winner != 1 {
		t.Fatalf("order tie: %+v", tl)
	}
	tl = Count(ExtractNumber, []Ballot{{Index: 0, Text: "none"}, {Index: 1, Failed: true}})
	if tl.Winner != -1 || tl.Abstained != 2 || tl.Votes != 0 {
		t.Fatalf("no answers: %+v", tl)
	}
}

func TestDebateRounds(t *testing.T) {
	persona := func(name string) *fake {
		return &fake{name: name, fn: func(req *chat.Request) (string, error) {
			round := 1
			for _, m := range req.Messages {
				var n int
				if _, err := fmt.Sscanf(m.Content, name+" says %d", &n); err == nil && m.Role == chat.Assistant {
					round = n + 1
				}
			}
			return fmt.Sprintf("%s says %d", name, round), nil
		}}
	}
	c := newCast().
		add("util", persona("util"), &Agent{Persona: "utilitarian", System: "Maximise happiness."}).
		add("comm", persona("comm"), &Agent{Persona: "communist", System: "Abolish property."}).
		add("anar", persona("anar"), &Agent{Persona: "anarchist", System: "Abolish the state."}).
		add("mod", &fake{name: "mod", fn: answer("summary")}, nil)
	m := mustTeam(t, Team{Name: "council", Pattern: Debate, Members: []string{"util", "comm", "anar", "mod"},
		Params: json.RawMessage(`{"moderator":"mod","rounds":3}`)}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("Is property theft?"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "summary" || streamed != "summary" || res.Rounds != 3 {
		t.Fatalf("answer %q streamed %q rounds %d", res.Answer, streamed, res.Rounds)
	}
	u := callsOf(res, "util", "debater")
	if len(u) != 3 {
		t.Fatalf("util called %d times", len(u))
	}
	if len(u[0].Input) != 2 || u[0].Input[0].Content != "Maximise happiness." {
		t.Fatalf("round 1 input %+v", u[0].Input)
	}
	// Round 2: own previous answer as the assistant turn, then the others' answers by persona.
	in := u[1].Input
	if in[len(in)-2].Role != chat.Assistant || in[len(in)-2].Content != "util says 1" {
		t.Fatalf("round 2 own answer %+v", in[len(in)-2])
	}
	others := lastContent(u[1])
	if !strings.Contains(others, "[communist]: comm says 1") || !strings.Contains(others, "[anarchist]: anar says 1") || strings.Contains(others, "util says") {
		t.Fatalf("round 2 saw %q", others)
	}
	if !strings.Contains(lastContent(u[2]), "[communist]: comm says 2") || strings.Contains(lastContent(u[2]), "says 1") {
		t.Fatalf("round 3 saw %q: only the previous round", lastContent(u[2]))
	}
	mod := callsOf(res, "mod", "moderator")[0]
	tr := lastContent(mod)
	for _, s := range []string{"Round 1", "Round 3", "[utilitarian]: util says 3", "[anarchist]: anar says 2"} {
		if !strings.Contains(tr, s) {
			t.Errorf("moderator transcript lacks %q:\n%s", s, tr)
		}
	}
	if !strings.HasPrefix(system(mod), moderatorPrompt) {
		t.Errorf("moderator system %q", system(mod))
	}
}

func lastUserOf(req *chat.Request) string { return lastUser(req.Messages) }

func TestDebateConsensusStopsEarlyAndVoteDecides(t *testing.T) {
	c := newCast()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		c.add(n, &fake{name: n, fn: func(req *chat.Request) (string, error) {
			if strings.Contains(lastUserOf(req), "other participants") {
				return "The answer is 42", nil
			}
			if n == "c" {
				return "answer is 41", nil
			}
			return "answer is 42", nil
		}}, nil)
	}
	m := mustTeam(t, Team{Name: "d", Pattern: Debate, Members: names, Params: json.RawMessage(`{"rounds":5,"extract":"number"}`)}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("6*7?"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rounds != 2 || len(res.Calls) != 6 {
		t.Fatalf("rounds %d calls %d: want a stop after round 2's consensus", res.Rounds, len(res.Calls))
	}
	if res.Tally == nil || res.Tally.Answer != "42" || res.Tally.Agreement != 1 || streamed != "The answer is 42" {
		t.Fatalf("tally %+v streamed %q", res.Tally, streamed)
	}
	var consensus []string
	for _, e := range res.Events {
		if e.Kind == RoundFinished {
			consensus = append(consensus, e.Text)
		}
	}
	if !slices.Equal(consensus, []string{"", "consensus"}) {
		t.Fatalf("round events %q", consensus)
	}
}

func TestReviewLoop(t *testing.T) {
	reviews := []string{"Too short.\nVerdict: REVISE", "**Verdict:** approved — looks fine"}
	var n int
	c := newCast().
		add("gen", &fake{name: "gen", fn: answer("draft one")}, nil).
		add("rev", &fake{name: "rev", fn: func(*chat.Request) (string, error) { n++; return reviews[n-1], nil }}, nil).
		add("fix", &fake{name: "fix", fn: answer("draft two")}, nil)
	m := mustTeam(t, Team{Name: "w", Pattern: Review, Members: []string{"gen", "rev", "fix"}}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("Write a poem."))
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "draft two" || streamed != "draft two" || res.Approved == nil || !*res.Approved || res.Rounds != 2 {
		t.Fatalf("answer %q approved %v rounds %d", res.Answer, res.Approved, res.Rounds)
	}
	rv := callsOf(res, "rev", "reviewer")
	if !strings.Contains(lastContent(rv[0]), "Draft answer:\ndraft one") || !strings.Contains(lastContent(rv[1]), "Draft answer:\ndraft two") {
		t.Fatalf("reviewer inputs %q / %q", lastContent(rv[0]), lastContent(rv[1]))
	}
	fx := callsOf(res, "fix", "reviser")
	if len(fx) != 1 || !strings.Contains(lastContent(fx[0]), "Too short.") || strings.Contains(lastContent(fx[0]), "Verdict") {
		t.Fatalf("reviser input %q: want the critique without the verdict line", lastContent(fx[0]))
	}
	if fx[0].Input[len(fx[0].Input)-2].Content != "draft one" {
		t.Fatal("reviser did not see the draft")
	}
}

func TestReviewRoundLimit(t *testing.T) {
	var drafts int
	c := newCast().
		add("gen", &fake{name: "gen", fn: func(*chat.Request) (string, error) { drafts++; return fmt.Sprintf("draft %d", drafts), nil }}, nil).
		add("rev", &fake{name: "rev", fn: answer("Not approved. Needs more rhyme.")}, nil)
	m := mustTeam(t, Team{Name: "w", Pattern: Review, Members: []string{"gen", "rev"}, Params: json.RawMessage(`{"rounds":2}`)}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("Write."))
	if err != nil {
		t.Fatal(err)
	}
	// gen, rev, fix(gen), rev, fix(gen): the last critique is still used.
	if res.Answer != "draft 3" || *res.Approved || len(res.Calls) != 5 || res.Partial {
		t.Fatalf("answer %q approved %v calls %d partial %v", res.Answer, *res.Approved, len(res.Calls), res.Partial)
	}
}

func TestParseVerdict(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Verdict
		clear bool
	}{
		{"Verdict: APPROVED", Approved, true},
		{"Fine.\n\n**VERDICT**: Revise", Revise, true},
		{"This is not approved.", Revise, true},
		{"LGTM", Approved, true},
		{"The draft needs changes: fix the rhyme.", Revise, true},
		{"I would reject this.", Revise, true},
		{"Looks good to me.", Approved, true},
		{"I first thought REVISE but it is approved after all", Approved, true},
		{"Verdict: approved\nearlier notes said revise", Approved, true},
		{"Nice poem.", Revise, false},
		{"", Revise, false},
	} {
		got, _, clear := ParseVerdict(tc.in)
		if got != tc.want || clear != tc.clear {
			t.Errorf("ParseVerdict(%q) = %s, %v; want %s, %v", tc.in, got, clear, tc.want, tc.clear)
		}
	}
}

func TestRouteFastPathAndRouter(t *testing.T) {
	routerReplies := []string{}
	var asked int
	build := func() (*Model, *fake) {
		asked = 0
		router := &fake{name: "router", fn: func(*chat.Request) (string, error) {
			asked++
			if asked > len(routerReplies) {
				return "", errors.New("router out of replies")
			}
			return routerReplies[asked-1], nil
		}}
		c := newCast().
			add("math", &fake{name: "math", fn: answer("math answer")}, &Agent{Description: "arithmetic"}).
			add("code", &fake{name: "code", fn: answer("code answer")}, &Agent{Description: "programming"}).
			add("chat", &fake{name: "chat", fn: answer("chat answer")}, nil).
			add("router", router, nil)
		return mustTeam(t, Team{Name: "brain", Pattern: Route, Members: []string{"math", "code", "chat", "router"},
			Params: json.RawMessage(`{"rules":[{"member":"math","keywords":["sum","계산"]},{"member":"code","regex":"(?i)\\bgo(lang)?\\b"}],"router":"router","fallback":"chat"}`)}, c), router
	}
	for _, tc := range []struct {
		q, member, by string
		replies       []string
		asks          int
	}{
		{"What is the sum of 2 and 3?", "math", "rule", nil, 0},
		{"이것을 계산해 주세요", "math", "rule", nil, 0},
		{"Write Go code", "code", "rule", nil, 0},
		{"Give a summary of the news", "code", "router", []string{"Code."}, 1}, // "summary" is not the keyword "sum"
		{"hello", "math", "router", []string{"the best is banana", "math"}, 2},
		{"hello", "chat", "fallback", []string{"banana", "math or code", "dunno"}, 3},
		{"hello", "chat", "fallback", nil, 1}, // the router fails
	} {
		routerReplies = tc.replies
		m, router := build()
		res, streamed, err := runTeam(t, context.Background(), m, ask(tc.q))
		if err != nil {
			t.Fatal(err)
		}
		if res.Route.Member != tc.member || res.Route.By != tc.by || res.Route.Asks != tc.asks || streamed != tc.member+" answer" {
			t.Errorf("%q: routed %+v streamed %q; want %s by %s after %d asks", tc.q, res.Route, streamed, tc.member, tc.by, tc.asks)
		}
		if got := len(router.requests()); got != tc.asks {
			t.Errorf("%q: router called %d times", tc.q, got)
		}
		if tc.asks > 1 {
			reqs := router.requests()
			last := reqs[len(reqs)-1].Messages
			if !strings.Contains(last[len(last)-1].Content, "is not one of the members") || last[len(last)-2].Content != tc.replies[len(reqs)-2] {
				t.Errorf("%q: re-ask %+v", tc.q, last)
			}
		}
		if tc.asks > 0 && !strings.Contains(router.requests()[0].Messages[0].Content, "- math: arithmetic") {
			t.Errorf("router prompt lacks member descriptions: %q", router.requests()[0].Messages[0].Content)
		}
	}
}

func TestRouteMemberFailureFallsBack(t *testing.T) {
	c := newCast().
		add("math", &fake{name: "math", fn: func(*chat.Request) (string, error) { return "", errors.New("oom") }}, nil).
		add("chat", &fake{name: "chat", fn: answer("chat answer")}, nil)
	m := mustTeam(t, Team{Name: "r", Pattern: Route, Members: []string{"math", "chat"},
		Params: json.RawMessage(`{"rules":[{"member":"math","keywords":["sum"]}],"fallback":"chat"}`)}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("sum it"))
	if err != nil {
		t.Fatal(err)
	}
	if streamed != "chat answer" || !res.Partial || len(res.Reasons) != 2 {
		t.Fatalf("streamed %q partial %v reasons %q", streamed, res.Partial, res.Reasons)
	}
}

func TestTokenBudgetCutsVote(t *testing.T) {
	c := newCast().add("m", &fake{name: "m", fn: answer("answer is 7 because reasons")}, nil)
	// Each sample costs 3 prompt + 5 completion tokens; with one call at a time, the third sample
	// crosses 20 tokens while streaming and is canceled, and the rest never start.
	m := mustTeam(t, Team{Name: "v", Pattern: Vote, Members: []string{"m"}, Params: json.RawMessage(`{"samples":5,"extract":"number"}`),
		Budget: Budget{Tokens: 20, Parallel: 1}}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("what is 7"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || res.Tally.Votes != 2 || res.Tally.Abstained != 3 || res.Tally.Answer != "7" || streamed != "answer is 7 because reasons" {
		t.Fatalf("partial %v tally %+v streamed %q", res.Partial, res.Tally, streamed)
	}
	if len(res.Calls) != 3 || res.Calls[2].Code != fault.TooLarge {
		t.Fatalf("calls %d, third %+v", len(res.Calls), res.Calls[2])
	}
	if res.Totals.TotalTokens() > 20+8 {
		t.Fatalf("spent %d tokens: the cut came too late", res.Totals.TotalTokens())
	}
	joined := strings.Join(res.Reasons, "; ")
	if !strings.Contains(joined, "token budget of 20 exceeded") || !strings.Contains(joined, "2 member calls were not started") {
		t.Fatalf("reasons %q", res.Reasons)
	}
	if !slices.Contains(kinds(res.Events), BudgetExceeded) {
		t.Fatal("no budget_exceeded event")
	}
}

func TestTokenBudgetBeforeAnyAnswer(t *testing.T) {
	c := newCast().add("m", &fake{name: "m", fn: answer("a long answer that goes on and on")}, nil)
	m := mustTeam(t, Team{Name: "v", Pattern: Vote, Members: []string{"m"}, Params: json.RawMessage(`{"samples":2}`),
		Budget: Budget{Tokens: 3, Parallel: 2}}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("q"))
	if fault.CodeOf(err) != fault.TooLarge || res == nil || res.Code != fault.TooLarge || res.Answer != "" {
		t.Fatalf("err %v result %+v", err, res)
	}
}

func TestWallBudgetCutsMoA(t *testing.T) {
	c := newCast().
		add("quick", &fake{name: "quick", fn: answer("quick idea")}, nil).
		add("stuck", &fake{name: "stuck", fn: answer("never"), wait: make(chan struct{})}, nil).
		add("agg", &fake{name: "agg", fn: answer("merged")}, nil)
	m := mustTeam(t, Team{Name: "mix", Pattern: MoA, Members: []string{"quick", "stuck", "agg"}, Budget: Budget{Wall: 250 * time.Millisecond}}, c)
	start := time.Now()
	res, streamed, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("run took %v with a 250ms budget", el)
	}
	if res.Answer != "quick idea" || streamed != "quick idea" || !res.Partial {
		t.Fatalf("answer %q streamed %q partial %v", res.Answer, streamed, res.Partial)
	}
	joined := strings.Join(res.Reasons, "; ")
	for _, want := range []string{"wall-time budget of 250ms exceeded", `"stuck"`, "aggregator did not answer"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reasons %q lack %q", res.Reasons, want)
		}
	}
	if c := callsOf(res, "stuck", "proposer")[0]; c.Code != fault.Timeout {
		t.Fatalf("stuck call %+v", c)
	}
}

func TestMemberTimeout(t *testing.T) {
	c := newCast().
		add("a", &fake{name: "a", fn: answer("answer is 1")}, nil).
		add("b", &fake{name: "b", fn: answer("answer is 2"), wait: make(chan struct{})}, nil)
	m := mustTeam(t, Team{Name: "v", Pattern: Vote, Members: []string{"a", "b"}, Params: json.RawMessage(`{"samples":2,"extract":"number"}`),
		Budget: Budget{MemberTimeout: 200 * time.Millisecond}}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	b := callsOf(res, "b", "sample")[0]
	if b.Code != fault.Timeout || !strings.Contains(b.Error, "timed out after 200ms") || res.Answer != "answer is 1" || !res.Partial {
		t.Fatalf("b %+v answer %q partial %v", b, res.Answer, res.Partial)
	}
}

func TestCancelStopsEverything(t *testing.T) {
	started := make(chan *chat.Request, 8)
	c := newCast()
	for _, n := range []string{"a", "b", "c"} {
		c.add(n, &fake{name: n, fn: answer("x"), wait: make(chan struct{}), start: started}, nil)
	}
	m := mustTeam(t, Team{Name: "mix", Pattern: MoA, Members: []string{"a", "b", "c"}}, c)
	ctx, cancel := context.WithCancel(context.Background())
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := m.Run(ctx, ask("q"), nil)
		done <- out{res, err}
	}()
	<-started
	<-started
	cancel()
	select {
	case o := <-done:
		if fault.CodeOf(o.err) != fault.Canceled || o.res.Code != fault.Canceled || o.res.Answer != "" {
			t.Fatalf("err %v result code %q", o.err, o.res.Code)
		}
		for _, call := range o.res.Calls {
			if call.Code != fault.Canceled {
				t.Errorf("call %s: %q %q", call.Member, call.Code, call.Error)
			}
		}
		if len(o.res.Calls) != 2 {
			t.Fatalf("%d calls: the aggregator must not start", len(o.res.Calls))
		}
	case <-time.After(2 * time.Second):
		t.Fatal("run did not end after cancel")
	}
}

func TestClientStreamErrorAbortsRun(t *testing.T) {
	c := newCast().add("p", &fake{name: "p", fn: answer("one two three")}, nil)
	m := mustTeam(t, Team{Name: "r", Pattern: Route, Members: []string{"p"}}, c)
	gone := errors.New("client went away")
	res, err := m.Run(context.Background(), ask("q"), func(chat.Delta) error { return gone })
	if !errors.Is(err, gone) || res.Answer != "" {
		t.Fatalf("err %v answer %q", err, res.Answer)
	}
}

func TestNestedTeam(t *testing.T) {
	c := newCast().
		add("s1", &fake{name: "s1", fn: answer("answer is 3")}, nil).
		add("s2", &fake{name: "s2", fn: answer("answer is 4")}, nil)
	inner := mustTeam(t, Team{Name: "voters", Pattern: Vote, Members: []string{"s1", "s2"}, SHA: "abc",
		Params: json.RawMessage(`{"samples":3,"extract":"number"}`)}, c)
	c.add("voters", inner, nil).add("p", &fake{name: "p", fn: answer("a proposal")}, nil).
		add("agg", &fake{name: "agg", fn: answer("final")}, nil)
	outer := mustTeam(t, Team{Name: "outer", Pattern: MoA, Members: []string{"voters", "p", "agg"}}, c)
	var observed []string
	ctx := ObserveRuns(context.Background(), func(r *Run) { observed = append(observed, r.Team) })
	res, streamed, err := runTeam(t, ctx, outer, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if streamed != "final" || !slices.Equal(observed, []string{"outer"}) {
		t.Fatalf("streamed %q observed %v", streamed, observed)
	}
	call := callsOf(res, "voters", "proposer")[0]
	if call.Output != "answer is 3" || call.Sub == nil || call.Sub.Team != "voters" || len(call.Sub.Calls) != 3 || call.Sub.Tally.Answer != "3" {
		t.Fatalf("nested call %+v", call)
	}
	if call.Usage.TotalTokens() != call.Sub.Totals.TotalTokens() || call.Usage.TotalTokens() == 0 {
		t.Fatalf("nested usage %d, inner totals %d", call.Usage.TotalTokens(), call.Sub.Totals.TotalTokens())
	}
	if res.Members[0].Kind != "team" || res.Members[0].SHA != "abc" {
		t.Fatalf("member refs %+v", res.Members)
	}
	// The transcript serialises.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Calls[0].Input[0].Content != res.Calls[0].Input[0].Content || len(back.Events) != len(res.Events) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestUnresolvedMemberIsReported(t *testing.T) {
	c := newCast().add("a", &fake{name: "a", fn: answer("yes")}, nil)
	m := mustTeam(t, Team{Name: "v", Pattern: Vote, Members: []string{"a", "ghost"}, Params: json.RawMessage(`{"samples":2}`)}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || res.Answer != "yes" || res.Members[1].Error == "" || !strings.Contains(callsOf(res, "ghost", "sample")[0].Error, "resolve member") {
		t.Fatalf("partial %v refs %+v calls %+v", res.Partial, res.Members, res.Calls)
	}
}

func TestParamsErrors(t *testing.T) {
	c := newCast()
	for _, tc := range []struct {
		team Team
		want string
	}{
		{Team{Name: "t", Pattern: "swarm", Members: []string{"a"}}, "unknown pattern"},
		{Team{Name: "t", Pattern: Vote}, "no members"},
		{Team{Name: "t", Pattern: Vote, Members: []string{"a"}, Params: json.RawMessage(`{"sample":3}`)}, `unknown field "sample"`},
		{Team{Name: "t", Pattern: Vote, Members: []string{"a"}, Params: json.RawMessage(`{"extract":"vibes"}`)}, `extract: "vibes"`},
		{Team{Name: "t", Pattern: Vote, Members: []string{"a"}, Params: json.RawMessage(`{"weights":{"b":1}}`)}, `"b" is not a member`},
		{Team{Name: "t", Pattern: Route, Members: []string{"a"}, Params: json.RawMessage(`{"rules":[{"member":"a","regex":"("}]}`)}, "rules[0].regex"},
		{Team{Name: "t", Pattern: Route, Members: []string{"a"}, Params: json.RawMessage(`{"rules":[{"member":"a"}]}`)}, "needs keywords or regex"},
		{Team{Name: "t", Pattern: MoA, Members: []string{"a"}, Params: json.RawMessage(`{"layers":-1}`)}, "layers"},
		{Team{Name: "t", Pattern: Debate, Members: []string{"a"}, Params: json.RawMessage(`{"moderator":"a"}`)}, "no debaters"},
		{Team{Name: "t", Pattern: Review, Members: []string{"a"}}, "needs a generator and a reviewer"},
		{Team{Name: "t", Pattern: Review, Members: []string{"a", "b"}, Params: json.RawMessage(`{"rounds":2} {}`)}, "trailing data"},
	} {
		_, err := New(tc.team, c.resolve, Options{})
		if verr := Validate(tc.team); fmt.Sprint(verr) != fmt.Sprint(err) {
			t.Errorf("Validate = %v, New = %v", verr, err)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || fault.CodeOf(err) != fault.Invalid {
			t.Errorf("%s %s: err %v, want %q", tc.team.Pattern, tc.team.Params, err, tc.want)
		}
	}
}

func TestAgentSamplingAndSystemMerge(t *testing.T) {
	f := &fake{name: "a", fn: answer("ok")}
	temp, reqTemp, topK := 0.9, 0.1, 5
	c := newCast().add("a", f, &Agent{System: "Be brief.", Sampling: chat.Sampling{Temperature: &temp}, MaxTokens: 64})
	m := mustTeam(t, Team{Name: "r", Pattern: Route, Members: []string{"a"}}, c)
	req := &chat.Request{Messages: []chat.Message{{Role: chat.System, Content: "Client rules."}, {Role: chat.User, Content: "hi"}},
		Sampling: chat.Sampling{Temperature: &reqTemp, TopK: &topK}, MaxTokens: 10}
	if _, err := m.Chat(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	got := f.requests()[0]
	if len(got.Messages) != 2 || got.Messages[0].Content != "Be brief.\n\nClient rules." {
		t.Fatalf("messages %+v", got.Messages)
	}
	if *got.Sampling.Temperature != 0.9 || *got.Sampling.TopK != 5 || got.MaxTokens != 64 {
		t.Fatalf("sampling %+v max %d", got.Sampling, got.MaxTokens)
	}
}

func TestDebateMemberFailure(t *testing.T) {
	var calls int
	c := newCast().
		add("a", &fake{name: "a", fn: answer("yes")}, nil).
		add("b", &fake{name: "b", fn: func(*chat.Request) (string, error) {
			calls++
			if calls == 1 {
				return "", errors.New("flaky")
			}
			return "yes", nil
		}}, nil).
		add("c", &fake{name: "c", fn: answer("no")}, nil)
	m := mustTeam(t, Team{Name: "d", Pattern: Debate, Members: []string{"a", "b", "c"}, Params: json.RawMessage(`{"rounds":2}`)}, c)
	res, _, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	// Round 2: a sees only c's round-1 answer (b failed); b, having no answer of its own, sees both.
	a2 := callsOf(res, "a", "debater")[1]
	if strings.Contains(lastContent(a2), "[b]") || !strings.Contains(lastContent(a2), "[c]: no") {
		t.Fatalf("a round 2 saw %q", lastContent(a2))
	}
	b2 := callsOf(res, "b", "debater")[1]
	if b2.Input[len(b2.Input)-2].Role == chat.Assistant || !strings.Contains(lastContent(b2), "[a]: yes") {
		t.Fatalf("b round 2 input %+v", b2.Input)
	}
	if !res.Partial || res.Tally.Answer != "yes" || res.Tally.Votes != 3 {
		t.Fatalf("partial %v tally %+v", res.Partial, res.Tally)
	}
}

func TestReviewerFailureKeepsDraft(t *testing.T) {
	c := newCast().
		add("gen", &fake{name: "gen", fn: answer("my draft")}, nil).
		add("rev", &fake{name: "rev", fn: func(*chat.Request) (string, error) { return "", errors.New("down") }}, nil)
	m := mustTeam(t, Team{Name: "w", Pattern: Review, Members: []string{"gen", "rev"}}, c)
	res, streamed, err := runTeam(t, context.Background(), m, ask("q"))
	if err != nil {
		t.Fatal(err)
	}
	if streamed != "my draft" || !res.Partial || *res.Approved || !strings.Contains(strings.Join(res.Reasons, ";"), "draft 1 was not reviewed") {
		t.Fatalf("streamed %q partial %v reasons %q", streamed, res.Partial, res.Reasons)
	}
}
