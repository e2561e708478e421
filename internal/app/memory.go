package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/sqlite"
)

// MemoryPath returns the path of the embedded memory store, cfg.Home/memory.db.
func (a *App) MemoryPath() string { return filepath.Join(a.cfg.Home, "memory.db") }

// OpenMemory opens (creating if needed) the embedded memory store. The caller closes it.
func (a *App) OpenMemory(ctx context.Context) (*sqlite.Store, error) {
	if err := os.MkdirAll(a.cfg.Home, 0o755); err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "memory: cannot create the seance home %s", a.cfg.Home)
	}
	return sqlite.Open(ctx, a.MemoryPath())
}

// MemoryIngestOptions returns the ingest options the configuration implies: git provenance when a
// git program is installed.
func (a *App) MemoryIngestOptions() memory.Options {
	git, _ := exec.LookPath("git")
	return memory.Options{Git: git}
}
