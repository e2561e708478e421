package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newRepoT(t *testing.T) *Repo {
	t.Helper()
	needGit(t)
	r, err := Init(context.Background(), t.TempDir(), Options{Author: Signature{"Ada", "ada@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCommitLogShowDiffStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepoT(t)
	if log, err := r.Log(ctx, 0); err != nil || len(log) != 0 {
		t.Fatalf("empty repo log %v, %v", log, err)
	}
	write(t, r.Dir(), "a/one.txt", "one\n")
	write(t, r.Dir(), "two.txt", "two\n")
	h1, err := r.Commit(ctx, "add one", "a/one.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(h1) != 40 {
		t.Errorf("hash %q", h1)
	}
	// two.txt was not named: it stays untracked.
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0] != (Change{"??", "two.txt"}) {
		t.Errorf("status %+v", st)
	}
	if _, err := r.Commit(ctx, "again", "a/one.txt"); !errors.Is(err, ErrNothingToCommit) {
		t.Errorf("unchanged commit: %v", err)
	}
	write(t, r.Dir(), "a/one.txt", "uno\n")
	d, err := r.Diff(ctx, "HEAD", "a/one.txt")
	if err != nil || !strings.Contains(d, "-one") || !strings.Contains(d, "+uno") {
		t.Errorf("diff %q, %v", d, err)
	}
	h2, err := r.Commit(ctx, "change one\n\n# a body line that looks like a comment", "a/one.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(r.Dir(), "a/one.txt")); err != nil {
		t.Fatal(err)
	}
	h3, err := r.Commit(ctx, "remove one", "a/one.txt")
	if err != nil {
		t.Fatal(err)
	}
	log, err := r.Log(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].Hash != h3 || log[1].Hash != h2 || log[2].Hash != h1 {
		t.Fatalf("log %+v", log)
	}
	if log[1].Subject != "change one" || log[1].Author != (Signature{"Ada", "ada@example.org"}) ||
		len(log[1].Files) != 1 || log[1].Files[0] != "a/one.txt" || time.Since(log[1].Time) > time.Hour {
		t.Errorf("log entry %+v", log[1])
	}
	if got, err := r.Log(ctx, 1, "a/one.txt"); err != nil || len(got) != 1 || got[0].Hash != h3 {
		t.Errorf("log -1 path: %+v %v", got, err)
	}
	if msg, err := r.exec(ctx, nil, "log", "-1", "--format=%B", h2); err != nil || !strings.Contains(string(msg), "# a body line") {
		t.Errorf("message body %q %v", msg, err)
	}
	old, err := r.Show(ctx, h1, "a/one.txt")
	if err != nil || string(old) != "one\n" {
		t.Errorf("show %q %v", old, err)
	}
	_, err = r.Show(ctx, "HEAD", "a/one.txt")
	var ge *Error
	if !errors.As(err, &ge) || !strings.Contains(ge.Error(), "a/one.txt") {
		t.Errorf("show of a removed file: %v", err)
	}
	if head, err := r.RevParse(ctx, "HEAD"); err != nil || head != h3 {
		t.Errorf("rev-parse %q %v", head, err)
	}
	if _, err := r.RevParse(ctx, "--all"); err == nil {
		t.Error("an option as a revision was accepted")
	}
	blob, err := r.HashObject(ctx, []byte("one\n"), false)
	if err != nil || blob != "5626abf0f72e58d7a153368ba57db4c673c0e171" {
		t.Errorf("hash-object %q %v", blob, err)
	}
}

func TestPathChecks(t *testing.T) {
	t.Parallel()
	r := newRepoT(t)
	for _, p := range []string{"../x", "/etc/passwd", "--all", "", "a/../../x"} {
		if err := r.Add(context.Background(), p); err == nil {
			t.Errorf("Add(%q) accepted", p)
		}
	}
}

// TestHostileEnvironment sets the variables and configuration that would redirect or hijack git, and
// checks that none of them reaches it.
func TestHostileEnvironment(t *testing.T) {
	needGit(t)
	ctx := context.Background()
	victim := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", victim).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	userHome := t.TempDir()
	marker := filepath.Join(t.TempDir(), "hook-ran")
	hooks := filepath.Join(userHome, "hooks")
	hook := "#!/bin/sh\ntouch " + marker + "\n"
	write(t, hooks, "pre-commit", hook)
	write(t, hooks, "post-commit", hook)
	if err := os.Chmod(filepath.Join(hooks, "pre-commit"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(hooks, "post-commit"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, userHome, ".gitconfig", "[core]\n\thooksPath = "+hooks+"\n[user]\n\tname = Global\n\temail = global@example.org\n")
	t.Setenv("HOME", userHome)
	t.Setenv("GIT_DIR", filepath.Join(victim, ".git"))
	t.Setenv("GIT_WORK_TREE", victim)
	t.Setenv("GIT_INDEX_FILE", filepath.Join(victim, ".git", "index"))
	t.Setenv("GIT_AUTHOR_NAME", "Mallory")
	t.Setenv("GIT_COMMITTER_NAME", "Mallory")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'core.hooksPath'='"+hooks+"'")
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "core.hooksPath")
	t.Setenv("GIT_CONFIG_VALUE_0", hooks)

	dir := t.TempDir()
	r, err := Init(ctx, dir, Options{Author: Signature{"Ada", "ada@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	// The repository's own config and hooks folder are hostile too.
	f, err := os.OpenFile(filepath.Join(dir, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[core]\n\thooksPath = %s\n[commit]\n\tgpgSign = true\n", hooks)
	f.Close()
	write(t, filepath.Join(dir, ".git", "hooks"), "pre-commit", hook)
	if err := os.Chmod(filepath.Join(dir, ".git", "hooks", "pre-commit"), 0o755); err != nil {
		t.Fatal(err)
	}

	write(t, dir, "f.txt", "x\n")
	if _, err := r.Commit(ctx, "first", "f.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a hook ran")
	}
	log, err := r.Log(ctx, 0)
	if err != nil || len(log) != 1 || log[0].Author.Name != "Ada" {
		t.Errorf("log %+v %v", log, err)
	}
	// The victim repository has no commit and nothing staged.
	cmd := exec.Command("git", "-C", victim, "rev-parse", "--verify", "--quiet", "HEAD")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent"}
	if out, err := cmd.Output(); err == nil {
		t.Errorf("victim repository got a commit: %s", out)
	}
	if _, err := os.Stat(filepath.Join(victim, "f.txt")); err == nil {
		t.Error("file written into the victim work tree")
	}
	if st, err := os.Stat(filepath.Join(victim, ".git", "index")); err == nil && st.Size() > 0 {
		t.Error("victim index written")
	}
}

func TestOpenRefusesEnclosingRepository(t *testing.T) {
	t.Parallel()
	r := newRepoT(t)
	inner := filepath.Join(r.Dir(), "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(inner, Options{}); !errors.Is(err, ErrNotRepo) {
		t.Errorf("Open of a folder inside a repository: %v", err)
	}
	if _, err := Open(r.Dir(), Options{}); err != nil {
		t.Errorf("Open: %v", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	r := newRepoT(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	write(t, r.Dir(), "f.txt", "x")
	if _, err := r.Commit(ctx, "m", "f.txt"); !errors.Is(err, context.Canceled) {
		t.Errorf("commit with a cancelled context: %v", err)
	}
}

func TestConcurrentCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepoT(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A second Repo value of the same folder shares the lock.
			r2, err := Open(r.Dir(), Options{})
			if err != nil {
				errs <- err
				return
			}
			unlock := r2.Lock()
			defer unlock()
			name := fmt.Sprintf("f%d.txt", i)
			if err := os.WriteFile(filepath.Join(r.Dir(), name), []byte(name), 0o644); err != nil {
				errs <- err
				return
			}
			_, err = r2.Commit(ctx, "add "+name, name)
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
	log, err := r.Log(ctx, 0)
	if err != nil || len(log) != n {
		t.Errorf("%d commits, %v", len(log), err)
	}
}

func TestIndexLockHeldByAnotherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepoT(t)
	lock := filepath.Join(r.Dir(), ".git", "index.lock")
	write(t, r.Dir(), "f.txt", "x")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	short, err := Open(r.Dir(), Options{LockWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Commit(ctx, "m", "f.txt"); err == nil || !strings.Contains(err.Error(), "index.lock") {
		t.Errorf("commit under a held lock: %v", err)
	}
	go func() {
		time.Sleep(150 * time.Millisecond)
		os.Remove(lock)
	}()
	if _, err := r.Commit(ctx, "m", "f.txt"); err != nil {
		t.Errorf("commit after the lock was released: %v", err)
	}
}
