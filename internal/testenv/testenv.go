// Package testenv locates the shared test data that sits beside the repository (../shared: the real
// models, the Korean seed corpus, the evaluation sets). Only tests import it.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Shared returns the path of ../shared joined with elem. When it is missing the test is skipped —
// except under CI (CI=true), where the data is always provided and its absence is a failure.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("testenv: go.mod not found above the test's directory")
		}
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(append([]string{dir, "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: %s is missing under CI: %v", p, err)
		}
		t.Skipf("shared test data not present: %v", err)
	}
	return p
}
