package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/seance-dev/seance/internal/agent"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/team"
	"github.com/seance-dev/seance/internal/tool"
	"github.com/seance-dev/seance/internal/tool/builtin"
	"github.com/seance-dev/seance/internal/workspace"
)

// ToolsOptions say how OpenTools builds the tool runtime of a run.
type ToolsOptions struct {
	// Workspace is the folder of the run's workspace; it is created (a git repository with a main
	// branch) when missing. It must not contain the home's policy folder, nor lie inside it.
	Workspace string
	// Run names the run: its branch (seance/run/<Run>) is checked out, and commits and audit entries
	// name it. Empty: the current branch, and runs named by tool.WithRun.
	Run string
	// Approver is told about calls waiting for a person (nil: they wait for a decision through
	// Tools.Policies, e.g. from an HTTP endpoint, until the ask timeout refuses them).
	Approver tool.Approver
	// HTTP enables http_fetch (hosts still need the policy's allow-list).
	HTTP bool
	// Bounds narrow every agent's policy (a parent agent's or team's policy).
	Bounds []policy.Policy
	// Sandbox configures run and run_code; the zero value is the sandbox's defaults, fail-closed.
	Sandbox builtin.SandboxOptions
	// Memory, when set, offers the recall and remember tools over it (the caller opens and closes
	// it, e.g. with OpenMemory; both memory stores are a builtin.Memory).
	Memory builtin.Memory
	// AskTimeout bounds the wait for a person's decision on an ask call (0: config tools.ask_timeout).
	AskTimeout time.Duration
}

// Tools is an opened tool runtime: the runtime, the policy store whose pending requests people
// decide, the workspace and the audit log. Close it when the run is over.
type Tools struct {
	Runtime   *tool.Runtime
	Policies  *policy.Store
	Workspace *workspace.Workspace
	audit     *audit.Log
	// runLock is held by the served team run working in the workspace (servedRun, serve_tools.go).
	runLock chan struct{}
}

// Close closes the audit log.
func (t *Tools) Close() error {
	if t == nil || t.audit == nil {
		return nil
	}
	return t.audit.Close()
}

// OpenTools builds the tool runtime for a run: policies from the home's policy/ folder (policy changes
// and grants committed to the home when it is a repository), the audit log at <home>/audit.log, the
// workspace at opts.Workspace, and the built-in tools.
func (a *App) OpenTools(ctx context.Context, opts ToolsOptions) (*Tools, error) {
	if opts.Workspace == "" {
		return nil, fault.New(fault.Invalid, "tools: no workspace folder")
	}
	if err := policy.CheckOutside(a.cfg.Home, opts.Workspace); err != nil {
		return nil, err
	}
	ws, err := workspace.Create(ctx, opts.Workspace, workspace.Options{})
	if err != nil {
		return nil, err
	}
	if opts.Run != "" {
		if err := ws.Begin(ctx, opts.Run); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(a.cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("tools: seance home %s: %w", a.cfg.Home, err)
	}
	log, err := a.OpenAudit()
	if err != nil {
		return nil, fmt.Errorf("tools: %w", err)
	}
	var repo *gitrepo.Repo
	if r, err := gitrepo.Open(a.cfg.Home, gitrepo.Options{}); err == nil {
		repo = r
	} else if !errors.Is(err, gitrepo.ErrNotRepo) {
		log.Close()
		return nil, fmt.Errorf("tools: %w", err)
	}
	store, err := policy.Load(a.cfg.Home, policy.Options{Repo: repo, Audit: log, Workspaces: []string{ws.Dir()}})
	if err != nil {
		log.Close()
		return nil, err
	}
	bopts := builtin.Options{Sandbox: opts.Sandbox, Memory: opts.Memory}
	if opts.HTTP {
		bopts.HTTP = &builtin.HTTPOptions{}
	}
	reg, err := builtin.Registry(bopts)
	if err != nil {
		log.Close()
		return nil, err
	}
	if opts.AskTimeout <= 0 {
		opts.AskTimeout = a.cfg.Tools.AskTimeout
	}
	rt, err := tool.NewRuntime(tool.Options{Registry: reg, Workspace: ws, Policies: store, Audit: log, Run: opts.Run,
		Approver: opts.Approver, Bounds: opts.Bounds, AskTimeout: opts.AskTimeout})
	if err != nil {
		log.Close()
		return nil, err
	}
	if opts.Sandbox.AllowWeakerLandlock || opts.Sandbox.AllowNoCgroup {
		a.log.Warn("tools: the sandbox runs in a weaker mode", "weaker_landlock", opts.Sandbox.AllowWeakerLandlock,
			"no_cgroup", opts.Sandbox.AllowNoCgroup)
	}
	return &Tools{Runtime: rt, Policies: store, Workspace: ws, audit: log, runLock: make(chan struct{}, 1)}, nil
}

// AgentModel returns model wrapped in the tool loop for agent ag when ag names tools (`tools:` in its
// file), and model itself otherwise. A tool name the registry does not know is an error naming it.
func (t *Tools) AgentModel(model llm.Model, ag *team.Agent, maxSteps int) (llm.Model, error) {
	if ag == nil || len(ag.Tools) == 0 {
		return model, nil
	}
	m, err := agent.New(model, t.Runtime, agent.Options{Agent: ag.Name, Tools: ag.Tools, MaxSteps: maxSteps})
	if err != nil {
		return nil, err
	}
	return runScoped{Model: m, tools: t}, nil
}
