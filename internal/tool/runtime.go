package tool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/workspace"
)

// Policies is what the Runtime needs from the policy store: an agent's effective policy, and
// requests a person decides. *policy.Store implements it.
type Policies interface {
	Policy(agent string) policy.Policy
	Request(ctx context.Context, agent, run string, c policy.Capability, reason string) (policy.Request, error)
	Wait(ctx context.Context, id string) (policy.Request, error)
	Expire(ctx context.Context, id, reason string) (policy.Request, error)
}

var _ Policies = (*policy.Store)(nil)

// Approver is told about a call that waits for a person. It may decide it at once (a CLI prompt that
// calls policy.Store.Grant or Deny) or return and let another surface decide (an HTTP endpoint); the
// Runtime then waits for the decision, at most Options.AskTimeout.
type Approver func(ctx context.Context, r policy.Request)

// Options configure a Runtime.
type Options struct {
	// Registry holds the tools (required).
	Registry *Registry
	// Workspace is where calls run; every call runs inside Workspace.Do (required).
	Workspace *workspace.Workspace
	// Policies decides every call (required).
	Policies Policies
	// Audit receives one "call" entry per call (required: a runtime without an audit log is refused).
	Audit *audit.Log
	// Run names the run in commits and audit entries when the context carries none (see WithRun).
	Run string
	// Approver is told about calls that wait for a person; nil: they wait for a decision made elsewhere.
	Approver Approver
	// AskTimeout bounds the wait for a person (default 10 minutes); an undecided call is refused.
	AskTimeout time.Duration
	// Bounds are the policies of the agent's parents (a sub-agent, a nested team): each agent's policy
	// is narrowed by every one of them (policy.Narrow), never widened.
	Bounds []policy.Policy
	// MaxResult bounds the characters of a result returned to the model (default 32 KiB); the rest is
	// cut with a note.
	MaxResult int
}

// Runtime runs tool calls under policy, in the workspace, with an audit entry each. It is safe for
// concurrent use; calls are serialised by the workspace.
type Runtime struct {
	opts Options
}

// NewRuntime returns a Runtime; it fails when a required option is missing.
func NewRuntime(opts Options) (*Runtime, error) {
	switch {
	case opts.Registry == nil:
		return nil, fault.New(fault.Invalid, "tool runtime: no registry")
	case opts.Workspace == nil:
		return nil, fault.New(fault.Invalid, "tool runtime: no workspace")
	case opts.Policies == nil:
		return nil, fault.New(fault.Invalid, "tool runtime: no policy store")
	case opts.Audit == nil:
		return nil, fault.New(fault.Invalid, "tool runtime: no audit log (every call must be audited)")
	}
	if opts.AskTimeout <= 0 {
		opts.AskTimeout = 10 * time.Minute
	}
	if opts.MaxResult <= 0 {
		opts.MaxResult = 32 << 10
	}
	if _, ok := opts.Registry.get(RequestTool); !ok {
		if err := opts.Registry.Add(requestTool{}); err != nil {
			return nil, err
		}
	}
	return &Runtime{opts: opts}, nil
}

// Registry returns the runtime's registry.
func (rt *Runtime) Registry() *Registry { return rt.opts.Registry }

// Workspace returns the runtime's workspace.
func (rt *Runtime) Workspace() *workspace.Workspace { return rt.opts.Workspace }

type runKey struct{}

// WithRun returns a context whose tool calls are recorded under run id.
func WithRun(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, runKey{}, id)
}

func (rt *Runtime) run(ctx context.Context) string {
	if id, ok := ctx.Value(runKey{}).(string); ok && id != "" {
		return id
	}
	return rt.opts.Run
}

// Policy returns agent's effective policy, narrowed by the runtime's bounds.
func (rt *Runtime) Policy(agent string) policy.Policy {
	p := rt.opts.Policies.Policy(agent)
	for _, b := range rt.opts.Bounds {
		p = policy.Narrow(b, p)
	}
	return p
}

