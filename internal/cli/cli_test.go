package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/testenv"
)

// sharedStories returns the shared test data folder (see internal/testenv).
func sharedStories(t *testing.T) string {
	t.Helper()
	return testenv.Shared(t, "models", "stories260K")
}

// run runs the CLI in a fresh home with the default model in place.
type runner struct {
	t    *testing.T
	user string
}

func newRunner(t *testing.T) *runner {
	user := t.TempDir()
	models := filepath.Join(user, ".seance", "models")
	if err := os.MkdirAll(models, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(sharedStories(t), "stories260K-f32.gguf")
	if err := os.Symlink(src, filepath.Join(models, config.DefaultModelFile)); err != nil {
		t.Fatal(err)
	}
	return &runner{t: t, user: user}
}

func (r *runner) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	env := map[string]string{"HOME": r.user, "SEANCE_OPENAI_API_KEY": "sk-secret-in-env"}
	code = Run(context.Background(), args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errb.String()
}

func TestAskJSON(t *testing.T) {
	r := newRunner(t)
	code, out, errs := r.run("", "ask", "--json", "--temperature", "0", "--max-tokens", "8", "--logprobs", "2", "Once", "upon", "a", "time")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res askResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.Content != ", there was a little girl" || res.FinishReason != "length" || res.Usage.CompletionTokens != 8 {
		t.Errorf("result %+v", res)
	}
	if len(res.Logprobs) != 8 || res.Usage.FLOPs <= 0 {
		t.Errorf("logprobs %d, flops %v", len(res.Logprobs), res.Usage.FLOPs)
	}
}

func TestAskStreamsAndReadsStdin(t *testing.T) {
	r := newRunner(t)
	code, out, errs := r.run("Once upon a time", "ask", "--temperature", "0", "--max-tokens", "8", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != ", there was a little girl\n" {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(errs, "5 prompt + 8 completion tokens") || !strings.Contains(errs, "FLOPs") {
		t.Errorf("usage line missing: %q", errs)
	}
}

func TestUsageErrors(t *testing.T) {
	r := newRunner(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"ask", "--max-tokens", "0", "hi"}, 2, "--max-tokens"},
		{[]string{"ask", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"ask", "--model", "missing-model", "hi"}, 1, `model "missing-model" not found`},
		{[]string{"ask", "--model", "/nonexistent/m.gguf", "hi"}, 1, "does not exist"},
		{[]string{"config"}, 2, "config show"},
		{[]string{"convert", "llama2c"}, 2, "expected"},
		{[]string{"serve", "extra"}, 2, "unexpected arguments"},
	} {
		code, _, errs := r.run("", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errs, c.code, c.want)
		}
	}
}

