package app

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/seance-dev/seance/internal/arena"
	"github.com/seance-dev/seance/internal/arena/sandboxrun"
	"github.com/seance-dev/seance/internal/arena/verify"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
)

// ArenaDir is where arena runs are recorded: <home>/arena/<run-id>/.
func (a *App) ArenaDir() string { return filepath.Join(a.cfg.Home, "arena") }

// CodeRunner returns the runner of code items' tests: python3 in the sandbox, with the item's wall
// time and memory limits and no network.
func (a *App) CodeRunner() verify.CodeRunner { return sandboxrun.New(sandboxrun.Options{}) }

// Contestant resolves an arena contestant: anything Model resolves (a model, an alias, a team; a
// "team/" prefix insists on a team of the home). For a team, its base model — the model of its
// first member that is an agent, found depth-first through nested teams — and the hashes of its
// files are filled in.
func (a *App) Contestant(ctx context.Context, name string) (arena.Contestant, error) {
	teamName, forceTeam := strings.CutPrefix(name, "team/")
	h, _ := a.loadHome()
	if h != nil {
		if t, ok := h.Team(teamName); ok {
			m, _, err := a.Team(ctx, teamName)
			if err != nil {
				return arena.Contestant{}, err
			}
			c := arena.Contestant{Name: name, Model: observed{m}, Team: true, Files: h.Hashes(teamName)}
			seen := map[string]bool{}
			var base func(members []string) string
			base = func(members []string) string {
				for _, mem := range members {
					if ag, ok := h.Agent(mem); ok {
						if ag.Model == "" {
							return a.cfg.DefaultModel
						}
						return ag.Model
					}
					if sub, ok := h.Team(mem); ok && !seen[mem] {
						seen[mem] = true
						if b := base(sub.Members); b != "" {
							return b
						}
					}
				}
				return ""
			}
			if b := base(t.Members); b != "" {
				bm, err := a.Model(ctx, b)
				if err != nil {
					return arena.Contestant{}, fmt.Errorf("team %s: base model: %w", teamName, err)
				}
				c.BaseName, c.Base = b, bm
			}
			return c, nil
		}
	}
	if forceTeam {
		return arena.Contestant{}, fault.New(fault.NotFound, "no team %q in the seance home (see 'seance teams list')", teamName)
	}
	m, err := a.Model(ctx, name)
	if err != nil {
		return arena.Contestant{}, err
	}
	return arena.Contestant{Name: name, Model: m}, nil
}

// CommitArenaRun commits a run's folder (its run.json, results, summary and reports) to the seance
// home's repository and returns the commit. It fails with fault.NotFound when the home is not a
// repository (run 'seance init').
func (a *App) CommitArenaRun(ctx context.Context, id, message string) (string, error) {
	repo, err := gitrepo.Open(a.cfg.Home, gitrepo.Options{})
	if err != nil {
		return "", fault.Wrap(err, fault.NotFound, "the seance home %s is not a git repository (run 'seance init')", a.cfg.Home)
	}
	rel := path.Join("arena", id)
	unlock := repo.Lock()
	defer unlock()
	commit, err := repo.Commit(ctx, message, rel)
	if errors.Is(err, gitrepo.ErrNothingToCommit) {
		return "", nil
	}
	return commit, err
}
