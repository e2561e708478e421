package arena

import (
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/testenv"
)

func TestPromptTemplates(t *testing.T) {
	for _, c := range []struct {
		format Format
		path   []string
		want   []string
	}{
		{FormatGSM8K, []string{"evals", "gsm8k", "dev.jsonl"}, []string{"####", "Problem: "}},
		{FormatSVAMP, []string{"evals", "svamp", "dev.jsonl"}, []string{"####"}},
		{FormatMATH, []string{"evals", "math500", "dev.jsonl"}, []string{`\boxed{}`}},
		{FormatARC, []string{"evals", "arc", "ARC-Challenge-Dev.jsonl"}, []string{"Answer with the letter (", "\nA. ", "Answer: X"}},
		{FormatHumanEval, []string{"evals", "humaneval", "dev.jsonl"}, []string{"Complete the following Python function", "```python\n", "def "}},
		{FormatMBPP, []string{"evals", "mbpp", "train-validation-prompt.jsonl"}, []string{"must pass the tests", "assert "}},
	} {
		s, err := Open(testenv.Shared(t, c.path...), c.format)
		if err != nil {
			t.Fatal(err)
		}
		it := s.Items[0]
		p := Prompt(c.format, it)
		for _, w := range c.want {
			if !strings.Contains(p, w) {
				t.Errorf("%s prompt lacks %q:\n%s", c.format, w, p)
			}
		}
		if c.format != FormatHumanEval && !strings.Contains(p, strings.TrimSpace(strings.SplitN(it.Prompt, "\n", 2)[0])) {
			t.Errorf("%s prompt lost the task:\n%s", c.format, p)
		}
		if Prompt(FormatSeance, it) != it.Prompt {
			t.Errorf("seance-format items must be sent as written")
		}
	}
	// A choice item whose prompt does not list its options gets them listed.
	it := Item{ID: "c", Prompt: "Capital of France?", Verifier: Choice, Gold: "B", Options: []Option{{"A", "Lyon"}, {"B", "Paris"}}}
	p := Prompt(FormatMMLU, it)
	if !strings.Contains(p, "\nA. Lyon\nB. Paris") || !strings.Contains(p, "(A, B)") {
		t.Errorf("choice prompt:\n%s", p)
	}
}

func TestItemSeed(t *testing.T) {
	a := ItemSeed(1, "q1", "m")
	if a != ItemSeed(1, "q1", "m") || a < 0 {
		t.Fatal("seeds are not stable and non-negative")
	}
	if a == ItemSeed(2, "q1", "m") || a == ItemSeed(1, "q2", "m") || a == ItemSeed(1, "q1", "n") {
		t.Error("different run seeds, items or contestants share a seed")
	}
}