// Specs returns the specs of the named tools (nil: every registered tool) that agent's policy does
// not deny outright, to offer to its model.
func (rt *Runtime) Specs(agent string, names []string) ([]chat.ToolSpec, error) {
	specs, err := rt.opts.Registry.Specs(names)
	if err != nil {
		return nil, err
	}
	p := rt.Policy(agent)
	out := specs[:0]
	for _, s := range specs {
		if p.Mode(s.Name) != policy.Deny {
			out = append(out, s)
		}
	}
	return out, nil
}

// Record is what happened to one call, for transcripts.
type Record struct {
	Call chat.ToolCall
	// Verdict is the final decision: allow (by policy or by a person) or deny; empty when the call
	// never reached the policy (unknown tool, invalid arguments).
	Verdict    policy.Verdict
	Reason     string
	ApprovedBy string
	// Commit is the workspace commit holding what the call changed ("" when it changed nothing).
	Commit   string
	Result   Result
	Duration time.Duration
	// Error says why the call failed or was refused, if it did.
	Error string
	// Seq is the call's audit entry.
	Seq int64
}

// Call runs one tool call of agent and returns its record; Record.Result.Content is what the model
// reads, refusals and failures included. An error means the call could not be controlled — the audit
// log or a workspace snapshot failed, or ctx ended — and the caller must stop.
func (rt *Runtime) Call(ctx context.Context, agent string, call chat.ToolCall) (Record, error) {
	start := time.Now()
	run := rt.run(ctx)
	rec := Record{Call: call}
	args := json.RawMessage(strings.TrimSpace(call.Arguments))
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	entry := audit.Entry{Kind: "call", Run: run, Agent: agent, Tool: call.Name, Args: auditArgs(args)}
	finish := func() (Record, error) {
		rec.Duration = time.Since(start)
		rec.Result.Content = clip(rec.Result.Content, rt.opts.MaxResult)
		entry.Decision, entry.Reason, entry.ApprovedBy = string(rec.Verdict), rec.Reason, rec.ApprovedBy
		entry.Commit, entry.Error = rec.Commit, rec.Error
		entry.Argv, entry.Exit = rec.Result.Argv, rec.Result.Exit
		entry.DurationMS = rec.Duration.Milliseconds()
		entry.BytesIn, entry.BytesOut = rec.Result.BytesIn, rec.Result.BytesOut
		entry.Network = rec.Result.Network
		e, err := rt.opts.Audit.Append(entry)
		if err != nil {
			return rec, fmt.Errorf("tool %s: audit: %w", call.Name, err)
		}
		rec.Seq = e.Seq
		return rec, nil
	}
	refuse := func(format string, a ...any) (Record, error) {
		rec.Error = fmt.Sprintf(format, a...)
		rec.Result = Result{Content: rec.Error, IsError: true}
		return finish()
	}

	e, ok := rt.opts.Registry.get(call.Name)
	if !ok {
		return refuse("there is no tool %q; the tools are: %s", call.Name, strings.Join(rt.opts.Registry.Names(), ", "))
	}
	if !json.Valid(args) {
		entry.Args = nil // the audit log holds JSON only; the raw text goes into the error
		return refuse("invalid arguments for %s: not valid JSON: %q", call.Name, clip(call.Arguments, 200))
	}
	if err := e.schema.Validate(args); err != nil {
		return refuse("invalid arguments for %s: %v", call.Name, err)
	}
	pc, err := e.tool.Plan(args)
	if err != nil {
		return refuse("invalid arguments for %s: %s", call.Name, fault.Message(err))
	}
	if _, ok := e.tool.(requestTool); ok {
		return rt.request(ctx, agent, run, args, &rec, refuse, finish)
	}
	pc.Tool = call.Name
	pol := rt.Policy(agent)
	d := pol.Decide(pc)
	rec.Reason = d.Reason
	switch d.Verdict {
	case policy.Allow:
		rec.Verdict, rec.ApprovedBy = policy.Allow, "policy"
	case policy.AskUser:
		got, err := rt.ask(ctx, agent, run, policy.Capability{Kind: policy.KindCall, Value: summary(call.Name, pc, args)}, d.Reason)
		switch {
		case ctx.Err() != nil:
			return rec, fmt.Errorf("tool %s: waiting for approval: %w", call.Name, ctx.Err())
		case err != nil && got.ID == "":
			rec.Verdict = policy.Refuse
			return refuse("refused: the call needs a person's approval, and %s", fault.Message(err))
		case err != nil:
			rec.Verdict = policy.Refuse
			rec.Reason = fmt.Sprintf("%s; request %s: no decision within %s", d.Reason, got.ID, rt.opts.AskTimeout)
			return refuse("refused: no person approved the call within %s (request %s)", rt.opts.AskTimeout, got.ID)
		case got.Status == policy.Granted:
			rec.Verdict, rec.ApprovedBy = policy.Allow, got.By
			rec.Reason = fmt.Sprintf("%s; approved by %s (request %s)", d.Reason, got.By, got.ID)
		default:
			rec.Verdict = policy.Refuse
			rec.Reason = fmt.Sprintf("%s; denied by %s (request %s)", d.Reason, got.By, got.ID)
			note := ""
			if got.Note != "" {
				note = ": " + got.Note
			}
			return refuse("refused: %s did not approve the call%s", got.By, note)
		}
	default:
		rec.Verdict = policy.Refuse
		return refuse("refused by policy: %s", d.Reason)
	}

	env := Env{Agent: agent, Run: run, Workspace: rt.opts.Workspace, Policy: pol}
	var (
		res  Result
		cerr error
	)
	wc := workspace.Call{Run: run, Agent: agent, Tool: call.Name, Summary: summary(call.Name, pc, args)}
	commit, err := rt.opts.Workspace.Do(ctx, wc, func(ctx context.Context) error {
		res, cerr = e.tool.Call(ctx, env, args)
		return nil
	})
	rec.Commit, rec.Result = commit, res
	if err != nil {
		rec.Error = "workspace snapshot failed: " + err.Error()
		if _, aerr := finish(); aerr != nil {
			return rec, errors.Join(err, aerr)
		}
		return rec, fmt.Errorf("tool %s: %w", call.Name, err)
	}
	if cerr != nil {
		if ctx.Err() != nil {
			rec.Error = ctx.Err().Error()
			if _, aerr := finish(); aerr != nil {
				return rec, errors.Join(ctx.Err(), aerr)
			}
			return rec, fmt.Errorf("tool %s: %w", call.Name, ctx.Err())
		}
		rec.Error = fault.Message(cerr)
		rec.Result.IsError = true
		if rec.Result.Content == "" {
			rec.Result.Content = "error: " + rec.Error
		}
	} else if rec.Result.IsError && rec.Error == "" {
		rec.Error = firstLine(rec.Result.Content)
	}
	return finish()
}

