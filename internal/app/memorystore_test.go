package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory/sqlite"
)

// TestOpenMemoryFollowsTheConfig checks that memory.store picks the store: SQLite in the home by
// default, PostgreSQL at the configured DSN otherwise (here an unreachable one, so the error must be
// classified and must not show the password).
func TestOpenMemoryFollowsTheConfig(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default(t.TempDir())
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s, err := a.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sqlite.Store); !ok || s.Path() != filepath.Join(cfg.Home, "memory.db") {
		t.Errorf("default store: %T at %s", s, s.Path())
	}
	s.Close()

	cfg.Memory = config.Memory{Store: config.MemoryPostgres, PostgresDSN: "postgres://u:pw-secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"}
	_, err = a.OpenMemory(ctx)
	if fault.CodeOf(err) != fault.Upstream || strings.Contains(err.Error(), "pw-secret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable PostgreSQL: %v", err)
	}
}
