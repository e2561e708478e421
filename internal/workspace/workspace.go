// Package workspace is the git-versioned working tree a team run works in. The tree is a git
// repository whose main branch holds approved work; each run works on its own branch
// (seance/run/<id>). The runtime snapshots the tree before and after every tool call, so every change
// an agent makes lands as a commit that names the agent and the call, can be reviewed (Log, Diff) and
// undone (Revert), and a run's branch is either approved into main (Approve) or dropped (Discard).
//
// The file helpers (ReadFile, WriteFile, List, Remove) resolve every name with os.Root, so neither ".."
// nor a symbolic link inside the workspace can lead outside it, and they refuse the .git folder.
//
// workspace imports gitrepo and fault; internal/app and the tools build on it.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/runid"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
)

// MainBranch is the branch that holds approved work.
const MainBranch = "main"

// RunBranchPrefix starts the name of every run's branch.
const RunBranchPrefix = "seance/run/"

// System signs the commits seance makes itself (creation, approval, revert without a named person).
var System = gitrepo.Signature{Name: "seance", Email: "seance@localhost"}

// ErrUnchanged is returned by Snapshot when the tree has not changed since the last commit.
var ErrUnchanged = errors.New("workspace unchanged")

// Workspace is an opened workspace. Its methods may be called from several goroutines: the ones that
// change the repository are serialised by the repository's lock.
type Workspace struct {
	repo *gitrepo.Repo
	dir  string
	// calls serialises Do, so that the changes between a call's two snapshots are that call's alone.
	calls sync.Mutex
}

// Options configure Open and Create.
type Options struct {
	// Git is the git executable (default "git" from PATH).
	Git string
}

// Create opens the workspace at dir, creating the folder and the repository when needed. A new
// repository gets a first commit on main holding whatever the folder already contained.
func Create(ctx context.Context, dir string, opts Options) (*Workspace, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create workspace %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return Open(ctx, dir, opts)
	}
	repo, err := gitrepo.Init(ctx, dir, gitrepo.Options{Git: opts.Git, Author: System})
	if err != nil {
		return nil, fmt.Errorf("create workspace %s: %w", dir, err)
	}
	w := &Workspace{repo: repo, dir: repo.Dir()}
	unlock := repo.Lock()
	defer unlock()
	if _, err := repo.CommitAll(ctx, System, "seance: workspace created", true); err != nil {
		return nil, fmt.Errorf("create workspace %s: first commit: %w", dir, err)
	}
	return w, nil
}

// Open opens an existing workspace: dir must be the top of a git work tree with at least one commit
// on main.
func Open(ctx context.Context, dir string, opts Options) (*Workspace, error) {
	repo, err := gitrepo.Open(dir, gitrepo.Options{Git: opts.Git, Author: System})
	if err != nil {
		if errors.Is(err, gitrepo.ErrNotRepo) {
			return nil, fault.Wrap(err, fault.NotFound, "%s is not a workspace (no .git folder; create it first)", dir)
		}
		return nil, err
	}
	ok, err := repo.BranchExists(ctx, MainBranch)
	if err != nil {
		return nil, fmt.Errorf("open workspace %s: %w", dir, err)
	}
	if !ok {
		return nil, fault.New(fault.Unprocessable, "workspace %s has no %s branch", dir, MainBranch)
	}
	return &Workspace{repo: repo, dir: repo.Dir()}, nil
}

// Dir returns the workspace folder (absolute).
func (w *Workspace) Dir() string { return w.dir }

// Branch returns the branch name of run id.
func Branch(id string) (string, error) {
	if !runid.Valid(id) || strings.Contains(id, "..") || strings.HasSuffix(id, ".lock") || strings.HasSuffix(id, ".") {
		return "", fault.Param("run", "run id %q: want letters, digits, '.', '_' or '-'", id)
	}
	return RunBranchPrefix + id, nil
}

