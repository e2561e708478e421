package config

import "fmt"

// Memory configures the memory store (`seance memory`, recall).
type Memory struct {
	// Store is "sqlite" (the default: one file, memory.db, in the seance home) or "postgres".
	Store string `yaml:"store"`
	// PostgresDSN is the PostgreSQL connection string (postgres://user:pass@host:5432/db, or libpq's
	// key=value form) used when Store is postgres. A search_path parameter picks the schema.
	PostgresDSN Secret `yaml:"postgres_dsn"`
}

// The memory stores.
const (
	MemorySQLite   = "sqlite"
	MemoryPostgres = "postgres"
)

func (m *Memory) fillDefaults() {
	if m.Store == "" {
		m.Store = MemorySQLite
	}
}

// validate appends the memory section's problems to errs.
func (m *Memory) validate(errs []string) []string {
	switch m.Store {
	case MemorySQLite:
	case MemoryPostgres:
		if m.PostgresDSN == "" {
			errs = append(errs, "memory.postgres_dsn: required when memory.store is postgres")
		}
	default:
		errs = append(errs, fmt.Sprintf("memory.store %q: must be sqlite or postgres", m.Store))
	}
	return errs
}
