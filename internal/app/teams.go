package app

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/home"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/team"
)

// Team returns the team called name from the seance home as a model, or ok false when the home has
// no such team. Every run of it is saved as a transcript and committed to the home (see SaveRuns).
func (a *App) Team(ctx context.Context, name string) (m *team.Model, ok bool, err error) {
	h, err := a.loadHome()
	if h == nil {
		return nil, false, err // no home at all: not a team name
	}
	t, found := h.Team(name)
	if !found {
		return nil, false, nil
	}
	m, err = a.newTeam(h, t)
	return m, true, err
}

// loadHome loads the home; a home with invalid files is still returned with its valid part (the
// problems are logged), a missing home is (nil, nil).
func (a *App) loadHome() (*home.Home, error) {
	h, err := a.Home()
	if err != nil && h != nil {
		a.log.Warn("the seance home has invalid files", "err", err)
		return h, nil
	}
	if err != nil {
		return nil, nil
	}
	return h, nil
}

func (a *App) newTeam(h *home.Home, t team.Team) (*team.Model, error) {
	return team.New(t, a.resolver(h), team.Options{
		Observe: a.runs.add,
		Done: func(res *team.Result) {
			a.saveRun(h, t.Name, res)
			a.runs.finish(res.Run)
		},
	})
}

// resolver resolves team members: agents run on their model (grounded in the memory when their front
// matter has memory:), teams nest.
func (a *App) resolver(h *home.Home) team.Resolver {
	return func(ctx context.Context, name string) (llm.Model, *team.Agent, error) {
		if ag, ok := h.Agent(name); ok {
			m, err := a.Model(ctx, ag.Model)
			if err != nil {
				return nil, nil, err
			}
			if len(ag.Tools) > 0 {
				a.mu.Lock()
				tools := a.tools
				a.mu.Unlock()
				if tools == nil {
					return nil, nil, fault.New(fault.Unsupported,
						"agent %q uses tools (%s) and needs a workspace: run the team with 'seance run --workspace DIR'",
						ag.Name, strings.Join(ag.Tools, ", "))
				}
				if m, err = tools.AgentModel(m, &ag, 0); err != nil {
					return nil, nil, err
				}
			}
			if len(ag.Memory) > 0 {
				if m, err = a.groundAgent(ctx, m, &ag); err != nil {
					return nil, nil, err
				}
			}
			return m, &ag, nil
		}
		if t, ok := h.Team(name); ok {
			m, err := a.newTeam(h, t)
			return m, nil, err
		}
		return nil, nil, fault.New(fault.NotFound, "no agent or team %q in %s", name, h.Dir())
	}
}

// saveRun commits a run's transcript. A transcript that cannot be saved is logged, never lost
// silently: the run's answer has already gone to the caller.
func (a *App) saveRun(h *home.Home, teamName string, res *team.Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	meta := home.RunMeta{ID: res.Run, Team: teamName, Started: res.Started, Hashes: h.Hashes(teamName)}
	if _, err := h.SaveRun(ctx, meta, res); err != nil {
		a.log.Error("could not save the run transcript", "run", res.Run, "team", teamName, "err", err)
	}
}

// Run returns a live or recently finished team run by id, for its event stream.
func (a *App) Run(id string) (*team.Run, bool) { return a.runs.get(id) }

// runRegistry keeps team runs by id while they run and for a while after, so clients can follow
// their events.
type runRegistry struct {
	mu   sync.Mutex
	runs map[string]*runEntry
}

type runEntry struct {
	run      *team.Run
	finished time.Time
}

// keepFinished is how long a finished run's events stay available.
const keepFinished = 10 * time.Minute

func (r *runRegistry) add(run *team.Run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs == nil {
		r.runs = map[string]*runEntry{}
	}
	now := time.Now()
	for id, e := range r.runs {
		if !e.finished.IsZero() && now.Sub(e.finished) > keepFinished {
			delete(r.runs, id)
		}
	}
	r.runs[run.ID] = &runEntry{run: run}
}

func (r *runRegistry) finish(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.runs[id]; ok {
		e.finished = time.Now()
	}
}

func (r *runRegistry) get(id string) (*team.Run, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.runs[id]
	if !ok {
		return nil, false
	}
	return e.run, true
}

// teamInfos lists the home's teams as models.
func (a *App) teamInfos() []llm.Info {
	h, _ := a.loadHome()
	if h == nil {
		return nil
	}
	var out []llm.Info
	for _, t := range h.Teams() {
		out = append(out, llm.Info{ID: t.Name, Backend: "team", Architecture: string(t.Pattern), Source: "home"})
	}
	return out
}

// observed is a team model that reports its runs to an llm.RunObserver in the context (the HTTP API
// names the run in a header that way).
type observed struct{ *team.Model }

// Chat runs the team, reporting the run to the context's observer.
func (o observed) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	if fn := llm.RunObserver(ctx); fn != nil {
		ctx = team.ObserveRuns(ctx, func(r *team.Run) { fn(r.ID) })
	}
	return o.Model.Chat(ctx, req, stream)
}

// runSource serves team runs' events to the HTTP API.
type runSource struct{ a *App }

// FollowRun streams the events of a live or recently finished run.
func (s runSource) FollowRun(r *http.Request, id string, emit func(any) error) error {
	run, ok := s.a.Run(id)
	if !ok {
		return fault.New(fault.NotFound, "no team run %q (runs are kept for %s after they finish; see 'seance runs show')", id, keepFinished)
	}
	events, cancel := run.Subscribe(1024)
	defer cancel()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := emit(ev); err != nil {
				return err
			}
		case <-r.Context().Done():
			return r.Context().Err()
		}
	}
}

// UseTools makes agents that list tools run through t's tool runtime (sandbox, workspace, policy,
// audit) in the teams this App builds from now on. Without it such agents cannot be resolved.
func (a *App) UseTools(t *Tools) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tools = t
}
