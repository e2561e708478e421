// Package gitrepo is a small, safe wrapper of the git command line for repositories seance owns (the
// seance home): init, add, commit, log, show, diff, rev-parse and status.
//
// Safety: git runs with an allow-listed environment built here (never the parent's os.Environ, so a
// GIT_DIR or GIT_WORK_TREE set by the caller's shell cannot redirect it), without system or global
// configuration, without hooks, pagers, signing or credential prompts, and with the repository named
// explicitly (--git-dir and --work-tree), so git never discovers an enclosing repository. Every call
// takes a context that kills git when cancelled. Errors carry git's stderr.
//
// A Repo serialises the commands that write (add, commit) with a mutex shared by every Repo of the same
// folder in the process, and retries when another process holds git's index lock.
//
// gitrepo imports only fault; internal/home uses it.
package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// Signature names the author (and committer) of commits.
type Signature struct {
	Name  string
	Email string
}

// DefaultSignature is used when Options.Author is empty.
var DefaultSignature = Signature{Name: "seance", Email: "seance@localhost"}

// Options configure a Repo.
type Options struct {
	// Git is the git executable (default: "git" looked up in PATH).
	Git string
	// Author signs commits (default DefaultSignature).
	Author Signature
	// Path is the PATH git's own children see (default "/usr/local/bin:/usr/bin:/bin"). The parent's
	// PATH is never passed on.
	Path string
	// LockWait bounds how long a write waits for another process's index lock (default 5s).
	LockWait time.Duration
}

// Repo is a git repository with a work tree at Dir.
type Repo struct {
	dir    string
	git    string
	author Signature
	env    []string
	wait   time.Duration
	mu     *sync.Mutex
}

// ErrNotRepo is returned by Open for a folder that is not the top of a git work tree.
var ErrNotRepo = errors.New("not a git repository")

// ErrNothingToCommit is returned by Commit when the paths have no changes.
var ErrNothingToCommit = errors.New("nothing to commit")

// Error is a failed git command: its arguments, exit status and stderr.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

// Error returns the command and git's message.
func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

// Unwrap returns the process error.
func (e *Error) Unwrap() error { return e.Err }

// locks holds one write mutex per repository folder, shared by all Repos of the process.
var locks sync.Map // abs dir → *sync.Mutex

func newRepo(dir string, opts Options) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("repository folder %q: %w", dir, err)
	}
	git := opts.Git
	if git == "" {
		git = "git"
	}
	path, err := exec.LookPath(git)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unsupported, "git is not installed (needed for the seance home)")
	}
	author := opts.Author
	if author.Name == "" || author.Email == "" {
		author = DefaultSignature
	}
	if strings.ContainsAny(author.Name+author.Email, "\n\x00<>") {
		return nil, fault.New(fault.Invalid, "git author %q <%s>: invalid characters", author.Name, author.Email)
	}
	pathEnv := opts.Path
	if pathEnv == "" {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	wait := opts.LockWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	mu, _ := locks.LoadOrStore(abs, &sync.Mutex{})
	return &Repo{
		dir: abs, git: path, author: author, wait: wait, mu: mu.(*sync.Mutex),
		env: []string{
			"PATH=" + pathEnv,
			// Nothing is read from HOME or XDG_CONFIG_HOME (global config is off); they are set so that
			// git's default excludes and attributes files resolve to nowhere.
			"HOME=/nonexistent",
			"XDG_CONFIG_HOME=/nonexistent",
			"LC_ALL=C",
			"LANG=C",
			"TZ=UTC",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_TERMINAL_PROMPT=0",
			"GIT_PAGER=cat",
			"PAGER=cat",
			"GIT_EDITOR=true",
			"GIT_OPTIONAL_LOCKS=0",
			"GIT_ASKPASS=",
			"SSH_ASKPASS=",
		},
	}, nil
}

// Init creates (or re-initialises, which is harmless) a repository at dir with branch main and returns it.
func Init(ctx context.Context, dir string, opts Options) (*Repo, error) {
	r, err := newRepo(dir, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", r.dir, err)
	}
	// init is the one command without --git-dir: it creates it.
	if _, err := r.exec(ctx, nil, "init", "--quiet", "--initial-branch=main", "--", r.dir); err != nil {
		return nil, err
	}
	return r, nil
}

