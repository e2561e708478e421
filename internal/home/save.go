package home

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/team"
)

// agentFront is the front matter of an agent file, in the order files show it.
type agentFront struct {
	Name             string   `yaml:"name"`
	Description      string   `yaml:"description,omitempty"`
	Model            string   `yaml:"model"`
	Persona          string   `yaml:"persona,omitempty"`
	Temperature      *float64 `yaml:"temperature,omitempty"`
	TopP             *float64 `yaml:"top_p,omitempty"`
	TopK             *int     `yaml:"top_k,omitempty"`
	MinP             *float64 `yaml:"min_p,omitempty"`
	RepeatPenalty    *float64 `yaml:"repeat_penalty,omitempty"`
	PresencePenalty  *float64 `yaml:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `yaml:"frequency_penalty,omitempty"`
	Seed             *int64   `yaml:"seed,omitempty"`
	MaxTokens        int      `yaml:"max_tokens,omitempty"`
	Tools            []string `yaml:"tools,omitempty"`
	Memory           []string `yaml:"memory,omitempty"`
}

// teamDoc is a team file, in the order files show it.
type teamDoc struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description,omitempty"`
	Pattern     string     `yaml:"pattern"`
	Members     []string   `yaml:"members"`
	Params      any        `yaml:"params,omitempty"`
	Budget      *budgetDoc `yaml:"budget,omitempty"`
}

type budgetDoc struct {
	Tokens        int    `yaml:"tokens,omitempty"`
	Wall          string `yaml:"wall,omitempty"`
	MemberTimeout string `yaml:"member_timeout,omitempty"`
	Parallel      int    `yaml:"parallel,omitempty"`
}

// MarshalAgent returns the file content of an agent: YAML front matter and the system prompt.
func MarshalAgent(a team.Agent) ([]byte, error) {
	s := a.Sampling
	fm, err := yaml.Marshal(agentFront{
		Name: a.Name, Description: a.Description, Model: a.Model, Persona: a.Persona,
		Temperature: s.Temperature, TopP: s.TopP, TopK: s.TopK, MinP: s.MinP, RepeatPenalty: s.RepeatPenalty,
		PresencePenalty: s.PresencePenalty, FrequencyPenalty: s.FrequencyPenalty, Seed: s.Seed,
		MaxTokens: a.MaxTokens, Tools: a.Tools, Memory: a.Memory,
	})
	if err != nil {
		return nil, fmt.Errorf("agent %q: %w", a.Name, err)
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	b.Write(fm)
	b.WriteString("---\n")
	if sys := strings.TrimSpace(a.System); sys != "" {
		b.WriteString("\n" + sys + "\n")
	}
	return b.Bytes(), nil
}

// MarshalTeam returns the file content of a team.
func MarshalTeam(t team.Team) ([]byte, error) {
	d := teamDoc{Name: t.Name, Description: t.Description, Pattern: string(t.Pattern), Members: t.Members}
	if len(t.Params) > 0 && string(t.Params) != "null" {
		if err := json.Unmarshal(t.Params, &d.Params); err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "team %q: params are not JSON", t.Name)
		}
	}
	if b := t.Budget; b != (team.Budget{}) {
		d.Budget = &budgetDoc{Tokens: b.Tokens, Parallel: b.Parallel}
		if b.Wall > 0 {
			d.Budget.Wall = b.Wall.String()
		}
		if b.MemberTimeout > 0 {
			d.Budget.MemberTimeout = b.MemberTimeout.String()
		}
	}
	out, err := yaml.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("team %q: %w", t.Name, err)
	}
	return out, nil
}

// writeFile replaces path with content atomically: a temporary file in the same folder, synced, then
// renamed over the target, so a crash leaves either the old or the new content, never a mix.
func writeFile(path string, content []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not all file systems support syncing a folder
		d.Close()
	}
	return nil
}

// change is one file a commit writes or removes.
type change struct {
	rel     string
	content []byte
	remove  bool
}

// commitFiles applies changes and commits them with message while holding the repository's lock. If
// the commit fails, the files are restored to what they were. It returns the commit hash ("" when the
// files already had this content).
func (h *Home) commitFiles(ctx context.Context, message string, changes ...change) (string, error) {
	if h.repo == nil {
		return "", h.repoErr
	}
	unlock := h.repo.Lock()
	defer unlock()
	return h.commitLocked(ctx, message, changes...)
}

func (h *Home) commitLocked(ctx context.Context, message string, changes ...change) (string, error) {
	type saved struct {
		rel    string
		old    []byte
		exists bool
	}
	var undo []saved
	restore := func() {
		for _, s := range undo {
			p := filepath.Join(h.dir, s.rel)
			if s.exists {
				_ = writeFile(p, s.old)
			} else {
				_ = os.Remove(p)
			}
		}
	}
	paths := make([]string, 0, len(changes))
	for _, c := range changes {
		p := filepath.Join(h.dir, c.rel)
		old, err := os.ReadFile(p)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			restore()
			return "", fmt.Errorf("read %s: %w", c.rel, err)
		}
		undo = append(undo, saved{c.rel, old, exists})
		if c.remove {
			if err = os.Remove(p); errors.Is(err, fs.ErrNotExist) {
				err = nil // already gone from the work tree: commit the removal
			}
		} else {
			err = writeFile(p, c.content)
		}
		if err != nil {
			restore()
			return "", fmt.Errorf("%s: %w", c.rel, err)
		}
		paths = append(paths, c.rel)
	}
	hash, err := h.repo.Commit(ctx, message, paths...)
	if errors.Is(err, gitrepo.ErrNothingToCommit) {
		return "", nil
	}
	if err != nil {
		restore()
		return "", fmt.Errorf("commit %s: %w", strings.Join(paths, ", "), err)
	}
	return hash, nil
}

