//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/fault"
	"golang.org/x/sys/unix"
)

// host holds facts about the machine, detected once.
var host = sync.OnceValue(func() hostInfo {
	return hostInfo{landlock: landlockABI(), cgroups: detectCgroups(), root: os.Geteuid() == 0}
})

type hostInfo struct {
	landlock int
	cgroups  cgroupHost
	root     bool
}

// Run starts spec.Argv in a new sandbox, waits for it and returns what happened. It returns an error
// (classified with internal/fault) when the sandbox cannot be set up as asked: an invalid Spec
// (Invalid), a kernel that lacks a required feature (Unsupported), a program that is not found
// (NotFound). A program that fails, or that a limit kills, is not an error: see Result. When ctx ends
// first, the whole process tree is killed and Run returns the Result with ctx's error.
//
// Run is safe for concurrent use.
func Run(ctx context.Context, spec Spec) (Result, error) {
	start := time.Now()
	var res Result
	if err := ctx.Err(); err != nil {
		return res, fault.Wrap(err, fault.CodeOf(err), "sandbox: not started")
	}
	lim, cs, err := prepare(&spec)
	if err != nil {
		return res, err
	}
	h := host()

	// Landlock: fail closed below the minimum unless the caller chose otherwise.
	minABI := spec.MinLandlockABI
	if minABI == 0 {
		minABI = DefaultMinLandlockABI
	}
	cs.Landlock = h.landlock
	res.LandlockABI = h.landlock
	if h.landlock < minABI {
		if !spec.AllowWeakerLandlock {
			return res, fault.New(fault.Unsupported, "sandbox: the kernel's Landlock ABI is %d, below the required %d", h.landlock, minABI)
		}
		res.LandlockWeak = true
	}

	// Cgroups: memory and pids for the whole tree.
	var cg *cgroup
	if h.root {
		cg, err = h.cgroups.newCgroup(lim.Memory, lim.Pids)
	} else {
		err = errors.New("cgroups need root")
	}
	res.Cgroup = "none"
	if err != nil {
		if !spec.AllowNoCgroup {
			return res, fault.Wrap(err, fault.Unsupported, "sandbox: cannot create a cgroup for the memory and pids limits")
		}
		// The fallbacks (docs/SANDBOX.md, "Without a cgroup"): RLIMIT_NPROC, counted per uid of the
		// sandbox's user namespace in user-namespace mode (per host uid as root); RLIMIT_DATA per
		// process; and a size for the tmpfs mounts, whose pages no cgroup charges.
		cs.NProc = uint64(lim.Pids)
		cs.Data = uint64(lim.Memory)
		cs.TmpSize = uint64(lim.Memory)
	} else {
		res.Cgroup = cg.version
		defer cg.destroy()
	}

	specR, specW, err := os.Pipe()
	if err != nil {
		return res, fault.Wrap(err, fault.Internal, "sandbox: pipe")
	}
	defer specW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		return res, fault.Wrap(err, fault.Internal, "sandbox: pipe")
	}
	defer statusR.Close()
	// NetworkProxy: a socket pair on which the child sends the listener it made in its namespace.
	var netParent *net.UnixConn
	var netChild *os.File
	if spec.Network == NetworkProxy {
		netParent, netChild, err = socketPair()
		if err != nil {
			specR.Close()
			statusW.Close()
			return res, fault.Wrap(err, fault.Internal, "sandbox: socket pair")
		}
		defer netParent.Close()
	}
	closeChildEnds := func() {
		specR.Close()
		statusW.Close()
		if netChild != nil {
			netChild.Close()
		}
	}

	stdout := newCapture(spec.Stdout, lim.Output)
	stderr := newCapture(spec.Stderr, lim.Output)
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"seance-sandbox", childArg},
		Env:        []string{}, // never the parent's environment, not even for the child's runtime
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: []*os.File{specR, statusW},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
			Setsid:     true, // no controlling terminal shared with seance
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	// Standard input is fed by a goroutine of Run's own rather than by exec.Cmd, whose Wait would
	// also wait for a Stdin reader that never returns.
	var stdinW *os.File
	switch in := spec.Stdin.(type) {
	case nil:
	case *os.File:
		cmd.Stdin = in
	default:
		var r *os.File
		if r, stdinW, err = os.Pipe(); err != nil {
			closeChildEnds()
			return res, fault.Wrap(err, fault.Internal, "sandbox: pipe")
		}
		cmd.Stdin = r
		defer r.Close()
	}
	if !h.root {
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		cs.UID, cs.GID = -1, -1
	}
	if cg != nil {
		cs.Cgroups = cg.dirs
	}
	if netChild != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, netChild) // netFD
	}
	b, err := json.Marshal(cs)
	if err != nil {
		closeChildEnds()
		return res, fault.Wrap(err, fault.Internal, "sandbox: encode spec")
	}
	if len(b) > maxSpec {
		closeChildEnds()
		return res, fault.New(fault.TooLarge, "sandbox: argv, environment and paths exceed %d bytes", maxSpec)
	}
	// A spec that fits the pipe's buffer is written before the child starts, so the child never
	// waits for it; a larger one is written while the child reads.
	const pipeBuf = 16 << 10
	sent := make(chan error, 1)
	if len(b) <= pipeBuf {
		_, err := specW.Write(b)
		specW.Close()
		sent <- err
	}
	err = cmd.Start()
	closeChildEnds()
	if err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return res, fault.Wrap(err, fault.Internal, "sandbox: start child")
	}
	if stdinW != nil {
		// The copy ends when the process stops reading (EPIPE once the tree is gone) or the reader
		// ends. A reader blocked in Read is left to return on its own: Run cannot interrupt it.
		go func() {
			_, _ = io.Copy(stdinW, spec.Stdin)
			stdinW.Close()
		}()
	}
	// The proxy: it serves the listener the child sends, from here until the tree is gone.
	proxyCtx, stopProxy := context.WithCancel(context.Background())
	defer stopProxy()
	proxyDone := make(chan struct{})
	if netParent != nil {
		go func() {
			defer close(proxyDone)
			ln, err := receiveListener(netParent)
			if err != nil {
				return // the child failed before sending it, and reports why on the status pipe
			}
			_ = spec.Proxy.Serve(proxyCtx, ln)
		}()
	} else {
		close(proxyDone)
	}
	if len(b) > pipeBuf {
		go func() {
			_, err := specW.Write(b)
			specW.Close()
			sent <- err
		}()
	}

	// From here on the process tree exists: every path ends in Wait. Killing the child (the init of
	// its pid namespace, before or after it executes the target) kills the whole tree. The child joins
	// its cgroups itself, before it does anything else.
	var killedBy atomic.Value
	kill := func(why LimitKind) {
		if killedBy.CompareAndSwap(nil, why) {
			_ = cmd.Process.Kill()
		}
	}
	wall := time.AfterFunc(lim.Wall-time.Since(start), func() { kill(LimitWall) })
	stopCtx := context.AfterFunc(ctx, func() { kill("ctx") })

	// The CPU time of the whole tree, where the cgroup accounts it: RLIMIT_CPU only bounds each
	// process on its own.
	watchDone := make(chan struct{})
	watchStopped := make(chan struct{})
	go func() {
		defer close(watchStopped)
		if cg == nil {
			return
		}
		if _, ok := cg.cpuUsage(); !ok {
			return
		}
		tick := time.NewTicker(min(max(lim.CPUTime/20, 10*time.Millisecond), 250*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-watchDone:
				return
			case <-tick.C:
				if used, _ := cg.cpuUsage(); used >= lim.CPUTime {
					kill(LimitCPU)
					return
				}
			}
		}
	}()

	waitErr := cmd.Wait()
	stopProxy()
	if netParent != nil {
		_ = netParent.SetReadDeadline(time.Now()) // a child that died before sending the listener
	}
	<-proxyDone
	if stdinW != nil {
		stdinW.Close() // unblocks a copy waiting on a full pipe; the tree is gone
	}
	sendErr := <-sent // the write has failed or finished: nobody reads the pipe any more
	// The status pipe closed when the child executed the target; anything on it is a setup failure.
	var setupErr error
	if msg, err := io.ReadAll(io.LimitReader(statusR, 64<<10)); err != nil {
		setupErr = fault.Wrap(err, fault.Internal, "sandbox: read child status")
	} else if len(msg) > 0 {
		setupErr = childFailure(msg)
	} else if sendErr != nil && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 125 {
		setupErr = fault.Wrap(sendErr, fault.Internal, "sandbox: send spec")
	}
	wall.Stop()
	stopCtx()
	close(watchDone)
	<-watchStopped
	res.Duration = time.Since(start)

	res.Stdout, res.StdoutBytes = stdout.kept(), stdout.n
	res.Stderr, res.StderrBytes = stderr.kept(), stderr.n
	if stdout.truncated || stderr.truncated {
		res.hit(LimitOutput)
	}
	if setupErr != nil {
		return res, setupErr
	}
	ps := cmd.ProcessState
	if ps == nil {
		return res, fault.Wrap(waitErr, fault.Internal, "sandbox: wait")
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	res.ExitCode = ws.ExitStatus()
	if ws.Signaled() {
		res.Signal = ws.Signal()
	}
	res.CPUTime = ps.UserTime() + ps.SystemTime()
	if cg != nil {
		if used, ok := cg.cpuUsage(); ok {
			res.CPUTime = used
		}
		if cg.oomKills() > 0 {
			res.hit(LimitMemory)
		}
		if cg.pidsRefused() > 0 {
			res.hit(LimitPids)
		}
	}
	why, _ := killedBy.Load().(LimitKind)
	switch {
	case why == LimitWall || why == LimitCPU:
		res.Killed = why
	case why == "ctx":
		return res, fault.Wrap(ctx.Err(), fault.CodeOf(ctx.Err()), "sandbox: run ended by its context")
	case res.Signal == syscall.SIGKILL && cg != nil && cg.oomKills() > 0:
		res.Killed = LimitMemory
	case (res.Signal == syscall.SIGKILL || res.Signal == syscall.SIGXCPU) && res.CPUTime >= time.Duration(cs.CPUSecs)*time.Second*3/4:
		// RLIMIT_CPU counts scheduler run time; rusage is sampled and reads a little low.
		res.Killed = LimitCPU
	case res.Signal == syscall.SIGXFSZ:
		res.Killed = LimitFileSize
	}
	if res.Killed != "" {
		res.hit(res.Killed)
	}
	return res, nil
}

