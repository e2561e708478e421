// Package home owns the seance home: a git repository holding agents (Markdown files with YAML front
// matter under agents/), teams (YAML files under teams/) and run transcripts (JSON under runs/).
//
// Load reads and validates every file, naming the file and line of each problem; Init creates a home
// with the built-in example teams; every change made through a Home (SaveAgent, SaveTeam, Remove,
// SaveRun) is written atomically and committed. Commits are serialised per folder within the process,
// and git's index lock is waited for when another process holds it.
//
// home imports team (the spec types), gitrepo, chat and fault; internal/app builds a Home from config.
package home

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/team"
)

// DefaultModel is the model of an agent whose file names none: the embedded default alias.
const DefaultModel = "default"

// The folders of a home.
const (
	AgentsDir = "agents"
	TeamsDir  = "teams"
	RunsDir   = "runs"
)

// Author signs the commits seance makes in a home.
var Author = gitrepo.Signature{Name: "seance", Email: "seance@localhost"}

// Home is a loaded seance home. Its methods are safe for concurrent use.
type Home struct {
	dir     string
	repo    *gitrepo.Repo
	repoErr error // why repo is nil (git missing): reported by the methods that write

	mu     sync.RWMutex
	agents map[string]team.Agent
	teams  map[string]team.Team
}

// Load reads every agent and team of the home at dir and validates them: syntax, known keys, names
// matching file names, member references and cycles among teams. All problems are collected: the
// error (fault.Invalid) wraps a *ValidationError listing each as "file:line: message". On a
// validation error Load still returns the Home with the specs that are valid on their own.
func Load(dir string) (*Home, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("seance home %q: %w", dir, err)
	}
	if st, err := os.Stat(filepath.Join(abs, ".git")); err != nil || !st.IsDir() {
		return nil, fault.New(fault.NotFound, "no seance home at %s; run 'seance init'", abs)
	}
	h := &Home{dir: abs}
	h.repo, h.repoErr = gitrepo.Open(abs, gitrepo.Options{Author: Author})
	agents, teams, err := read(abs)
	h.agents, h.teams = agents, teams
	return h, err
}

// read loads and validates the spec files under dir.
func read(dir string) (map[string]team.Agent, map[string]team.Team, error) {
	var list []Problem
	agents := map[string]agentFile{}
	teams := map[string]teamFile{}
	// broken holds the names (file stems) of specs with problems of their own. They are kept for the
	// cross checks, so that a reference to a broken spec is not also reported as missing, then dropped.
	broken := map[string]bool{}
	err := eachFile(dir, AgentsDir, []string{".md"}, func(rel, stem string, src []byte) {
		af, ok := parseAgent(rel, stem, src, &list)
		af.spec.Name, af.spec.Source, af.spec.SHA = stem, rel, blobSHA(src)
		agents[stem] = af
		if !ok {
			broken[stem] = true
		}
	})
	if err != nil {
		return nil, nil, err
	}
	err = eachFile(dir, TeamsDir, []string{".yaml", ".yml"}, func(rel, stem string, src []byte) {
		tf, ok := parseTeam(rel, stem, src, &list)
		if prev, dup := teams[stem]; dup {
			list = append(list, Problem{File: rel, Msg: fmt.Sprintf("team %q is also defined in %s", stem, prev.spec.Source)})
			return
		}
		tf.spec.Name, tf.spec.Source, tf.spec.SHA = stem, rel, blobSHA(src)
		if len(tf.memberLines) != len(tf.spec.Members) {
			tf.memberLines = make([]int, len(tf.spec.Members))
		}
		teams[stem] = tf
		if !ok {
			broken[stem] = true
		}
	})
	if err != nil {
		return nil, nil, err
	}
	crossCheck(agents, teams, broken, &list)
	outA := make(map[string]team.Agent, len(agents))
	for n, a := range agents {
		if !broken[n] {
			outA[n] = a.spec
		}
	}
	outT := make(map[string]team.Team, len(teams))
	for n, t := range teams {
		outT[n] = t.spec
	}
	if len(list) > 0 {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].File != list[j].File {
				return list[i].File < list[j].File
			}
			return list[i].Line < list[j].Line
		})
		return outA, outT, fault.Wrap(&ValidationError{Problems: list}, fault.Invalid, "invalid seance home %s", dir)
	}
	return outA, outT, nil
}

// eachFile calls fn for every regular file directly under dir/sub whose name ends in one of exts.
// Hidden files (leftover temporary files among them) are skipped.
func eachFile(dir, sub string, exts []string, fn func(rel, stem string, src []byte)) error {
	ents, err := os.ReadDir(filepath.Join(dir, sub))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", sub, err)
	}
	for _, e := range ents {
		name := e.Name()
		ext := filepath.Ext(name)
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() || !contains(exts, ext) {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, sub, name))
		if err != nil {
			return fmt.Errorf("read %s/%s: %w", sub, name, err)
		}
		fn(sub+"/"+name, strings.TrimSuffix(name, ext), src)
	}
	return nil
}

