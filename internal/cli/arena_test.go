package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/gitrepo"
)

// TestArenaEndToEnd runs the embedded default model (stories260K, which writes children's stories)
// and a vote team of it on a small suite: the pipeline, verification, persistence, the compute-matched
// baseline, the report, the commit, resume, the board and the export are what is tested; the scores
// are whatever a story model earns.
func TestArenaEndToEnd(t *testing.T) {
	r := newRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	home := filepath.Join(r.user, ".seance")
	suite := filepath.Join(r.user, "tiny.jsonl")
	for path, data := range map[string]string{
		filepath.Join(home, "agents/teller.md"):   "---\nname: teller\ndescription: tells stories\nmodel: default\ntemperature: 1.0\n---\n",
		filepath.Join(home, "teams/tellers.yaml"): "name: tellers\ndescription: vote\npattern: vote\nmembers: [teller]\nparams:\n  samples: 3\n  extract: exact\n  seed: 3\n",
		suite: `{"id":"add","prompt":"What is 2+2?","verifier":"numeric","gold":"4"}
{"id":"story","prompt":"Once upon a time","verifier":"regex","gold":"(?i)\\b(the|a|he|she|they|was)\\b"}
{"id":"colour","prompt":"Sky colour, one word?","verifier":"exact","gold":"blue"}
`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := r.run("", "arena", "run", suite, "--contestants", "default,team/tellers", "--compute-matched",
		"--max-tokens", "12", "--concurrency", "2", "--seed", "9", "--json")
	if code != 0 {
		t.Fatalf("arena run: %d\n%s\n%s", code, out, errs)
	}
	var sum struct {
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
		}
		Matches []struct{ Team, Baseline string }
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	if sum.Items != 3 || len(sum.Scores) != 3 || len(sum.Matches) != 1 || sum.Commit == "" {
		t.Fatalf("summary: %s", out)
	}
	want := []string{"default", "team/tellers", "vote(default)~team/tellers"}
	for i, sc := range sum.Scores {
		if sc.Contestant != want[i] || sc.Items != 3 || sc.Errors != 0 || sc.CompletionTokens <= 0 || sc.FLOPs <= 0 {
			t.Errorf("score %d: %+v", i, sc)
		}
	}
	// The team generated about three answers' worth; the vote is matched to it.
	if tm, bl := sum.Scores[1], sum.Scores[2]; bl.Samples < 2 || bl.CompletionTokens < tm.CompletionTokens/2 || bl.CompletionTokens > 2*tm.CompletionTokens {
		t.Errorf("compute matching: team %.1f tokens/item, vote %.1f tokens/item in %.1f samples", tm.CompletionTokens, bl.CompletionTokens, bl.Samples)
	}
	if sum.Scores[0].Correct == 0 {
		t.Errorf("the story model did not even match the story regex: %s", out)
	}
	for _, f := range append(sum.Files, "results.jsonl", "run.json") {
		if _, err := os.Stat(filepath.Join(sum.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	report, _ := os.ReadFile(filepath.Join(sum.Dir, "report.md"))
	if !strings.Contains(string(report), "vote(default)~team/tellers") || !strings.Contains(string(report), "chart.svg") {
		t.Errorf("report.md:\n%s", report)
	}
	repo, err := gitrepo.Open(home, gitrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := repo.Log(context.Background(), 1, "arena/"+sum.Run+"/summary.json")
	if err != nil || len(log) != 1 || log[0].Hash != sum.Commit {
		t.Errorf("the summary is not committed: %v %v", log, err)
	}

	// Resuming a finished run asks nothing again and gives the same results.
	results := filepath.Join(sum.Dir, "results.jsonl")
	before, _ := os.ReadFile(results)
	code, out, errs = r.run("", "arena", "run", "--resume", sum.Run)
	if code != 0 || !strings.Contains(errs, "(6 recorded before)") {
		t.Fatalf("resume: %d\n%s\n%s", code, out, errs)
	}
	if after, _ := os.ReadFile(results); string(after) != string(before) {
		t.Error("resuming a finished run changed its results")
	}

	code, out, errs = r.run("", "arena", "board", "--json", "--resamples", "50")
	var st struct {
		Runs, Items int
		Contestants []string
		Elo         []struct{ Name string }
		Pairs       []struct{ A, B string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Runs != 1 || st.Items != 3 || len(st.Contestants) != 3 || len(st.Elo) != 3 || len(st.Pairs) != 3 {
		t.Errorf("board: %d %s %s", code, out, errs)
	}
	code, out, errs = r.run("", "arena", "board")
	if code != 0 || !strings.Contains(out, "BRADLEY-TERRY") || !strings.Contains(out, "team/tellers") {
		t.Errorf("board table: %d %s %s", code, out, errs)
	}

	code, out, errs = r.run("", "arena", "export", "--sft", sum.Run)
	if code != 0 || !strings.Contains(errs, "records written") {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rec struct {
		Messages   []struct{ Role, Content string }
		Verified   bool
		Provenance struct {
			Run, Contestant string
			FilesHash       string `json:"files_hash"`
		}
	}
	if len(lines) == 0 || json.Unmarshal([]byte(lines[0]), &rec) != nil || !rec.Verified || rec.Provenance.Run != sum.Run || len(rec.Messages) != 2 {
		t.Errorf("SFT export:\n%s", out)
	}
	for _, l := range lines {
		if strings.Contains(l, `"contestant":"team/tellers"`) && !strings.Contains(l, `"files_hash"`) {
			t.Errorf("a team's record lacks the hash of its files: %s", l)
		}
	}
	if code, _, _ := r.run("", "arena", "export", sum.Run); code != 2 {
		t.Errorf("export without --sft or --dpo: exit %d", code)
	}
	if code, _, errs := r.run("", "arena", "run", suite, "--contestants", "team/nobody"); code != 1 || !strings.Contains(errs, "no team") {
		t.Errorf("unknown team: %d %s", code, errs)
	}
}
