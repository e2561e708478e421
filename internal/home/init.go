package home

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/seance-dev/seance/internal/gitrepo"
)

//go:embed examples
var examples embed.FS

// example is one built-in example, installed and committed as one step.
type example struct {
	title string
	files []string // relative to examples/ and to the home
}

// builtins are the examples Init installs, in order. An agent shared by two examples is installed by
// the first.
var builtins = []example{
	{"a Tiny-MoA-style brain that routes to math, code and writing specialists", []string{
		"agents/router.md", "agents/math.md", "agents/coder.md", "agents/writer.md", "teams/brain.yaml"}},
	{"a mixture-of-agents team: three proposers in two layers and an aggregator", []string{
		"agents/analyst.md", "agents/skeptic.md", "agents/generalist.md", "agents/aggregator.md", "teams/moa.yaml"}},
	{"the philosophy council: a utilitarian, a communist and an anarchist debate, a moderator sums up", []string{
		"agents/utilitarian.md", "agents/communist.md", "agents/anarchist.md", "agents/moderator.md", "teams/council.yaml"}},
	{"a writer with a reviewer", []string{
		"agents/writer.md", "agents/reviewer.md", "teams/writing-desk.yaml"}},
	{"a self-consistency vote over five samples of a solver", []string{
		"agents/solver.md", "teams/self-consistency.yaml"}},
}

const readme = `# seance home

This folder is a git repository: every change seance makes here is a commit, so ` + "`git log`" + `
shows who changed which agent or team and when, and every run's transcript names the exact versions
it used.

- ` + "`agents/NAME.md`" + ` — an agent: YAML front matter (name, description, model, persona,
  temperature, top_p, top_k, min_p, repeat_penalty, presence_penalty, frequency_penalty, seed,
  max_tokens, tools, memory) between two ` + "`---`" + ` lines; the Markdown body is its system prompt.
  The model defaults to "default", the embedded default model.
- ` + "`teams/NAME.yaml`" + ` — a team: name, description, pattern (route, vote, moa, debate, review),
  members (agents or other teams), params (the pattern's parameters) and budget (tokens, wall,
  member_timeout, parallel).
- ` + "`runs/DATE/ID.json`" + ` — the transcript of each run: the hashes of the files it used, seeds,
  every message, events and accounting.

A file's name must match its ` + "`name`" + `; unknown keys are errors, reported with the file and line.
` + "`seance agents list`" + ` and ` + "`seance teams list`" + ` check the whole home. You may edit the
files by hand; commit your edits with git so that runs can refer to them.

` + "`seance init`" + ` may be run again at any time: it adds built-in examples that are missing and never
overwrites a file that exists.
`

const gitignore = `# Model files are large and are not versioned here.
models/
*.gguf
# The config file may hold API keys.
config.yaml
# Temporary files of interrupted writes.
.*.tmp
`

// InitReport says what Init did.
type InitReport struct {
	Dir string
	// CreatedRepo is set when Init created the git repository.
	CreatedRepo bool
	Steps       []InitStep
}

// InitStep is one commit-sized step of Init.
type InitStep struct {
	Title string
	// Added are the files written; Kept are files that existed and were left as they were, including
	// ones whose content differs from the built-in version (Edited).
	Added, Kept, Edited []string
	// Skipped explains why a step wrote nothing although files were missing.
	Skipped string
	// Commit is the commit that recorded Added ("" when nothing was added).
	Commit string
}

// String describes the report for a person.
func (r *InitReport) String() string {
	var b strings.Builder
	if r.CreatedRepo {
		fmt.Fprintf(&b, "created the seance home %s (a git repository)\n", r.Dir)
	} else {
		fmt.Fprintf(&b, "seance home %s exists\n", r.Dir)
	}
	added := 0
	for _, s := range r.Steps {
		switch {
		case s.Skipped != "":
			fmt.Fprintf(&b, "  skipped %s: %s\n", s.Title, s.Skipped)
		case len(s.Added) > 0 && s.Commit == "":
			added++
			fmt.Fprintf(&b, "  restored %s: %s (as in the last commit)\n", s.Title, strings.Join(s.Added, ", "))
		case len(s.Added) > 0:
			added++
			fmt.Fprintf(&b, "  added %s: %s (commit %.12s)\n", s.Title, strings.Join(s.Added, ", "), s.Commit)
		}
		if len(s.Edited) > 0 {
			fmt.Fprintf(&b, "  kept your edits to %s\n", strings.Join(s.Edited, ", "))
		}
	}
	if added == 0 {
		b.WriteString("  nothing to add: the README and every built-in example are present\n")
	}
	return b.String()
}

