package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
)

// envDSN names the variable that holds the test database's connection string. Only tests read it;
// .ci/run starts a PostgreSQL on 127.0.0.1 and sets it.
const envDSN = "SEANCE_TEST_POSTGRES"

// testDSN returns the test database's DSN, skipping the test when none is configured — except under
// CI (CI=true), where PostgreSQL is always provided and its absence is a failure.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI: .ci/run must start PostgreSQL and export it", envDSN)
		}
		t.Skipf("PostgreSQL tests need %s (e.g. postgres://user:pass@127.0.0.1:5432/db?sslmode=disable)", envDSN)
	}
	return dsn
}

// openSchema opens a store in a fresh schema of its own, dropped when the test ends, so tests run in
// parallel on one database.
func openSchema(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := testDSN(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "memtest_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return s, schema
}

// TestStore runs the shared store-behaviour suite (internal/memory/memorytest), the same one the
// embedded store passes.
func TestStore(t *testing.T) {
	testDSN(t)
	memorytest.Run(t, func(t *testing.T) memory.Store {
		s, _ := openSchema(t)
		return s
	})
}

// TestReopen checks that opening an existing schema applies no migration again and keeps its
// contents, and that a schema newer than this seance is refused.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	s, schema := openSchema(t)
	src := memory.Source{Path: "/r/a.txt", Title: "a", Kind: "text", Hash: "h"}
	if err := s.Replace(ctx, src, []memory.Chunk{{Text: "kept across a reopen", StartLine: 1, EndLine: 1}}); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, testDSN(t), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, err := s2.Version(ctx); err != nil || v != len(migrations) {
		t.Fatalf("version %d, %v", v, err)
	}
	if hits, err := s2.LookupExact(ctx, "across a reopen", 5); err != nil || len(hits) != 1 {
		t.Fatalf("after reopening: %d hits, %v", len(hits), err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, now())`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, testDSN(t), Options{Schema: schema})
	if fault.CodeOf(err) != fault.Unprocessable {
		t.Fatalf("a newer schema: %v", err)
	}
}

// TestOpenErrors checks that a bad DSN or an unreachable server is a classified error that never
// shows the password.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", Options{})
	if err == nil || fault.CodeOf(err) != fault.Upstream {
		t.Fatalf("unreachable server: %v", err)
	}
	if containsSecret(err.Error()) {
		t.Errorf("the error shows the password: %q", err)
	}
	if _, err := Open(ctx, "postgres://u:hunter2@[bad", Options{}); err == nil || fault.CodeOf(err) != fault.Invalid || containsSecret(err.Error()) {
		t.Fatalf("bad DSN: %v", err)
	}
}

func containsSecret(s string) bool { return strings.Contains(s, "hunter2") }
