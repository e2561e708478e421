//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// childArg is the argv[1] sentinel that marks a re-executed sandbox child. An argument rather than an
// environment variable, because the child's environment is empty on purpose and only internal/config
// reads the environment. A child also requires being pid 1 of a new pid namespace and a spec on fd 3,
// so typing the sentinel by hand does nothing harmful.
const childArg = "__seance_sandbox_child_v1__"

// The descriptors the parent passes to the child (exec.Cmd.ExtraFiles start at 3).
const (
	specFD   = 3 // read end: the JSON childSpec, closed by the parent after writing
	statusFD = 4 // write end: a setup failure, as JSON; closes on a successful exec (close-on-exec)
	netFD    = 5 // NetworkProxy only: a Unix socket on which the child sends the parent its listener
)

// maxSpec bounds the encoded spec (argv, environment and paths).
const maxSpec = 1 << 20

// childSpec is the wire form of a Spec sent to the child over the spec pipe.
type childSpec struct {
	Argv      []string `json:"argv"`
	Env       []string `json:"env"`
	Dir       string   `json:"dir"`
	ReadOnly  []string `json:"read_only,omitempty"`
	UID       int      `json:"uid"` // -1: keep (user-namespace mode)
	GID       int      `json:"gid"`
	Landlock  int      `json:"landlock"` // ABI to apply; 0 for none
	CPUSecs   uint64   `json:"cpu_secs"`
	FileSize  uint64   `json:"file_size"`
	OpenFiles uint64   `json:"open_files"`
	NProc     uint64   `json:"nproc,omitempty"`      // RLIMIT_NPROC fallback when there is no pids cgroup
	Data      uint64   `json:"data,omitempty"`       // RLIMIT_DATA fallback when there is no memory cgroup
	TmpSize   uint64   `json:"tmp_size,omitempty"`   // size of the /tmp and /dev/shm tmpfs when there is no memory cgroup
	Cgroups   []string `json:"cgroups,omitempty"`    // directories whose cgroup.procs the child joins first
	ProxyPort int      `json:"proxy_port,omitempty"` // NetworkProxy: listen on 127.0.0.1:ProxyPort, send it on netFD
}

// childError is the wire form of a setup failure reported on the status pipe.
type childError struct {
	Stage string `json:"stage"`
	Errno int    `json:"errno,omitempty"`
	Msg   string `json:"msg"`
}

// stageError is a setup failure with the stage it happened in.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func stage(name string, err error) error {
	if err == nil {
		return nil
	}
	return &stageError{stage: name, err: err}
}

// MaybeChild turns the process into a sandbox child when it was started as one by Run, and returns
// at once otherwise. Call it first thing in main (and in TestMain of test binaries that call Run),
// before flags are parsed or goroutines started. In a child it never returns: it either executes the
// target or exits with status 125 after reporting why on the status pipe.
func MaybeChild() {
	if len(os.Args) < 2 || os.Args[1] != childArg {
		return
	}
	// Credentials, no_new_privs, Landlock and seccomp below are per thread; the target inherits the
	// state of the thread that calls execve, so everything happens on this one locked thread.
	runtime.LockOSThread()
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "seance: the sandbox child mode is internal; it is started by the sandbox only")
		os.Exit(125)
	}
	err := runChild()
	report(err)
	os.Exit(125)
}

// report writes err to the status pipe for the parent.
func report(err error) {
	ce := childError{Stage: "child", Msg: err.Error()}
	var se *stageError
	if errors.As(err, &se) {
		ce.Stage = se.stage
		ce.Msg = se.err.Error()
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		ce.Errno = int(errno)
	}
	b, _ := json.Marshal(ce)
	f := os.NewFile(statusFD, "status")
	_, _ = f.Write(b)
}

