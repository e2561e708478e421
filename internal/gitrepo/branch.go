package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// This file holds the branch-level operations internal/workspace needs: committing the whole work tree
// as a given author, branches, switching, merging, reverting and diffs between two commits.

// checkRef rejects revision or branch names that git could read as options, ranges or paths; branch
// names must also be plain names (no ~, ^, @{).
func checkRef(what, ref string) error {
	bad := " \t\n\x00:?*[\\"
	if what == "branch" {
		bad += "~^@{"
	}
	if ref == "" || strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, bad) || strings.Contains(ref, "..") {
		return fault.New(fault.Invalid, "%s %q: not a valid name", what, ref)
	}
	return nil
}

func checkSignature(s Signature) error {
	if s.Name == "" || s.Email == "" || strings.ContainsAny(s.Name+s.Email, "\n\x00<>") {
		return fault.New(fault.Invalid, "git author %q <%s>: invalid", s.Name, s.Email)
	}
	return nil
}

// CommitAll stages every change of the work tree (new, modified and deleted files; .gitignore is
// respected; symbolic links are stored as links, never followed) and commits it with message, author
// as the commit's author and the Repo's signature as committer. With allowEmpty false and nothing
// changed it returns ErrNothingToCommit. The caller should hold Lock.
func (r *Repo) CommitAll(ctx context.Context, author Signature, message string, allowEmpty bool) (string, error) {
	if strings.TrimSpace(message) == "" {
		return "", fault.New(fault.Invalid, "empty commit message")
	}
	if err := checkSignature(author); err != nil {
		return "", err
	}
	if _, err := r.write(ctx, nil, "add", "--all", "--", "."); err != nil {
		return "", err
	}
	if !allowEmpty {
		changed, err := r.stagedChanges(ctx, nil)
		if err != nil {
			return "", err
		}
		if !changed {
			return "", ErrNothingToCommit
		}
	}
	args := []string{"commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-",
		"--author=" + author.Name + " <" + author.Email + ">"}
	if allowEmpty {
		args = append(args, "--allow-empty")
	}
	if _, err := r.write(ctx, []byte(message), args...); err != nil {
		return "", err
	}
	return r.RevParse(ctx, "HEAD")
}

