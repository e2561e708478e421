package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

func newWS(t *testing.T) *Workspace {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	w, err := Create(context.Background(), filepath.Join(t.TempDir(), "ws"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func put(t *testing.T, w *Workspace, name, content string) {
	t.Helper()
	p := filepath.Join(w.Dir(), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCreateOpenBegin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWS(t)
	if _, err := Open(ctx, w.Dir(), Options{}); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	// Create on an existing workspace opens it and keeps its history.
	w2, err := Create(ctx, w.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if log, _ := w2.Log(ctx, 0); len(log) != 1 {
		t.Errorf("log after re-create: %d commits, want 1", len(log))
	}
	if _, err := Open(ctx, t.TempDir(), Options{}); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("open plain folder: %v", err)
	}
	if err := w.Begin(ctx, "../x"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("bad run id: %v", err)
	}
	if err := w.Begin(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := w.Current(ctx); cur != "seance/run/r1" {
		t.Errorf("current branch %q", cur)
	}
}

func TestSnapshotCommitsOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWS(t)
	if err := w.Begin(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	call := Call{Run: "r1", Agent: "writer", Tool: "write_file", Summary: "notes.txt"}
	if h, err := w.Before(ctx, call); err != nil || h != "" {
		t.Fatalf("before on a clean tree: %q, %v", h, err)
	}
	put(t, w, "notes.txt", "hello\n")
	put(t, w, ".gitignore", "*.tmp\n")
	put(t, w, "scratch.tmp", "ignored\n")
	h, err := w.After(ctx, call)
	if err != nil || len(h) != 40 {
		t.Fatalf("after: %q, %v", h, err)
	}
	if h2, err := w.After(ctx, call); err != nil || h2 != "" {
		t.Errorf("second after with no change: %q, %v", h2, err)
	}
	if _, err := w.Snapshot(ctx, "x", System); !errors.Is(err, ErrUnchanged) {
		t.Errorf("unchanged snapshot: %v", err)
	}
	log, err := w.Log(ctx, 1)
	if err != nil || len(log) != 1 {
		t.Fatal(log, err)
	}
	c := log[0]
	if c.Hash != h || c.Author.Name != "writer" || !strings.Contains(c.Subject, "writer") || !strings.Contains(c.Subject, "write_file") {
		t.Errorf("commit %+v", c)
	}
	for _, f := range c.Files {
		if f == "scratch.tmp" {
			t.Errorf("ignored file committed: %v", c.Files)
		}
	}
	// A change a person made between calls is committed by Before, not blamed on the next agent.
	put(t, w, "notes.txt", "edited by hand\n")
	hb, err := w.Before(ctx, Call{Run: "r1", Agent: "critic", Tool: "run"})
	if err != nil || hb == "" {
		t.Fatalf("before after a manual edit: %q, %v", hb, err)
	}
	if log, _ := w.Log(ctx, 1); log[0].Author.Name != "seance" {
		t.Errorf("manual change authored by %q", log[0].Author.Name)
	}
	d, err := w.Diff(ctx, h, hb)
	if err != nil || !strings.Contains(d, "-hello") || !strings.Contains(d, "+edited by hand") {
		t.Errorf("diff %q, %v", d, err)
	}
}

// TestDeletionIsRecoverable is the promise of the workspace: whatever a tool deletes comes back.
func TestDeletionIsRecoverable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWS(t)
	if err := w.Begin(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	put(t, w, "src/a.go", "package a\n")
	put(t, w, "src/deep/b.txt", "b\n")
	put(t, w, "top.txt", "top\n")
	if _, err := w.Snapshot(ctx, "files", Agent("writer")); err != nil {
		t.Fatal(err)
	}
	call := Call{Run: "r1", Agent: "vandal", Tool: "run_code", Summary: "python3: shutil.rmtree('.')"}
	if _, err := w.Before(ctx, call); err != nil {
		t.Fatal(err)
	}
	// The "tool": delete everything but .git.
	for _, n := range []string{"src", "top.txt"} {
		if err := os.RemoveAll(filepath.Join(w.Dir(), n)); err != nil {
			t.Fatal(err)
		}
	}
	del, err := w.After(ctx, call)
	if err != nil || del == "" {
		t.Fatalf("after deletion: %q, %v", del, err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir(), "src")); !os.IsNotExist(err) {
		t.Fatalf("files still there: %v", err)
	}
	rev, err := w.Revert(ctx, del, Agent("reviewer"))
	if err != nil {
		t.Fatal(err)
	}
	if rev == del {
		t.Error("revert did not make a new commit")
	}
	for n, want := range map[string]string{"src/a.go": "package a\n", "src/deep/b.txt": "b\n", "top.txt": "top\n"} {
		b, err := os.ReadFile(filepath.Join(w.Dir(), n))
		if err != nil || string(b) != want {
			t.Errorf("%s after revert: %q, %v", n, b, err)
		}
	}
	if log, _ := w.Log(ctx, 1); !strings.HasPrefix(log[0].Subject, "Revert") {
		t.Errorf("revert subject %q", log[0].Subject)
	}
}

func TestApproveAndDiscard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWS(t)
	if err := w.Begin(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	put(t, w, "result.txt", "42\n")
	if _, err := w.Snapshot(ctx, "answer", Agent("solver")); err != nil {
		t.Fatal(err)
	}
	if rl, err := w.RunLog(ctx, "good", 0); err != nil || len(rl) != 1 {
		t.Errorf("run log %v, %v", rl, err)
	}
	head, err := w.Approve(ctx, "good", Agent("ada"))
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := w.Current(ctx); cur != MainBranch {
		t.Errorf("after approve on %q", cur)
	}
	if b, err := w.ReadFile("result.txt", 0); err != nil || string(b) != "42\n" {
		t.Errorf("approved file %q, %v", b, err)
	}
	if log, _ := w.Log(ctx, 1); log[0].Hash != head {
		t.Errorf("main head %s, approve returned %s", log[0].Hash, head)
	}

	// A second run that main has moved past: a merge commit.
	if err := w.Begin(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	put(t, w, "junk.txt", "junk\n")
	if _, err := w.Snapshot(ctx, "junk", Agent("vandal")); err != nil {
		t.Fatal(err)
	}
	if err := w.Discard(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir(), "junk.txt")); !os.IsNotExist(err) {
		t.Errorf("discarded run's file still in the tree: %v", err)
	}
	if err := w.Discard(ctx, "bad"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("discard twice: %v", err)
	}
	if _, err := w.Approve(ctx, "nope", Agent("ada")); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("approve unknown run: %v", err)
	}

	// Main moves on while run r3 works: approval makes a merge commit holding both.
	if err := w.Begin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	put(t, w, "r3.txt", "r3\n")
	if _, err := w.Snapshot(ctx, "r3", Agent("solver")); err != nil {
		t.Fatal(err)
	}
	if err := w.Begin(ctx, "r4"); err != nil {
		t.Fatal(err)
	}
	put(t, w, "r4.txt", "r4\n")
	if _, err := w.Snapshot(ctx, "r4", Agent("solver")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Approve(ctx, "r4", Agent("ada")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Approve(ctx, "r3", Agent("ada")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"r3.txt", "r4.txt", "result.txt"} {
		if _, err := w.ReadFile(n, 0); err != nil {
			t.Errorf("%s on main after two approvals: %v", n, err)
		}
	}
}

func TestFileHelpersStayInside(t *testing.T) {
	t.Parallel()
	w := newWS(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Links inside the workspace that point out of it.
	if err := os.Symlink(secret, filepath.Join(w.Dir(), "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(w.Dir(), "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../", filepath.Join(w.Dir(), "up")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"link.txt", "linkdir/secret.txt", "up/etc/passwd", "../x", "/etc/passwd", ".git/config"} {
		if b, err := w.ReadFile(n, 0); err == nil {
			t.Errorf("read %s followed out: %q", n, b)
		}
	}
	for _, n := range []string{"link.txt", "linkdir/new.txt", "up/new.txt", ".git/hooks/pre-commit", "../x"} {
		if err := w.WriteFile(n, []byte("pwned"), 0o644); err == nil {
			t.Errorf("write %s succeeded", n)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Errorf("outside file changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(outside, "new.txt")); !os.IsNotExist(err) {
		t.Errorf("file created outside: %v", err)
	}
	if _, err := w.List("linkdir"); err == nil {
		t.Error("list followed a link out")
	}
	if err := w.Remove("linkdir/secret.txt"); err == nil {
		t.Error("remove through a link succeeded")
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("outside file removed: %v", err)
	}
	// Removing the link itself removes the link, not its target.
	if err := w.Remove("linkdir"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("target removed with the link: %v", err)
	}

	// Inside the workspace the helpers work, links included.
	if err := w.WriteFile("a/b/c.txt", []byte("c"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a/b/c.txt", filepath.Join(w.Dir(), "inner")); err != nil {
		t.Fatal(err)
	}
	if b, err := w.ReadFile("inner", 0); err != nil || string(b) != "c" {
		t.Errorf("inner link %q, %v", b, err)
	}
	if _, err := w.ReadFile("a/b/c.txt", 0); err != nil {
		t.Error(err)
	}
	if err := w.WriteFile("big.txt", make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadFile("big.txt", 10); fault.CodeOf(err) != fault.TooLarge {
		t.Errorf("over the limit: %v", err)
	}
	es, err := w.List("")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]Entry{}
	for _, e := range es {
		seen[e.Name] = e
	}
	if _, ok := seen[".git"]; ok {
		t.Error("list shows .git")
	}
	if !seen["a"].Dir || !seen["link.txt"].Symlink || seen["big.txt"].Size != 100 {
		t.Errorf("list %+v", es)
	}
}

// TestSnapshotDoesNotFollowLinks: a link out of the tree is committed as a link; the outside content
// never enters the repository.
func TestSnapshotDoesNotFollowLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWS(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(w.Dir(), "out")); err != nil {
		t.Fatal(err)
	}
	h, err := w.Snapshot(ctx, "link", System)
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.Diff(ctx, h+"~1", h)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d, "TOPSECRET") || !strings.Contains(d, "new file mode 120000") {
		t.Errorf("diff of a link commit:\n%s", d)
	}
}

// TestDoAttributesConcurrentCalls: calls run through Do from several goroutines each get a commit
// holding exactly their own change, authored by their agent.
func TestDoAttributesConcurrentCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWS(t)
	if err := w.Begin(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			agent := fmt.Sprintf("agent%d", i)
			h, err := w.Do(ctx, Call{Run: "r1", Agent: agent, Tool: "write_file"}, func(context.Context) error {
				return w.WriteFile(agent+".txt", []byte(agent), 0o644)
			})
			if err == nil && h == "" {
				err = fmt.Errorf("%s: no commit", agent)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	log, err := w.RunLog(ctx, "r1", 0)
	if err != nil || len(log) != n {
		t.Fatalf("run log %d commits, %v", len(log), err)
	}
	for _, c := range log {
		if len(c.Files) != 1 || c.Files[0] != c.Author.Name+".txt" {
			t.Errorf("commit by %s holds %v", c.Author.Name, c.Files)
		}
	}
	// A failing call still has its changes committed, and its error returned.
	boom := errors.New("boom")
	h, err := w.Do(ctx, Call{Run: "r1", Agent: "crasher", Tool: "run"}, func(context.Context) error {
		os.Remove(filepath.Join(w.Dir(), "agent0.txt"))
		return boom
	})
	if !errors.Is(err, boom) || h == "" {
		t.Errorf("failing call: %q, %v", h, err)
	}
}

func BenchmarkSnapshot(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is not installed")
	}
	ctx := context.Background()
	w, err := Create(ctx, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		os.WriteFile(filepath.Join(w.Dir(), fmt.Sprintf("f%03d.txt", i)), []byte("content\n"), 0o644)
	}
	if _, err := w.Snapshot(ctx, "files", System); err != nil {
		b.Fatal(err)
	}
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.Snapshot(ctx, "x", System); !errors.Is(err, ErrUnchanged) {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-file-changed", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			os.WriteFile(filepath.Join(w.Dir(), "f000.txt"), []byte(fmt.Sprint(i)), 0o644)
			if _, err := w.Snapshot(ctx, "x", System); err != nil {
				b.Fatal(err)
			}
		}
	})
}