// crossCheck validates what no single file can: name clashes between agents and teams, member
// references, parameters, and cycles among teams. broken holds the specs already known to be invalid;
// on return teams holds only the usable teams: valid, and using only valid members.
func crossCheck(agents map[string]agentFile, teams map[string]teamFile, broken map[string]bool, list *[]Problem) {
	bad := map[string]bool{}
	for n := range broken {
		bad[n] = true
	}
	for _, n := range sortedKeys(teams) {
		tf := teams[n]
		if a, clash := agents[n]; clash {
			*list = append(*list, Problem{File: tf.spec.Source, Line: tf.nameLine,
				Msg: fmt.Sprintf("team %q has the name of the agent in %s; names are shared by agents and teams", n, a.spec.Source)})
			bad[n] = true
			delete(teams, n) // its members would be ambiguous; the agent keeps the name
		}
	}
	names := append(sortedKeys(agents), sortedKeys(teams)...)
	for _, n := range sortedKeys(teams) {
		tf := teams[n]
		for i, m := range tf.spec.Members {
			_, isAgent := agents[m]
			_, isTeam := teams[m]
			if !isAgent && !isTeam {
				*list = append(*list, Problem{File: tf.spec.Source, Line: tf.memberLines[i],
					Msg: fmt.Sprintf("member %q is neither an agent nor a team%s", m, suggest(m, names))})
				bad[n] = true
			}
		}
	}
	// Parameters: the team runtime decodes and checks them against the members.
	for _, n := range sortedKeys(teams) {
		if bad[n] {
			continue
		}
		tf := teams[n]
		if _, err := team.New(tf.spec, noResolver, team.Options{}); err != nil {
			*list = append(*list, Problem{File: tf.spec.Source, Line: tf.paramsLine, Msg: fault.Message(err)})
			bad[n] = true
		}
	}
	// Cycles: a depth-first walk over team members. A back edge closes a cycle, reported once, in the
	// file of the team where the cycle is entered, at its member line that starts the cycle.
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var walk func(n string)
	walk = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for _, m := range teams[n].spec.Members {
			if _, isTeam := teams[m]; !isTeam {
				continue
			}
			switch state[m] {
			case unseen:
				walk(m)
			case active:
				start := 0
				for j, s := range stack {
					if s == m {
						start = j
					}
				}
				cycle := append(append([]string{}, stack[start:]...), m)
				key := canonicalCycle(cycle)
				if reported[key] {
					continue
				}
				reported[key] = true
				first := teams[cycle[0]]
				line := 0
				for i, x := range first.spec.Members {
					if x == cycle[1] {
						line = first.memberLines[i]
						break
					}
				}
				*list = append(*list, Problem{File: first.spec.Source, Line: line,
					Msg: "cycle among teams: " + strings.Join(cycle, " → ")})
				for _, c := range cycle {
					bad[c] = true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range sortedKeys(teams) {
		if state[n] == unseen {
			walk(n)
		}
	}
	// A team that uses a bad spec is unusable too, but its own file is fine: drop it without a problem.
	for changed := true; changed; {
		changed = false
		for n, tf := range teams {
			if bad[n] {
				continue
			}
			for _, m := range tf.spec.Members {
				if bad[m] {
					bad[n], changed = true, true
					break
				}
			}
		}
	}
	for n := range bad {
		delete(teams, n)
	}
}

// noResolver is the resolver given to team.New to check a team's parameters; it is never called.
func noResolver(context.Context, string) (llm.Model, *team.Agent, error) {
	return nil, nil, fault.New(fault.Internal, "parameters check: members are not resolved")
}

// canonicalCycle names a cycle independently of where it was entered.
func canonicalCycle(c []string) string {
	c = c[:len(c)-1]
	lo := 0
	for i, s := range c {
		if s < c[lo] {
			lo = i
		}
	}
	return strings.Join(append(append([]string{}, c[lo:]...), c[:lo]...), ">")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Dir returns the home folder (absolute).
func (h *Home) Dir() string { return h.dir }

// Agents returns the agents, sorted by name.
func (h *Home) Agents() []team.Agent {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]team.Agent, 0, len(h.agents))
	for _, n := range sortedKeys(h.agents) {
		out = append(out, h.agents[n])
	}
	return out
}

// Teams returns the teams, sorted by name.
func (h *Home) Teams() []team.Team {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]team.Team, 0, len(h.teams))
	for _, n := range sortedKeys(h.teams) {
		out = append(out, h.teams[n])
	}
	return out
}

// Agent returns the agent named name.
func (h *Home) Agent(name string) (team.Agent, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	a, ok := h.agents[name]
	return a, ok
}

// Team returns the team named name.
func (h *Home) Team(name string) (team.Team, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	t, ok := h.teams[name]
	return t, ok
}

// Hashes returns the files a run of the team depends on — its own file and those of its members,
// teams recursively — mapped to their content hashes (git blob ids), for a transcript's RunMeta.
// It returns nil for an unknown team.
func (h *Home) Hashes(teamName string) map[string]string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if _, ok := h.teams[teamName]; !ok {
		return nil
	}
	out := map[string]string{}
	var visit func(n string)
	visit = func(n string) {
		if t, ok := h.teams[n]; ok {
			if _, seen := out[t.Source]; seen {
				return
			}
			out[t.Source] = t.SHA
			for _, m := range t.Members {
				visit(m)
			}
		} else if a, ok := h.agents[n]; ok {
			out[a.Source] = a.SHA
		}
	}
	visit(teamName)
	return out
}