// Begin starts run id: it snapshots any uncommitted change on the current branch, creates the run's
// branch from main (or reuses it when it exists, to resume a run) and checks it out.
func (w *Workspace) Begin(ctx context.Context, id string) error {
	br, err := Branch(id)
	if err != nil {
		return err
	}
	if _, err := w.Snapshot(ctx, "seance: uncommitted changes before run "+id, System); err != nil && !errors.Is(err, ErrUnchanged) {
		return err
	}
	unlock := w.repo.Lock()
	defer unlock()
	ok, err := w.repo.BranchExists(ctx, br)
	if err != nil {
		return err
	}
	if !ok {
		if err := w.repo.CreateBranch(ctx, br, MainBranch); err != nil {
			return fmt.Errorf("begin run %s: %w", id, err)
		}
	}
	if err := w.repo.Switch(ctx, br); err != nil {
		return fmt.Errorf("begin run %s: %w", id, err)
	}
	return nil
}

// Current returns the checked-out branch.
func (w *Workspace) Current(ctx context.Context) (string, error) {
	return w.repo.CurrentBranch(ctx)
}

// Snapshot commits every change of the tree (new, modified and deleted files; .gitignore respected;
// symbolic links stored as links and never followed) on the current branch, with message and author,
// and returns the commit. When nothing changed it returns "" and ErrUnchanged.
func (w *Workspace) Snapshot(ctx context.Context, message string, author gitrepo.Signature) (string, error) {
	unlock := w.repo.Lock()
	defer unlock()
	h, err := w.repo.CommitAll(ctx, author, message, false)
	if errors.Is(err, gitrepo.ErrNothingToCommit) {
		return "", ErrUnchanged
	}
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", w.dir, err)
	}
	return h, nil
}

// Call describes a tool call for the messages of the snapshots around it.
type Call struct {
	Run   string
	Agent string
	Tool  string
	// Summary is a one-line description of the arguments (e.g. the argv), shortened when long.
	Summary string
}

// Agent returns the git signature of an agent: its name and a local address.
func Agent(name string) gitrepo.Signature { return signature(name, "agent", "agent@seance.localhost") }

// Person returns the git signature of a person acting through seance (approving, reverting).
func Person(name string) gitrepo.Signature { return signature(name, "user", "user@seance.localhost") }

func signature(name, fallback, email string) gitrepo.Signature {
	clean := strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || r == '\n' || r == 0 || r == '\r' {
			return -1
		}
		return r
	}, name)
	if strings.TrimSpace(clean) == "" {
		clean = fallback
	}
	return gitrepo.Signature{Name: clean, Email: email}
}

func (c Call) message(phase string) string {
	s := c.Summary
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	s = strings.ReplaceAll(s, "\n", " ")
	return fmt.Sprintf("%s: %s %s %s\n\nrun: %s\nagent: %s\ntool: %s\n", c.Agent, phase, c.Tool, s, c.Run, c.Agent, c.Tool)
}

// Before snapshots changes made outside any tool call (by a person, say) before call runs, so they
// are not attributed to the agent. It returns the commit, or "" when nothing had changed.
func (w *Workspace) Before(ctx context.Context, c Call) (string, error) {
	h, err := w.Snapshot(ctx, c.message("before"), System)
	if errors.Is(err, ErrUnchanged) {
		return "", nil
	}
	return h, err
}

// After snapshots the changes call made, authored by its agent. It returns the commit, or "" when the
// call changed nothing.
func (w *Workspace) After(ctx context.Context, c Call) (string, error) {
	h, err := w.Snapshot(ctx, c.message("after"), Agent(c.Agent))
	if errors.Is(err, ErrUnchanged) {
		return "", nil
	}
	return h, err
}

// Do runs fn as tool call c between a Before and an After snapshot, holding the workspace's call lock
// so that no other call made through Do changes the tree meanwhile: the After commit holds exactly
// what fn changed (changes by processes outside seance excepted). It returns the After commit ("" when
// fn changed nothing) and fn's error; the snapshot is taken even when fn fails, since a failed call can
// still have changed files.
func (w *Workspace) Do(ctx context.Context, c Call, fn func(ctx context.Context) error) (string, error) {
	w.calls.Lock()
	defer w.calls.Unlock()
	if _, err := w.Before(ctx, c); err != nil {
		return "", err
	}
	ferr := fn(ctx)
	// The snapshot must be taken even when ctx was cancelled during fn.
	h, err := w.After(context.WithoutCancel(ctx), c)
	if err != nil {
		return "", errors.Join(ferr, err)
	}
	return h, ferr
}