// prepare validates spec, fills defaults and returns the wire spec for the child.
func prepare(spec *Spec) (Limits, *childSpec, error) {
	lim := spec.Limits
	def := DefaultLimits()
	if lim.Memory == 0 {
		lim.Memory = def.Memory
	}
	if lim.Pids == 0 {
		lim.Pids = def.Pids
	}
	if lim.CPUTime == 0 {
		lim.CPUTime = def.CPUTime
	}
	if lim.FileSize == 0 {
		lim.FileSize = def.FileSize
	}
	if lim.Wall == 0 {
		lim.Wall = def.Wall
	}
	if lim.OpenFiles == 0 {
		lim.OpenFiles = def.OpenFiles
	}
	if lim.Output == 0 {
		lim.Output = def.Output
	}
	if lim.Memory < 0 || lim.Pids < 0 || lim.CPUTime < 0 || lim.FileSize < 0 || lim.Wall < 0 || lim.OpenFiles < 0 || lim.Output < 0 {
		return lim, nil, fault.Param("limits", "sandbox limits must not be negative")
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return lim, nil, fault.Param("argv", "sandbox: empty argv")
	}
	switch {
	case spec.Network != NetworkNone && spec.Network != NetworkProxy:
		return lim, nil, fault.Param("network", "sandbox: unknown network mode %d", spec.Network)
	case spec.Network == NetworkProxy && spec.Proxy == nil:
		return lim, nil, fault.Param("network", "sandbox: the proxy network mode needs a proxy to serve it")
	case spec.Network == NetworkNone && spec.Proxy != nil:
		return lim, nil, fault.Param("network", "sandbox: a proxy was given without the proxy network mode")
	}
	if !cleanAbs(spec.Dir) {
		return lim, nil, fault.Param("dir", "sandbox: the workspace must be a clean absolute path other than /, not %q", spec.Dir)
	}
	dir, err := filepath.EvalSymlinks(spec.Dir)
	if err != nil {
		return lim, nil, fault.Wrap(err, fault.NotFound, "sandbox: workspace %q", spec.Dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return lim, nil, fault.New(fault.Invalid, "sandbox: workspace %q is not a directory", spec.Dir)
	}
	size := len(spec.Dir)
	for _, l := range [][]string{spec.Argv, spec.Env, spec.ReadOnly} {
		for _, x := range l {
			size += len(x)
		}
	}
	if size > maxSpec {
		return lim, nil, fault.New(fault.TooLarge, "sandbox: argv, environment and paths exceed %d bytes", maxSpec)
	}
	for _, a := range spec.Argv {
		if !textOK(a) {
			return lim, nil, fault.Param("argv", "sandbox: arguments must be UTF-8 without NUL bytes")
		}
	}
	for _, kv := range spec.Env {
		if !textOK(kv) || !strings.Contains(kv, "=") {
			return lim, nil, fault.Param("env", "sandbox: environment entries must be KEY=value, UTF-8, without NUL bytes")
		}
	}
	for _, p := range spec.ReadOnly {
		if !cleanAbs(p) || !utf8.ValidString(p) {
			return lim, nil, fault.Param("read_only", "sandbox: read-only path %q must be clean and absolute", p)
		}
		// The kernel's views of the host (processes, devices, sysfs) are never bound in whole or part.
		for _, k := range []string{"/proc", "/sys", "/dev"} {
			if p == k || strings.HasPrefix(p, k+"/") {
				return lim, nil, fault.Param("read_only", "sandbox: %s may not be made visible", p)
			}
		}
		if _, err := os.Stat(p); err != nil {
			return lim, nil, fault.Wrap(err, fault.NotFound, "sandbox: read-only path %q", p)
		}
	}
	uid, gid := spec.UID, spec.GID
	if uid == 0 {
		uid = DefaultUID
	}
	if gid == 0 {
		gid = DefaultGID
	}
	if uid < 0 || gid < 0 {
		return lim, nil, fault.Param("uid", "sandbox: uid and gid must not be negative")
	}
	env := spec.Env
	if env == nil {
		env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"}
	}
	if spec.Network == NetworkProxy {
		env = proxyEnv(env)
	}
	cs := &childSpec{
		Argv:      spec.Argv,
		Env:       env,
		Dir:       dir,
		ReadOnly:  spec.ReadOnly,
		UID:       uid,
		GID:       gid,
		CPUSecs:   uint64((lim.CPUTime + time.Second - 1) / time.Second),
		FileSize:  uint64(lim.FileSize),
		OpenFiles: uint64(lim.OpenFiles),
	}
	if spec.Network == NetworkProxy {
		cs.ProxyPort = ProxyPort
	}
	return lim, cs, nil
}

// proxyEnv returns env with the proxy variables naming the sandbox's proxy listener, replacing any
// the caller set.
func proxyEnv(env []string) []string {
	url := fmt.Sprintf("http://127.0.0.1:%d", ProxyPort)
	out := make([]string, 0, len(env)+6)
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "HTTP_PROXY="+url, "HTTPS_PROXY="+url, "http_proxy="+url, "https_proxy="+url, "NO_PROXY=", "no_proxy=")
}

