package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/app"
	"github.com/seance-dev/seance/internal/arena"
	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/testenv"
)

// arenaSummary is the part of 'arena run --json' these tests read.
type arenaSummary struct {
	Run    string
	Items  int
	Dir    string
	Files  []string
	Commit string
	Scores []struct {
		Contestant       string
		Of               string
		Items, Correct   int
		Errors           int
		CompletionTokens float64 `json:"completion_tokens_per_item"`
		FLOPs            float64 `json:"flops_per_item"`
		Samples          float64 `json:"samples_per_item"`
		ErrorKinds       []struct {
			Count   int
			Example string
		} `json:"error_kinds"`
	}
	Matches []struct{ Team, Baseline string }
}

// arenaServe serves the runner's home over the HTTP API on a loopback port, as 'seance serve' would,
// until the test ends.
func arenaServe(t *testing.T, r *runner, ln net.Listener) {
	t.Helper()
	cfg, err := config.Load(arenaEnv(r), config.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "arena-test") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
}

// arenaEnv is the environment r's commands see (as in runner.run).
func arenaEnv(r *runner) config.Env {
	return func(k string) (string, bool) {
		v, ok := map[string]string{"HOME": r.user, "SEANCE_OPENAI_API_KEY": "sk-secret-in-env"}[k]
		return v, ok
	}
}

