//go:build linux && (amd64 || arm64)

package redteam

import (
	"os"
	"testing"

	"github.com/seance-dev/seance/internal/sandbox"
)

// TestMain lets the test binary serve as its own sandbox child (sandbox.Run re-executes it), then puts
// a secret into the test process's environment that no attack may read.
func TestMain(m *testing.M) {
	sandbox.MaybeChild()
	if err := os.Setenv(parentSecretEnv, "parent-env-secret-"+randomHex(12)); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