func TestModelsVersionConfig(t *testing.T) {
	r := newRunner(t)
	code, out, errs := r.run("", "models", "--json", "--local")
	if code != 0 {
		t.Fatalf("models: %d %s", code, errs)
	}
	var rows []struct {
		ID, Architecture, Source string
		Parameters               int64
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != "default" || rows[0].Architecture != "llama" || rows[0].Parameters == 0 {
		t.Errorf("models %+v", rows)
	}
	code, out, _ = r.run("", "version", "--json")
	var v versionInfo
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || v.Commit == "" || v.GoVersion == "" {
		t.Errorf("version: %d %q", code, out)
	}
	if err := os.WriteFile(filepath.Join(r.user, ".seance", "config.yaml"),
		[]byte("backends:\n  - name: lan\n    url: openai+http://127.0.0.1:1/v1\n    api_key: sk-secret-in-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"config", "show"}, {"config", "show", "--json"}} {
		code, out, errs = r.run("", args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		if strings.Contains(out, "sk-secret") || !strings.Contains(out, "[redacted]") {
			t.Errorf("%v leaks or does not redact:\n%s", args, out)
		}
	}
}

func TestConvert(t *testing.T) {
	r := newRunner(t)
	dir := sharedStories(t)
	out := filepath.Join(t.TempDir(), "converted.gguf")
	code, _, errs := r.run("", "convert", "llama2c", "-o", out, filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin"))
	if code != 0 {
		t.Fatalf("convert: %d %s", code, errs)
	}
	code, stdout, errs := r.run("", "ask", "--model", out, "--json", "--temperature", "0", "--max-tokens", "8", "Once upon a time")
	if code != 0 || !strings.Contains(stdout, `", there was a little girl"`) {
		t.Errorf("the converted model does not continue the story: %d %s %s", code, stdout, errs)
	}
	// A failed conversion leaves no file behind.
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	code, _, _ = r.run("", "convert", "llama2c", "-o", bad, filepath.Join(dir, "tok512.bin"), filepath.Join(dir, "tok512.bin"))
	if _, err := os.Stat(bad); code == 0 || err == nil {
		t.Errorf("bad conversion: exit %d, file exists: %v", code, err == nil)
	}
}

func TestParseInterspersed(t *testing.T) {
	e := &env{Stdio: Stdio{Err: &bytes.Buffer{}}}
	commands["test-parse"] = command{summary: "test"}
	defer delete(commands, "test-parse")
	fs := e.flagSet("test-parse", "")
	n := fs.Int("n", 0, "")
	b := fs.Bool("b", false, "")
	pos, err := parse(fs, []string{"a", "-n", "3", "b", "-b", "--", "-n", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if *n != 3 || !*b || strings.Join(pos, " ") != "a b -n c" {
		t.Errorf("n=%d b=%v pos=%q", *n, *b, pos)
	}
}

func TestRunTeam(t *testing.T) {
	r := newRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	home := filepath.Join(r.user, ".seance")
	for rel, data := range map[string]string{
		"agents/teller.md":   "---\nname: teller\ndescription: tells stories\nmodel: default\ntemperature: 1.0\nmax_tokens: 10\n---\n",
		"teams/tellers.yaml": "name: tellers\ndescription: vote\npattern: vote\nmembers: [teller]\nparams:\n  samples: 3\n  extract: exact\n  seed: 3\n",
	} {
		if err := os.WriteFile(filepath.Join(home, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := r.run("", "run", "tellers", "Once upon a time")
	if code != 0 {
		t.Fatalf("run: %d %s", code, errs)
	}
	if strings.TrimSpace(out) == "" || !strings.Contains(errs, "▶ tellers · vote") || strings.Count(errs, "✓ teller") != 3 ||
		!strings.Contains(errs, "∑ tally") || !strings.Contains(errs, "3 calls") {
		t.Errorf("live view:\n%s\nanswer %q", errs, out)
	}
	code, out, errs = r.run("", "run", "--events", "tellers", "Once upon a time")
	if code != 0 {
		t.Fatalf("run --events: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first, last struct{ Kind string }
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil ||
		first.Kind != "run_started" || last.Kind != "run_finished" {
		t.Errorf("events:\n%s", out)
	}
	code, out, _ = r.run("", "runs", "list", "--json")
	if code != 0 || strings.Count(out, `"team": "tellers"`) != 2 {
		t.Errorf("runs list after two runs:\n%s", out)
	}
	if code, _, errs := r.run("", "run", "no-such-team", "x"); code != 1 || !strings.Contains(errs, "no team") {
		t.Errorf("unknown team: %d %s", code, errs)
	}
}

// TestRunReplaysWithSeeds checks that with the embedded engine the same seeds give the same
// transcript: the same seeds sent, the same member outputs, the same answer.
func TestRunReplaysWithSeeds(t *testing.T) {
	r := newRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	home := filepath.Join(r.user, ".seance")
	for rel, data := range map[string]string{
		"agents/teller.md":   "---\nname: teller\ndescription: tells stories\nmodel: default\ntemperature: 1.0\nmax_tokens: 16\n---\n",
		"teams/tellers.yaml": "name: tellers\ndescription: vote\npattern: vote\nmembers: [teller]\nparams:\n  samples: 3\n  extract: exact\n  seed: 11\n",
	} {
		if err := os.WriteFile(filepath.Join(home, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type transcript struct {
		Answer string
		Calls  []struct {
			Seed   *int64
			Output string
		}
	}
	var runs [2]transcript
	for i := range runs {
		code, out, errs := r.run("", "run", "--json", "tellers", "Once upon a time")
		if code != 0 {
			t.Fatalf("run: %d %s", code, errs)
		}
		if err := json.Unmarshal([]byte(out), &runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(runs[0].Calls) != 3 {
		t.Fatalf("%d calls", len(runs[0].Calls))
	}
	// Members run in parallel, so calls are listed in the order they happened to start: match them
	// by seed.
	bySeed := map[int64]string{}
	for _, c := range runs[1].Calls {
		if c.Seed == nil {
			t.Fatalf("a call without a seed: %+v", c)
		}
		bySeed[*c.Seed] = c.Output
	}
	distinct := map[string]bool{}
	for _, c := range runs[0].Calls {
		if c.Seed == nil || bySeed[*c.Seed] != c.Output {
			t.Errorf("seed %v: %q, the replay gave %q", deref(c.Seed), c.Output, bySeed[deref64(c.Seed)])
		}
		distinct[c.Output] = true
	}
	if runs[0].Answer != runs[1].Answer {
		t.Errorf("answers differ: %q vs %q", runs[0].Answer, runs[1].Answer)
	}
	if len(distinct) < 2 {
		t.Errorf("the three samples are identical; the seeds did not vary: %v", distinct)
	}
}

func deref64(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRunWithToolsNeedsWorkspace(t *testing.T) {
	r := newRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	home := filepath.Join(r.user, ".seance")
	for rel, data := range map[string]string{
		"agents/worker.md": "---\nname: worker\ndescription: works\nmodel: default\nmax_tokens: 8\ntools: [read_file, write_file]\n---\n",
		"teams/crew.yaml":  "name: crew\ndescription: one worker\npattern: vote\nmembers: [worker]\nparams:\n  samples: 1\n",
	} {
		if err := os.WriteFile(filepath.Join(home, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errs := r.run("", "run", "crew", "Once upon a time")
	if code == 0 || !strings.Contains(errs, "needs a workspace") {
		t.Errorf("tools without a workspace: %d %s", code, errs)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	code, out, errs := r.run("", "run", "--workspace", ws, "crew", "Once upon a time")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("run with a workspace: %d %q %s", code, out, errs)
	}
	// The workspace is a git repository with the run's branch checked out.
	head, err := os.ReadFile(filepath.Join(ws, ".git", "HEAD"))
	if err != nil || !strings.Contains(string(head), "refs/heads/seance/run/") {
		t.Errorf("workspace HEAD %q (%v)", head, err)
	}
}
