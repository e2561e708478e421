package arena

import (
	"strings"
)

// Prompt returns the user message a contestant is sent for it: a template chosen by the suite's
// format wraps the item's prompt with instructions on how to state the answer, so the verifier can
// find it. Items of seance's own format are shown as written (their authors wrote the instructions).
//
//   - numeric (GSM8K, SVAMP): solve step by step, the final number after "####";
//   - latex (MATH): solve, the final answer in \boxed{};
//   - choice (ARC, MMLU, TruthfulQA): the question with its options lettered, "Answer with the letter";
//   - code (HumanEval): complete the function, in one ```python block; (MBPP) write a function that
//     passes the tests shown.
func Prompt(format Format, it Item) string {
	if format == FormatSeance || format == "" {
		return it.Prompt
	}
	switch it.Verifier {
	case Numeric:
		return "Solve the following problem. Think step by step, then write the final answer as a number on its own line after \"####\" (for example \"#### 42\").\n\nProblem: " + strings.TrimSpace(it.Prompt)
	case LaTeX:
		return "Solve the following problem. Think step by step, then put the final answer in \\boxed{}.\n\nProblem: " + strings.TrimSpace(it.Prompt)
	case Choice:
		q := strings.TrimSpace(it.Prompt)
		if len(it.Options) > 0 && !listsOptions(q, it.Options) {
			var b strings.Builder
			b.WriteString(q)
			b.WriteString("\n")
			for _, o := range it.Options {
				b.WriteString("\n" + o.Label + ". " + o.Text)
			}
			q = b.String()
		}
		labels := make([]string, len(it.Options))
		for i, o := range it.Options {
			labels[i] = o.Label
		}
		hint := "the letter"
		if len(labels) > 0 {
			hint = "the letter (" + strings.Join(labels, ", ") + ")"
		}
		return q + "\n\nAnswer with " + hint + " of the correct option, written as \"Answer: X\"."
	case Code:
		if it.Code != nil && it.Code.EntryPoint != "" && it.Code.Prefix != "" {
			return "Complete the following Python function. Reply with the complete function (signature and body) in one ```python code block.\n\n```python\n" + strings.TrimRight(it.Code.Prefix, "\n") + "\n```"
		}
		return "Write Python code for the task below. The code must pass the tests shown. Reply with the code in one ```python code block.\n\n" + strings.TrimSpace(it.Prompt)
	}
	return it.Prompt
}

// listsOptions reports whether the question already shows every option as "L. text".
func listsOptions(q string, opts []Option) bool {
	for _, o := range opts {
		if !strings.Contains(q, o.Label+". ") {
			return false
		}
	}
	return true
}