// SaveAgent validates a, writes agents/<name>.md and commits it ("agents: add x" or "agents: update
// x"). It returns the commit hash, "" when the file already had this content.
func (h *Home) SaveAgent(ctx context.Context, a team.Agent) (string, error) {
	if a.Model == "" {
		a.Model = DefaultModel
	}
	content, err := MarshalAgent(a)
	if err != nil {
		return "", err
	}
	rel := AgentsDir + "/" + a.Name + ".md"
	var list []Problem
	af, ok := parseAgent(rel, a.Name, content, &list)
	if !ok {
		return "", fault.Wrap(&ValidationError{Problems: list}, fault.Invalid, "invalid agent %q", a.Name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, clash := h.teams[a.Name]; clash {
		return "", fault.New(fault.Invalid, "agent %q: the name is taken by the team in %s", a.Name, t.Source)
	}
	verb := "add"
	if _, ok := h.agents[a.Name]; ok {
		verb = "update"
	}
	hash, err := h.commitFiles(ctx, fmt.Sprintf("agents: %s %s", verb, a.Name), change{rel: rel, content: content})
	if err != nil {
		return "", err
	}
	af.spec.Source, af.spec.SHA = rel, blobSHA(content)
	h.agents[a.Name] = af.spec
	return hash, nil
}

// SaveTeam validates t (its members must exist and no cycle may form), writes teams/<name>.yaml and
// commits it. It returns the commit hash, "" when the file already had this content.
func (h *Home) SaveTeam(ctx context.Context, t team.Team) (string, error) {
	content, err := MarshalTeam(t)
	if err != nil {
		return "", err
	}
	rel := TeamsDir + "/" + t.Name + ".yaml"
	var list []Problem
	tf, ok := parseTeam(rel, t.Name, content, &list)
	h.mu.Lock()
	defer h.mu.Unlock()
	if ok {
		// Check references and cycles against the current specs with this team in place.
		agents := map[string]agentFile{}
		for n, a := range h.agents {
			agents[n] = agentFile{spec: a}
		}
		teams := map[string]teamFile{}
		for n, x := range h.teams {
			teams[n] = teamFile{spec: x, memberLines: make([]int, len(x.Members))}
		}
		tf.spec.Source = rel
		teams[t.Name] = tf
		crossCheck(agents, teams, map[string]bool{}, &list)
	}
	if len(list) > 0 {
		return "", fault.Wrap(&ValidationError{Problems: list}, fault.Invalid, "invalid team %q", t.Name)
	}
	verb := "add"
	if _, ok := h.teams[t.Name]; ok {
		verb = "update"
	}
	hash, err := h.commitFiles(ctx, fmt.Sprintf("teams: %s %s (%s of %s)", verb, t.Name, t.Pattern, strings.Join(t.Members, ", ")), change{rel: rel, content: content})
	if err != nil {
		return "", err
	}
	tf.spec.Source, tf.spec.SHA = rel, blobSHA(content)
	h.teams[t.Name] = tf.spec
	return hash, nil
}

// Remove deletes the agent or team named name and commits the removal. It refuses (fault.Invalid) while
// a team still names it as a member.
func (h *Home) Remove(ctx context.Context, name string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var rel, kind string
	if a, ok := h.agents[name]; ok {
		rel, kind = a.Source, "agents"
	} else if t, ok := h.teams[name]; ok {
		rel, kind = t.Source, "teams"
	} else {
		return "", fault.New(fault.NotFound, "no agent or team named %q", name)
	}
	var users []string
	for n, t := range h.teams {
		for _, m := range t.Members {
			if m == name {
				users = append(users, n)
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return "", fault.New(fault.Invalid, "%q is a member of %s; change those teams first", name, strings.Join(users, ", "))
	}
	hash, err := h.commitFiles(ctx, fmt.Sprintf("%s: remove %s", kind, name), change{rel: rel, remove: true})
	if err != nil {
		return "", err
	}
	delete(h.agents, name)
	delete(h.teams, name)
	return hash, nil
}

// Reload re-reads the home's files (after edits made outside seance) with Load's validation.
func (h *Home) Reload() error {
	agents, teams, err := read(h.dir)
	if agents == nil {
		return err
	}
	h.mu.Lock()
	h.agents, h.teams = agents, teams
	h.mu.Unlock()
	return err
}

// Log returns up to n commits of the home (0: all), newest first.
func (h *Home) Log(ctx context.Context, n int) ([]gitrepo.Commit, error) {
	if h.repo == nil {
		return nil, h.repoErr
	}
	return h.repo.Log(ctx, n)
}

// now is the clock, replaced in tests.
var now = time.Now
