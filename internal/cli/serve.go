package cli

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["serve"] = command{summary: "serve models over the OpenAI-compatible HTTP API", run: runServe}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("serve", "")
	addr := fs.String("addr", "", "listen address (default: config serve.addr, 127.0.0.1:8080)")
	threads := fs.Int("threads", 0, "threads for the embedded engine (default: config)")
	wsDir := fs.String("workspace", "", "the git workspace `folder` served teams' agents with tools work in, each run on its own branch (default: config serve.workspace; none: such teams are refused)")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
	}
	a, err := e.app(config.Flags{Addr: *addr, Threads: *threads})
	if err != nil {
		return err
	}
	defer a.Close()
	cfg := a.Config()
	dir := cfg.Serve.Workspace
	if *wsDir != "" {
		if dir, err = filepath.Abs(*wsDir); err != nil {
			return fmt.Errorf("workspace %s: %w", *wsDir, err)
		}
	}
	tools := "no workspace: teams whose agents use tools are refused"
	if dir != "" {
		t, err := a.ServeTools(ctx, dir)
		if err != nil {
			return err
		}
		defer t.Close()
		tools = fmt.Sprintf("agents' tools work in %s, one run at a time; approvals at /v1/approvals (ask timeout %s)",
			t.Workspace.Dir(), cfg.Tools.AskTimeout)
	}
	ln, err := net.Listen("tcp", cfg.Serve.Addr)
	if err != nil {
		return err
	}
	keys := "no API key required"
	if len(cfg.Serve.APIKeys) > 0 {
		keys = fmt.Sprintf("%d API key(s) required", len(cfg.Serve.APIKeys))
	}
	if len(cfg.Serve.ApproverKeys) > 0 {
		keys += fmt.Sprintf(", %d approver key(s)", len(cfg.Serve.ApproverKeys))
	}
	fmt.Fprintf(e.Err, "seance serving on http://%s/v1 (%s); default model %q; %s; Ctrl-C stops\n",
		ln.Addr(), keys, cfg.DefaultModel, tools)
	return a.Serve(ctx, ln, buildVersion().Version)
}
