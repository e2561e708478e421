package home

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/team"
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// txtar is a minimal reader of txtar archives: a comment, then "-- name --" headers each followed by
// the file's content.
func txtar(t *testing.T, src string) map[string]string {
	t.Helper()
	files := map[string]string{}
	name := ""
	var b strings.Builder
	flush := func() {
		if name != "" {
			files[name] = b.String()
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(src, "\n") {
		trim := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trim, "-- ") && strings.HasSuffix(trim, " --") && len(trim) > 6 {
			flush()
			name = strings.TrimSuffix(strings.TrimPrefix(trim, "-- "), " --")
			continue
		}
		b.WriteString(line)
	}
	flush()
	return files
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestValidationErrors loads each testdata/invalid archive as a home and compares every reported
// problem, in order, with the archive's "want" file.
func TestValidationErrors(t *testing.T) {
	t.Parallel()
	cases, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(c), ".txtar"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			files := txtar(t, string(src))
			want := strings.TrimSpace(files["want"])
			delete(files, "want")
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, files)
			h, err := Load(dir)
			if err == nil {
				t.Fatal("Load accepted the home")
			}
			if fault.CodeOf(err) != fault.Invalid {
				t.Errorf("code %s", fault.CodeOf(err))
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("not a ValidationError: %v", err)
			}
			lines := make([]string, len(ve.Problems))
			for i, p := range ve.Problems {
				lines[i] = p.String()
			}
			if got := strings.Join(lines, "\n"); got != want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
			if len(ve.Problems) > 1 && !strings.HasPrefix(ve.Error(), "\n  "+lines[0]+"\n  ") {
				t.Errorf("several problems are not listed one a line: %q", ve.Error())
			}
			if h == nil {
				t.Fatal("no Home returned with the problems")
			}
			// Valid specs are still returned; invalid ones are not.
			for _, tm := range h.Teams() {
				if strings.Contains(want, tm.Source+":") {
					t.Errorf("team %s has a problem but was returned", tm.Name)
				}
			}
		})
	}
}

func TestLoadNotAHome(t *testing.T) {
	t.Parallel()
	_, err := Load(t.TempDir())
	if fault.CodeOf(err) != fault.NotFound || !strings.Contains(err.Error(), "seance init") {
		t.Errorf("Load of an empty folder: %v", err)
	}
}

func TestParseAgent(t *testing.T) {
	t.Parallel()
	src := "---\nname: a\ndescription: d\nmodel: gguf:/m.gguf\npersona: p\ntemperature: 0.5\ntop_p: 0.9\ntop_k: 40\n" +
		"min_p: 0.05\nrepeat_penalty: 1.1\npresence_penalty: -0.5\nfrequency_penalty: 0.5\nseed: -7\nmax_tokens: 99\n" +
		"tools: [search, calc]\nmemory: [notes]\n---\n\nYou are a.\n\nSecond paragraph.\n"
	var list []Problem
	af, ok := parseAgent("agents/a.md", "a", []byte(src), &list)
	if !ok {
		t.Fatalf("problems %v", list)
	}
	a := af.spec
	s := a.Sampling
	if a.Name != "a" || a.Description != "d" || a.Model != "gguf:/m.gguf" || a.Persona != "p" || a.MaxTokens != 99 ||
		*s.Temperature != 0.5 || *s.TopP != 0.9 || *s.TopK != 40 || *s.MinP != 0.05 || *s.RepeatPenalty != 1.1 ||
		*s.PresencePenalty != -0.5 || *s.FrequencyPenalty != 0.5 || *s.Seed != -7 ||
		strings.Join(a.Tools, ",") != "search,calc" || strings.Join(a.Memory, ",") != "notes" ||
		a.System != "You are a.\n\nSecond paragraph." {
		t.Errorf("agent %+v", a)
	}
	// Round trip through MarshalAgent.
	out, err := MarshalAgent(a)
	if err != nil {
		t.Fatal(err)
	}
	again, ok := parseAgent("agents/a.md", "a", out, &list)
	if !ok {
		t.Fatalf("re-read problems %v\n%s", list, out)
	}
	if again.spec.System != a.System || *again.spec.Sampling.Seed != -7 || *again.spec.Sampling.TopK != 40 || again.spec.Model != a.Model {
		t.Errorf("round trip %+v\n%s", again.spec, out)
	}
	// Defaults: the name from the file, the default model, no sampling.
	af, ok = parseAgent("agents/b.md", "b", []byte("---\ndescription: x\n---\nHi"), &list)
	if !ok || af.spec.Name != "b" || af.spec.Model != DefaultModel || af.spec.Sampling.Temperature != nil {
		t.Errorf("defaults %+v %v", af.spec, list)
	}
}

func TestParseTeamParamsAndBudget(t *testing.T) {
	t.Parallel()
	src := "name: t\npattern: vote\nmembers: [a, b]\nparams:\n  samples: 5\n  extract: number\n  weights: {a: 2, b: 0.5}\n" +
		"budget:\n  tokens: 1000\n  wall: 90s\n  member_timeout: 1m\n  parallel: 2\n"
	var list []Problem
	tf, ok := parseTeam("teams/t.yaml", "t", []byte(src), &list)
	if !ok {
		t.Fatal(list)
	}
	tm := tf.spec
	if string(tm.Params) != `{"extract":"number","samples":5,"weights":{"a":2,"b":0.5}}` {
		t.Errorf("params %s", tm.Params)
	}
	b := tm.Budget
	if b.Tokens != 1000 || b.Wall.Seconds() != 90 || b.MemberTimeout.Minutes() != 1 || b.Parallel != 2 {
		t.Errorf("budget %+v", b)
	}
	out, err := MarshalTeam(tm)
	if err != nil {
		t.Fatal(err)
	}
	again, ok := parseTeam("teams/t.yaml", "t", out, &list)
	if !ok || string(again.spec.Params) != string(tm.Params) || again.spec.Budget != b {
		t.Errorf("round trip %+v %v\n%s", again.spec, list, out)
	}
}

func TestBlobSHAMatchesGit(t *testing.T) {
	t.Parallel()
	needGit(t)
	r, err := gitrepo.Init(context.Background(), t.TempDir(), gitrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "a\n", "---\nname: x\n---\nbody ✓\n"} {
		want, err := r.HashObject(context.Background(), []byte(s), false)
		if err != nil {
			t.Fatal(err)
		}
		if got := blobSHA([]byte(s)); got != want {
			t.Errorf("blobSHA(%q) = %s, git says %s", s, got, want)
		}
	}
}

func noModel(context.Context, string) (llm.Model, *team.Agent, error) {
	return nil, nil, errors.New("unused")
}

var _ team.Resolver = noModel

func chatSampling(temp *float64) chat.Sampling { return chat.Sampling{Temperature: temp} }
