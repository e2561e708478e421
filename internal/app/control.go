package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/workspace"
)

// AuditPath returns the audit log's path: <home>/audit.log (its head file sits beside it).
func (a *App) AuditPath() string { return filepath.Join(a.cfg.Home, "audit.log") }

// OpenAudit opens the audit log for appending; the caller closes it.
func (a *App) OpenAudit() (*audit.Log, error) { return audit.Open(a.AuditPath()) }

// Workspace opens the workspace at dir (its repository must exist). A workspace that contains the
// home's policy folder, or lies inside it, is refused: agents must never be able to write their policy.
func (a *App) Workspace(ctx context.Context, dir string) (*workspace.Workspace, error) {
	if err := policy.CheckOutside(a.cfg.Home, dir); err != nil {
		return nil, err
	}
	return workspace.Open(ctx, dir, workspace.Options{})
}

// auditHeadFile is the head file's path relative to the home.
const auditHeadFile = "audit.log.head"

// CheckpointAudit commits the audit log's head file to the home repository, so that a later Verify can
// compare the log against a copy kept outside it (in git's history). It returns the commit, or "" when
// the head has not changed since the last checkpoint.
func (a *App) CheckpointAudit(ctx context.Context) (audit.Head, string, error) {
	h, err := audit.ReadHead(audit.HeadPath(a.AuditPath()))
	if err != nil {
		return audit.Head{}, "", fmt.Errorf("audit checkpoint: %w", err)
	}
	repo, err := gitrepo.Open(a.cfg.Home, gitrepo.Options{})
	if err != nil {
		return h, "", fault.Wrap(err, fault.NotFound, "audit checkpoint: the seance home %s is not a git repository (run 'seance init')", a.cfg.Home)
	}
	unlock := repo.Lock()
	defer unlock()
	commit, err := repo.Commit(ctx, fmt.Sprintf("audit: checkpoint at entry %d", h.Seq), auditHeadFile)
	if errors.Is(err, gitrepo.ErrNothingToCommit) {
		return h, "", nil
	}
	return h, commit, err
}

// AuditCheckpoints returns every head committed by CheckpointAudit, oldest first; none when the home is
// not a repository.
func (a *App) AuditCheckpoints(ctx context.Context) ([]audit.Head, error) {
	repo, err := gitrepo.Open(a.cfg.Home, gitrepo.Options{})
	if err != nil {
		return nil, nil
	}
	log, err := repo.Log(ctx, 0, auditHeadFile)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	var out []audit.Head
	for i := len(log) - 1; i >= 0; i-- {
		b, err := repo.Show(ctx, log[i].Hash, auditHeadFile)
		if err != nil {
			continue // the commit deleted the file
		}
		h, err := audit.ParseHead(b)
		if err != nil {
			return nil, fmt.Errorf("audit checkpoint in commit %.12s: %w", log[i].Hash, err)
		}
		out = append(out, h)
	}
	return out, nil
}
