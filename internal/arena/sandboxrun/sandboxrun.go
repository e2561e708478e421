// Package sandboxrun runs the arena's code tests in the sandbox: it implements verify.CodeRunner
// over internal/sandbox.Run, one fresh temporary workspace per program, with the program's wall-time
// and memory limits, no network and no access to anything but the system and that workspace.
//
// It is imported by internal/app (which hands the runner to arena runs); it imports arena/verify,
// sandbox and fault. Programs that use it must call sandbox.MaybeChild first thing in main (and in
// TestMain for test binaries).
package sandboxrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/arena/verify"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/sandbox"
)

// DefaultPython is the interpreter code tests run with.
const DefaultPython = "/usr/bin/python3"

// Runner runs programs in the sandbox. The zero value is not usable; build it with New.
type Runner struct {
	opts Options
}

// Options configure a Runner. Zero fields take defaults.
type Options struct {
	// Python is the interpreter's absolute path (DefaultPython).
	Python string
	// TempDir is where the per-program workspaces are made (os.TempDir()).
	TempDir string
	// Wall and Memory are used when a Program carries no limits (10 s and 512 MiB).
	Wall   time.Duration
	Memory int64
	// CPUTime bounds the program's CPU time (the wall limit when 0).
	CPUTime time.Duration
	// AllowWeakerLandlock and AllowNoCgroup are passed on to the sandbox (see sandbox.Spec): without
	// them a kernel without Landlock ABI 4 or a host without cgroups refuses to run code at all.
	AllowWeakerLandlock bool
	AllowNoCgroup       bool
}

var _ verify.CodeRunner = (*Runner)(nil)

// New returns a Runner with opts.
func New(opts Options) *Runner {
	if opts.Python == "" {
		opts.Python = DefaultPython
	}
	if opts.Wall <= 0 {
		opts.Wall = 10 * time.Second
	}
	if opts.Memory <= 0 {
		opts.Memory = 512 << 20
	}
	return &Runner{opts: opts}
}

// outputTail is how much of a program's output is kept for the verdict's reason.
const outputTail = 2048

// Run executes p (Python only) in a fresh sandboxed workspace under p's limits. A program that
// fails or hits a limit is an Execution; an error means the sandbox could not run it.
func (r *Runner) Run(ctx context.Context, p verify.Program) (verify.Execution, error) {
	if p.Language != "" && p.Language != "python" {
		return verify.Execution{}, fault.New(fault.Unsupported, "sandbox code runner: language %q is not supported (only python)", p.Language)
	}
	wall, mem := p.Wall, p.Memory
	if wall <= 0 {
		wall = r.opts.Wall
	}
	if mem <= 0 {
		mem = r.opts.Memory
	}
	cpu := r.opts.CPUTime
	if cpu <= 0 {
		cpu = wall
	}
	dir, err := os.MkdirTemp(r.opts.TempDir, "seance-arena-")
	if err != nil {
		return verify.Execution{}, fmt.Errorf("sandbox code runner: workspace: %w", err)
	}
	defer os.RemoveAll(dir)
	dir, err = filepath.Abs(dir)
	if err != nil {
		return verify.Execution{}, fmt.Errorf("sandbox code runner: workspace: %w", err)
	}
	// The sandboxed process runs as an unprivileged uid (when seance is root): give it its workspace.
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, sandbox.DefaultUID, sandbox.DefaultGID); err != nil {
			return verify.Execution{}, fmt.Errorf("sandbox code runner: workspace: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return verify.Execution{}, fmt.Errorf("sandbox code runner: workspace: %w", err)
	}
	main := filepath.Join(dir, "main.py")
	if err := os.WriteFile(main, []byte(p.Source), 0o644); err != nil {
		return verify.Execution{}, fmt.Errorf("sandbox code runner: write program: %w", err)
	}
	res, err := sandbox.Run(ctx, sandbox.Spec{
		Argv: []string{r.opts.Python, "-I", "-B", main},
		Dir:  dir,
		Env:  []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1"},
		Limits: sandbox.Limits{
			Wall: wall, Memory: mem, CPUTime: cpu, Pids: 32, Output: 64 << 10,
		},
		AllowWeakerLandlock: r.opts.AllowWeakerLandlock,
		AllowNoCgroup:       r.opts.AllowNoCgroup,
	})
	if err != nil {
		return verify.Execution{}, fmt.Errorf("sandbox code runner: %w", err)
	}
	out := string(res.Stdout) + string(res.Stderr)
	if len(out) > outputTail {
		out = out[len(out)-outputTail:]
	}
	return verify.Execution{ExitCode: res.ExitCode, Killed: string(res.Killed), Output: strings.TrimSpace(out)}, nil
}
