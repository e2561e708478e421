//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as its own sandbox child: Run re-executes it.
func TestMain(m *testing.M) {
	MaybeChild()
	os.Exit(m.Run())
}
