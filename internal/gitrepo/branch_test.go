package gitrepo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBranchesMergeRevert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepoT(t)
	bob := Signature{"bob", "bob@example.org"}
	if _, err := r.CommitAll(ctx, bob, "empty start", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CommitAll(ctx, bob, "nothing", false); !errors.Is(err, ErrNothingToCommit) {
		t.Errorf("commit without changes: %v", err)
	}
	if cur, err := r.CurrentBranch(ctx); err != nil || cur != "main" {
		t.Errorf("current %q, %v", cur, err)
	}
	if err := r.CreateBranch(ctx, "feature/x", "main"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"-D", "a..b", "x y", "a~1", ""} {
		if err := r.CreateBranch(ctx, bad, "main"); err == nil {
			t.Errorf("branch %q accepted", bad)
		}
	}
	if ok, err := r.BranchExists(ctx, "feature/x"); !ok || err != nil {
		t.Errorf("exists: %v, %v", ok, err)
	}
	if ok, err := r.BranchExists(ctx, "nope"); ok || err != nil {
		t.Errorf("missing branch exists: %v, %v", ok, err)
	}
	if err := r.Switch(ctx, "feature/x"); err != nil {
		t.Fatal(err)
	}
	write(t, r.Dir(), "f.txt", "feature\n")
	h, err := r.CommitAll(ctx, bob, "add f", false)
	if err != nil {
		t.Fatal(err)
	}
	log, err := r.LogRev(ctx, "feature/x", "main", 0)
	if err != nil || len(log) != 1 || log[0].Hash != h || log[0].Author != bob {
		t.Errorf("log main..feature/x: %+v, %v", log, err)
	}
	os.Remove(filepath.Join(r.Dir(), "f.txt"))
	del, err := r.CommitAll(ctx, bob, "remove f", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revert(ctx, bob, del, ""); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir(), "f.txt")); err != nil || string(b) != "feature\n" {
		t.Errorf("after revert %q, %v", b, err)
	}
	d, err := r.DiffRevs(ctx, "main", "feature/x")
	if err != nil || !strings.Contains(d, "+feature") {
		t.Errorf("diff %q, %v", d, err)
	}
	if err := r.Switch(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteBranch(ctx, "main"); err == nil {
		t.Error("deleted the checked-out branch")
	}
	head, err := r.Merge(ctx, "feature/x", "merge x")
	if err != nil {
		t.Fatal(err)
	}
	if fx, _ := r.RevParse(ctx, "feature/x"); fx != head {
		t.Errorf("not a fast-forward: %s vs %s", head, fx)
	}
	if err := r.DeleteBranch(ctx, "feature/x"); err != nil {
		t.Fatal(err)
	}
}

func TestMergeConflictAborts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepoT(t)
	bob := Signature{"bob", "bob@example.org"}
	write(t, r.Dir(), "f.txt", "base\n")
	if _, err := r.CommitAll(ctx, bob, "base", false); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateBranch(ctx, "other", "main"); err != nil {
		t.Fatal(err)
	}
	write(t, r.Dir(), "f.txt", "main\n")
	if _, err := r.CommitAll(ctx, bob, "main side", false); err != nil {
		t.Fatal(err)
	}
	if err := r.Switch(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	write(t, r.Dir(), "f.txt", "other\n")
	if _, err := r.CommitAll(ctx, bob, "other side", false); err != nil {
		t.Fatal(err)
	}
	if err := r.Switch(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Merge(ctx, "other", "merge"); err == nil {
		t.Fatal("conflicting merge succeeded")
	}
	st, err := r.Status(ctx)
	if err != nil || len(st) != 0 {
		t.Errorf("tree not clean after an aborted merge: %v, %v", st, err)
	}
}
