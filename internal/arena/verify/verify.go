// Package verify checks a contestant's answer against a gold answer: numeric values, choice
// letters, normalised LaTeX, code tests (run through a CodeRunner), regular expressions and exact
// text. Each verifier first extracts the answer from the chatter around it (see Extract*).
//
// It is imported by internal/arena and its subpackages; it imports only internal/fault and the
// standard library. Code never runs here: a CodeRunner (the sandbox, or a test's own runner) runs it.
package verify

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// Verdict is a verifier's judgement of one answer.
type Verdict struct {
	// Correct is set when the extracted answer matches the gold answer.
	Correct bool
	// Extracted is the answer the verifier read out of the reply ("" when it found none).
	Extracted string
	// Reason says briefly why an answer was judged wrong (or how it was read); for people, not code.
	Reason string
}

// Verifier judges answers against one item's gold answer.
type Verifier interface {
	// Verify judges answer. A wrong or unreadable answer is a Verdict with Correct false, not an
	// error; an error means the verifier itself could not work (a code runner failed, ctx ended).
	// Verify may be called concurrently.
	Verify(ctx context.Context, answer string) (Verdict, error)
}

// Regex verifies that the answer contains a match of Pattern (anchor the pattern to demand more).
type Regex struct {
	Pattern *regexp.Regexp
}

var _ Verifier = Regex{}

// NewRegex compiles pattern into a Regex verifier.
func NewRegex(pattern string) (Regex, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Regex{}, fault.Wrap(err, fault.Invalid, "invalid regular expression %q", pattern)
	}
	return Regex{Pattern: re}, nil
}

// Verify reports whether the whole answer, trimmed, contains a match of the pattern.
func (r Regex) Verify(_ context.Context, answer string) (Verdict, error) {
	if r.Pattern == nil {
		return Verdict{}, fault.New(fault.Invalid, "regex verifier has no pattern")
	}
	s := strings.TrimSpace(answer)
	m := r.Pattern.FindString(s)
	if m == "" && !r.Pattern.MatchString(s) {
		return Verdict{Reason: "no match of " + r.Pattern.String()}, nil
	}
	return Verdict{Correct: true, Extracted: m}, nil
}

// Exact verifies that the extracted final answer equals Gold after collapsing white space and
// dropping surrounding quotes, markdown emphasis and a trailing full stop. Fold compares without case.
type Exact struct {
	Gold string
	Fold bool
}

var _ Verifier = Exact{}

// Verify compares ExtractFinal(answer) with the gold text.
func (e Exact) Verify(_ context.Context, answer string) (Verdict, error) {
	got := cleanText(ExtractFinal(answer))
	want := cleanText(e.Gold)
	ok := got == want || (e.Fold && strings.EqualFold(got, want))
	v := Verdict{Correct: ok, Extracted: got}
	if !ok {
		v.Reason = fmt.Sprintf("%q is not %q", got, want)
	}
	return v, nil
}

// cleanText collapses white space and strips decoration that carries no meaning in a short answer.
func cleanText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for {
		t := strings.TrimSpace(s)
		t = strings.TrimSuffix(t, ".")
		for _, q := range []string{"**", "`", "\"", "'", "*"} {
			if len(t) >= 2*len(q) && strings.HasPrefix(t, q) && strings.HasSuffix(t, q) {
				t = t[len(q) : len(t)-len(q)]
			}
		}
		if t == s {
			return s
		}
		s = t
	}
}
