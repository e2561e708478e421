package verify

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// Program is a complete program for a CodeRunner to execute.
type Program struct {
	// Language names the interpreter; only "python" is used today.
	Language string
	// Source is the whole program: the candidate's code followed by the tests.
	Source string
	// Wall and Memory are the limits the runner must enforce (0: the runner's defaults).
	Wall   time.Duration
	Memory int64
}

// Execution is what a program did.
type Execution struct {
	ExitCode int
	// Killed names the limit that ended the program ("wall", "memory", …); "" when it exited itself.
	Killed string
	// Output is the tail of its combined output, for the verdict's reason.
	Output string
}

// CodeRunner executes untrusted programs; internal/sandbox implements it for real runs, tests supply
// their own.
type CodeRunner interface {
	// Run executes p under its limits. A program that fails, crashes or hits a limit is an
	// Execution, not an error; an error means the runner could not run it at all (or ctx ended).
	// Run may be called concurrently.
	Run(ctx context.Context, p Program) (Execution, error)
}

// Code verifies generated code by running tests against it through Runner. The candidate program
// is Prefix followed by the reply's code, then Setup and Tests; when EntryPoint is set, "check(EntryPoint)"
// is appended (HumanEval's convention). The verdict is correct when the program exits with 0.
type Code struct {
	Runner CodeRunner
	// Prefix is code placed before the candidate (HumanEval's prompt: imports, helpers and the
	// signature, so that a reply holding only the function body completes it).
	Prefix string
	// Setup is code run after the candidate's code and before the tests (MBPP's test_setup_code,
	// which may use the candidate's classes).
	Setup string
	// Tests are the test code (HumanEval's check function, MBPP's asserts).
	Tests      string
	EntryPoint string
	Wall       time.Duration
	Memory     int64
}

var _ Verifier = Code{}

// fenceRe matches a fenced code block; group 1 is its language, group 2 its body.
var fenceRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile("(?s)```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|$)")
})

// ExtractCode returns the code in a reply: the last fenced block labelled python (or unlabelled),
// preferring one that defines entryPoint; without fences, the reply itself.
func ExtractCode(reply, entryPoint string) string {
	ms := fenceRe().FindAllStringSubmatch(reply, -1)
	var blocks []string
	for _, m := range ms {
		lang := strings.ToLower(m[1])
		if lang == "" || lang == "python" || lang == "py" || lang == "python3" {
			blocks = append(blocks, m[2])
		}
	}
	if len(blocks) == 0 {
		return reply
	}
	if entryPoint != "" {
		for i := len(blocks) - 1; i >= 0; i-- {
			if strings.Contains(blocks[i], "def "+entryPoint) {
				return blocks[i]
			}
		}
	}
	return blocks[len(blocks)-1]
}

// Source assembles the program that tests reply.
func (c Code) Source(reply string) string {
	code := ExtractCode(reply, c.EntryPoint)
	var b strings.Builder
	if c.Prefix != "" {
		b.WriteString(c.Prefix)
		// A body (indented first line) continues the prefix's signature; a whole definition
		// follows it and replaces the stub.
		if !startsIndented(code) {
			b.WriteString("\n    pass\n\n")
		}
	}
	b.WriteString(code)
	b.WriteString("\n\n")
	if c.Setup != "" {
		b.WriteString(c.Setup)
		b.WriteString("\n")
	}
	b.WriteString(c.Tests)
	if c.EntryPoint != "" {
		fmt.Fprintf(&b, "\n\ncheck(%s)\n", c.EntryPoint)
	}
	return b.String()
}

func startsIndented(code string) bool {
	for _, line := range strings.Split(code, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		return line[0] == ' ' || line[0] == '\t'
	}
	return false
}

// Verify runs the tests against the reply's code.
func (c Code) Verify(ctx context.Context, answer string) (Verdict, error) {
	if c.Runner == nil {
		return Verdict{}, fault.New(fault.Unsupported, "code verifier has no code runner")
	}
	src := c.Source(answer)
	ex, err := c.Runner.Run(ctx, Program{Language: "python", Source: src, Wall: c.Wall, Memory: c.Memory})
	if err != nil {
		return Verdict{}, fmt.Errorf("run code tests: %w", err)
	}
	v := Verdict{Extracted: ExtractCode(answer, c.EntryPoint)}
	switch {
	case ex.Killed != "":
		v.Reason = "killed: " + ex.Killed + " limit"
	case ex.ExitCode != 0:
		v.Reason = fmt.Sprintf("tests failed (exit %d): %s", ex.ExitCode, lastLine(ex.Output))
	default:
		v.Correct = true
	}
	return v, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
