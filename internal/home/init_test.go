package home

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/runid"
	"github.com/seance-dev/seance/internal/team"
)

func initHome(t *testing.T) (*Home, *InitReport) {
	t.Helper()
	needGit(t)
	dir := filepath.Join(t.TempDir(), "seance-home")
	rep, err := Init(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Load(dir)
	if err != nil {
		t.Fatalf("the initialised home does not load: %v", err)
	}
	return h, rep
}

func TestInit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, rep := initHome(t)
	if !rep.CreatedRepo || len(rep.Steps) != 1+len(builtins) {
		t.Fatalf("report %+v", rep)
	}
	// Every example's files exist, are loaded and valid, and members resolve.
	wantTeams := map[string]team.Pattern{"brain": team.Route, "moa": team.MoA, "council": team.Debate,
		"writing-desk": team.Review, "self-consistency": team.Vote}
	teams := h.Teams()
	if len(teams) != len(wantTeams) {
		t.Errorf("%d teams", len(teams))
	}
	for _, tm := range teams {
		if wantTeams[tm.Name] != tm.Pattern {
			t.Errorf("team %s pattern %s", tm.Name, tm.Pattern)
		}
		if _, err := team.New(tm, noModel, team.Options{}); err != nil {
			t.Errorf("team %s: %v", tm.Name, err)
		}
		if tm.Budget.Tokens == 0 || tm.Budget.Wall == 0 || tm.Description == "" {
			t.Errorf("team %s has no budget or description: %+v", tm.Name, tm)
		}
	}
	agents := h.Agents()
	if len(agents) != 14 {
		t.Errorf("%d agents", len(agents))
	}
	for _, a := range agents {
		if a.Model != DefaultModel || a.System == "" || a.Description == "" || a.Persona == "" {
			t.Errorf("agent %s: %+v", a.Name, a)
		}
	}
	council, ok := h.Team("council")
	if !ok || strings.Join(council.Members, ",") != "utilitarian,communist,anarchist,moderator" {
		t.Errorf("council %+v", council)
	}
	// One commit per step, oldest first: the README, then each example.
	log, err := h.Log(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1+len(builtins) {
		t.Fatalf("%d commits: %+v", len(log), log)
	}
	for i, c := range log {
		step := rep.Steps[len(rep.Steps)-1-i]
		if c.Hash != step.Commit || c.Subject != "init: add "+step.Title || c.Author != Author ||
			strings.Join(c.Files, ",") != strings.Join(sortedCopy(step.Added), ",") {
			t.Errorf("commit %d: %+v, step %+v", i, c, step)
		}
	}
	// Each spec's SHA is the blob committed at HEAD, and the work tree is clean.
	for _, a := range agents {
		committed, err := h.repo.Show(ctx, "HEAD", a.Source)
		if err != nil || blobSHA(committed) != a.SHA {
			t.Errorf("agent %s: SHA %s does not match the committed file (%v)", a.Name, a.SHA, err)
		}
	}
	if st, err := h.repo.Status(ctx); err != nil || len(st) != 0 {
		t.Errorf("status after init: %+v %v", st, err)
	}
	for _, d := range []string{AgentsDir, TeamsDir, RunsDir} {
		if st, err := os.Stat(filepath.Join(h.Dir(), d)); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	// The home's Hashes of a team cover the team and its members.
	hs := h.Hashes("council")
	if len(hs) != 5 || hs["teams/council.yaml"] != council.SHA || hs["agents/anarchist.md"] == "" {
		t.Errorf("hashes %v", hs)
	}
	if h.Hashes("nope") != nil {
		t.Error("hashes of an unknown team")
	}
}

func sortedCopy(s []string) []string {
	c := append([]string{}, s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestInitIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, _ := initHome(t)
	dir := h.Dir()
	// The user edits one example, deletes another file, and adds an agent of their own.
	edited := filepath.Join(dir, "agents", "anarchist.md")
	mine := []byte("---\nname: anarchist\n---\nMy own anarchist.\n")
	if err := os.WriteFile(edited, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Remove(ctx, "moa"); err != nil {
		t.Fatal(err)
	}
	before, _ := h.Log(ctx, 0)
	rep, err := Init(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CreatedRepo {
		t.Error("the repository was created again")
	}
	if got, _ := os.ReadFile(edited); string(got) != string(mine) {
		t.Error("init overwrote the user's edit")
	}
	after, _ := h.Log(ctx, 0)
	if len(after) != len(before)+1 || !strings.Contains(after[0].Subject, "mixture-of-agents") ||
		strings.Join(after[0].Files, ",") != "teams/moa.yaml" {
		t.Errorf("second init commits: %+v", after[:len(after)-len(before)])
	}
	text := rep.String()
	if !strings.Contains(text, "kept your edits to agents/anarchist.md") || !strings.Contains(text, "added a mixture-of-agents") {
		t.Errorf("report:\n%s", text)
	}
	// A third run has nothing to do.
	rep, err = Init(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := h.Log(ctx, 0)
	if len(again) != len(after) || !strings.Contains(rep.String(), "nothing to add") {
		t.Errorf("third init: %d commits, report\n%s", len(again)-len(after), rep)
	}
}

func TestInitSkipsClashingExample(t *testing.T) {
	t.Parallel()
	needGit(t)
	dir := t.TempDir()
	// The user already has a team named like an example agent.
	writeFiles(t, dir, map[string]string{"teams/solver.yaml": "name: solver\npattern: vote\nmembers: [math]\n"})
	rep, err := Init(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.String(), "skipped a self-consistency vote") {
		t.Errorf("report:\n%s", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, "agents", "solver.md")); err == nil {
		t.Error("a clashing agent was installed")
	}
	if _, err := Load(dir); err != nil {
		t.Errorf("load: %v", err)
	}
}

func TestSaveAndRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, _ := initHome(t)
	temp := 0.4
	a := team.Agent{Name: "stoic", Description: "A Stoic.", Persona: "stoic", System: "You are a Stoic.",
		Sampling: chatSampling(&temp)}
	hash, err := h.SaveAgent(ctx, a)
	if err != nil || hash == "" {
		t.Fatalf("save: %q %v", hash, err)
	}
	log, _ := h.Log(ctx, 1)
	if log[0].Hash != hash || log[0].Subject != "agents: add stoic" || strings.Join(log[0].Files, ",") != "agents/stoic.md" {
		t.Errorf("commit %+v", log[0])
	}
	got, ok := h.Agent("stoic")
	if !ok || got.Model != DefaultModel || *got.Sampling.Temperature != 0.4 || got.SHA == "" || got.Source != "agents/stoic.md" {
		t.Errorf("agent %+v", got)
	}
	if hash, err := h.SaveAgent(ctx, a); err != nil || hash != "" {
		t.Errorf("unchanged save: %q %v", hash, err)
	}
	a.System = "You are a Stoic. Be brief."
	if hash, err := h.SaveAgent(ctx, a); err != nil || hash == "" {
		t.Errorf("update: %q %v", hash, err)
	}
	if log, _ := h.Log(ctx, 1); log[0].Subject != "agents: update stoic" {
		t.Errorf("update commit %+v", log[0])
	}
	tm := team.Team{Name: "council2", Pattern: team.Debate, Members: []string{"stoic", "utilitarian", "moderator"},
		Params: []byte(`{"moderator":"moderator","rounds":1}`), Budget: team.Budget{Tokens: 100, Wall: time.Minute}}
	if _, err := h.SaveTeam(ctx, tm); err != nil {
		t.Fatal(err)
	}
	// What was saved loads back identically from disk.
	h2, err := Load(h.Dir())
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := h2.Team("council2")
	t1, _ := h.Team("council2")
	if t2.SHA != t1.SHA || string(t2.Params) != `{"moderator":"moderator","rounds":1}` || t2.Budget != tm.Budget {
		t.Errorf("reloaded %+v, saved %+v", t2, t1)
	}
	// Invalid saves are refused before anything is written.
	bad := []struct {
		name string
		save func() error
		want string
	}{
		{"unknown member", func() error {
			_, err := h.SaveTeam(ctx, team.Team{Name: "x", Pattern: team.Vote, Members: []string{"stoik"}})
			return err
		}, `member "stoik" is neither an agent nor a team (did you mean "stoic"?)`},
		{"cycle", func() error {
			_, err := h.SaveTeam(ctx, team.Team{Name: "council2", Pattern: team.Vote, Members: []string{"council2"}})
			return err
		}, "cycle among teams: council2 → council2"},
		{"bad params", func() error {
			_, err := h.SaveTeam(ctx, team.Team{Name: "x", Pattern: team.Vote, Members: []string{"stoic"}, Params: []byte(`{"samples":-1}`)})
			return err
		}, "samples: -1 is outside"},
		{"bad name", func() error { _, err := h.SaveAgent(ctx, team.Agent{Name: "../evil"}); return err }, `name "../evil"`},
		{"name of a team", func() error { _, err := h.SaveAgent(ctx, team.Agent{Name: "council"}); return err }, "taken by the team"},
		{"remove a member", func() error { _, err := h.Remove(ctx, "stoic"); return err }, `"stoic" is a member of council2`},
		{"remove unknown", func() error { _, err := h.Remove(ctx, "nobody"); return err }, "no agent or team"},
	}
	for _, b := range bad {
		err := b.save()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want %q", b.name, err, b.want)
		}
	}
	if _, err := os.Stat(filepath.Join(h.Dir(), "teams", "x.yaml")); err == nil {
		t.Error("an invalid team was written")
	}
	// The team file was already deleted by hand: Remove still records the removal.
	if err := os.Remove(filepath.Join(h.Dir(), "teams", "council2.yaml")); err != nil {
		t.Fatal(err)
	}
	if hash, err := h.Remove(ctx, "council2"); err != nil || hash == "" {
		t.Fatalf("remove team: %v", err)
	}
	if hash, err := h.Remove(ctx, "stoic"); err != nil || hash == "" {
		t.Fatalf("remove agent: %v", err)
	}
	log, _ = h.Log(ctx, 2)
	if log[0].Subject != "agents: remove stoic" || log[1].Subject != "teams: remove council2" {
		t.Errorf("remove commits %+v", log)
	}
	if _, err := os.Stat(filepath.Join(h.Dir(), "agents", "stoic.md")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed file: %v", err)
	}
	if st, err := h.repo.Status(ctx); err != nil || len(st) != 0 {
		t.Errorf("status: %+v %v", st, err)
	}
}

func TestCommitFailureRestoresFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, _ := initHome(t)
	path := filepath.Join(h.Dir(), "agents", "math.md")
	old, _ := os.ReadFile(path)
	// A held index lock makes the commit fail; the file must be as it was.
	if err := os.WriteFile(filepath.Join(h.Dir(), ".git", "index.lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := gitrepo.Open(h.Dir(), gitrepo.Options{LockWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h.repo = r
	a, _ := h.Agent("math")
	a.System = "changed"
	if _, err := h.SaveAgent(ctx, a); err == nil || !strings.Contains(err.Error(), "index.lock") {
		t.Fatalf("save under a held lock: %v", err)
	}
	if now, _ := os.ReadFile(path); string(now) != string(old) {
		t.Error("the file was not restored after the failed commit")
	}
	if got, _ := h.Agent("math"); got.System == "changed" {
		t.Error("the in-memory spec changed after the failed commit")
	}
}

func TestRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, _ := initHome(t)
	if runs, err := h.ListRuns(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("runs of a new home: %v %v", runs, err)
	}
	type transcript struct {
		Answer string `json:"answer"`
		Seeds  []int  `json:"seeds"`
	}
	started := time.Date(2025, 11, 22, 23, 59, 0, 0, time.FixedZone("X", -2*3600)) // 01:59 UTC the next day
	r1, err := h.SaveRun(ctx, RunMeta{ID: "r1", Team: "council", Started: started, Hashes: h.Hashes("council")},
		transcript{Answer: "42", Seeds: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if r1.File != "runs/2025-11-23/r1.json" || r1.Commit == "" {
		t.Errorf("run %+v", r1)
	}
	r2, err := h.SaveRun(ctx, RunMeta{Team: "brain"}, []byte(`{"answer":"raw"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !runid.Valid(r2.ID) || r2.Started.IsZero() {
		t.Errorf("generated id %q, started %v", r2.ID, r2.Started)
	}
	log, _ := h.Log(ctx, 2)
	if log[0].Hash != r2.Commit || log[1].Hash != r1.Commit || log[1].Subject != "runs: council r1" ||
		strings.Join(log[1].Files, ",") != "runs/2025-11-23/r1.json" {
		t.Errorf("commits %+v", log)
	}
	runs, err := h.ListRuns(ctx)
	if err != nil || len(runs) != 2 || runs[0].ID != r2.ID || runs[1].ID != "r1" || runs[1].Team != "council" ||
		runs[1].Transcript != nil || len(runs[1].Hashes) != 5 {
		t.Fatalf("list %+v %v", runs, err)
	}
	got, err := h.ShowRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	if err := json.Unmarshal(got.Transcript, &tr); err != nil || tr.Answer != "42" || got.Commit != r1.Commit ||
		!got.Started.Equal(started) || got.Hashes["teams/council.yaml"] == "" {
		t.Errorf("show %+v %v", got, err)
	}
	// Errors: a duplicate id, a bad id, a transcript that is not JSON, an unknown run.
	if _, err := h.SaveRun(ctx, RunMeta{ID: "r1"}, "x"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := h.SaveRun(ctx, RunMeta{ID: "../r"}, "x"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("bad id: %v", err)
	}
	if _, err := h.SaveRun(ctx, RunMeta{ID: "r3"}, []byte("{")); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("bad JSON: %v", err)
	}
	if _, err := h.ShowRun(ctx, "nope"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("unknown run: %v", err)
	}
	if _, err := h.ShowRun(ctx, "../../etc/passwd"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("path as id: %v", err)
	}
}

// TestConcurrentSaves saves runs and agents from many goroutines, through two Home values of the
// same folder: every save must be its own commit.
func TestConcurrentSaves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, _ := initHome(t)
	h2, err := Load(h.Dir())
	if err != nil {
		t.Fatal(err)
	}
	before, _ := h.Log(ctx, 0)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := h.SaveRun(ctx, RunMeta{ID: fmt.Sprintf("run-%d", i), Team: "moa"}, map[string]int{"i": i})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := h2.SaveAgent(ctx, team.Agent{Name: fmt.Sprintf("agent-%d", i), System: "hi"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	after, _ := h.Log(ctx, 0)
	if len(after)-len(before) != 2*n {
		t.Errorf("%d new commits, want %d", len(after)-len(before), 2*n)
	}
	if runs, err := h.ListRuns(ctx); err != nil || len(runs) != n {
		t.Errorf("%d runs, %v", len(runs), err)
	}
}
