package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/home"
)

// homeRunner runs the CLI for a user whose seance home is ~/.seance; no model is needed.
func homeRunner(t *testing.T) (*runner, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := &runner{t: t, user: t.TempDir()}
	return r, filepath.Join(r.user, ".seance")
}

func TestInitAndList(t *testing.T) {
	r, dir := homeRunner(t)
	// Before init, listing says how to create the home.
	if code, _, errs := r.run("", "agents", "list"); code != 1 || !strings.Contains(errs, "seance init") {
		t.Errorf("agents list without a home: exit %d, %q", code, errs)
	}
	code, out, errs := r.run("", "init")
	if code != 0 || !strings.Contains(out, "created the seance home "+dir) || !strings.Contains(out, "philosophy council") {
		t.Fatalf("init: exit %d\n%s\n%s", code, out, errs)
	}
	repo, err := gitrepo.Open(dir, gitrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := repo.Log(context.Background(), 0)
	if err != nil || len(log) != 6 {
		t.Errorf("%d commits after init, %v", len(log), err)
	}
	code, out, _ = r.run("", "init", "--json")
	var rep struct {
		CreatedRepo bool `json:"created_repo"`
		Steps       []struct {
			Added []string `json:"added"`
			Kept  []string `json:"kept"`
		} `json:"steps"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.CreatedRepo || len(rep.Steps) != 6 {
		t.Fatalf("second init: exit %d\n%s", code, out)
	}
	for _, s := range rep.Steps {
		if len(s.Added) != 0 || len(s.Kept) == 0 {
			t.Errorf("second init step %+v", s)
		}
	}

	code, out, errs = r.run("", "agents", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "anarchist") || !strings.Contains(out, "utilitarian") {
		t.Errorf("agents list: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = r.run("", "agents", "--json")
	var agents []agentRow
	if code != 0 || json.Unmarshal([]byte(out), &agents) != nil || len(agents) != 14 || agents[0].Name != "aggregator" ||
		agents[0].Model != "default" || agents[0].Source != "agents/aggregator.md" || len(agents[0].SHA) != 40 {
		t.Errorf("agents --json: exit %d\n%s", code, out)
	}
	code, out, _ = r.run("", "teams", "list", "--json")
	var teams []teamRow
	if code != 0 || json.Unmarshal([]byte(out), &teams) != nil || len(teams) != 5 {
		t.Fatalf("teams --json: exit %d\n%s", code, out)
	}
	for _, tm := range teams {
		var params struct {
			Moderator string `json:"moderator"`
		}
		_ = json.Unmarshal(tm.Params, &params)
		if tm.Name == "council" && (tm.Pattern != "debate" || len(tm.Members) != 4 || tm.Budget.Wall != "6m0s" ||
			params.Moderator != "moderator") {
			t.Errorf("council %+v", tm)
		}
	}

	// A broken team file: the valid teams are still listed, the problem is reported with file:line.
	bad := "name: bad\npattern: vote\nmembers: [solver]\nparams:\n  samples: 3\ntimeout: 5s\n"
	if err := os.WriteFile(filepath.Join(dir, "teams", "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = r.run("", "teams", "list")
	if code != 1 || !strings.Contains(out, "council") || strings.Contains(out, "bad ") ||
		!strings.Contains(errs, `teams/bad.yaml:6: unknown key "timeout"`) {
		t.Errorf("teams list with a bad file: exit %d\n%s\n%s", code, out, errs)
	}

	for _, args := range [][]string{{"agents", "show"}, {"teams", "list", "x"}, {"runs", "show"}, {"runs", "delete", "x"}, {"init", "x"}} {
		if code, _, errs := r.run("", args...); code != 2 {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
}

func TestRunsListShow(t *testing.T) {
	r, dir := homeRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatal(errs)
	}
	if code, out, _ := r.run("", "runs"); code != 0 || !strings.Contains(out, "no runs yet") {
		t.Errorf("runs: exit %d %q", code, out)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	saved, err := h.SaveRun(context.Background(), home.RunMeta{ID: "run-1", Team: "council", Started: started,
		Hashes: h.Hashes("council")}, map[string]string{"answer": "a summary"})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := r.run("", "runs", "list")
	if code != 0 || !strings.Contains(out, "run-1") || !strings.Contains(out, "council") || !strings.Contains(out, "runs/2026-01-02/run-1.json") {
		t.Errorf("runs list: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = r.run("", "runs", "list", "--json")
	var rows []runRow
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || !rows[0].Started.Equal(started) || len(rows[0].Hashes) != 5 {
		t.Errorf("runs list --json: exit %d\n%s", code, out)
	}
	code, out, _ = r.run("", "runs", "show", "run-1", "--json")
	var shown struct {
		Commit     string `json:"commit"`
		Transcript struct {
			Answer string `json:"answer"`
		} `json:"transcript"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown.Commit != saved.Commit || shown.Transcript.Answer != "a summary" {
		t.Errorf("runs show --json: exit %d\n%s", code, out)
	}
	code, out, _ = r.run("", "runs", "show", "run-1")
	if code != 0 || !strings.Contains(out, "commit   "+saved.Commit) || !strings.Contains(out, "uses     teams/council.yaml") ||
		!strings.Contains(out, `"answer": "a summary"`) {
		t.Errorf("runs show: exit %d\n%s", code, out)
	}
	if code, _, errs := r.run("", "runs", "show", "nope"); code != 1 || !strings.Contains(errs, `no run "nope"`) {
		t.Errorf("runs show nope: exit %d %s", code, errs)
	}
}
