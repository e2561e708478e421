package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/home"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/tool"
)

// Served teams and tools.
//
// `seance serve --workspace DIR` opens one tool runtime at start (ServeTools). Every served team run
// whose agents call tools works on its own branch of that workspace, seance/run/<run id>, the id being
// the team run's (the X-Seance-Run header, the transcript's name). A workspace has one working tree,
// so it serves one such run at a time: the first tool-using agent of a run takes the workspace
// (Tools.runLock) and checks out the run's branch, and the run keeps it until it ends; other runs
// whose agents use tools wait for it (their HTTP requests stay open, holding a model slot), runs
// whose agents use no tools do not wait. A run waiting for a person's approval keeps the workspace.

// ServeTools opens the tool runtime served teams' agents use, in workspace folder dir (created when
// missing), and makes the App's teams use it (UseTools). Decisions on ask calls come from the HTTP
// API's approval endpoints, within config tools.ask_timeout. Close the returned Tools when serving
// ends.
func (a *App) ServeTools(ctx context.Context, dir string) (*Tools, error) {
	t, err := a.OpenTools(ctx, ToolsOptions{Workspace: dir})
	if err != nil {
		return nil, err
	}
	a.UseTools(t)
	a.log.Info("serving agents with tools", "workspace", t.Workspace.Dir(), "ask_timeout", a.cfg.Tools.AskTimeout)
	return t, nil
}

// servedRunKey carries a *servedRun to the agents of a served team run.
type servedRunKey struct{}

// servedRun is one served team run's hold on the workspace.
type servedRun struct {
	mu    sync.Mutex
	id    string // the team run's id (from the run observer); generated when none was observed
	tools *Tools // whose workspace the run holds; nil: none yet
}

func (s *servedRun) setID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		s.id = id
	}
}

// enter takes t's workspace for the run (waiting while another run holds it) and checks out the
// run's branch, once per run; it returns the run id the calls are recorded under.
func (s *servedRun) enter(ctx context.Context, t *Tools) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tools == t {
		return s.id, nil
	}
	if s.tools != nil {
		return "", fault.New(fault.Internal, "a served run uses two tool runtimes")
	}
	if s.id == "" {
		s.id = home.NewRunID(time.Now())
	}
	select {
	case t.runLock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("run %s: waiting for the workspace: %w", s.id, ctx.Err())
	}
	if err := t.Workspace.Begin(ctx, s.id); err != nil {
		<-t.runLock
		return "", fmt.Errorf("run %s: %w", s.id, err)
	}
	s.tools = t
	return s.id, nil
}

// release gives the workspace back when the run is over.
func (s *servedRun) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tools != nil {
		<-s.tools.runLock
		s.tools = nil
	}
}

// servedModel is a team, or an agent of the home, served over HTTP: each of its runs may hold the tool
// workspace (servedRun). An agent served on its own starts no team run, so its run id is generated
// (home.NewRunID) and named in its commits and audit entries, not in a response header.
type servedModel struct{ llm.Model }

// Chat runs the model with a servedRun in the context, named after the team run, released when the
// run returns.
func (m servedModel) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	s := &servedRun{}
	prev := llm.RunObserver(ctx)
	ctx = llm.WithRunObserver(ctx, func(id string) {
		s.setID(id)
		if prev != nil {
			prev(id)
		}
	})
	defer s.release()
	return m.Model.Chat(context.WithValue(ctx, servedRunKey{}, s), req, stream)
}

// serveModel wraps a model the HTTP API found for id in servedModel when it is a team or an agent of
// the home (whose agents may use tools), after checking that a team's tools can run.
func (a *App) serveModel(id string, m llm.Model) (llm.Model, error) {
	if _, ok := m.(observed); ok {
		if err := a.checkServedTools(id); err != nil {
			return nil, err
		}
		return servedModel{m}, nil
	}
	if _, ok := m.(llm.Embedder); ok {
		return m, nil // a wrapper would hide the capability; agents do not embed
	}
	if _, alias := a.cfg.Models[id]; alias {
		return m, nil
	}
	if h, _ := a.loadHome(); h != nil {
		if _, ok := h.Agent(id); ok {
			return servedModel{m}, nil
		}
	}
	return m, nil
}

// runScoped is an agent's tool loop (Tools.AgentModel). Inside a served team run it works on that
// run's branch of the workspace; elsewhere (seance run --workspace) on the branch the runtime was
// opened with.
type runScoped struct {
	llm.Model
	tools *Tools
}

// Chat runs the agent's loop, entering the served run's workspace first when there is one.
func (m runScoped) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	if s, ok := ctx.Value(servedRunKey{}).(*servedRun); ok && s != nil {
		id, err := s.enter(ctx, m.tools)
		if err != nil {
			return nil, err
		}
		ctx = tool.WithRun(ctx, id)
	}
	return m.Model.Chat(ctx, req, stream)
}

// checkServedTools refuses a team whose agents (in nested teams too) use tools when the App has no
// tool runtime, before it runs: a client gets one clear 400 instead of failed members.
func (a *App) checkServedTools(name string) error {
	a.mu.Lock()
	tools := a.tools
	a.mu.Unlock()
	if tools != nil {
		return nil
	}
	h, _ := a.loadHome()
	if h == nil {
		return nil
	}
	seen := map[string]bool{}
	var users []string
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if ag, ok := h.Agent(name); ok {
			if len(ag.Tools) > 0 {
				users = append(users, fmt.Sprintf("%s (%s)", ag.Name, strings.Join(ag.Tools, ", ")))
			}
			return
		}
		if t, ok := h.Team(name); ok {
			for _, m := range t.Members {
				walk(m)
			}
		}
	}
	walk(name)
	if len(users) == 0 {
		return nil
	}
	sort.Strings(users)
	return fault.New(fault.Unsupported,
		"team %q has agents that use tools — %s — and this server has no workspace: start it with 'seance serve --workspace DIR' (or set serve.workspace)",
		name, strings.Join(users, "; "))
}
