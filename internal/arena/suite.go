// Package arena runs contestants (models and teams) on suites of tasks with verifiable answers.
// This file set holds the suites: items, their verifiers, and loaders for the public benchmark
// formats (GSM8K, SVAMP, MATH, ARC, TruthfulQA, HumanEval, MBPP) and for seance's own suite format
// (docs/ARENA.md). Verification lives in arena/verify, ratings in arena/rating, dataset export in
// arena/dataset.
//
// The runner (Run) asks contestants — llm.Models, teams included — every item with a prompt
// template per format, verifies the replies, appends each answer to an fsync'd results.jsonl so an
// interrupted run resumes, and adds compute-matched self-consistency baselines for teams; Summarize,
// WriteReport (Markdown, HTML, SVG chart), Board (Elo and Bradley–Terry over all runs) and Transcripts
// (for dataset export) read the results. It is imported by internal/app and internal/cli.
package arena

import (
	"fmt"
	"time"

	"github.com/seance-dev/seance/internal/arena/verify"
	"github.com/seance-dev/seance/internal/fault"
)

// Kind names a verifier.
type Kind string

// The verifier kinds an item may name.
const (
	Numeric Kind = "numeric" // a number, with tolerance, separators, fractions, percent
	Choice  Kind = "choice"  // a choice label (A–E, 1–5)
	LaTeX   Kind = "latex"   // a normalised LaTeX expression (MATH)
	Code    Kind = "code"    // Python code that must pass tests (run by a verify.CodeRunner)
	Regex   Kind = "regex"   // a regular expression the reply must match
	Exact   Kind = "exact"   // the final answer's text, white space collapsed
)

// Option is one choice of a multiple-choice item.
type Option struct {
	Label string
	Text  string
}

// CodeTask holds what a code item's verifier needs besides the reply.
type CodeTask struct {
	// Prefix goes before the reply's code (HumanEval's prompt); Setup after it and before Tests.
	Prefix     string
	Setup      string
	Tests      string
	EntryPoint string
	// Solution is the reference solution, when the suite has one (used to check the suite itself).
	Solution string
}

// Item is one task of a suite.
type Item struct {
	// ID is unique within the suite and stable across loads.
	ID string
	// Prompt is the task as shown to a contestant (for choice items, with the options listed).
	Prompt   string
	Verifier Kind
	// Gold is the correct answer: a number, a label, a LaTeX expression, a pattern or a text (for
	// code items, the tests).
	Gold    string
	Options []Option
	Code    *CodeTask
	// Tolerance is a numeric item's absolute tolerance (0: the verifier's default).
	Tolerance float64
	// Meta holds the source's other fields worth keeping (subject, level, type).
	Meta map[string]string
}

// Suite is a named list of items.
type Suite struct {
	Name  string
	Items []Item
}

// The limits a code item's tests run under.
const (
	CodeWall   = 10 * time.Second
	CodeMemory = 512 << 20
)

// NewVerifier returns the verifier of it. runner is needed only by code items.
func (it Item) NewVerifier(runner verify.CodeRunner) (verify.Verifier, error) {
	switch it.Verifier {
	case Numeric:
		n, err := verify.NewNumeric(it.Gold)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		n.AbsTol = it.Tolerance
		return n, nil
	case Choice:
		labels, texts := make([]string, len(it.Options)), make([]string, len(it.Options))
		for i, o := range it.Options {
			labels[i], texts[i] = o.Label, o.Text
		}
		if len(it.Options) == 0 {
			labels, texts = []string{"A", "B", "C", "D", "E"}, nil
		}
		c, err := verify.NewChoice(it.Gold, labels, texts)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		return c, nil
	case LaTeX:
		if it.Gold == "" {
			return nil, fault.New(fault.Invalid, "item %s: empty gold answer", it.ID)
		}
		return verify.LaTeX{Gold: it.Gold}, nil
	case Regex:
		r, err := verify.NewRegex(it.Gold)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		return r, nil
	case Exact:
		return verify.Exact{Gold: it.Gold}, nil
	case Code:
		if it.Code == nil {
			return nil, fault.New(fault.Invalid, "item %s: code item without tests", it.ID)
		}
		if runner == nil {
			return nil, fault.New(fault.Unsupported, "item %s: code items need a code runner (the sandbox)", it.ID)
		}
		return verify.Code{
			Runner: runner, Prefix: it.Code.Prefix, Setup: it.Code.Setup, Tests: it.Code.Tests,
			EntryPoint: it.Code.EntryPoint, Wall: CodeWall, Memory: CodeMemory,
		}, nil
	}
	return nil, fault.New(fault.Invalid, "item %s: unknown verifier %q", it.ID, it.Verifier)
}