// Commit is one entry of Log.
type Commit = gitrepo.Commit

// Log returns up to n commits (0: all) of the current branch, newest first.
func (w *Workspace) Log(ctx context.Context, n int) ([]Commit, error) {
	return w.repo.Log(ctx, n)
}

// RunLog returns up to n commits of run id that main does not hold yet, newest first.
func (w *Workspace) RunLog(ctx context.Context, id string, n int) ([]Commit, error) {
	br, err := Branch(id)
	if err != nil {
		return nil, err
	}
	return w.repo.LogRev(ctx, br, MainBranch, n)
}

// Diff returns the unified diff between two revisions; with to empty, between from and the work tree.
func (w *Workspace) Diff(ctx context.Context, from, to string) (string, error) {
	if to == "" {
		return w.repo.Diff(ctx, from)
	}
	return w.repo.DiffRevs(ctx, from, to)
}

// Revert snapshots pending changes and then adds a commit, authored by by, that undoes commit. It
// returns the new commit.
func (w *Workspace) Revert(ctx context.Context, commit string, by gitrepo.Signature) (string, error) {
	if _, err := w.Snapshot(ctx, "seance: uncommitted changes before revert", System); err != nil && !errors.Is(err, ErrUnchanged) {
		return "", err
	}
	unlock := w.repo.Lock()
	defer unlock()
	full, err := w.repo.RevParse(ctx, commit)
	if err != nil {
		return "", fault.Wrap(err, fault.NotFound, "revert: no commit %q in %s", commit, w.dir)
	}
	subject := ""
	if log, err := w.repo.LogRev(ctx, full, "", 1); err == nil && len(log) == 1 {
		subject = log[0].Subject
	}
	msg := fmt.Sprintf("Revert %.12s %q\n\nThis reverts commit %s.\n", full, subject, full)
	return w.repo.Revert(ctx, by, full, msg)
}

// Approve merges run id's branch into main (a fast-forward when main has not moved, otherwise a merge
// commit signed by by) and leaves main checked out. It returns main's new head.
func (w *Workspace) Approve(ctx context.Context, id string, by gitrepo.Signature) (string, error) {
	br, err := Branch(id)
	if err != nil {
		return "", err
	}
	if _, err := w.Snapshot(ctx, "seance: uncommitted changes before approving run "+id, System); err != nil && !errors.Is(err, ErrUnchanged) {
		return "", err
	}
	unlock := w.repo.Lock()
	defer unlock()
	if ok, err := w.repo.BranchExists(ctx, br); err != nil {
		return "", err
	} else if !ok {
		return "", fault.New(fault.NotFound, "no run %q in workspace %s", id, w.dir)
	}
	if err := w.repo.Switch(ctx, MainBranch); err != nil {
		return "", fmt.Errorf("approve run %s: %w", id, err)
	}
	return w.repo.Merge(ctx, br, fmt.Sprintf("Approve run %s (by %s)", id, by.Name))
}

// Discard deletes run id's branch (its commits stay in the repository's object store until git
// collects garbage). When the run is checked out, main is checked out first.
func (w *Workspace) Discard(ctx context.Context, id string) error {
	br, err := Branch(id)
	if err != nil {
		return err
	}
	cur, err := w.repo.CurrentBranch(ctx)
	if err != nil {
		return err
	}
	if cur == br {
		if _, err := w.Snapshot(ctx, "seance: uncommitted changes before discarding run "+id, System); err != nil && !errors.Is(err, ErrUnchanged) {
			return err
		}
	}
	unlock := w.repo.Lock()
	defer unlock()
	if ok, err := w.repo.BranchExists(ctx, br); err != nil {
		return err
	} else if !ok {
		return fault.New(fault.NotFound, "no run %q in workspace %s", id, w.dir)
	}
	if cur == br {
		if err := w.repo.Switch(ctx, MainBranch); err != nil {
			return fmt.Errorf("discard run %s: %w", id, err)
		}
	}
	return w.repo.DeleteBranch(ctx, br)
}

