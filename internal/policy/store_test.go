package policy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/policy/audit"
)

type fixture struct {
	home  string
	repo  *gitrepo.Repo
	log   *audit.Log
	store *Store
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	home := t.TempDir()
	for n, c := range files {
		p := filepath.Join(home, Dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := gitrepo.Init(ctx, home, gitrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(filepath.Join(home, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	s, err := Load(home, Options{Repo: repo, Audit: log, Workspaces: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{home, repo, log, s}
}

func TestLoadDefaultsAndFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"writer.yaml":  "write: [src/**]\ncommands: [go]\ntools: {run: auto}\ndefault: auto\n",
		"default.yaml": "read: [docs/**]\ndefault: deny\n",
	})
	if got := f.store.Agents(); strings.Join(got, ",") != "default,writer" {
		t.Errorf("agents %v", got)
	}
	if d := f.store.Decide("writer", Call{Tool: "run", Argv: []string{"go"}}); d.Verdict != Allow {
		t.Errorf("writer run go: %+v", d)
	}
	// An agent without a file gets default.yaml, under its own name.
	p := f.store.Policy("stranger")
	if p.Agent != "stranger" || p.Decide(Call{Tool: "read_file", Read: []string{"docs/a"}}).Verdict != Refuse {
		t.Errorf("stranger policy %+v", p)
	}
	// Without default.yaml: Builtin.
	g := newFixture(t, nil)
	if d := g.store.Decide("anyone", Call{Tool: "write_file", Write: []string{"x"}}); d.Verdict != AskUser {
		t.Errorf("builtin: %+v", d)
	}
	if d := g.store.Decide("anyone", Call{Tool: "run", Argv: []string{"sh"}}); d.Verdict != Refuse {
		t.Errorf("builtin allows commands: %+v", d)
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	// The policy folder inside a workspace, directly or through a symbolic link.
	if _, err := Load(home, Options{Workspaces: []string{home}}); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("policy inside workspace: %v", err)
	}
	ws := t.TempDir()
	link := filepath.Join(t.TempDir(), "ws-link")
	os.Symlink(filepath.Join(home, Dir), link)
	if _, err := Load(home, Options{Workspaces: []string{link}}); err == nil {
		t.Error("workspace that is a link to the policy folder accepted")
	}
	if _, err := Load(home, Options{Workspaces: []string{filepath.Join(home, Dir, "sub")}}); err == nil {
		t.Error("workspace inside the policy folder accepted")
	}
	if _, err := Load(home, Options{Workspaces: []string{ws}}); err != nil {
		t.Errorf("separate workspace: %v", err)
	}
	// A broken file refuses the whole store rather than falling back to a wider default.
	os.MkdirAll(filepath.Join(home, Dir), 0o755)
	os.WriteFile(filepath.Join(home, Dir, "writer.yaml"), []byte("tools: {run: sure}\n"), 0o644)
	if _, err := Load(home, Options{}); err == nil || !strings.Contains(err.Error(), "writer.yaml") {
		t.Errorf("broken policy file: %v", err)
	}
}

func TestRequestGrantDeny(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, map[string]string{"writer.yaml": "write: [src/**]\ndefault: auto\n"})
	call := Call{Tool: "run", Argv: []string{"python3", "x.py"}}
	d := f.store.Decide("writer", call)
	if d.Verdict != Refuse || d.Missing == nil || *d.Missing != (Capability{KindCommand, "python3"}) {
		t.Fatalf("before grant: %+v", d)
	}
	req, err := f.store.Request(ctx, "writer", "run-1", *d.Missing, "to run the tests")
	if err != nil {
		t.Fatal(err)
	}
	if p := f.store.Pending(); len(p) != 1 || p[0].ID != req.ID {
		t.Errorf("pending %+v", p)
	}
	// The agent waits; a person grants from another goroutine (as a CLI prompt or HTTP handler would).
	got := make(chan Request, 1)
	go func() {
		r, err := f.store.Wait(ctx, req.ID)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	if _, err := f.store.Grant(ctx, req.ID, "writer"); err == nil {
		t.Error("an agent granted its own request")
	}
	if _, err := f.store.Grant(ctx, req.ID, ""); err == nil {
		t.Error("grant without a person")
	}
	if _, err := f.store.Grant(ctx, req.ID, "ada"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.Status != Granted || r.By != "ada" {
			t.Errorf("waited request %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Grant")
	}
	if _, err := f.store.Grant(ctx, req.ID, "ada"); err == nil {
		t.Error("granted twice")
	}
	if d := f.store.Decide("writer", call); d.Verdict != Allow {
		t.Errorf("after grant: %+v", d)
	}
	// The grant is a commit of the home and survives a reload.
	log, err := f.repo.Log(ctx, 1)
	if err != nil || len(log) != 1 || !strings.Contains(log[0].Subject, "grant command python3 to writer") {
		t.Errorf("home log %+v, %v", log, err)
	}
	s2, err := Load(f.home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := s2.Decide("writer", call); d.Verdict != Allow {
		t.Errorf("after reload: %+v", d)
	}
	if d := s2.Decide("critic", call); d.Verdict == Allow {
		t.Errorf("grant leaked to another agent: %+v", d)
	}

	// A denial changes nothing and wakes the waiter.
	req2, _ := f.store.Request(ctx, "writer", "run-1", Capability{KindHost, "evil.org"}, "exfiltrate")
	if _, err := f.store.Deny(ctx, req2.ID, "ada", "no"); err != nil {
		t.Fatal(err)
	}
	if r, err := f.store.Wait(ctx, req2.ID); err != nil || r.Status != Denied || r.Note != "no" {
		t.Errorf("denied request %+v, %v", r, err)
	}
	if d := f.store.Decide("writer", Call{Tool: "http_fetch", Hosts: []string{"evil.org"}}); d.Verdict != Refuse {
		t.Errorf("after deny: %+v", d)
	}
	// A one-call approval resolves the request without changing the policy.
	req3, _ := f.store.Request(ctx, "writer", "run-1", Capability{KindCall, "run_code sh: ls"}, "")
	if _, err := f.store.Grant(ctx, req3.ID, "ada"); err != nil {
		t.Fatal(err)
	}
	if len(f.store.Grants()) != 1 {
		t.Errorf("one-call approval became a grant: %+v", f.store.Grants())
	}
	if _, err := f.store.Request(ctx, "writer", "", Capability{"root", "x"}, ""); err == nil {
		t.Error("unknown capability kind accepted")
	}
	if _, err := f.store.Grant(ctx, "nope", "ada"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("unknown request: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	req4, _ := f.store.Request(ctx, "writer", "", Capability{KindLanguage, "perl"}, "")
	if _, err := f.store.Wait(wctx, req4.ID); err == nil {
		t.Error("Wait returned for an undecided request")
	}

	// Every step is in the audit log, which verifies.
	es, err := audit.Show(f.log.Path(), audit.Filter{Agent: "writer"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "request,grant,request,deny,request,grant,request" {
		t.Errorf("audit kinds %s", got)
	}
	if es[1].ApprovedBy != "ada" || es[1].Commit == "" {
		t.Errorf("grant entry %+v", es[1])
	}
	if rep, err := audit.Verify(f.log.Path()); err != nil || !rep.OK() {
		t.Errorf("verify %+v, %v", rep, err)
	}
}

func TestSetCommitsAndAudits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	p := Policy{Agent: "critic", Read: []string{"**"}, Tools: map[string]Mode{"read_file": Auto}, Default: Deny}
	if _, err := f.store.Set(ctx, p, ""); err == nil {
		t.Error("a change without a person accepted")
	}
	commit, err := f.store.Set(ctx, p, "ada")
	if err != nil || commit == "" {
		t.Fatalf("set: %q, %v", commit, err)
	}
	b, err := f.repo.Show(ctx, commit, "policy/critic.yaml")
	if err != nil || !strings.Contains(string(b), "read_file: auto") {
		t.Errorf("committed file %q, %v", b, err)
	}
	if d := f.store.Decide("critic", Call{Tool: "write_file", Write: []string{"x"}}); d.Verdict != Refuse {
		t.Errorf("after set: %+v", d)
	}
	es, _ := audit.Show(f.log.Path(), audit.Filter{Kind: "policy"})
	if len(es) != 1 || es[0].Commit != commit || es[0].ApprovedBy != "ada" {
		t.Errorf("audit %+v", es)
	}
	if _, err := f.store.Set(ctx, Policy{Agent: "x", Tools: map[string]Mode{"run": "maybe"}}, "ada"); err == nil {
		t.Error("invalid policy set")
	}
}

// A person can grant an agent write access to the memory; a grant of read never lowers write.
func TestGrantMemoryAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, map[string]string{"reader.yaml": "memory: read\ndefault: auto\n", "scribe.yaml": "memory: write\n"})
	remember := Call{Tool: "remember", Memory: MemoryWrite}
	d := f.store.Decide("reader", remember)
	if d.Verdict != Refuse || d.Missing == nil {
		t.Fatalf("before grant: %+v", d)
	}
	if _, err := f.store.Request(ctx, "reader", "r", Capability{KindMemory, "all"}, "x"); fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("a request for unknown memory access: %v", err)
	}
	req, err := f.store.Request(ctx, "reader", "r", *d.Missing, "to note a finding")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Grant(ctx, req.ID, "ada"); err != nil {
		t.Fatal(err)
	}
	if d := f.store.Decide("reader", remember); d.Verdict != Allow {
		t.Fatalf("after grant: %+v", d)
	}
	req, err = f.store.Request(ctx, "scribe", "r", Capability{KindMemory, MemoryRead}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Grant(ctx, req.ID, "ada"); err != nil {
		t.Fatal(err)
	}
	if p := f.store.Policy("scribe"); p.Memory != MemoryWrite {
		t.Fatalf("a read grant lowered write: %q", p.Memory)
	}
}