// runChild isolates the process and executes the target; it returns only on failure.
func runChild() error {
	var cs childSpec
	f := os.NewFile(specFD, "spec")
	// The parent wrote the spec before starting this process (or writes it while we read).
	b, err := io.ReadAll(io.LimitReader(f, maxSpec))
	f.Close()
	if err != nil {
		return stage("read spec", err)
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		return stage("read spec", err)
	}
	if len(cs.Argv) == 0 {
		return stage("read spec", errors.New("empty argv"))
	}
	// Join the cgroups before anything else; the parent created them and set their limits.
	for _, d := range cs.Cgroups {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte("0"), 0); err != nil {
			return stage("cgroup", err)
		}
	}
	if cs.ProxyPort > 0 {
		if err := proxyListener(cs.ProxyPort); err != nil {
			return stage("network", err)
		}
	}
	if err := buildRoot(&cs); err != nil {
		return err
	}
	if err := unix.Chdir(cs.Dir); err != nil {
		return stage("chdir", err)
	}
	path, err := lookPath(cs.Argv[0], cs.Env)
	if err != nil {
		return stage("exec", err)
	}
	var ll *landlockRuleset
	if cs.Landlock > 0 {
		if ll, err = newLandlockRuleset(cs.Landlock, cs.Dir, cs.ProxyPort); err != nil {
			return stage("landlock", err)
		}
	}
	if err := setRlimits(&cs); err != nil {
		return stage("rlimit", err)
	}
	filter, err := buildSeccomp()
	if err != nil {
		return stage("seccomp", err)
	}
	if err := dropPrivileges(cs.UID, cs.GID); err != nil {
		return stage("credentials", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return stage("no_new_privs", err)
	}
	// A credential change clears the parent-death signal; set it again so the tree dies with seance.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return stage("pdeathsig", err)
	}
	if ll != nil {
		if err := ll.restrictSelf(); err != nil {
			return stage("landlock", err)
		}
	}
	// Only stdio reaches the target: every other descriptor, the status pipe included, closes at exec.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return stage("close fds", err)
	}
	// The memory fallback comes last: from here on a new private writable mapping beyond the limit
	// fails, and the Go runtime of this child must not need one before execve.
	if cs.Data > 0 {
		if err := syscall.Setrlimit(unix.RLIMIT_DATA, &syscall.Rlimit{Cur: cs.Data, Max: cs.Data}); err != nil {
			return stage("rlimit", fmt.Errorf("RLIMIT_DATA: %w", err))
		}
	}
	if err := installSeccomp(filter); err != nil {
		return stage("seccomp", err)
	}
	return stage("exec", syscall.Exec(path, cs.Argv, cs.Env))
}

// proxyListener brings the loopback device of the child's network namespace up, listens on
// 127.0.0.1:port there and sends the listening socket to the parent over netFD (SCM_RIGHTS), which
// serves it outside the sandbox. The child keeps no copy: the target can connect to the listener
// but never accept on it. It runs while the child still has CAP_NET_ADMIN in its namespaces (as root,
// or as root of its own user namespace, which owns the network namespace).
func proxyListener(port int) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for ioctl: %w", err)
	}
	ifr, err := unix.NewIfreq("lo")
	if err == nil {
		err = unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr)
	}
	if err == nil {
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		err = unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
	}
	unix.Close(s)
	if err != nil {
		return fmt.Errorf("bring loopback up: %w", err)
	}
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("bind 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Listen(ln, 128); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := unix.Sendmsg(netFD, []byte{0}, unix.UnixRights(ln), nil, 0); err != nil {
		return fmt.Errorf("send the listener to the parent: %w", err)
	}
	return unix.Close(netFD)
}

// lookPath resolves a program name with the PATH of env, inside the sandbox.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathList := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
		}
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH: %w", name, unix.ENOENT)
}

// setRlimits applies the per-process limits. The soft and hard values are equal, so RLIMIT_CPU ends
// in SIGKILL rather than a catchable SIGXCPU.
func setRlimits(cs *childSpec) error {
	set := func(res int, v uint64) error {
		// syscall.Setrlimit (not unix.) so the runtime forgets the RLIMIT_NOFILE it would restore at exec.
		return syscall.Setrlimit(res, &syscall.Rlimit{Cur: v, Max: v})
	}
	lims := []struct {
		res int
		v   uint64
	}{
		{unix.RLIMIT_CPU, cs.CPUSecs},
		{unix.RLIMIT_FSIZE, cs.FileSize},
		{unix.RLIMIT_NOFILE, cs.OpenFiles},
		{unix.RLIMIT_CORE, 0},
	}
	if cs.NProc > 0 {
		lims = append(lims, struct {
			res int
			v   uint64
		}{unix.RLIMIT_NPROC, cs.NProc})
	}
	for _, l := range lims {
		if err := set(l.res, l.v); err != nil {
			return fmt.Errorf("resource %d: %w", l.res, err)
		}
	}
	return nil
}

// dropPrivileges empties the capability bounding and ambient sets, locks the securebits so that uid 0
// means nothing special, and switches this thread to uid and gid (uid < 0 keeps the current ids, for
// user-namespace mode). The raw syscalls change only this thread, which is the one that calls execve.
func dropPrivileges(uid, gid int) error {
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if err == unix.EINVAL {
				break // past the last capability this kernel knows
			}
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	const (
		secbitNoRoot            = 1 << 0
		secbitNoRootLocked      = 1 << 1
		secbitKeepCapsLocked    = 1 << 5
		secbitNoAmbientRaise    = 1 << 6
		secbitNoAmbientRaiseLck = 1 << 7
	)
	bits := secbitNoRoot | secbitNoRootLocked | secbitKeepCapsLocked | secbitNoAmbientRaise | secbitNoAmbientRaiseLck
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return fmt.Errorf("set securebits: %w", err)
	}
	if uid >= 0 {
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			return fmt.Errorf("setgroups: %w", e)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
			return fmt.Errorf("setresgid %d: %w", gid, e)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			return fmt.Errorf("setresuid %d: %w", uid, e)
		}
	}
	// Changing to a non-zero uid cleared the permitted and effective sets; clear inheritable too (and
	// everything, in user-namespace mode where the uid stays 0).
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
