// Package tool is the contract of the tools agents call and the runtime that calls them under
// control. A Tool declares its JSON Schema parameters, says what a call needs from the policy (Plan)
// and runs (Call). The Runtime runs every call the same way: the arguments are validated against the
// schema, the agent's policy decides (allow, ask a person, deny), the call runs inside the workspace
// between two snapshots so that whatever it changed lands as a commit naming the agent and the call,
// an entry is appended to the hash-chained audit log, and the result goes back to the model.
//
// The built-in tools (files, processes through the sandbox, HTTP) are in tool/builtin; the loop that
// lets a model call tools is internal/agent. tool imports workspace, policy, policy/audit, chat and
// fault.
package tool

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/workspace"
)

// Tool is one tool an agent can call.
//
// Plan and Call receive arguments that already passed the schema of Spec. Plan must be a pure
// function of the arguments: the Runtime asks the policy about exactly what Plan returns, so a tool
// that touches a path, runs a command or reaches a host Plan did not name escapes the policy. Call
// must honour ctx; it returns an error only when the call could not be made at all — an outcome the
// model should see (a file that does not exist, a non-zero exit) is a Result with IsError set.
type Tool interface {
	// Spec returns the tool's name, description and JSON Schema parameters, as offered to models.
	Spec() chat.ToolSpec
	// Plan returns what a call with args needs from the policy (paths, argv, language, hosts).
	Plan(args json.RawMessage) (policy.Call, error)
	// Call runs the tool.
	Call(ctx context.Context, env Env, args json.RawMessage) (Result, error)
}

// Env is what a tool call may use: who calls, in which run, the workspace and the caller's
// effective policy (for limits, and for filtering what a search reports).
type Env struct {
	Agent     string
	Run       string
	Workspace *workspace.Workspace
	Policy    policy.Policy
}

// Result is the outcome of a call.
type Result struct {
	// Content is what the model reads.
	Content string
	// IsError marks an outcome the model should treat as a failure (the call ran, or tried to).
	IsError bool
	// Argv is the command line a process tool ran, for the audit log.
	Argv []string
	// Exit is a process tool's exit status (-1 when killed), nil for other tools.
	Exit *int
	// BytesIn counts what went into the tool (file content written, standard input, a request body);
	// BytesOut what came out (file content read, process output, a response body).
	BytesIn, BytesOut int64
	// Network summarises a process's use of its network proxy, for the audit log ("" without network).
	Network string
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`) })

// entry is a registered tool with its compiled schema.
type entry struct {
	tool   Tool
	spec   chat.ToolSpec
	schema *Schema
}

// Registry holds tools by name. Build it once (Add) and then share it: lookups are safe for
// concurrent use.
type Registry struct {
	mu    sync.RWMutex
	tools map[string]*entry
}

// NewRegistry returns a registry holding tools; it fails on the first invalid one.
func NewRegistry(tools ...Tool) (*Registry, error) {
	r := &Registry{tools: map[string]*entry{}}
	for _, t := range tools {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers t. Its name must be unique and its schema must compile.
func (r *Registry) Add(t Tool) error {
	spec := t.Spec()
	if !nameRE().MatchString(spec.Name) {
		return fault.New(fault.Invalid, "tool name %q: want letters, digits, '_' or '-'", spec.Name)
	}
	s, err := CompileSchema(spec.Parameters)
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "tool %s: %v", spec.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tools == nil {
		r.tools = map[string]*entry{}
	}
	if _, dup := r.tools[spec.Name]; dup {
		return fault.New(fault.Invalid, "tool %s is registered twice", spec.Name)
	}
	r.tools[spec.Name] = &entry{tool: t, spec: spec, schema: s}
	return nil
}

func (r *Registry) get(name string) (*entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.tools[name]
	return e, ok
}

// Names returns the registered tool names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.tools))
	for n := range r.tools {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Specs returns the specs of the named tools (all tools when names is nil), sorted by name; an
// unknown name is an error.
func (r *Registry) Specs(names []string) ([]chat.ToolSpec, error) {
	if names == nil {
		names = r.Names()
	}
	out := make([]chat.ToolSpec, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		e, ok := r.get(n)
		if !ok {
			return nil, fault.New(fault.NotFound, "no tool %q (known: %v)", n, r.Names())
		}
		out = append(out, e.spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Validate checks args against the schema of tool name.
func (r *Registry) Validate(name string, args json.RawMessage) error {
	e, ok := r.get(name)
	if !ok {
		return fault.New(fault.NotFound, "no tool %q", name)
	}
	if err := e.schema.Validate(args); err != nil {
		return fault.Wrap(err, fault.Invalid, "tool %s: %v", name, err)
	}
	return nil
}

// Decode unmarshals validated arguments into v, refusing unknown fields. Tools use it to read their
// arguments once, at the boundary.
func Decode(args json.RawMessage, v any) error {
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	if err := json.Unmarshal(args, v); err != nil {
		return fault.Wrap(err, fault.Invalid, "arguments: %v", err)
	}
	return nil
}

// Errorf returns a Result for an outcome the model should see as a failure.
func Errorf(format string, args ...any) Result {
	return Result{Content: fmt.Sprintf(format, args...), IsError: true}
}