// Open returns the repository whose work tree is dir. dir must hold a .git folder: enclosing
// repositories are never used.
func Open(dir string, opts Options) (*Repo, error) {
	r, err := newRepo(dir, opts)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(filepath.Join(r.dir, ".git")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: %w", r.dir, ErrNotRepo)
	}
	return r, nil
}

// Dir returns the work tree folder (absolute).
func (r *Repo) Dir() string { return r.dir }

// base are the arguments before every subcommand: configuration that makes git predictable and inert.
func (r *Repo) base(repoArgs bool) []string {
	a := []string{
		"-c", "user.name=" + r.author.Name,
		"-c", "user.email=" + r.author.Email,
		"-c", "core.hooksPath=/dev/null",
		"-c", "core.fsmonitor=false",
		"-c", "core.autocrlf=false",
		"-c", "core.quotePath=false",
		"-c", "core.pager=cat",
		"-c", "commit.gpgSign=false",
		"-c", "tag.gpgSign=false",
		"-c", "log.showSignature=false",
		"-c", "color.ui=false",
		"-c", "diff.external=",
		"-c", "gc.auto=0",
		"-c", "init.defaultBranch=main",
		"--no-pager",
	}
	if repoArgs {
		a = append(a, "--git-dir="+filepath.Join(r.dir, ".git"), "--work-tree="+r.dir)
	}
	return a
}

// exec runs git with args in the work tree and returns stdout.
func (r *Repo) exec(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	repoArgs := len(args) == 0 || args[0] != "init"
	cmd := exec.CommandContext(ctx, r.git, append(r.base(repoArgs), args...)...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	cmd.WaitDelay = 2 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git %s: %w", args[0], ctx.Err())
		}
		return out.Bytes(), &Error{Args: args, Stderr: errb.String(), Err: err}
	}
	return out.Bytes(), nil
}

// write runs a command that takes git's index lock: serialised within the process, retried while
// another process holds the lock.
func (r *Repo) write(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	deadline := time.Now().Add(r.wait)
	delay := 20 * time.Millisecond
	for {
		out, err := r.exec(ctx, stdin, args...)
		var ge *Error
		if err == nil || !errors.As(err, &ge) || !strings.Contains(ge.Stderr, "index.lock") || time.Now().After(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// Lock takes the repository's write lock for a sequence of file writes and commits that must not
// interleave with another goroutine's; it returns the unlock function. Add and Commit do not take it
// themselves, so a caller holding it may call them.
func (r *Repo) Lock() (unlock func()) {
	r.mu.Lock()
	return r.mu.Unlock
}

// checkPaths rejects paths that would leave the work tree or be read as options.
func checkPaths(paths []string) error {
	for _, p := range paths {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "-") {
			return fault.New(fault.Invalid, "path %q: want a relative path inside the repository", p)
		}
		if c := filepath.Clean(p); c == ".." || strings.HasPrefix(c, "../") {
			return fault.New(fault.Invalid, "path %q leaves the repository", p)
		}
	}
	return nil
}

// Add stages paths (relative to the work tree), including their deletion. The caller should hold Lock.
func (r *Repo) Add(ctx context.Context, paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	if err := checkPaths(paths); err != nil {
		return err
	}
	_, err := r.write(ctx, nil, append([]string{"add", "--all", "--"}, paths...)...)
	return err
}

// Commit stages paths and commits exactly them (other staged changes stay staged, uncommitted) with
// message, returning the new commit's hash. With no changes in paths it returns ErrNothingToCommit.
// The caller should hold Lock.
func (r *Repo) Commit(ctx context.Context, message string, paths ...string) (string, error) {
	if strings.TrimSpace(message) == "" {
		return "", fault.New(fault.Invalid, "empty commit message")
	}
	if len(paths) == 0 {
		return "", fault.New(fault.Invalid, "commit names no paths")
	}
	if err := r.Add(ctx, paths...); err != nil {
		return "", err
	}
	changed, err := r.stagedChanges(ctx, paths)
	if err != nil {
		return "", err
	}
	if !changed {
		return "", ErrNothingToCommit
	}
	args := append([]string{"commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-", "--only", "--"}, paths...)
	if _, err := r.write(ctx, []byte(message), args...); err != nil {
		return "", err
	}
	return r.RevParse(ctx, "HEAD")
}

// stagedChanges reports whether the index differs from HEAD in paths (always true before the first commit).
func (r *Repo) stagedChanges(ctx context.Context, paths []string) (bool, error) {
	if _, err := r.exec(ctx, nil, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		return true, nil // no commit yet
	}
	_, err := r.exec(ctx, nil, append([]string{"diff", "--cached", "--quiet", "--"}, paths...)...)
	var ge *Error
	var ee *exec.ExitError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &ge) && errors.As(err, &ee) && ee.ExitCode() == 1:
		return true, nil
	}
	return false, err
}