// name checks a file name given to a file helper: relative, slash-separated, inside the tree and not
// in .git. It returns the cleaned name.
func name(n string) (string, error) {
	if n == "" {
		n = "."
	}
	n = filepath.ToSlash(n)
	if path.IsAbs(n) {
		return "", fault.Param("path", "path %q: want a path relative to the workspace", n)
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fault.Param("path", "path %q leaves the workspace", n)
	}
	if first, _, _ := strings.Cut(c, "/"); first == ".git" {
		return "", fault.Param("path", "path %q: the .git folder is not accessible", n)
	}
	return c, nil
}

// root opens the workspace as an os.Root; the caller closes it.
func (w *Workspace) root() (*os.Root, error) {
	r, err := os.OpenRoot(w.dir)
	if err != nil {
		return nil, fmt.Errorf("open workspace %s: %w", w.dir, err)
	}
	return r, nil
}

// classify turns an os.Root error into a user-facing one.
func classify(op, n string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fault.Wrap(err, fault.NotFound, "%s %s: no such file in the workspace", op, n)
	case strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes"):
		return fault.Wrap(err, fault.Invalid, "%s %s: the path leads outside the workspace", op, n)
	}
	return fmt.Errorf("%s %s: %w", op, n, err)
}

// ReadFile returns the content of workspace file n, at most limit bytes (0: no limit; over the limit
// is an error).
func (w *Workspace) ReadFile(n string, limit int64) ([]byte, error) {
	c, err := name(n)
	if err != nil {
		return nil, err
	}
	r, err := w.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(c)
	if err != nil {
		return nil, classify("read", c, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, classify("read", c, err)
	}
	if st.IsDir() {
		return nil, fault.Param("path", "read %s: is a folder", c)
	}
	if limit > 0 && st.Size() > limit {
		return nil, fault.New(fault.TooLarge, "read %s: %d bytes, over the limit of %d", c, st.Size(), limit)
	}
	var src io.Reader = f
	if limit > 0 {
		src = io.LimitReader(f, limit+1)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return nil, classify("read", c, err)
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fault.New(fault.TooLarge, "read %s: over the limit of %d bytes", c, limit)
	}
	return b, nil
}

// WriteFile writes data to workspace file n, creating its parent folders.
func (w *Workspace) WriteFile(n string, data []byte, perm fs.FileMode) error {
	c, err := name(n)
	if err != nil {
		return err
	}
	if c == "." {
		return fault.Param("path", "write: no file name")
	}
	r, err := w.root()
	if err != nil {
		return err
	}
	defer r.Close()
	if dir := path.Dir(c); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return classify("write", c, err)
		}
	}
	if err := r.WriteFile(c, data, perm&0o777); err != nil {
		return classify("write", c, err)
	}
	return nil
}

// Remove deletes workspace file or folder n (recursively). The deletion is recoverable from the
// previous snapshot.
func (w *Workspace) Remove(n string) error {
	c, err := name(n)
	if err != nil {
		return err
	}
	if c == "." {
		return fault.Param("path", "remove: refusing to remove the workspace itself")
	}
	r, err := w.root()
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.Lstat(c); err != nil {
		return classify("remove", c, err)
	}
	if err := r.RemoveAll(c); err != nil {
		return classify("remove", c, err)
	}
	return nil
}

// Entry is one item of List.
type Entry struct {
	Name    string // relative to the workspace, slash-separated
	Dir     bool
	Symlink bool
	Size    int64
	ModTime time.Time
}

// List returns the entries of workspace folder n (not recursive), .git left out. Symbolic links are
// reported as links, never followed.
func (w *Workspace) List(n string) ([]Entry, error) {
	c, err := name(n)
	if err != nil {
		return nil, err
	}
	r, err := w.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(c)
	if err != nil {
		return nil, classify("list", c, err)
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, classify("list", c, err)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		if c == "." && de.Name() == ".git" {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Entry{
			Name: path.Join(c, de.Name()), Dir: de.IsDir(), Symlink: de.Type()&fs.ModeSymlink != 0,
			Size: info.Size(), ModTime: info.ModTime(),
		})
	}
	return out, nil
}