// Init creates the seance home at dir — a git repository with agents/, teams/, runs/, a README and
// the built-in examples, each added by its own commit — or completes an existing one: missing files
// are added, existing files are never overwritten. It is safe to run any number of times.
func Init(ctx context.Context, dir string) (*InitReport, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("seance home %q: %w", dir, err)
	}
	rep := &InitReport{Dir: abs}
	var repo *gitrepo.Repo
	if st, err := os.Stat(filepath.Join(abs, ".git")); err == nil && st.IsDir() {
		repo, err = gitrepo.Open(abs, gitrepo.Options{Author: Author})
		if err != nil {
			return nil, err
		}
	} else {
		repo, err = gitrepo.Init(ctx, abs, gitrepo.Options{Author: Author})
		if err != nil {
			return nil, err
		}
		rep.CreatedRepo = true
	}
	h := &Home{dir: abs, repo: repo}
	unlock := repo.Lock()
	defer unlock()

	base := map[string][]byte{"README.md": []byte(readme), ".gitignore": []byte(gitignore), "runs/.gitkeep": {}}
	step, err := h.install(ctx, "the home's README and .gitignore", []string{"README.md", ".gitignore", "runs/.gitkeep"},
		func(rel string) ([]byte, error) { return base[rel], nil })
	if err != nil {
		return rep, err
	}
	rep.Steps = append(rep.Steps, step)
	for _, ex := range builtins {
		step, err := h.install(ctx, ex.title, ex.files, func(rel string) ([]byte, error) {
			return examples.ReadFile("examples/" + rel)
		})
		if err != nil {
			return rep, err
		}
		rep.Steps = append(rep.Steps, step)
	}
	for _, d := range []string{AgentsDir, TeamsDir, RunsDir} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return rep, fmt.Errorf("create %s: %w", d, err)
		}
	}
	return rep, nil
}

// install writes the missing files of one step and commits them. The caller holds the repository lock.
func (h *Home) install(ctx context.Context, title string, files []string, content func(rel string) ([]byte, error)) (InitStep, error) {
	step := InitStep{Title: title}
	var missing []change
	for _, rel := range files {
		want, err := content(rel)
		if err != nil {
			return step, fmt.Errorf("built-in %s: %w", rel, err)
		}
		have, err := os.ReadFile(filepath.Join(h.dir, rel))
		switch {
		case err == nil:
			step.Kept = append(step.Kept, rel)
			if !bytes.Equal(have, want) {
				step.Edited = append(step.Edited, rel)
			}
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return step, fmt.Errorf("read %s: %w", rel, err)
		}
		// A spec name is shared by agents and teams: never install one that would clash.
		if clash := h.clash(rel); clash != "" {
			step.Skipped = fmt.Sprintf("%s would clash with your %s", rel, clash)
			return step, nil
		}
		missing = append(missing, change{rel: rel, content: want})
	}
	if len(missing) == 0 {
		return step, nil
	}
	for _, c := range missing {
		step.Added = append(step.Added, c.rel)
	}
	hash, err := h.commitLocked(ctx, "init: add "+title, missing...)
	if err != nil {
		return step, err
	}
	step.Commit = hash
	return step, nil
}

// clash returns the file of the other kind that has the same spec name as rel, or "".
func (h *Home) clash(rel string) string {
	dir, file := filepath.Split(rel)
	name := strings.TrimSuffix(file, filepath.Ext(file))
	var others []string
	switch strings.TrimSuffix(dir, "/") {
	case AgentsDir:
		others = []string{TeamsDir + "/" + name + ".yaml", TeamsDir + "/" + name + ".yml"}
	case TeamsDir:
		others = []string{AgentsDir + "/" + name + ".md"}
	}
	for _, o := range others {
		if _, err := os.Stat(filepath.Join(h.dir, o)); err == nil {
			return o
		}
	}
	return ""
}