// RevParse resolves rev (a branch, "HEAD", an abbreviated hash) to a full commit hash.
func (r *Repo) RevParse(ctx context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", fault.New(fault.Invalid, "revision %q", rev)
	}
	out, err := r.exec(ctx, nil, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Commit is one entry of the log.
type Commit struct {
	Hash    string
	Author  Signature
	Time    time.Time
	Subject string
	// Files are the paths the commit changed.
	Files []string
}

// Log returns up to n commits (0: all), newest first, touching paths when any are given.
func (r *Repo) Log(ctx context.Context, n int, paths ...string) ([]Commit, error) {
	if err := checkPaths(paths); err != nil {
		return nil, err
	}
	if _, err := r.exec(ctx, nil, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		return nil, nil // an empty repository has no log
	}
	// Records are separated by NUL+RS; fields by NUL; --name-only lists files after the format.
	args := []string{"log", "--no-color", "--no-renames", "--name-only", "--format=%x1e%H%x00%an%x00%ae%x00%aI%x00%s%x00"}
	if n > 0 {
		args = append(args, fmt.Sprintf("--max-count=%d", n))
	}
	args = append(args, "--")
	out, err := r.exec(ctx, nil, append(args, paths...)...)
	if err != nil {
		return nil, err
	}
	var log []Commit
	for _, rec := range strings.Split(string(out), "\x1e") {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		f := strings.SplitN(rec, "\x00", 6)
		if len(f) < 6 {
			return nil, fmt.Errorf("git log: unexpected output %q", rec)
		}
		t, err := time.Parse(time.RFC3339, f[3])
		if err != nil {
			return nil, fmt.Errorf("git log: date %q: %w", f[3], err)
		}
		c := Commit{Hash: f[0], Author: Signature{Name: f[1], Email: f[2]}, Time: t, Subject: f[4]}
		for _, line := range strings.Split(f[5], "\n") {
			if line = strings.TrimSpace(line); line != "" {
				c.Files = append(c.Files, line)
			}
		}
		log = append(log, c)
	}
	return log, nil
}

// Show returns the content of path at rev (e.g. "HEAD").
func (r *Repo) Show(ctx context.Context, rev, path string) ([]byte, error) {
	if err := checkPaths([]string{path}); err != nil {
		return nil, err
	}
	if strings.HasPrefix(rev, "-") || strings.Contains(rev, ":") {
		return nil, fault.New(fault.Invalid, "revision %q", rev)
	}
	return r.exec(ctx, nil, "show", "--no-color", "--end-of-options", rev+":"+filepath.ToSlash(filepath.Clean(path)))
}

// Diff returns the unified diff of the work tree against rev (e.g. "HEAD"), limited to paths when any
// are given.
func (r *Repo) Diff(ctx context.Context, rev string, paths ...string) (string, error) {
	if err := checkPaths(paths); err != nil {
		return "", err
	}
	if strings.HasPrefix(rev, "-") {
		return "", fault.New(fault.Invalid, "revision %q", rev)
	}
	out, err := r.exec(ctx, nil, append([]string{"diff", "--no-color", "--no-ext-diff", rev, "--"}, paths...)...)
	return string(out), err
}

// Change is one entry of Status: a path and its two-letter porcelain code (" M", "??", "A ", "D "...).
type Change struct {
	Code string
	Path string
}

// Status returns the work tree's uncommitted changes, untracked files included.
func (r *Repo) Status(ctx context.Context) ([]Change, error) {
	out, err := r.exec(ctx, nil, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
	if err != nil {
		return nil, err
	}
	var cs []Change
	for _, e := range strings.Split(string(out), "\x00") {
		if len(e) < 4 {
			continue
		}
		cs = append(cs, Change{Code: e[:2], Path: e[3:]})
	}
	return cs, nil
}

// HashObject returns the git blob id of content (what `git hash-object` prints) and, with write, stores
// the blob in the repository so the exact content can be recovered later with Show or cat-file.
func (r *Repo) HashObject(ctx context.Context, content []byte, write bool) (string, error) {
	args := []string{"hash-object", "--stdin"}
	if write {
		args = append(args, "-w")
	}
	out, err := r.exec(ctx, content, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