// TestArenaOverTheAPI is the arena end to end with the embedded engine (stories260K) and a team, the
// team and its base model reached both in-process and through seance's own HTTP API (a configured
// backend and a bare openai+http URL, with an API key), on the shipped example suite. It checks what
// persists (results per item, the summary committed, the reports), the compute-matched baseline,
// the accounting, that answers over HTTP are those of the in-process models with the same seeds,
// resume of a torn run with API contestants, the board and the SFT export; then that a GSM8K prompt
// too long for stories260K is a clear recorded error both in-process and over HTTP.
func TestArenaOverTheAPI(t *testing.T) {
	r := newRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	home := filepath.Join(r.user, ".seance")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "openai+http://" + ln.Addr().String() + "/v1"
	const key = "sk-arena-e2e"
	// The example team (examples/arena/home) goes into the home, as docs/ARENA.md tells users to.
	for _, f := range []string{"agents/story-calm.md", "agents/story-wild.md", "teams/storytellers.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../examples/arena/home", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgYAML := fmt.Sprintf("serve:\n  api_keys: [%s]\nbackends:\n  - name: lan\n    url: %s\n    api_key: %s\n", key, base, key)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	arenaServe(t, r, ln)

	suite, err := filepath.Abs("../../examples/arena/stories.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	urlDefault := base + "#default"
	names := []string{"default", "team/storytellers", "lan/storytellers", urlDefault}
	code, out, errs := r.run("", "arena", "run", suite, "--contestants", strings.Join(names, ","), "--compute-matched",
		"--max-tokens", "16", "--concurrency", "2", "--seed", "11", "--json")
	if code != 0 {
		t.Fatalf("arena run: %d\n%s\n%s", code, out, errs)
	}
	var sum arenaSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	const items = 10
	want := append(names, arena.BaselineName("default", "team/storytellers"))
	if sum.Items != items || len(sum.Scores) != len(want) || len(sum.Matches) != 1 || sum.Commit == "" {
		t.Fatalf("summary: %s", out)
	}
	for i, sc := range sum.Scores {
		if sc.Contestant != want[i] || sc.Items != items || sc.Errors != 0 || sc.CompletionTokens <= 0 {
			t.Errorf("score %d: %+v", i, sc)
		}
		// The embedded engine estimates FLOPs; over HTTP the OpenAI-compatible backend reads them
		// from seance's "seance" accounting extension.
		if sc.FLOPs <= 0 {
			t.Errorf("%s: no FLOPs per item", sc.Contestant)
		}
	}
	if m := sum.Matches[0]; m.Team != "team/storytellers" || m.Baseline != want[4] {
		t.Errorf("match %+v", m)
	}

	// Every answer is persisted, verified, with its accounting.
	recs, err := arena.ReadRecords(sum.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != items*len(want) {
		t.Fatalf("%d records, want %d", len(recs), items*len(want))
	}
	byKey := map[string]arena.Record{}
	for _, rec := range recs {
		byKey[rec.Contestant+"\x00"+rec.Item] = rec
		if !rec.Verified || rec.Error != "" || rec.PromptTokens <= 0 || rec.CompletionTokens <= 0 || rec.Wall <= 0 || rec.Seed == 0 {
			t.Errorf("record %s/%s: %+v", rec.Contestant, rec.Item, rec)
		}
		if rec.Contestant == "team/storytellers" && (rec.TeamRun == "" || rec.CompletionTokens <= 16 || rec.CompletionTokens > 48) {
			t.Errorf("team record %s: run %q, %d tokens (want 3 samples of at most 16)", rec.Item, rec.TeamRun, rec.CompletionTokens)
		}
		if rec.Of == "team/storytellers" {
			if team := byKey["team/storytellers\x00"+rec.Item]; rec.TargetTokens != team.CompletionTokens || rec.Samples < 2 {
				t.Errorf("vote on %s: %d samples matched to %d tokens; the team generated %d", rec.Item, rec.Samples, rec.TargetTokens, team.CompletionTokens)
			}
		}
	}

	// Over HTTP the team and the model answer exactly as in-process with the same seed: the server
	// passes seed, max_tokens and the (absent) temperature through, and the embedded engine is
	// deterministic per seed.
	cfg, err := config.Load(arenaEnv(r), config.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	local, err := app.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	ctx := context.Background()
	for over, in := range map[string]string{"lan/storytellers": "team/storytellers", urlDefault: "default"} {
		c, err := local.Contestant(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		differ := 0
		for _, it := range []string{"girl-name", "sky-colour", "add", "say-cat"} {
			rec := byKey[over+"\x00"+it]
			seed := rec.Seed
			resp, err := c.Model.Chat(ctx, &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: rec.Prompt}}, MaxTokens: 16,
				Sampling: chat.Sampling{Seed: &seed}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != rec.Answer || resp.Usage.CompletionTokens != rec.CompletionTokens || resp.Usage.PromptTokens != rec.PromptTokens {
				t.Errorf("%s on %s with seed %d: over HTTP %q (%d+%d tokens), in-process %s %q (%d+%d)", over, it, seed, rec.Answer,
					rec.PromptTokens, rec.CompletionTokens, in, resp.Message.Content, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
			}
			if inRec := byKey[in+"\x00"+it]; inRec.Answer != rec.Answer {
				differ++ // different contestant names give different seeds
			}
		}
		if differ == 0 {
			t.Errorf("%s answered every item exactly as %s with other seeds: are seeds sent at all?", over, in)
		}
	}

	// The reports and the commit.
	for _, f := range append(sum.Files, arena.ResultsFile, arena.MetaFile) {
		if fi, err := os.Stat(filepath.Join(sum.Dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	report, _ := os.ReadFile(filepath.Join(sum.Dir, arena.ReportMarkdown))
	for _, w := range []string{urlDefault, "lan/storytellers", want[4], "Teams against their base model"} {
		if !strings.Contains(string(report), w) {
			t.Errorf("report.md lacks %q:\n%s", w, report)
		}
	}
	repo, err := gitrepo.Open(home, gitrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if log, err := repo.Log(ctx, 1, "arena/"+sum.Run+"/summary.json"); err != nil || len(log) != 1 || log[0].Hash != sum.Commit {
		t.Errorf("the summary is not committed: %v %v", log, err)
	}

	// A run cut short (a torn last line) resumes with the API contestants and gives the same answers.
	results := filepath.Join(sum.Dir, arena.ResultsFile)
	raw, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(raw, []byte("\n"))
	const keep = 27
	torn := append(bytes.Join(lines[:keep], nil), lines[keep][:len(lines[keep])/2]...)
	if err := os.WriteFile(results, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = r.run("", "arena", "run", "--resume", sum.Run)
	if code != 0 || !strings.Contains(errs, fmt.Sprintf("(%d recorded before)", keep)) {
		t.Fatalf("resume: %d\n%s\n%s", code, out, errs)
	}
	again, err := arena.ReadRecords(sum.Dir)
	if err != nil || len(again) != len(recs) {
		t.Fatalf("%d records after resuming (%v)", len(again), err)
	}
	for _, rec := range again {
		old := byKey[rec.Contestant+"\x00"+rec.Item]
		if rec.Answer != old.Answer || rec.Correct != old.Correct || rec.Error != "" {
			t.Errorf("resumed %s on %s: %q (correct %v, error %q), first %q", rec.Contestant, rec.Item, rec.Answer, rec.Correct, rec.Error, old.Answer)
		}
	}

	// The board and the export work on the run.
	code, out, errs = r.run("", "arena", "board", "--json", "--resamples", "50")
	var st struct {
		Runs, Items int
		Contestants []string
		Pairs       []struct{ A, B string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Runs != 1 || st.Items != items || len(st.Contestants) != len(want) ||
		len(st.Pairs) != len(want)*(len(want)-1)/2 {
		t.Errorf("board: %d %s %s", code, out, errs)
	}
	code, out, errs = r.run("", "arena", "export", "--sft", sum.Run)
	if code != 0 || !strings.Contains(errs, "records written") {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	overHTTP := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			Verified   bool
			Provenance struct{ Run, Contestant string }
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || !rec.Verified || rec.Provenance.Run != sum.Run {
			t.Errorf("SFT record: %v %s", err, l)
		}
		if rec.Provenance.Contestant == "lan/storytellers" || rec.Provenance.Contestant == urlDefault {
			overHTTP++
		}
	}
	if overHTTP == 0 {
		t.Errorf("no SFT record from the answers over HTTP:\n%s", out)
	}

	// GSM8K prompts do not fit stories260K's 128-token context: every answer is a recorded error that
	// says so, in-process and over HTTP, and the run still finishes with its report.
	gsm := testenv.Shared(t, "evals", "gsm8k", "dev.jsonl")
	code, out, errs = r.run("", "arena", "run", gsm, "--contestants", "default,lan/storytellers", "--limit", "2", "--json")
	if code != 0 {
		t.Fatalf("gsm8k: %d\n%s\n%s", code, out, errs)
	}
	var g arenaSummary
	if err := json.Unmarshal([]byte(out), &g); err != nil || g.Items != 2 || len(g.Scores) != 2 {
		t.Fatalf("gsm8k summary: %v\n%s", err, out)
	}
	for _, sc := range g.Scores {
		if sc.Errors != 2 || len(sc.ErrorKinds) != 1 || sc.ErrorKinds[0].Count != 2 ||
			!strings.Contains(sc.ErrorKinds[0].Example, "the model's context holds 128") {
			t.Errorf("gsm8k %s: %+v", sc.Contestant, sc)
		}
	}
	if report, _ := os.ReadFile(filepath.Join(g.Dir, arena.ReportMarkdown)); !strings.Contains(string(report), "2 answers failed like this: ") {
		t.Errorf("the gsm8k report does not say why:\n%s", report)
	}
}

// TestArenaRetryErrorsOverTheAPI: answers from a server that does not respond are recorded as
// errors; the run says how to ask them again, and --resume --retry-errors does once the server is up.
func TestArenaRetryErrorsOverTheAPI(t *testing.T) {
	r := newRunner(t)
	home := filepath.Join(r.user, ".seance")
	// The listener accepts connections (the kernel does) but nothing answers until it is served.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // when it was never served
	cfgYAML := fmt.Sprintf("backends:\n  - name: slow\n    url: openai+http://%s/v1\n    timeout: 500ms\n", ln.Addr())
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfgYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	suite, err := filepath.Abs("../../examples/arena/stories.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := r.run("", "arena", "run", suite, "--contestants", "default,slow/default", "--limit", "3", "--concurrency", "3",
		"--max-tokens", "8")
	if code != 0 {
		t.Fatalf("arena run: %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "slow/default: 3 answers failed like this:") || !strings.Contains(out, "--retry-errors") {
		t.Fatalf("the run does not say what failed and how to retry:\n%s", out)
	}
	if !strings.Contains(out, "within 500ms") {
		t.Errorf("the error does not name the backend's timeout:\n%s", out)
	}
	id := strings.Fields(out[strings.Index(out, "\nrun ")+5:])[0]
	id = strings.TrimSuffix(id, ":")
	if code, _, errs := r.run("", "arena", "run", "--retry-errors", suite); code != 2 || !strings.Contains(errs, "--resume") {
		t.Errorf("--retry-errors without --resume: %d %s", code, errs)
	}

	arenaServe(t, r, ln)
	code, out, errs = r.run("", "arena", "run", "--resume", id, "--retry-errors", "--json")
	if code != 0 {
		t.Fatalf("retry: %d\n%s\n%s", code, out, errs)
	}
	var sum arenaSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || len(sum.Scores) != 2 {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	for _, sc := range sum.Scores {
		if sc.Errors != 0 || sc.Items != 3 || sc.CompletionTokens != 8 {
			t.Errorf("after the retry: %+v", sc)
		}
	}
	if !strings.Contains(errs, "(3 recorded before)") {
		t.Errorf("the retry did not keep the in-process answers: %s", errs)
	}
}
