package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

func TestMemoryConfig(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	load := func(yaml string) (*Config, error) {
		p := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(MapEnv(map[string]string{"HOME": home}), Flags{ConfigFile: p})
	}
	c, err := load("")
	if err != nil || c.Memory.Store != MemorySQLite {
		t.Fatalf("default store: %+v %v", c.Memory, err)
	}
	const dsn = "postgres://seance:pg-secret@127.0.0.1:5432/seance"
	c, err = load("memory:\n  store: postgres\n  postgres_dsn: " + dsn + "\n")
	if err != nil || c.Memory.Store != MemoryPostgres || c.Memory.PostgresDSN.Reveal() != dsn {
		t.Fatalf("postgres: %+v %v", c.Memory, err)
	}
	out, err := c.Redacted()
	if err != nil || strings.Contains(string(out), "pg-secret") || !strings.Contains(string(out), "postgres_dsn: '[redacted]'") {
		t.Errorf("the DSN is not redacted:\n%s (%v)", out, err)
	}
	for yaml, want := range map[string]string{
		"memory:\n  store: postgres\n": "memory.postgres_dsn: required",
		"memory:\n  store: mysql\n":    `memory.store "mysql"`,
	} {
		_, err := load(yaml)
		if err == nil || !strings.Contains(err.Error(), want) || fault.CodeOf(err) != fault.Invalid {
			t.Errorf("%q: err = %v, want it to mention %q", yaml, err, want)
		}
	}
}
