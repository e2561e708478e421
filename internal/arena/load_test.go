package arena

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/arena/verify"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/testenv"
)

// devSets are the development files and the number of items each holds.
var devSets = []struct {
	path  string
	count int
	kind  Kind
}{
	{"gsm8k/dev.jsonl", 300, Numeric},
	{"svamp/dev.jsonl", 300, Numeric},
	{"math500/dev.jsonl", 60, LaTeX},
	{"arc/ARC-Challenge-Dev.jsonl", 299, Choice},
	{"truthfulqa/dev.csv", 200, Choice},
	{"humaneval/dev.jsonl", 40, Code},
	{"mbpp/train-validation-prompt.jsonl", 474, Code},
}

func openDev(t *testing.T, rel string) *Suite {
	t.Helper()
	s, err := Open(testenv.Shared(t, "evals", rel), "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenDevSets(t *testing.T) {
	for _, d := range devSets {
		s := openDev(t, d.path)
		if len(s.Items) != d.count {
			t.Errorf("%s: %d items, want %d", d.path, len(s.Items), d.count)
		}
		ids := map[string]bool{}
		for _, it := range s.Items {
			if it.Verifier != d.kind {
				t.Fatalf("%s: item %s has verifier %q, want %q", d.path, it.ID, it.Verifier, d.kind)
			}
			if ids[it.ID] {
				t.Errorf("%s: duplicate id %s", d.path, it.ID)
			}
			ids[it.ID] = true
			if strings.TrimSpace(it.Prompt) == "" || it.Gold == "" {
				t.Errorf("%s: item %s has an empty prompt or gold", d.path, it.ID)
			}
		}
	}
}

func TestGSM8KGoldWithThousands(t *testing.T) {
	s := openDev(t, "gsm8k/dev.jsonl")
	found := false
	for _, it := range s.Items {
		if it.Gold == "43500" {
			found = true
		}
		if strings.Contains(it.Gold, ",") {
			t.Errorf("%s: gold %q keeps a separator", it.ID, it.Gold)
		}
	}
	if !found {
		t.Error(`the gold "#### 43,500" was not read as 43500`)
	}
}

// chatter wraps an answer in the kind of text small models write around it.
func chatter(kind Kind, answer string) []string {
	switch kind {
	case Numeric:
		return []string{
			"Let's think step by step. First 2 + 3 = 5, then 5 * 7 = 35.\nThe answer is " + answer + ".",
			"Working: 12 / 4 = 3\n#### " + answer,
			"So the final answer is $\\boxed{" + answer + "}$.",
		}
	case Choice:
		return []string{"Answer: " + answer, "Looking at each option, the best one is (" + answer + ").", "I would pick option " + answer + " because it fits."}
	case LaTeX:
		return []string{"We compute carefully, with $x = 2$ and $y = 3$. Therefore the answer is $\\boxed{" + answer + "}$.", "Final answer: $" + answer + "$"}
	}
	return nil
}

// perturbNumber returns gold+1 written plainly.
func perturbNumber(t *testing.T, gold string) string {
	v, err := verify.ParseNumber(gold)
	if err != nil {
		t.Fatalf("gold %q: %v", gold, err)
	}
	return strconv.FormatFloat(v+1, 'f', -1, 64)
}

var digitRe = regexp.MustCompile(`[0-9]`)

// perturbLaTeX changes the first digit of a LaTeX answer (every MATH dev answer has one) and, as
// a second perturbation, adds 1 to it.
func perturbLaTeX(gold string) []string {
	var out []string
	if loc := digitRe.FindStringIndex(gold); loc != nil {
		d := gold[loc[0]] - '0'
		out = append(out, gold[:loc[0]]+string(rune('0'+(d+1)%10))+gold[loc[1]:])
	}
	return append(out, gold+"+1")
}

func TestDevGoldsVerify(t *testing.T) {
	ctx := context.Background()
	for _, d := range devSets {
		if d.kind == Code {
			continue
		}
		t.Run(filepath.Dir(d.path), func(t *testing.T) {
			s := openDev(t, d.path)
			checked := 0
			for _, it := range s.Items {
				v, err := it.NewVerifier(nil)
				if err != nil {
					t.Fatalf("%s: %v", it.ID, err)
				}
				for _, reply := range append([]string{it.Gold}, chatter(d.kind, it.Gold)...) {
					if got, err := v.Verify(ctx, reply); err != nil || !got.Correct {
						t.Errorf("%s: gold %q in %q judged wrong: %+v, %v", it.ID, it.Gold, reply, got, err)
					}
				}
				var wrong []string
				switch d.kind {
				case Numeric:
					wrong = []string{perturbNumber(t, it.Gold)}
				case Choice:
					for _, o := range it.Options {
						if o.Label != it.Gold {
							wrong = append(wrong, o.Label)
						}
					}
				case LaTeX:
					wrong = perturbLaTeX(it.Gold)
				}
				if len(wrong) == 0 {
					t.Fatalf("%s: no perturbation of %q", it.ID, it.Gold)
				}
				for _, w := range wrong {
					for _, reply := range append([]string{w}, chatter(d.kind, w)...) {
						if got, err := v.Verify(ctx, reply); err != nil || got.Correct {
							t.Errorf("%s: perturbed %q (gold %q) in %q judged correct: %+v, %v", it.ID, w, it.Gold, reply, got, err)
						}
					}
				}
				checked++
			}
			if checked != d.count {
				t.Errorf("checked %d of %d items", checked, d.count)
			}
		})
	}
}

// TestReferenceSolutionsVerify reads the benchmarks' own worked solutions as replies: each ends in
// its answer written the author's way (GSM8K's "#### N", MATH's \boxed{…}, often spelled differently
// from the gold field), and each must be judged correct.
func TestReferenceSolutionsVerify(t *testing.T) {
	ctx := context.Background()
	for _, d := range []string{"gsm8k/dev.jsonl", "math500/dev.jsonl"} {
		s := openDev(t, d)
		for _, it := range s.Items {
			sol := it.Meta["solution"]
			if strings.HasPrefix(it.ID, "gsm8k/") {
				sol += "\n#### " + it.Gold
			}
			v, err := it.NewVerifier(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := v.Verify(ctx, sol); err != nil || !got.Correct {
				t.Errorf("%s: the reference solution is judged wrong: %+v, %v", it.ID, got, err)
			}
		}
	}
}

func TestTruthfulQAShuffleIsStable(t *testing.T) {
	a := openDev(t, "truthfulqa/dev.csv")
	b := openDev(t, "truthfulqa/dev.csv")
	golds := map[string]int{}
	for i := range a.Items {
		if a.Items[i].Prompt != b.Items[i].Prompt || a.Items[i].Gold != b.Items[i].Gold {
			t.Fatalf("item %s differs between loads", a.Items[i].ID)
		}
		if n := len(a.Items[i].Options); n < 2 || n > TruthfulQAChoices {
			t.Errorf("item %s has %d options", a.Items[i].ID, n)
		}
		golds[a.Items[i].Gold]++
	}
	// The best answer must not always sit in the same place.
	if len(golds) < 3 || golds["A"] > len(a.Items)/2 {
		t.Errorf("gold labels are badly spread: %v", golds)
	}
}

// pythonRunner is the tests' own CodeRunner: python3 in a temporary directory with a wall-clock
// limit and an almost empty environment. It is not a sandbox; real runs go through internal/sandbox.
type pythonRunner struct{ dir string }

func newPythonRunner(t *testing.T) pythonRunner {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	return pythonRunner{dir: t.TempDir()}
}

func (r pythonRunner) Run(ctx context.Context, p verify.Program) (verify.Execution, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Wall)
	defer cancel()
	dir, err := os.MkdirTemp(r.dir, "run")
	if err != nil {
		return verify.Execution{}, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "main.py")
	if err := os.WriteFile(file, []byte(p.Source), 0o600); err != nil {
		return verify.Execution{}, err
	}
	cmd := exec.CommandContext(ctx, "python3", "-I", "-S", file)
	cmd.Dir, cmd.Env = dir, []string{"PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	ex := verify.Execution{Output: out.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		ex.Killed, ex.ExitCode = "wall", -1
	case errors.As(err, &exit):
		ex.ExitCode = exit.ExitCode()
	case err != nil:
		return verify.Execution{}, err
	}
	return ex, nil
}

var defRe = regexp.MustCompile(`(?m)^def ([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// brokenMBPP returns the reference code with the tested function redefined to return None.
func brokenMBPP(it Item) (string, error) {
	var name string
	for _, m := range defRe.FindAllStringSubmatch(it.Code.Solution, -1) {
		if strings.Contains(it.Code.Tests, m[1]+"(") {
			name = m[1]
		}
	}
	if name == "" {
		return "", fmt.Errorf("%s: no tested function in the reference code", it.ID)
	}
	return it.Code.Solution + "\n\ndef " + name + "(*args, **kwargs):\n    return None\n", nil
}

// runCodeGolds checks that every item's reference solution passes and a broken one fails.
func runCodeGolds(t *testing.T, items []Item, broken func(Item) (string, error)) {
	r := newPythonRunner(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 3)
	var mu sync.Mutex
	var failures []string
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := it.NewVerifier(r)
			if err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				return
			}
			var msgs []string
			good, err := v.Verify(ctx, it.Code.Solution)
			if err != nil || !good.Correct {
				msgs = append(msgs, fmt.Sprintf("%s: the reference solution fails: %s %v", it.ID, good.Reason, err))
			}
			b, err := broken(it)
			if err != nil {
				msgs = append(msgs, err.Error())
			} else if bad, err := v.Verify(ctx, b); err != nil || bad.Correct {
				msgs = append(msgs, fmt.Sprintf("%s: a broken solution passes (%v)", it.ID, err))
			}
			mu.Lock()
			failures = append(failures, msgs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
}

func TestHumanEvalSolutions(t *testing.T) {
	s := openDev(t, "humaneval/dev.jsonl")
	runCodeGolds(t, sample(s.Items, 5), func(it Item) (string, error) { return "    return None\n", nil })
}

func TestMBPPSolutions(t *testing.T) {
	s := openDev(t, "mbpp/train-validation-prompt.jsonl")
	runCodeGolds(t, sample(s.Items, 25), brokenMBPP)
}

// sample returns every nth item under -short (python3 starts in about 0.1 s, and the full sets
// take a minute on two cores), and all items otherwise.
func sample(items []Item, n int) []Item {
	if !testing.Short() {
		return items
	}
	var some []Item
	for i := 0; i < len(items); i += n {
		some = append(some, items[i])
	}
	return some
}

func TestCodeItemNeedsRunner(t *testing.T) {
	it := Item{ID: "x", Verifier: Code, Gold: "assert True", Code: &CodeTask{Tests: "assert True"}}
	if _, err := it.NewVerifier(nil); fault.CodeOf(err) != fault.Unsupported {
		t.Errorf("code item without a runner: %v, want an unsupported error", err)
	}
}

func TestCodeTimeoutFails(t *testing.T) {
	r := newPythonRunner(t)
	v := verify.Code{Runner: r, Tests: "assert f() == 1\n", Wall: 300 * time.Millisecond}
	got, err := v.Verify(context.Background(), "def f():\n    while True:\n        pass\n")
	if err != nil || got.Correct {
		t.Errorf("endless loop: %+v, %v; want a wrong verdict", got, err)
	}
}
