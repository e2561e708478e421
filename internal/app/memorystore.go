package app

import (
	"context"
	"os"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/postgres"
	"github.com/seance-dev/seance/internal/memory/sqlite"
)

// MemoryStore is what the memory commands use of a store: the contract, the capabilities every
// configured store has (exact lookup, BM25, listing, stats, batches, remembered facts), and a name for messages.
// Further capabilities (vectors) are found by type assertion, as memory.Search does.
type MemoryStore interface {
	memory.Store
	memory.ExactSearcher
	memory.TextSearcher
	memory.Lister
	memory.Statter
	memory.Batcher
	memory.FactStore
	// Path names the store: the SQLite file, or the PostgreSQL address without its password.
	Path() string
}

// Interface guards: both stores can be the configured one.
var (
	_ MemoryStore = (*sqlite.Store)(nil)
	_ MemoryStore = (*postgres.Store)(nil)
)

// openMemoryStore opens the store cfg.Memory names: the embedded SQLite file in the seance home, or
// PostgreSQL at cfg.Memory.PostgresDSN.
func (a *App) openMemoryStore(ctx context.Context) (MemoryStore, error) {
	if a.cfg.Memory.Store == config.MemoryPostgres {
		return postgres.Open(ctx, a.cfg.Memory.PostgresDSN.Reveal(), postgres.Options{})
	}
	if err := os.MkdirAll(a.cfg.Home, 0o755); err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "memory: cannot create the seance home %s", a.cfg.Home)
	}
	return sqlite.Open(ctx, a.MemoryPath())
}
