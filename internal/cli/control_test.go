package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/workspace"
)

func TestWorkspaceCommands(t *testing.T) {
	r, _ := homeRunner(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ws")
	w, err := workspace.Create(ctx, dir, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Begin(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("precious\n"), 0o644)
	if _, err := w.After(ctx, workspace.Call{Run: "r1", Agent: "writer", Tool: "write_file", Summary: "keep.txt"}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "keep.txt"))
	del, err := w.After(ctx, workspace.Call{Run: "r1", Agent: "vandal", Tool: "run", Summary: "rm keep.txt"})
	if err != nil || del == "" {
		t.Fatalf("deletion commit %q, %v", del, err)
	}

	code, out, errs := r.run("", "ws", "log", "--dir", dir, "--run", "r1", "--json")
	var log []struct {
		Hash, Author, Subject string
	}
	if code != 0 || json.Unmarshal([]byte(out), &log) != nil || len(log) != 2 || log[0].Author != "vandal" || log[0].Hash != del {
		t.Fatalf("ws log: exit %d %s\n%s", code, errs, out)
	}
	code, out, _ = r.run("", "ws", "diff", "--dir", dir, del[:12])
	if code != 0 || !strings.Contains(out, "-precious") {
		t.Errorf("ws diff COMMIT: exit %d\n%s", code, out)
	}
	code, out, _ = r.run("", "ws", "revert", "--dir", dir, "--by", "ada", del)
	if code != 0 || !strings.Contains(out, "reverted") {
		t.Fatalf("ws revert: exit %d %s", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "keep.txt")); err != nil || string(b) != "precious\n" {
		t.Errorf("after ws revert: %q, %v", b, err)
	}
	code, out, _ = r.run("", "ws", "diff", "--dir", dir, "--run", "r1")
	if code != 0 || !strings.Contains(out, "+precious") {
		t.Errorf("ws diff --run: exit %d\n%s", code, out)
	}
	code, out, _ = r.run("", "ws", "approve", "--dir", dir, "--by", "ada", "r1")
	if code != 0 || !strings.Contains(out, "approved run r1") {
		t.Fatalf("ws approve: exit %d %s", code, out)
	}
	code, out, _ = r.run("", "ws", "log", "--dir", dir)
	if code != 0 || !strings.Contains(out, "Revert") || !strings.Contains(out, "ada") {
		t.Errorf("ws log on main: exit %d\n%s", code, out)
	}
	if code, _, _ := r.run("", "ws", "frobnicate", "--dir", dir); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
	if code, _, errs := r.run("", "ws", "log", "--dir", t.TempDir()); code != 1 || !strings.Contains(errs, "not a workspace") {
		t.Errorf("not a workspace: exit %d %s", code, errs)
	}
}

func TestAuditCommands(t *testing.T) {
	r, home := homeRunner(t)
	if code, _, errs := r.run("", "init"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	path := filepath.Join(home, "audit.log")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		exit := i
		if _, err := l.Append(audit.Entry{Run: "r1", Agent: []string{"writer", "critic"}[i%2], Tool: "run",
			Argv: []string{"echo", fmt.Sprint(i)}, Decision: "allow", ApprovedBy: "policy", Exit: &exit}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	code, out, errs := r.run("", "audit", "verify")
	if code != 0 || !strings.Contains(out, "5 entries, chain intact") {
		t.Fatalf("verify: exit %d %s %s", code, out, errs)
	}
	code, out, _ = r.run("", "audit", "show", "--agent", "critic", "--json")
	var es []audit.Entry
	if code != 0 || json.Unmarshal([]byte(out), &es) != nil || len(es) != 2 || es[0].Seq != 2 {
		t.Fatalf("show --agent critic: exit %d\n%s", code, out)
	}
	code, out, _ = r.run("", "audit", "show", "--since", "1h")
	if code != 0 || strings.Count(out, "\n") != 6 || !strings.Contains(out, "echo 4") {
		t.Errorf("show --since 1h: exit %d\n%s", code, out)
	}
	if code, _, _ := r.run("", "audit", "show", "--since", "yesterday"); code != 2 {
		t.Errorf("bad --since: exit %d", code)
	}
	code, out, errs = r.run("", "audit", "checkpoint")
	if code != 0 || !strings.Contains(out, "checkpoint at entry 5 committed") {
		t.Fatalf("checkpoint: exit %d %s %s", code, out, errs)
	}
	if code, out, _ = r.run("", "audit", "checkpoint"); code != 0 || !strings.Contains(out, "already committed") {
		t.Errorf("second checkpoint: exit %d %s", code, out)
	}
	if code, out, _ = r.run("", "audit", "verify"); code != 0 || !strings.Contains(out, "1 checkpoints") {
		t.Errorf("verify with a checkpoint: exit %d %s", code, out)
	}
	// Swap two lines: verify fails and names the entry.
	b, _ := os.ReadFile(path)
	ls := bytes.SplitAfter(b, []byte("\n"))
	ls[2], ls[3] = ls[3], ls[2]
	os.WriteFile(path, bytes.Join(ls, nil), 0o600)
	code, out, errs = r.run("", "audit", "verify", "--json")
	var v struct {
		OK      bool `json:"ok"`
		Problem struct {
			Entry int64 `json:"entry"`
		} `json:"problem"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &v) != nil || v.OK || v.Problem.Entry != 3 || !strings.Contains(errs, "TAMPERED at entry 3") {
		t.Errorf("verify after swap: exit %d\n%s\n%s", code, out, errs)
	}

	// A complete forgery — entry 2 changed, every later hash and the head file recomputed — is caught
	// by the checkpoint committed to the home.
	os.WriteFile(path, b, 0o600)
	var forged bytes.Buffer
	prev := ""
	var seq int64
	for i, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			e.Decision = "deny"
		}
		e.Prev = prev
		nb, _ := json.Marshal(e)
		prev, seq = audit.Hash(nb), e.Seq
		forged.Write(append(nb, '\n'))
	}
	os.WriteFile(path, forged.Bytes(), 0o600)
	os.WriteFile(audit.HeadPath(path), []byte(fmt.Sprintf("%d %s\n", seq, prev)), 0o600)
	code, _, errs = r.run("", "audit", "verify")
	if code != 1 || !strings.Contains(errs, "checkpoint") {
		t.Errorf("verify after a full forgery: exit %d %s", code, errs)
	}
}

func TestAuditVerifyWithoutLog(t *testing.T) {
	r := newRunner(t)
	code, out, errs := r.run("", "audit", "verify")
	if code != 0 || !strings.Contains(out, "no entries yet") {
		t.Errorf("verify on a fresh home: %d %q %q", code, out, errs)
	}
}
