// Package sandbox is seance's one spawn path: every process an agent starts runs through Run, which
// re-executes the seance binary as a child that isolates itself with kernel mechanisms (namespaces,
// a private mount view, an unprivileged uid, rlimits, Landlock and seccomp) and only then executes the
// target. The parent owns the cgroup limits, the wall-clock limit and the clean-up.
//
// Programs that call Run must call MaybeChild first thing in main (and in TestMain for test binaries):
// the re-executed child enters the sandbox there and never returns.
//
// The package imports only the standard library, golang.org/x/sys/unix and internal/fault. Tools,
// policy and the workspace are built on top of it.
package sandbox

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"
)

// DefaultUID and DefaultGID are the unprivileged ids a sandboxed process runs as when the Spec does not
// name others (the traditional "nobody" and "nogroup").
const (
	DefaultUID = 65534
	DefaultGID = 65534
)

// DefaultMinLandlockABI is the lowest Landlock ABI Run accepts unless Spec.AllowWeakerLandlock is set.
// ABI 4 (Linux 6.7) is the first that can deny TCP bind and connect; ABI 3 adds truncate control.
const DefaultMinLandlockABI = 4

// Network says what network a sandboxed process may reach.
type Network int

// The network modes.
const (
	// NetworkNone gives the process an empty network namespace (a loopback device that is down);
	// Landlock (ABI ≥ 4) denies TCP bind and connect.
	NetworkNone Network = iota
	// NetworkProxy gives the process a network namespace whose loopback is up and holds one TCP
	// listener, 127.0.0.1:ProxyPort, whose connections Spec.Proxy serves in the calling process,
	// outside the sandbox. Landlock (ABI ≥ 4) allows TCP connect to ProxyPort only and no bind;
	// there is no other interface, so the proxy is the only way out. HTTP_PROXY, HTTPS_PROXY,
	// http_proxy and https_proxy name it in the process's environment (NO_PROXY and no_proxy are
	// empty).
	NetworkProxy
)

// ProxyPort is the port of the proxy listener inside a NetworkProxy sandbox.
const ProxyPort = 3128

// NetworkServer serves the connections a NetworkProxy sandbox makes to its proxy listener
// (*netproxy.Proxy implements it).
type NetworkServer interface {
	// Serve accepts connections on ln until ctx ends or ln fails; before it returns it closes ln and
	// every connection it accepted. Run cancels ctx when the sandboxed process tree is gone and waits
	// for Serve to return, so the server lives exactly as long as the run.
	Serve(ctx context.Context, ln net.Listener) error
}

// Limits bounds what a sandboxed process tree may consume. A zero field takes the value from
// DefaultLimits; there is deliberately no way to ask for "unlimited".
type Limits struct {
	Memory    int64         // bytes of memory (and swap) for the whole tree, by cgroup (without one: per process, RLIMIT_DATA)
	Pids      int           // processes and threads in the whole tree, by cgroup
	CPUTime   time.Duration // CPU time of the whole tree (cgroup accounting) and of each process (RLIMIT_CPU, whole seconds)
	FileSize  int64         // largest file a process may write, by RLIMIT_FSIZE
	Wall      time.Duration // wall-clock time from Run to exit; the whole tree is then killed
	OpenFiles int           // open file descriptors per process, by RLIMIT_NOFILE
	Output    int64         // bytes kept (or forwarded) per output stream; the rest is counted and dropped
}

// DefaultLimits returns the limits used for zero fields of Spec.Limits.
func DefaultLimits() Limits {
	return Limits{
		Memory:    512 << 20,
		Pids:      128,
		CPUTime:   30 * time.Second,
		FileSize:  64 << 20,
		Wall:      60 * time.Second,
		OpenFiles: 256,
		Output:    1 << 20,
	}
}

