package arena

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/arena/rating"
	"github.com/seance-dev/seance/internal/chat"
)

// skilled is a fake model that answers "What is A+B?" correctly with probability P, decided by a
// hash of the request's seed (so the same seed gives the same answer). Each reply costs Tokens
// generated tokens and FLOPs 1000 per token. Delay slows every answer; Calls counts them.
type skilled struct {
	P      float64
	Tokens int
	Delay  time.Duration
	Calls  atomic.Int64
}

func (m *skilled) Chat(ctx context.Context, req *chat.Request, _ chat.StreamFunc) (*chat.Response, error) {
	m.Calls.Add(1)
	if m.Delay > 0 {
		select {
		case <-time.After(m.Delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var a, b int
	if _, err := fmt.Sscanf(req.Messages[len(req.Messages)-1].Content, "What is %d+%d?", &a, &b); err != nil {
		return nil, fmt.Errorf("fake model: unexpected prompt %q", req.Messages[0].Content)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", *req.Sampling.Seed)
	u := float64(h.Sum64()>>11) / (1 << 53)
	ans := a + b
	if u >= m.P {
		ans += 1 + int(h.Sum64()%3) // a wrong answer, one of three
	}
	tokens := m.Tokens
	if tokens == 0 {
		tokens = 10
	}
	return &chat.Response{
		Model:   "fake",
		Message: chat.Message{Role: chat.Assistant, Content: fmt.Sprintf("Let me add. #### %d", ans)},
		Usage:   chat.Usage{PromptTokens: 8, CompletionTokens: tokens, FLOPs: 1000 * float64(tokens)},
	}, nil
}

func additionSuite(n int) *Suite {
	s := &Suite{Name: "add"}
	for i := range n {
		a, b := i*7%50, i*13%40
		s.Items = append(s.Items, Item{ID: fmt.Sprintf("q%03d", i), Prompt: fmt.Sprintf("What is %d+%d?", a, b), Verifier: Numeric, Gold: strconv.Itoa(a + b)})
	}
	return s
}

func TestRunAccuracyIntervalsAndRatings(t *testing.T) {
	dir := t.TempDir()
	ps := []float64{0.2, 0.5, 0.85}
	var cs []Contestant
	for i, p := range ps {
		cs = append(cs, Contestant{Name: fmt.Sprintf("m%d", i), Model: &skilled{P: p}})
	}
	var last Progress
	res, err := Run(context.Background(), RunOptions{
		Dir: dir, Suite: additionSuite(300), Format: FormatSeance, Contestants: cs, Seed: 7, Concurrency: 4,
		Progress: func(p Progress) { last = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 900 || last.Done != 900 || last.Total != 900 {
		t.Fatalf("%d records, progress %+v", len(res.Records), last)
	}
	s := Summarize(res.Meta, res.Records, time.Now())
	for i, sc := range s.Scores {
		if sc.Contestant != cs[i].Name {
			t.Fatalf("score %d is %s", i, sc.Contestant)
		}
		if !sc.Accuracy.Contains(ps[i]) {
			t.Errorf("%s: interval %+v does not hold the true accuracy %.2f", sc.Contestant, sc.Accuracy, ps[i])
		}
		if w := sc.Accuracy.High - sc.Accuracy.Low; w < 0.04 || w > 0.15 {
			t.Errorf("%s: interval width %.3f is implausible for 300 items", sc.Contestant, w)
		}
		if sc.CompletionTokens != 10 || sc.FLOPs != 10000 {
			t.Errorf("%s: tokens %.1f flops %.0f per item", sc.Contestant, sc.CompletionTokens, sc.FLOPs)
		}
	}
	// The same seed gives the same answers.
	res2, err := Run(context.Background(), RunOptions{Dir: dir, Suite: additionSuite(300), Format: FormatSeance, Contestants: cs, Seed: 7, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Records {
		a, b := res.Records[i], res2.Records[i]
		if a.Item != b.Item || a.Answer != b.Answer || a.Seed != b.Seed {
			t.Fatalf("runs with the same seed differ: %+v vs %+v", a, b)
		}
	}
	// The board over both runs orders the contestants by skill.
	st, err := Board(dir, rating.Options{Resamples: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Runs != 2 || st.Items != 300 {
		t.Fatalf("board: %d runs, %d items", st.Runs, st.Items)
	}
	for _, rs := range [][]rating.Rating{st.Elo, st.BradleyTerry} {
		if !(rs[0].Estimate < rs[1].Estimate && rs[1].Estimate < rs[2].Estimate) {
			t.Errorf("ratings not ordered by skill: %+v", rs)
		}
	}
}

func TestComputeMatchedBaseline(t *testing.T) {
	dir := t.TempDir()
	base := &skilled{P: 0.6, Tokens: 100}
	teamModel := &skilled{P: 0.6, Tokens: 320}
	res, err := Run(context.Background(), RunOptions{
		Dir: dir, Suite: additionSuite(120), Format: FormatSeance, Seed: 3, Concurrency: 3, ComputeMatched: true,
		Contestants: []Contestant{{Name: "council", Model: teamModel, Team: true, BaseName: "small", Base: base}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res.Meta, res.Records, time.Now())
	if len(s.Scores) != 2 || len(s.Matches) != 1 {
		t.Fatalf("scores %+v matches %+v", s.Scores, s.Matches)
	}
	bl := s.Scores[1]
	if bl.Contestant != BaselineName("small", "council") || bl.Of != "council" {
		t.Fatalf("baseline %+v", bl)
	}
	// 320 generated tokens are matched by 3 samples of 100 (300 is closer than 400).
	if bl.Samples != 3 || bl.CompletionTokens != 300 {
		t.Errorf("baseline: %.2f samples, %.0f tokens per item; want 3 and 300", bl.Samples, bl.CompletionTokens)
	}
	// A majority of three samples right with p=0.6 is right with p=0.648, and wrong answers split
	// three ways, so the vote must not be worse than a single sample by much.
	if bl.Accuracy.High < 0.55 {
		t.Errorf("vote accuracy %+v is implausibly low", bl.Accuracy)
	}
	m := s.Matches[0]
	if m.TeamWins+m.BaselineWins+m.Ties != 120 {
		t.Errorf("match %+v does not cover the items", m)
	}
	if !m.Difference.Contains(float64(m.TeamWins-m.BaselineWins) / 120) {
		t.Errorf("difference %+v", m.Difference)
	}
}

// cancelAfter cancels the run after n answers, from inside the model.
type cancelAfter struct {
	inner  *skilled
	n      int64
	cancel context.CancelFunc
}

func (m *cancelAfter) Chat(ctx context.Context, req *chat.Request, s chat.StreamFunc) (*chat.Response, error) {
	if m.inner.Calls.Load() >= m.n {
		m.cancel()
		return nil, ctx.Err()
	}
	return m.inner.Chat(ctx, req, s)
}

func TestResumeSkipsRecordedItems(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	first := &cancelAfter{inner: &skilled{P: 0.5}, n: 17, cancel: cancel}
	_, err := Run(ctx, RunOptions{ID: "r1", Dir: dir, Suite: additionSuite(40), Format: FormatSeance, Seed: 1, Concurrency: 1,
		Contestants: []Contestant{{Name: "a", Model: first}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	done, err := ReadRecords(filepath.Join(dir, "r1"))
	if err != nil || len(done) != 17 {
		t.Fatalf("%d records after the interruption (%v)", len(done), err)
	}
	// Starting the same id again without --resume is refused.
	if _, err := Run(context.Background(), RunOptions{ID: "r1", Dir: dir, Suite: additionSuite(40), Format: FormatSeance, Contestants: []Contestant{{Name: "a", Model: &skilled{}}}}); err == nil {
		t.Fatal("a second run with the same id was accepted")
	}
	again := &skilled{P: 0.5}
	res, err := Run(context.Background(), RunOptions{ID: "r1", Dir: dir, Suite: additionSuite(40), Format: FormatSeance, Seed: 1, Resume: true,
		Contestants: []Contestant{{Name: "a", Model: again}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Calls.Load(); got != 23 {
		t.Errorf("the resumed run asked %d items, want 23", got)
	}
	if len(res.Records) != 40 {
		t.Errorf("%d records, want 40", len(res.Records))
	}
	// The resumed answers are those an uninterrupted run gives.
	full, err := Run(context.Background(), RunOptions{ID: "r2", Dir: dir, Suite: additionSuite(40), Format: FormatSeance, Seed: 1,
		Contestants: []Contestant{{Name: "a", Model: &skilled{P: 0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full.Records {
		if full.Records[i].Answer != res.Records[i].Answer {
			t.Errorf("item %s: resumed %q, uninterrupted %q", full.Records[i].Item, res.Records[i].Answer, full.Records[i].Answer)
		}
	}
}

func TestReadRecordsToleratesTornLastLine(t *testing.T) {
	dir := t.TempDir()
	good := `{"run":"r","suite":"s","item":"a","contestant":"c","correct":true,"verified":true}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte(good+`{"run":"r","suite":"s","it`), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := ReadRecords(dir)
	if err != nil || len(rs) != 1 || !rs[0].Correct {
		t.Fatalf("records %+v, %v", rs, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte(`{"broken`+"\n"+good), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecords(dir); err == nil {
		t.Fatal("a damaged line in the middle was accepted")
	}
}

// killEnv marks the re-executed child of TestResumeAfterKill.
const killEnv = "SEANCE_ARENA_KILL_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killEnv); dir != "" {
		// The child: a slow run that the parent kills with SIGKILL part way.
		_, err := Run(context.Background(), RunOptions{ID: "killed", Dir: dir, Suite: additionSuite(30), Format: FormatSeance, Seed: 5, Concurrency: 2,
			Contestants: []Contestant{{Name: "a", Model: &skilled{P: 0.5, Delay: 40 * time.Millisecond}}, {Name: "b", Model: &skilled{P: 0.7, Delay: 40 * time.Millisecond}}}})
		fmt.Fprintln(os.Stderr, "child finished:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestResumeAfterKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "killed", ResultsFile)
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(results)
		if bytes.Count(b, []byte("\n")) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the child recorded too little: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 3 {
		t.Fatalf("the child was not killed: %v %s", err, stderr.String())
	}
	before, err := ReadRecords(filepath.Join(dir, "killed"))
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 10 || len(before) >= 60 {
		t.Fatalf("%d records before resuming", len(before))
	}
	a, b := &skilled{P: 0.5}, &skilled{P: 0.7}
	res, err := Run(context.Background(), RunOptions{ID: "killed", Dir: dir, Suite: additionSuite(30), Format: FormatSeance, Seed: 5, Concurrency: 2, Resume: true,
		Contestants: []Contestant{{Name: "a", Model: a}, {Name: "b", Model: b}}})
	if err != nil {
		t.Fatal(err)
	}
	if asked := a.Calls.Load() + b.Calls.Load(); asked != int64(60-len(before)) {
		t.Errorf("resume asked %d answers; %d were recorded of 60", asked, len(before))
	}
	if len(res.Records) != 60 {
		t.Errorf("%d records after resuming, want 60", len(res.Records))
	}
	raw, _ := os.ReadFile(results)
	if n := bytes.Count(raw, []byte("\n")); n != 60 {
		t.Errorf("results.jsonl has %d lines, want 60 (no item recorded twice)", n)
	}
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), RunOptions{
		Dir: dir, Suite: additionSuite(50), Format: FormatSeance, Seed: 2, ComputeMatched: true,
		Contestants: []Contestant{
			{Name: "single", Model: &skilled{P: 0.4, Tokens: 50}},
			{Name: "team<x>", Model: &skilled{P: 0.7, Tokens: 200}, Team: true, BaseName: "single", Base: &skilled{P: 0.4, Tokens: 50}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res.Meta, res.Records, time.Now())
	names, err := WriteReport(res.Dir, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(res.Dir, n)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", n, err)
		}
	}
	svg := Chart(s)
	dec := xml.NewDecoder(strings.NewReader(svg))
	marks := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "circle" || se.Name.Local == "rect") {
			marks++
		}
	}
	// Two backgrounds (page, plot frame), three points, three legend dots.
	if marks != 8 {
		t.Errorf("chart has %d circles and rects, want 8", marks)
	}
	if !strings.Contains(svg, "estimated FLOPs per item") {
		t.Error("the chart's x axis is not FLOPs although every contestant has them")
	}
	md := Markdown(s)
	for _, want := range []string{"| single |", "team<x> (team)", "Teams against their base model", BaselineName("single", "team<x>")} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown report lacks %q:\n%s", want, md)
		}
	}
	page := HTML(s, svg)
	if strings.Contains(page, "team<x>") || !strings.Contains(page, "team&lt;x&gt;") {
		t.Error("the HTML report does not escape contestant names")
	}
}

// flaky is a model behind a server that can be down: while down, every call fails.
type flaky struct {
	inner *skilled
	down  atomic.Bool
	Calls atomic.Int64
}

func (m *flaky) Chat(ctx context.Context, req *chat.Request, s chat.StreamFunc) (*chat.Response, error) {
	m.Calls.Add(1)
	if m.down.Load() {
		return nil, errors.New("model server error: dial tcp 127.0.0.1:9: connect: connection refused")
	}
	return m.inner.Chat(ctx, req, s)
}

func TestResumeRetryErrors(t *testing.T) {
	dir := t.TempDir()
	team := &flaky{inner: &skilled{P: 0.6, Tokens: 100}}
	team.down.Store(true)
	base := &skilled{P: 0.6, Tokens: 50}
	opts := func(resume, retry bool) RunOptions {
		return RunOptions{ID: "r", Dir: dir, Suite: additionSuite(10), Format: FormatSeance, Seed: 4, ComputeMatched: true,
			Resume: resume, RetryErrors: retry,
			Contestants: []Contestant{{Name: "team", Model: team, Team: true, BaseName: "small", Base: base}}}
	}
	res, err := Run(context.Background(), opts(false, false))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res.Meta, res.Records, time.Now())
	if s.Scores[0].Errors != 10 || len(s.Scores[0].ErrorKinds) != 1 || s.Scores[0].ErrorKinds[0].Count != 10 ||
		!strings.Contains(s.Scores[0].ErrorKinds[0].Example, "connection refused") {
		t.Fatalf("the down team's score: %+v", s.Scores[0])
	}
	if md := Markdown(s); !strings.Contains(md, "## Errors") || !strings.Contains(md, "10 answers failed like this: model server error") {
		t.Errorf("the report does not say why the answers failed:\n%s", md)
	}
	// The votes were matched to a team that generated nothing: one sample each.
	if bl := s.Scores[1]; bl.Samples != 1 || bl.Errors != 0 {
		t.Fatalf("baseline %+v", bl)
	}

	// Resuming without RetryErrors keeps the recorded failures.
	team.down.Store(false)
	calls, baseCalls := team.Calls.Load(), base.Calls.Load()
	if _, err := Run(context.Background(), opts(true, false)); err != nil {
		t.Fatal(err)
	}
	if team.Calls.Load() != calls || base.Calls.Load() != baseCalls {
		t.Fatalf("a plain resume of a finished run asked %d team and %d base answers", team.Calls.Load()-calls, base.Calls.Load()-baseCalls)
	}
	// With RetryErrors the failed answers are asked again, and so are the votes matched to them.
	res, err = Run(context.Background(), opts(true, true))
	if err != nil {
		t.Fatal(err)
	}
	if got := team.Calls.Load() - calls; got != 10 {
		t.Errorf("the retry asked the team %d times, want 10", got)
	}
	s = Summarize(res.Meta, res.Records, time.Now())
	if len(res.Records) != 20 || s.Scores[0].Errors != 0 || s.Scores[0].CompletionTokens != 100 {
		t.Fatalf("after the retry: %d records, team %+v", len(res.Records), s.Scores[0])
	}
	// 100 tokens are matched by two samples of 50.
	if bl := s.Scores[1]; bl.Samples != 2 || bl.CompletionTokens != 100 {
		t.Errorf("the votes were not matched again: %+v", bl)
	}
	for _, r := range res.Records {
		if r.Of != "" && r.TargetTokens != 100 {
			t.Errorf("vote on %s matched to %d tokens", r.Item, r.TargetTokens)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "r", ResultsFile))
	if n := bytes.Count(raw, []byte("\n")); n != 40 {
		t.Errorf("results.jsonl has %d lines, want 40 (the first answers are kept, superseded)", n)
	}
}

func TestErrorKinds(t *testing.T) {
	got := errorKinds([]string{
		"the prompt has 249 tokens but the model's context holds 128",
		"timeout after 30s",
		"the prompt has 336 tokens but the model's context holds 128",
		"the prompt has 169 tokens but the model's context holds 128",
		"timeout after 30s",
		"model server error (502)",
		"no route to host",
	})
	want := []ErrorKind{
		{3, "the prompt has 249 tokens but the model's context holds 128"},
		{2, "timeout after 30s"},
		{1, "model server error (502)"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errorKinds = %v, want %v", got, want)
	}
	if errorKinds(nil) != nil {
		t.Error("no errors gave kinds")
	}
}

// TestResumeAfterTornLine: a resumed run's first record must not be glued to a torn last line (the
// file would then hold a damaged line in the middle and could no longer be read), and a last record
// that lost only its newline is kept, not asked again.
func TestResumeAfterTornLine(t *testing.T) {
	for _, c := range []struct {
		name  string
		cut   func(last []byte) []byte
		asked int64
	}{
		{"torn", func(last []byte) []byte { return last[:len(last)/2] }, 1},
		{"no newline", func(last []byte) []byte { return last[:len(last)-1] }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := func(m *skilled, resume bool) RunOptions {
				return RunOptions{ID: "r", Dir: dir, Suite: additionSuite(6), Format: FormatSeance, Seed: 8, Resume: resume,
					Contestants: []Contestant{{Name: "a", Model: m}}}
			}
			first, err := Run(context.Background(), opts(&skilled{P: 0.5}, false))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "r", ResultsFile)
			raw, _ := os.ReadFile(path)
			lines := bytes.SplitAfter(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
			last := append([]byte(nil), lines[len(lines)-1]...)
			last = append(last, '\n')
			damaged := append(bytes.Join(lines[:len(lines)-1], nil), c.cut(last)...)
			if err := os.WriteFile(path, damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			m := &skilled{P: 0.5}
			res, err := Run(context.Background(), opts(m, true))
			if err != nil {
				t.Fatal(err)
			}
			if m.Calls.Load() != c.asked {
				t.Errorf("the resume asked %d answers, want %d", m.Calls.Load(), c.asked)
			}
			recs, err := ReadRecords(filepath.Join(dir, "r"))
			if err != nil || len(recs) != 6 || len(res.Records) != 6 {
				t.Fatalf("after the resume: %d records read (%v), %d returned", len(recs), err, len(res.Records))
			}
			for i := range recs {
				if recs[i].Answer != first.Records[i].Answer {
					t.Errorf("item %s: %q, first %q", recs[i].Item, recs[i].Answer, first.Records[i].Answer)
				}
			}
			raw, _ = os.ReadFile(path)
			if n := bytes.Count(raw, []byte("\n")); n != 6 || raw[len(raw)-1] != '\n' {
				t.Errorf("results.jsonl has %d lines:\n%s", n, raw)
			}
		})
	}
}
