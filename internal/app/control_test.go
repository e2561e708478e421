package app

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/workspace"
)

func TestWorkspaceMustNotHoldThePolicy(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	user := t.TempDir()
	cfg := config.Default(user)
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// A workspace that contains the home (and so its policy folder) is refused before it is opened.
	if _, err := workspace.Create(ctx, user, workspace.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Workspace(ctx, user); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("workspace around the home: %v", err)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	if _, err := workspace.Create(ctx, ws, workspace.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Workspace(ctx, ws); err != nil {
		t.Errorf("separate workspace: %v", err)
	}
	if a.AuditPath() != filepath.Join(cfg.Home, "audit.log") {
		t.Errorf("audit path %s", a.AuditPath())
	}
	// Without an audit log there is nothing to checkpoint.
	if _, _, err := a.CheckpointAudit(ctx); err == nil {
		t.Error("checkpoint without a log succeeded")
	}
	if cps, err := a.AuditCheckpoints(ctx); err != nil || len(cps) != 0 {
		t.Errorf("checkpoints of a home without a repository: %v, %v", cps, err)
	}
}