// CurrentBranch returns the checked-out branch's short name ("" on a detached HEAD).
func (r *Repo) CurrentBranch(ctx context.Context) (string, error) {
	out, err := r.exec(ctx, nil, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// BranchExists reports whether the local branch name exists.
func (r *Repo) BranchExists(ctx context.Context, name string) (bool, error) {
	if err := checkRef("branch", name); err != nil {
		return false, err
	}
	_, err := r.exec(ctx, nil, "show-ref", "--verify", "--quiet", "refs/heads/"+name)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, err
}

// CreateBranch creates branch name at start (a revision) without switching to it.
func (r *Repo) CreateBranch(ctx context.Context, name, start string) error {
	if err := checkRef("branch", name); err != nil {
		return err
	}
	if err := checkRef("revision", start); err != nil {
		return err
	}
	_, err := r.write(ctx, nil, "branch", "--no-track", "--end-of-options", name, start)
	return err
}

// Switch checks out branch name, updating the work tree. Uncommitted changes that would be overwritten
// make it fail (git's own check); the caller should commit first.
func (r *Repo) Switch(ctx context.Context, name string) error {
	if err := checkRef("branch", name); err != nil {
		return err
	}
	_, err := r.write(ctx, nil, "switch", "--quiet", "--no-guess", name)
	return err
}

// DeleteBranch deletes the local branch name even when it is not merged. The checked-out branch
// cannot be deleted (git refuses).
func (r *Repo) DeleteBranch(ctx context.Context, name string) error {
	if err := checkRef("branch", name); err != nil {
		return err
	}
	_, err := r.write(ctx, nil, "branch", "--quiet", "-D", "--end-of-options", name)
	return err
}

// Merge merges branch into the checked-out branch: a fast-forward when possible, otherwise a merge
// commit with message. On a conflict the merge is aborted and an error returned. It returns the new
// HEAD. The caller should hold Lock.
func (r *Repo) Merge(ctx context.Context, branch, message string) (string, error) {
	if err := checkRef("branch", branch); err != nil {
		return "", err
	}
	if strings.TrimSpace(message) == "" {
		return "", fault.New(fault.Invalid, "empty merge message")
	}
	if _, err := r.write(ctx, nil, "merge", "--quiet", "--ff", "--no-edit", "--no-verify", "-m", message, "--end-of-options", branch); err != nil {
		_, _ = r.exec(context.WithoutCancel(ctx), nil, "merge", "--abort")
		return "", fault.Wrap(err, fault.Unprocessable, "merge %s: conflicts or failure (merge aborted)", branch)
	}
	return r.RevParse(ctx, "HEAD")
}

// Revert creates a new commit, authored by author, that undoes commit. On a conflict the revert is
// abandoned, the work tree left as it was, and an error returned. The caller should hold Lock.
func (r *Repo) Revert(ctx context.Context, author Signature, commit, message string) (string, error) {
	if err := checkSignature(author); err != nil {
		return "", err
	}
	full, err := r.RevParse(ctx, commit)
	if err != nil {
		return "", err
	}
	if _, err := r.write(ctx, nil, "revert", "--no-commit", "--no-edit", full); err != nil {
		_, _ = r.exec(context.WithoutCancel(ctx), nil, "revert", "--abort")
		return "", fault.Wrap(err, fault.Unprocessable, "revert %.12s: conflicts or failure (revert abandoned)", full)
	}
	if strings.TrimSpace(message) == "" {
		message = fmt.Sprintf("Revert %.12s", full)
	}
	args := []string{"commit", "--quiet", "--no-verify", "--allow-empty", "--cleanup=whitespace", "--file=-",
		"--author=" + author.Name + " <" + author.Email + ">"}
	if _, err := r.write(ctx, []byte(message), args...); err != nil {
		_, _ = r.exec(context.WithoutCancel(ctx), nil, "revert", "--abort")
		return "", err
	}
	return r.RevParse(ctx, "HEAD")
}

// DiffRevs returns the unified diff from commit from to commit to, limited to paths when any are given.
func (r *Repo) DiffRevs(ctx context.Context, from, to string, paths ...string) (string, error) {
	if err := checkPaths(paths); err != nil {
		return "", err
	}
	if err := checkRef("revision", from); err != nil {
		return "", err
	}
	if err := checkRef("revision", to); err != nil {
		return "", err
	}
	out, err := r.exec(ctx, nil, append([]string{"diff", "--no-color", "--no-ext-diff", "--end-of-options", from, to, "--"}, paths...)...)
	return string(out), err
}

// LogRev returns up to n commits (0: all) reachable from rev, newest first; with exclude set, commits
// reachable from exclude are left out (git log exclude..rev).
func (r *Repo) LogRev(ctx context.Context, rev, exclude string, n int) ([]Commit, error) {
	if err := checkRef("revision", rev); err != nil {
		return nil, err
	}
	spec := rev
	if exclude != "" {
		if err := checkRef("revision", exclude); err != nil {
			return nil, err
		}
		spec = exclude + ".." + rev
	}
	return r.logSpec(ctx, spec, n)
}

// logSpec runs git log over a revision range; the parsing matches Log's.
func (r *Repo) logSpec(ctx context.Context, spec string, n int) ([]Commit, error) {
	if _, err := r.exec(ctx, nil, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		return nil, nil // an empty repository has no log
	}
	args := []string{"log", "--no-color", "--no-renames", "--name-only", "--format=%x1e%H%x00%an%x00%ae%x00%aI%x00%s%x00"}
	if n > 0 {
		args = append(args, fmt.Sprintf("--max-count=%d", n))
	}
	out, err := r.exec(ctx, nil, append(args, "--end-of-options", spec, "--")...)
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