// Spec describes one sandboxed process.
type Spec struct {
	// Argv is the program and its arguments. A program name without a slash is looked up in the PATH
	// of Env inside the sandbox. There is never a shell unless Argv names one.
	Argv []string
	// Dir is the absolute host path of the workspace. It appears at the same path inside the sandbox,
	// writable, and is the working directory. Its .git, when present, is read-only.
	Dir string
	// ReadOnly lists extra absolute host paths made visible read-only at the same path. The system
	// (/usr, /bin, /sbin, /lib*, /etc) is always visible read-only; everything else is not.
	ReadOnly []string
	// Env is the complete environment of the process. The parent's environment is never passed on.
	// When nil, a minimal PATH and HOME=/tmp are used.
	Env []string
	// Stdin is the process's standard input; nil means /dev/null. Run does not wait for a reader
	// that is still blocked in Read when the process tree is gone.
	Stdin io.Reader
	// Stdout and Stderr receive the process's output, at most Limits.Output bytes each. When nil, the
	// output is kept in Result.Stdout and Result.Stderr instead.
	Stdout, Stderr io.Writer
	// Limits bounds resources; zero fields take DefaultLimits.
	Limits Limits
	// Network is what the process may reach; the zero value is no network.
	Network Network
	// Proxy serves the proxy listener of NetworkProxy (required then, and only then).
	Proxy NetworkServer
	// UID and GID are the ids the process runs as; zero means DefaultUID and DefaultGID (a sandboxed
	// process never runs as root). When seance itself is not root, a user namespace is used and the
	// process runs as its own uid 0 with every capability removed; UID and GID are then ignored.
	UID, GID int
	// MinLandlockABI is the lowest Landlock ABI accepted; zero means DefaultMinLandlockABI.
	MinLandlockABI int
	// AllowWeakerLandlock lets Run proceed on a kernel whose Landlock ABI is below MinLandlockABI (or
	// that has no Landlock at all), using what there is. Result.LandlockWeak records that it happened
	// so callers can log the choice.
	AllowWeakerLandlock bool
	// AllowNoCgroup lets Run proceed when no cgroup can be created (Result.Cgroup is then "none").
	// Limits then fall back to rlimits, which are weaker: Memory bounds each process's private
	// writable memory (RLIMIT_DATA) and the size of /tmp and /dev/shm, not the tree; Pids becomes
	// RLIMIT_NPROC; CPUTime bounds each process only; Result never reports a memory or pids hit
	// (docs/SANDBOX.md, "Without a cgroup"). Without it Run fails closed.
	AllowNoCgroup bool
}

// LimitKind names a limit.
type LimitKind string

// The limits Result can report.
const (
	LimitWall     LimitKind = "wall"
	LimitMemory   LimitKind = "memory"
	LimitCPU      LimitKind = "cpu"
	LimitPids     LimitKind = "pids"
	LimitFileSize LimitKind = "filesize"
	LimitOutput   LimitKind = "output"
)

// Result is what happened to a sandboxed process.
type Result struct {
	// ExitCode is the exit status, or -1 when the process was killed by a signal.
	ExitCode int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	// Duration is the wall time from the call to Run until the process tree was gone.
	Duration time.Duration
	// CPUTime is the CPU time of the whole process tree (from the cgroup; without one, of the process
	// and the children it waited for).
	CPUTime time.Duration
	// Killed is the limit that ended the process, if one did.
	Killed LimitKind
	// Hit lists every limit the process ran into, including ones that did not kill it (a refused
	// fork at the pids limit, truncated output).
	Hit []LimitKind
	// Stdout and Stderr hold the output when Spec.Stdout or Spec.Stderr is nil, at most Limits.Output
	// bytes each.
	Stdout, Stderr []byte
	// StdoutBytes and StderrBytes count everything the process wrote, kept or not.
	StdoutBytes, StderrBytes int64
	// LandlockABI is the Landlock ABI that was applied (0 for none).
	LandlockABI int
	// LandlockWeak is true when LandlockABI is below the minimum and the caller allowed it.
	LandlockWeak bool
	// Cgroup is the cgroup version that enforced memory and pids: "v1", "v2" or "none".
	Cgroup string
}

// hit records a limit in r.Hit once.
func (r *Result) hit(k LimitKind) {
	for _, h := range r.Hit {
		if h == k {
			return
		}
	}
	r.Hit = append(r.Hit, k)
}
