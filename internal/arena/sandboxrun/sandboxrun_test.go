//go:build linux && (amd64 || arm64)

package sandboxrun

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/arena"
	"github.com/seance-dev/seance/internal/arena/verify"
	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/testenv"
)

// TestMain lets the test binary serve as its own sandbox child.
func TestMain(m *testing.M) {
	sandbox.MaybeChild()
	os.Exit(m.Run())
}

func needSandbox(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the sandbox's cgroups need root; CI runs these as root")
	}
	if _, err := os.Stat(DefaultPython); err != nil {
		t.Skipf("%s is not installed", DefaultPython)
	}
}

// codeItems loads a code suite from the shared development data; under -short only the first n.
func codeItems(t *testing.T, format arena.Format, n int, elem ...string) []arena.Item {
	t.Helper()
	s, err := arena.Open(testenv.Shared(t, elem...), format)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() && len(s.Items) > n {
		return s.Items[:n]
	}
	return s.Items
}

func TestHumanEvalCanonicalSolutionsPass(t *testing.T) {
	needSandbox(t)
	r := New(Options{})
	items := codeItems(t, arena.FormatHumanEval, 4, "evals", "humaneval", "dev.jsonl")
	for _, it := range items {
		v, err := it.NewVerifier(r)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		got, err := v.Verify(ctx, "```python\n"+it.Code.Solution+"\n```")
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", it.ID, err)
		}
		if !got.Correct {
			t.Errorf("%s: canonical solution judged wrong: %s", it.ID, got.Reason)
		}
		// A broken body: the right signature returning nothing useful.
		broken, err := v.Verify(context.Background(), "    return None\n")
		if err != nil {
			t.Fatalf("%s broken: %v", it.ID, err)
		}
		if broken.Correct {
			t.Errorf("%s: a body that returns None passed the tests", it.ID)
		}
	}
}

func TestMBPPReferenceSolutionsPass(t *testing.T) {
	needSandbox(t)
	r := New(Options{})
	items := codeItems(t, arena.FormatMBPP, 3, "evals", "mbpp", "train-validation-prompt.jsonl")
	if !testing.Short() && len(items) > 40 {
		items = items[:40]
	}
	for _, it := range items {
		v, err := it.NewVerifier(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(context.Background(), it.Code.Solution)
		if err != nil {
			t.Fatalf("%s: %v", it.ID, err)
		}
		if !got.Correct {
			t.Errorf("%s: reference solution judged wrong: %s", it.ID, got.Reason)
		}
		bad, err := v.Verify(context.Background(), "raise SystemExit(3)")
		if err != nil {
			t.Fatalf("%s broken: %v", it.ID, err)
		}
		if bad.Correct {
			t.Errorf("%s: a program that exits 3 passed", it.ID)
		}
	}
}

func TestLimitsAndIsolation(t *testing.T) {
	needSandbox(t)
	r := New(Options{})
	ctx := context.Background()
	for _, c := range []struct {
		name, src string
		wall      time.Duration
		wantKill  string
		wantExit  int
	}{
		{"ok", "print('hi')", 10 * time.Second, "", 0},
		{"fails", "assert 1 == 2", 10 * time.Second, "", 1},
		{"wall", "while True:\n    pass", time.Second, "wall", -1},
		{"memory", "x = bytearray(1 << 30)\nprint(len(x))", 10 * time.Second, "memory", -1},
		{"no network", "import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=1)", 10 * time.Second, "", 1},
		{"no secrets", "open('/etc/shadow').read()", 10 * time.Second, "", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex, err := r.Run(ctx, verify.Program{Language: "python", Source: c.src, Wall: c.wall, Memory: 256 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if ex.Killed != c.wantKill {
				t.Errorf("killed %q, want %q (exit %d, %s)", ex.Killed, c.wantKill, ex.ExitCode, ex.Output)
			}
			if c.wantKill == "" && ex.ExitCode != c.wantExit {
				t.Errorf("exit %d, want %d (%s)", ex.ExitCode, c.wantExit, ex.Output)
			}
			if c.name == "ok" && !strings.Contains(ex.Output, "hi") {
				t.Errorf("output %q", ex.Output)
			}
		})
	}
	if _, err := r.Run(ctx, verify.Program{Language: "ruby", Source: "puts 1"}); err == nil {
		t.Error("a ruby program was accepted")
	}
}

// oracle answers a code prompt with the reference solution of the item whose prompt it is sent, or,
// when broken, with a body that returns None.
type oracle struct {
	byPrompt map[string]string
	broken   bool
}

func (o oracle) Chat(_ context.Context, req *chat.Request, _ chat.StreamFunc) (*chat.Response, error) {
	sol := "    return None\n"
	if !o.broken {
		sol = o.byPrompt[req.Messages[0].Content]
	}
	return &chat.Response{Message: chat.Message{Role: chat.Assistant, Content: "Here it is:\n```python\n" + sol + "\n```"},
		Usage: chat.Usage{CompletionTokens: 20}}, nil
}

func TestArenaRunWithSandbox(t *testing.T) {
	needSandbox(t)
	items := codeItems(t, arena.FormatHumanEval, 3, "evals", "humaneval", "dev.jsonl")
	if len(items) > 8 {
		items = items[:8]
	}
	suite := &arena.Suite{Name: "humaneval/dev", Items: items}
	good := oracle{byPrompt: map[string]string{}}
	for _, it := range items {
		good.byPrompt[arena.Prompt(arena.FormatHumanEval, it)] = it.Code.Prefix + it.Code.Solution
	}
	res, err := arena.Run(context.Background(), arena.RunOptions{
		Dir: t.TempDir(), Suite: suite, Format: arena.FormatHumanEval, Runner: New(Options{}), Concurrency: 2,
		Contestants: []arena.Contestant{{Name: "oracle", Model: good}, {Name: "broken", Model: oracle{broken: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := arena.Summarize(res.Meta, res.Records, time.Now())
	if s.Scores[0].Correct != len(items) || s.Scores[1].Correct != 0 {
		for _, r := range res.Records {
			t.Logf("%s %s: %v %s", r.Contestant, r.Item, r.Correct, r.Reason)
		}
		t.Fatalf("oracle %d/%d, broken %d/%d", s.Scores[0].Correct, len(items), s.Scores[1].Correct, len(items))
	}
}