// textOK reports whether s can be passed through the JSON spec and execve unchanged.
func textOK(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// childFailure turns a status-pipe message into an error.
func childFailure(msg []byte) error {
	var ce childError
	if err := json.Unmarshal(msg, &ce); err != nil {
		return fault.New(fault.Internal, "sandbox: child setup failed: %q", msg)
	}
	cause := errors.New(ce.Stage + ": " + ce.Msg)
	if ce.Errno != 0 {
		cause = fmt.Errorf("%s: %s: %w", ce.Stage, ce.Msg, syscall.Errno(ce.Errno))
	}
	if ce.Stage == "exec" && (ce.Errno == int(unix.ENOENT) || ce.Errno == int(unix.EACCES)) {
		return fault.Wrap(cause, fault.NotFound, "sandbox: program not found or not executable")
	}
	return fault.Wrap(cause, fault.Internal, "sandbox: setting up the sandbox failed")
}

// capture forwards (or keeps) at most limit bytes of a stream and counts the rest.
type capture struct {
	w         io.Writer
	buf       bytes.Buffer
	limit, n  int64
	truncated bool
	failed    bool
}

func newCapture(w io.Writer, limit int64) *capture { return &capture{w: w, limit: limit} }

// Write never fails, so the process is never blocked or killed by a slow or broken consumer; output
// beyond the limit is dropped.
func (c *capture) Write(p []byte) (int, error) {
	n := len(p)
	room := c.limit - c.n
	c.n += int64(n)
	if room <= 0 {
		c.truncated = true
		return n, nil
	}
	if int64(len(p)) > room {
		p = p[:room]
		c.truncated = true
	}
	if c.w == nil {
		c.buf.Write(p)
	} else if !c.failed {
		if _, err := c.w.Write(p); err != nil {
			c.failed = true
		}
	}
	return n, nil
}

// kept returns the kept bytes, or nil when they were forwarded.
func (c *capture) kept() []byte {
	if c.w != nil {
		return nil
	}
	return c.buf.Bytes()
}

// socketPair returns a connected pair of Unix stream sockets: the parent's end as a conn, the child's
// as a file to pass in ExtraFiles.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	pf := os.NewFile(uintptr(fds[0]), "net-parent")
	defer pf.Close()
	c, err := net.FileConn(pf)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		unix.Close(fds[1])
		return nil, nil, errors.New("socket pair is not a Unix socket")
	}
	return uc, os.NewFile(uintptr(fds[1]), "net-child"), nil
}

// receiveListener reads the listening socket the child sends over c (SCM_RIGHTS).
func receiveListener(c *net.UnixConn) (net.Listener, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("want one descriptor from the child, got %d", len(fds))
	}
	f := os.NewFile(uintptr(fds[0]), "proxy-listener")
	defer f.Close()
	return net.FileListener(f)
}