// summary is a one-line description of a call for commit messages and approval prompts.
func summary(name string, pc policy.Call, args json.RawMessage) string {
	if len(pc.Argv) > 0 {
		return clip(strings.Join(pc.Argv, " "), 200)
	}
	var b bytes.Buffer
	if json.Compact(&b, args) != nil {
		return name
	}
	return clip(b.String(), 200)
}

// auditArgs is the arguments as the audit log keeps them: compact JSON in which long strings (file
// contents, sources) are replaced by their length and SHA-256 — the content itself is in the commit.
func auditArgs(args json.RawMessage) json.RawMessage {
	d := json.NewDecoder(bytes.NewReader(args))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	v = shorten(v, 0)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return nil
	}
	return bytes.TrimSpace(b.Bytes())
}

const auditStringMax = 512

func shorten(v any, depth int) any {
	if depth > 32 {
		return "…"
	}
	switch x := v.(type) {
	case string:
		if len(x) > auditStringMax {
			return fmt.Sprintf("%s… (%d bytes, sha256 %x)", clip(x, 120), len(x), sha256.Sum256([]byte(x)))
		}
	case []any:
		for i := range x {
			x[i] = shorten(x[i], depth+1)
		}
	case map[string]any:
		for k := range x {
			x[k] = shorten(x[k], depth+1)
		}
	}
	return v
}

// clip cuts s to at most n bytes (on a rune boundary) with a note of how much was cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n… (%d more bytes cut)", len(s)-cut)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return clip(s, 200)
}
