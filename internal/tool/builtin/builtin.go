// Package builtin holds seance's built-in tools: read_file, write_file, list_dir and search_files work
// on the workspace through its os.Root file helpers; run and run_code start processes only through
// sandbox.Run with the workspace as their folder; http_fetch (off unless enabled) fetches from hosts
// the policy allows, checked again when the connection is dialled; recall and remember (when a memory
// store is given) search seance's memory and append remembered facts to it.
//
// builtin imports tool, workspace, sandbox, netproxy, policy, memory, chat and fault; internal/app
// registers the tools.
package builtin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/tool"
)

// Options configure the built-in tools.
type Options struct {
	// MaxRead is the largest file read_file returns (default 256 KiB).
	MaxRead int64
	// Sandbox configures run and run_code.
	Sandbox SandboxOptions
	// HTTP enables http_fetch when non-nil.
	HTTP *HTTPOptions
	// Memory enables recall and remember when non-nil (memory.go); MemorySearch tunes recall's
	// memory.Search (its K and IncludeExpired come from each call).
	Memory       Memory
	MemorySearch memory.SearchOptions
}

// SandboxOptions configure the processes of run and run_code.
type SandboxOptions struct {
	// Limits are the defaults of every process; an agent's policy limits narrow them, never widen.
	// Zero fields take sandbox.DefaultLimits.
	Limits sandbox.Limits
	// UID and GID are the ids processes run as (0: the sandbox's defaults). When seance runs as root,
	// the workspace (its .git excepted) is given to this uid before each process starts, so that the
	// process can write it.
	UID, GID int
	// GoRoot is the Go toolchain run_code's "go" uses, mounted read-only ("" : /usr/local/go when it
	// exists).
	GoRoot string
	// Languages restricts run_code to these languages (nil: every detected one).
	Languages []string
	// AllowWeakerLandlock and AllowNoCgroup are passed to the sandbox; seance logs the choice.
	AllowWeakerLandlock, AllowNoCgroup bool
	// Env is added to the environment of every process (after PATH, HOME, TMPDIR and LANG).
	Env []string
	// ReadOnly lists extra host paths every process sees read-only (sandbox.Spec.ReadOnly).
	ReadOnly []string
	// Resolver resolves host names for the network proxy of processes whose policy grants hosts
	// (nil: net.DefaultResolver).
	Resolver Resolver
}

// HTTPOptions configure http_fetch.
type HTTPOptions struct {
	// Timeout bounds a whole fetch (default 30 s).
	Timeout time.Duration
	// MaxBody is the largest body returned (default 256 KiB); longer bodies are cut.
	MaxBody int64
	// Resolver resolves host names (nil: net.DefaultResolver).
	Resolver Resolver
}

// Tools returns the built-in tools configured by opts: the file tools, run, run_code (with the
// languages detected on this machine) and, when opts.HTTP is set, http_fetch.
func Tools(opts Options) []tool.Tool {
	if opts.MaxRead <= 0 {
		opts.MaxRead = 256 << 10
	}
	ts := []tool.Tool{readFile(opts), writeFile(), listDir(), searchFiles()}
	px := newProcs(opts.Sandbox)
	ts = append(ts, px.runTool(), px.codeTool())
	if opts.HTTP != nil {
		ts = append(ts, httpFetch(*opts.HTTP))
	}
	if opts.Memory != nil {
		ts = append(ts, recallTool(opts.Memory, opts.MemorySearch), rememberTool(opts.Memory))
	}
	return ts
}

// Registry returns a tool registry of Tools(opts).
func Registry(opts Options) (*tool.Registry, error) { return tool.NewRegistry(Tools(opts)...) }

// def adapts typed functions to tool.Tool: arguments are decoded once into A.
type def[A any] struct {
	spec chat.ToolSpec
	plan func(A) (policy.Call, error)
	call func(context.Context, tool.Env, A) (tool.Result, error)
}

var _ tool.Tool = def[struct{}]{}

func (d def[A]) Spec() chat.ToolSpec { return d.spec }

func (d def[A]) Plan(args json.RawMessage) (policy.Call, error) {
	var a A
	if err := tool.Decode(args, &a); err != nil {
		return policy.Call{}, err
	}
	return d.plan(a)
}

func (d def[A]) Call(ctx context.Context, env tool.Env, args json.RawMessage) (tool.Result, error) {
	var a A
	if err := tool.Decode(args, &a); err != nil {
		return tool.Result{}, err
	}
	return d.call(ctx, env, a)
}
