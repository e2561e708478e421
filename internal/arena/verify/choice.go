package verify

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/fault"
)

// Choice verifies a multiple-choice answer given by its label ("C", or "3" where labels are digits).
type Choice struct {
	// Gold is the correct label.
	Gold string
	// Labels are the valid labels in order (e.g. A–D); Texts, when set, the choices' texts, so that
	// a reply quoting a choice's text instead of its label is read too.
	Labels []string
	Texts  []string
}

var _ Verifier = Choice{}

// NewChoice checks that gold is one of labels and returns a Choice verifier.
func NewChoice(gold string, labels, texts []string) (Choice, error) {
	if len(labels) == 0 {
		return Choice{}, fault.New(fault.Invalid, "choice item has no labels")
	}
	if !slices.Contains(labels, gold) {
		return Choice{}, fault.New(fault.Invalid, "gold label %q is not one of %v", gold, labels)
	}
	if len(texts) != 0 && len(texts) != len(labels) {
		return Choice{}, fault.New(fault.Invalid, "choice item has %d labels but %d texts", len(labels), len(texts))
	}
	return Choice{Gold: gold, Labels: labels, Texts: texts}, nil
}

// Verify extracts the chosen label (see ExtractChoice) and compares it with the gold label.
func (c Choice) Verify(_ context.Context, answer string) (Verdict, error) {
	got, ok := ExtractChoice(answer, c.Labels, c.Texts)
	if !ok {
		return Verdict{Reason: "no choice label in the answer"}, nil
	}
	if got != c.Gold {
		return Verdict{Extracted: got, Reason: fmt.Sprintf("chose %s, not %s", got, c.Gold)}, nil
	}
	return Verdict{Correct: true, Extracted: got}, nil
}

// The choice patterns, strongest first. Each captures a label candidate in group 1; candidates that
// are not valid labels are skipped. Letters are upper case except inside brackets, so that the
// article "a" is not read as a choice.
var choiceRes = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		choicePhrase(`answer`),
		choicePhrase(`option|choice`),
		regexp.MustCompile(`[(\[]([A-Za-z0-9])[)\]]`),
		regexp.MustCompile(`(?m)^\s*[*_]*([A-Z0-9])[*_]*\s*(?:[.):]|$)`),
		regexp.MustCompile(`(?:^|[^A-Za-z0-9'])([A-Z])(?:[^A-Za-z0-9']|$)`),
	}
})

// choicePhrase matches words (an alternation) followed by an optional "is" and a label: "answer: C",
// "the answer is (C)", "option c)".
func choicePhrase(words string) *regexp.Regexp {
	return regexp.MustCompile(`(?i:` + words + `)(?:\s+(?i:is|would be|will be|should be))?\s*[:：]?\s*(?i:option|choice)?\s*[*_]*[(\[]?\s*([A-Z]|[0-9]|[a-z](?:\s*[)\]]))(?:\s*[)\]])?[*_]*(?:[^A-Za-z0-9]|$)`)
}

// ExtractChoice reads the label a reply chose, among labels. It looks first inside \boxed{} or after
// "####", then for "Answer: C" / "the answer is (C)" / "option C", then a bracketed "(C)", then a
// label opening a line ("C. …"), then a lone capital letter; within a pattern the last occurrence
// wins. If none is found and texts are given, a final answer equal to one choice's text (ignoring
// case and punctuation) selects it.
func ExtractChoice(s string, labels, texts []string) (string, bool) {
	valid := func(c string) (string, bool) {
		c = strings.TrimRight(strings.TrimSpace(c), ")] ")
		for _, l := range labels {
			if strings.EqualFold(l, c) {
				return l, true
			}
		}
		return "", false
	}
	if b, ok := ExtractBoxed(s); ok {
		if l, ok := choiceIn(b, valid); ok {
			return l, true
		}
	}
	if l, ok := choiceIn(s, valid); ok {
		return l, true
	}
	final := normWords(ExtractFinal(s))
	for i, t := range texts {
		if final != "" && normWords(t) == final {
			return labels[i], true
		}
	}
	return "", false
}

func choiceIn(s string, valid func(string) (string, bool)) (string, bool) {
	if l, ok := valid(strings.Trim(strings.TrimSpace(s), "()[]*.:$ ")); ok && len(strings.TrimSpace(s)) <= 6 {
		return l, true
	}
	for _, re := range choiceRes() {
		ms := re.FindAllStringSubmatch(s, -1)
		for i := len(ms) - 1; i >= 0; i-- {
			if l, ok := valid(ms[i][1]); ok {
				return l, true
			}
		}
	}
	return "", false
}

func normWords(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
	return strings.Join(f, " ")
}
