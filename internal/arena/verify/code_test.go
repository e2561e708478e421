package verify

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonRunner is the tests' own CodeRunner: python3 in a temporary directory with a wall-clock
// limit and an empty environment. It is not a sandbox; real runs go through internal/sandbox.
type pythonRunner struct{ dir string }

func newPythonRunner(t *testing.T) pythonRunner {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	return pythonRunner{dir: t.TempDir()}
}

func (r pythonRunner) Run(ctx context.Context, p Program) (Execution, error) {
	wall := p.Wall
	if wall == 0 {
		wall = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wall)
	defer cancel()
	dir, err := os.MkdirTemp(r.dir, "run")
	if err != nil {
		return Execution{}, err
	}
	file := filepath.Join(dir, "main.py")
	if err := os.WriteFile(file, []byte(p.Source), 0o600); err != nil {
		return Execution{}, err
	}
	cmd := exec.CommandContext(ctx, "python3", "-I", file)
	cmd.Dir, cmd.Env = dir, []string{"PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	ex := Execution{Output: out.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		ex.Killed, ex.ExitCode = "wall", -1
	case errors.As(err, &exit):
		ex.ExitCode = exit.ExitCode()
	case err != nil:
		return Execution{}, err
	}
	return ex, nil
}

func TestCodeVerifier(t *testing.T) {
	r := newPythonRunner(t)
	ctx := context.Background()
	prefix := "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n"
	tests := "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"
	c := Code{Runner: r, Prefix: prefix, Tests: tests, EntryPoint: "add", Wall: 5 * time.Second}
	cases := []struct {
		name, reply string
		want        bool
	}{
		{"body", "    return a + b\n", true},
		{"fenced definition", "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.", true},
		{"wrong", "```python\ndef add(a, b):\n    return a - b\n```", false},
		{"syntax error", "```python\ndef add(a, b)\n    return a + b\n```", false},
		{"endless", "    while True:\n        pass\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc := c
			if tc.name == "endless" {
				cc.Wall = 500 * time.Millisecond
			}
			v, err := cc.Verify(ctx, tc.reply)
			if err != nil {
				t.Fatal(err)
			}
			if v.Correct != tc.want {
				t.Errorf("correct = %v, want %v (%s)", v.Correct, tc.want, v.Reason)
			}
			if tc.name == "endless" && !strings.Contains(v.Reason, "wall") {
				t.Errorf("reason %q does not name the wall limit", v.Reason)
			}
		})
	}
	if _, err := (Code{Tests: tests}).Verify(ctx, "x"); err == nil {
		t.Error("a code verifier without a runner did not fail")
	}
}

func TestExtractCode(t *testing.T) {
	reply := "```js\nno\n```\n```python\ndef helper(): pass\n```\n```python\ndef f(x):\n    return x\n```\n```\nprint(1)\n```"
	if got := ExtractCode(reply, "f"); !strings.Contains(got, "def f(x)") {
		t.Errorf("ExtractCode preferred %q over the block defining f", got)
	}
	if got := ExtractCode(reply, ""); strings.TrimSpace(got) != "print(1)" {
		t.Errorf("ExtractCode without an entry point = %q, want the last block", got)
	}
	if got := ExtractCode("x = 1", "f"); got != "x = 1" {
		t.Errorf("ExtractCode without fences = %q", got)
	}
}
