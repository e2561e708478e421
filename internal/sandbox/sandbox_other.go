//go:build !linux || !(amd64 || arm64)

package sandbox

import (
	"context"

	"github.com/seance-dev/seance/internal/fault"
)

// MaybeChild does nothing where the sandbox is not implemented.
func MaybeChild() {}

// Run fails: the sandbox needs Linux on amd64 or arm64.
func Run(ctx context.Context, spec Spec) (Result, error) {
	return Result{}, fault.New(fault.Unsupported, "sandbox: not implemented on this system (needs Linux on amd64 or arm64)")
}
