//go:build linux && (amd64 || arm64)

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// Every test below judges an attack by its effect as seen from the host (files, listeners, the
// process table), not by the error message the sandboxed program prints.

func TestWorkspaceWritableGitReadOnly(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	config := readFile(t, filepath.Join(ws, ".git", "config"))
	res := run(t, sh(ws, `
		echo hello > new.txt
		mkdir -p sub/deeper && echo nested > sub/deeper/f
		echo '[evil]' >> .git/config
		echo x > .git/evil
		rm -f .git/HEAD
		mv .git .git-moved
		exit 0`))
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", res.ExitCode, res.Stderr)
	}
	if got := readFile(t, filepath.Join(ws, "new.txt")); got != "hello\n" {
		t.Errorf("workspace write: new.txt = %q, want %q", got, "hello\n")
	}
	if got := readFile(t, filepath.Join(ws, "sub", "deeper", "f")); got != "nested\n" {
		t.Errorf("workspace write: sub/deeper/f = %q", got)
	}
	if got := readFile(t, filepath.Join(ws, ".git", "config")); got != config {
		t.Errorf(".git/config changed to %q", got)
	}
	if _, err := os.Stat(filepath.Join(ws, ".git", "evil")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".git/evil was created (stat err %v)", err)
	}
	if _, err := os.Stat(filepath.Join(ws, ".git", "HEAD")); err != nil {
		t.Errorf(".git/HEAD was deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ws, ".git-moved")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".git was renamed (stat err %v)", err)
	}
}

func TestWritesOutsideWorkspaceFail(t *testing.T) {
	t.Parallel()
	needRoot(t)
	attacks := map[string]func(ws, victim, outside, hidden string) Spec{
		"sh": func(ws, victim, outside, hidden string) Spec {
			return sh(ws, fmt.Sprintf(`
				V=%[1]s; O=%[2]s; H=%[3]s
				echo pwned > $V; echo pwned >> $V; : > $V
				rm -f $V; rm -rf $O/tree; mv $V $O/moved; ln $V ./hardlink; ln -s $V ./symlink; echo pwned > ./symlink
				touch $O/new; mkdir $O/newdir; cp /etc/hostname $O/copy; chmod 777 $V
				mkdir -p $H; echo pwned > $H/new
				echo pwned > /proc/self/root$V
				truncate -s 0 $V
				exit 0`, victim, outside, hidden))
		},
		"python3": func(ws, victim, outside, hidden string) Spec {
			return py(ws, fmt.Sprintf(`
import os, shutil
V, O, H = %[1]q, %[2]q, %[3]q
def attempt(f, *a):
    try:
        f(*a)
    except Exception as e:
        pass
attempt(lambda: open(V, "w").write("pwned"))
attempt(lambda: open(V, "a").write("pwned"))
attempt(os.truncate, V, 0)
attempt(os.remove, V)
attempt(os.unlink, "/proc/self/root" + V)
attempt(os.rename, V, O + "/moved")
attempt(shutil.rmtree, O + "/tree")
attempt(shutil.rmtree, O)
attempt(os.link, V, "hardlink")
attempt(os.symlink, V, "symlink")
attempt(lambda: open("symlink", "w").write("pwned"))
attempt(os.makedirs, H + "/deep")
attempt(lambda: open(H + "/new", "w").write("pwned"))
attempt(os.chmod, V, 0o777)
attempt(os.utime, V, (0, 0))
`, victim, outside, hidden))
		},
	}
	for name, attack := range attacks {
		t.Run(name, func(t *testing.T) {
			if name == "python3" {
				needPython(t)
			}
			ws := workspace(t)
			// outside is visible read-only; hidden is not visible at all. Both belong to the sandbox
			// uid, so file permissions would allow every attack: only the sandbox stops them.
			outside, hidden := t.TempDir(), t.TempDir()
			victim := filepath.Join(outside, "victim.txt")
			must(t, os.WriteFile(victim, []byte("original\n"), 0o644))
			must(t, os.Mkdir(filepath.Join(outside, "tree"), 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "tree", "leaf"), []byte("leaf\n"), 0o644))
			chownTree(t, outside)
			chownTree(t, hidden)
			before, err := os.Stat(victim)
			must(t, err)

			spec := attack(ws, victim, outside, hidden)
			spec.ReadOnly = []string{outside}
			run(t, spec)

			if got := readFile(t, victim); got != "original\n" {
				t.Errorf("victim changed to %q", got)
			}
			after, err := os.Stat(victim)
			must(t, err)
			if after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("victim metadata changed: %v %v -> %v %v", before.Mode(), before.ModTime(), after.Mode(), after.ModTime())
			}
			if got := listDir(t, outside); !slices.Equal(got, []string{"tree", "victim.txt"}) {
				t.Errorf("outside dir now holds %q", got)
			}
			if got, err := os.ReadDir(filepath.Join(outside, "tree")); err != nil || len(got) != 1 {
				t.Errorf("outside/tree was changed: %v %v", got, err)
			}
			if got := listDir(t, hidden); len(got) != 0 {
				t.Errorf("hidden dir now holds %q", got)
			}
		})
	}
}

func TestSecretsHidden(t *testing.T) {
	needRoot(t)
	ws := workspace(t)
	const secret = "SEANCE_SANDBOX_TEST_SECRET=s3cr3t-4f9a1"
	name, value, _ := strings.Cut(secret, "=")
	t.Setenv(name, value)

	spec := sh(ws, `cat /etc/shadow /etc/gshadow; echo; ls -A /root /home /run; cat /proc/self/environ /proc/1/environ; echo; env`)
	spec.Env = []string{"PATH=/usr/bin:/bin", "VISIBLE=yes-4f9a1"}
	res := run(t, spec)
	out := string(res.Stdout)
	if !strings.Contains(out, "VISIBLE=yes-4f9a1") {
		t.Fatalf("the allow-listed environment is missing (the probe did not run?): %q", out)
	}
	if strings.Contains(out, value) {
		t.Errorf("the parent's environment is visible: %q", out)
	}
	if shadow, err := os.ReadFile("/etc/shadow"); err == nil {
		for _, line := range strings.Split(string(shadow), "\n") {
			if line != "" && strings.Contains(out, line) {
				t.Errorf("/etc/shadow line %q readable in the sandbox", line)
				break
			}
		}
	}
	// The host's /root is not empty here (it holds a .pyenv); the sandbox's must be.
	if hostRoot, err := os.ReadDir("/root"); err == nil && len(hostRoot) > 0 {
		if strings.Contains(out, hostRoot[0].Name()) {
			t.Errorf("host /root entry %q visible: %q", hostRoot[0].Name(), out)
		}
	}
}

// tcpProbe connects to 127.0.0.1:port and sends a line; the same program is run on the host first to
// show that it works when nothing stops it.
const tcpProbe = `
import socket, sys
for fam, addr in ((socket.AF_INET, "127.0.0.1"),):
    try:
        s = socket.create_connection((addr, int(sys.argv[1])), timeout=2)
        s.sendall(b"escaped\n")
        s.close()
        print("connected")
    except Exception as e:
        print("refused", e)
`

func TestNoTCPEgress(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	conns := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Close()
			conns <- string(buf[:n])
		}
	}()
	// Positive control: on the host the probe gets through.
	if out, err := hostRun(t, python, "-c", tcpProbe, port); err != nil || !strings.Contains(out, "connected") {
		t.Fatalf("host control failed: %v %s", err, out)
	}
	select {
	case got := <-conns:
		if got != "escaped\n" {
			t.Fatalf("host control: listener got %q", got)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("host control: listener saw nothing")
	}

	spec := py(ws, tcpProbe)
	spec.Argv = append(spec.Argv, port)
	bash := sh(ws, "exec 3<>/dev/tcp/127.0.0.1/"+port+" && echo escaped >&3")
	bash.Argv = []string{"/bin/bash", "-c", bash.Argv[2]}
	mptcp := py(ws, `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)  # IPPROTO_MPTCP
s.settimeout(2)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"escaped-mptcp\n")
print("connected")
`)
	mptcp.Argv = append(mptcp.Argv, port)
	for _, s := range []Spec{spec, bash, mptcp} {
		run(t, s)
	}
	select {
	case got := <-conns:
		t.Errorf("the listener outside saw a connection from the sandbox: %q", got)
	case <-time.After(300 * time.Millisecond):
	}
}

const udpProbe = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"escaped", ("127.0.0.1", int(sys.argv[1])))
print("sent")
`

func TestNoUDPEgress(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	defer pc.Close()
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	recv := func(wait time.Duration) string {
		pc.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 64)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	if out, err := hostRun(t, python, "-c", udpProbe, port); err != nil || recv(3*time.Second) != "escaped" {
		t.Fatalf("host control failed: %v %s", err, out)
	}
	spec := py(ws, udpProbe)
	spec.Argv = append(spec.Argv, port)
	res := run(t, spec)
	if got := recv(300 * time.Millisecond); got != "" {
		t.Errorf("the listener outside received %q from the sandbox", got)
	}
	if strings.Contains(string(res.Stdout), "sent") {
		t.Errorf("a UDP socket was created and used in the sandbox: %s", res.Stdout)
	}
}

const unixProbe = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"escaped")
print("connected")
`

func TestNoUnixSockets(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	for _, c := range []struct{ name, addr string }{
		// The socket sits in the workspace, which the sandbox sees and may write: only the refusal of
		// Unix sockets stops the connection.
		{"path", filepath.Join(ws, "host.sock")},
		// Abstract sockets have no file; only the network namespace and the refusal stop them.
		{"abstract", fmt.Sprintf("@seance-sandbox-test-%d", os.Getpid())},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("unix", c.addr)
			must(t, err)
			defer ln.Close()
			if c.name == "path" {
				must(t, os.Chmod(c.addr, 0o777))
			}
			conns := make(chan string, 4)
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					conn.SetReadDeadline(time.Now().Add(time.Second))
					buf := make([]byte, 64)
					n, _ := conn.Read(buf)
					conn.Close()
					conns <- string(buf[:n])
				}
			}()
			// Python spells an abstract address with a leading NUL byte.
			pyAddr := strings.Replace(c.addr, "@", "\x00", 1)
			probe := strings.Replace(unixProbe, "s.connect(sys.argv[1])", fmt.Sprintf("s.connect(%q)", pyAddr), 1)
			if out, err := hostRun(t, python, "-c", probe); err != nil || !strings.Contains(out, "connected") {
				t.Fatalf("host control failed: %v %s", err, out)
			}
			<-conns
			run(t, py(ws, probe))
			select {
			case got := <-conns:
				t.Errorf("the unix listener outside saw a connection from the sandbox: %q", got)
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
}

func TestForkBombContained(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	const limit = 24
	spec := py(ws, `
import os, time
n = 0
try:
    while n < 10000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    pass
print(n, flush=True)
`)
	spec.Limits = Limits{Pids: limit, Wall: 20 * time.Second}
	res := run(t, spec)
	n, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if err != nil {
		t.Fatalf("probe output %q (stderr %q): %v", res.Stdout, res.Stderr, err)
	}
	if n >= limit {
		t.Errorf("%d forks succeeded under a pids limit of %d", n, limit)
	}
	if n == 0 {
		t.Errorf("no fork succeeded at all; the probe is broken")
	}
	if !slices.Contains(res.Hit, LimitPids) {
		t.Errorf("Hit = %v, want pids", res.Hit)
	}
	// The children sleeping 30 s died with the sandbox: Run returned long before.
	if res.Duration > 15*time.Second {
		t.Errorf("Run took %v: the sleeping children were waited for", res.Duration)
	}
}

func TestShellForkBombContained(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	needRoot(t)
	ws := workspace(t)
	spec := sh(ws, `b() { b | b & }; b; sleep 1`)
	spec.Limits = Limits{Pids: 32, Wall: 2 * time.Second}
	res := run(t, spec)
	if res.Duration > 10*time.Second {
		t.Errorf("the fork bomb ran for %v", res.Duration)
	}
	if !slices.Contains(res.Hit, LimitPids) {
		t.Errorf("Hit = %v, want pids", res.Hit)
	}
}

func TestMemoryHogKilled(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	spec := py(ws, `
b = b"x" * (512 << 20)
print("allocated", len(b))
`)
	spec.Limits = Limits{Memory: 64 << 20, Wall: 20 * time.Second}
	res := run(t, spec)
	if strings.Contains(string(res.Stdout), "allocated") {
		t.Errorf("512 MiB were allocated under a 64 MiB limit")
	}
	if res.Killed != LimitMemory || res.Signal != syscall.SIGKILL {
		t.Errorf("Killed = %q, signal %v, exit %d; want memory, SIGKILL", res.Killed, res.Signal, res.ExitCode)
	}
}

func TestEndlessLoopKilledByWall(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	spec := sh(ws, `while :; do :; done`)
	spec.Limits = Limits{Wall: 300 * time.Millisecond}
	res := run(t, spec)
	if res.Killed != LimitWall || res.Signal != syscall.SIGKILL {
		t.Errorf("Killed = %q, signal %v; want wall, SIGKILL", res.Killed, res.Signal)
	}
	if res.Duration < 300*time.Millisecond || res.Duration > 5*time.Second {
		t.Errorf("Duration = %v for a 300ms wall limit", res.Duration)
	}
}

func TestEndlessLoopKilledByCPU(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spends a second of CPU")
	}
	needRoot(t)
	ws := workspace(t)
	spec := sh(ws, `while :; do :; done`)
	spec.Limits = Limits{CPUTime: time.Second, Wall: 30 * time.Second}
	res := run(t, spec)
	if res.Killed != LimitCPU || res.Signal != syscall.SIGKILL {
		t.Errorf("Killed = %q, signal %v, cpu %v; want cpu, SIGKILL", res.Killed, res.Signal, res.CPUTime)
	}
	if res.Duration > 20*time.Second {
		t.Errorf("Duration = %v for a 1 s CPU limit", res.Duration)
	}
}

func TestTreeCPUTimeBounded(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spends a second of CPU")
	}
	needRoot(t)
	if host().cgroups.cpuacct == "" {
		t.Skip("no CPU accounting cgroup")
	}
	ws := workspace(t)
	// Three spinners under a waiting shell: each stays below the per-process RLIMIT_CPU for a while,
	// together they pass the limit; only the tree's accounting ends the shell itself.
	spec := sh(ws, `spin() { while :; do :; done; }; spin & spin & spin & wait; echo survived`)
	spec.Limits = Limits{CPUTime: time.Second, Wall: 30 * time.Second}
	res := run(t, spec)
	if res.Killed != LimitCPU || res.Signal != syscall.SIGKILL {
		t.Errorf("Killed = %q, signal %v, exit %d, cpu %v; want cpu, SIGKILL", res.Killed, res.Signal, res.ExitCode, res.CPUTime)
	}
	if strings.Contains(string(res.Stdout), "survived") {
		t.Errorf("the shell outlived the tree's CPU limit")
	}
	if res.CPUTime < time.Second || res.CPUTime > 3*time.Second {
		t.Errorf("CPUTime = %v for a 1 s limit", res.CPUTime)
	}
}

func TestNothingOutlivesRun(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	marker := fmt.Sprintf("31.%d", os.Getpid())
	res := run(t, sh(ws, fmt.Sprintf(`
		setsid sleep %[1]s < /dev/null > /dev/null 2>&1 &
		( ( sleep %[1]s < /dev/null > /dev/null 2>&1 & ) & )
		nohup sleep %[1]s > /dev/null 2>&1 &
		sleep 0.2
		ps -e -o pid,args 2>/dev/null | grep -c "sleep %[1]s" || ls /proc | grep -c '^[0-9]'
		exit 0`, marker)))
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
	}
	if res.Duration > 20*time.Second {
		t.Errorf("Run waited for the detached sleepers (%v)", res.Duration)
	}
	if left := processesWith(t, "sleep "+marker); len(left) > 0 {
		t.Errorf("processes outlived the sandbox: %q", left)
	}
}

const ptraceProbe = `
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    time.sleep(5)
    os._exit(0)
r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
time.sleep(0.2)
tracer = [l for l in open("/proc/%d/status" % pid) if l.startswith("TracerPid")][0].split()[1]
print("attach", r, "tracer", tracer, flush=True)
os.kill(pid, 9)
`

func TestPtraceDenied(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	if out, err := hostRun(t, python, "-c", ptraceProbe); err != nil || !strings.Contains(out, "attach 0 tracer") || strings.Contains(out, "tracer 0") {
		t.Fatalf("host control: the probe should attach outside the sandbox: %v %s", err, out)
	}
	res := run(t, py(ws, ptraceProbe))
	out := string(res.Stdout)
	if !strings.Contains(out, "attach -1 tracer 0") {
		t.Errorf("ptrace in the sandbox: %q (stderr %q); want attach -1, tracer 0", out, res.Stderr)
	}
}

func TestForeignArchitectureKilled(t *testing.T) {
	t.Parallel()
	if runtime.GOARCH != "amd64" {
		t.Skip("the int 0x80 and x32 probes are x86-64 programs")
	}
	needRoot(t)
	ws := workspace(t)
	for _, c := range []struct {
		name, out string
		elf       []byte
		hostMust  bool // the host kernel runs it (x32 support is often compiled out)
	}{
		{"int80", "int80\n", int80ELF(), true},
		{"x32", "x32\n", x32ELF(), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(ws, c.name)
			must(t, os.WriteFile(p, c.elf, 0o755))
			out, err := hostRun(t, p)
			if c.hostMust && (err != nil || out != c.out) {
				t.Fatalf("host control: %s printed %q (%v), want %q", c.name, out, err, c.out)
			}
			res := run(t, Spec{Argv: []string{p}, Dir: ws})
			if res.Signal != syscall.SIGSYS {
				t.Errorf("%s in the sandbox: exit %d signal %v, want killed by SIGSYS", c.name, res.ExitCode, res.Signal)
			}
			if len(res.Stdout) != 0 {
				t.Errorf("%s in the sandbox wrote %q", c.name, res.Stdout)
			}
		})
	}
}

func TestNamespaceAndMountTricksDenied(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	res := run(t, sh(ws, `
		before=$(wc -l < /proc/self/mountinfo)
		mount -t tmpfs none /tmp 2>/dev/null
		unshare -r -m sh -c 'mount -t tmpfs none /usr && echo mounted-usr' 2>/dev/null
		unshare -r id -u 2>/dev/null
		after=$(wc -l < /proc/self/mountinfo)
		echo mounts $before $after
		echo ns $(readlink /proc/self/ns/user)`))
	out := string(res.Stdout)
	if !strings.Contains(out, "mounts ") {
		t.Fatalf("probe did not run: %q %q", out, res.Stderr)
	}
	var before, after int
	fmt.Sscanf(out[strings.Index(out, "mounts "):], "mounts %d %d", &before, &after)
	if before == 0 || before != after {
		t.Errorf("mount table changed in the sandbox: %d -> %d", before, after)
	}
	if strings.Contains(out, "mounted-usr") {
		t.Errorf("a new user namespace could mount: %q", out)
	}
	if strings.Contains(out, "\n0\n") || strings.HasPrefix(out, "0\n") {
		t.Errorf("became uid 0 in a new user namespace: %q", out)
	}
	hostNS, err := os.Readlink("/proc/self/ns/user")
	must(t, err)
	if !strings.Contains(out, "ns "+hostNS) {
		t.Errorf("the sandbox's user namespace is not the host's %s: %q", hostNS, out)
	}
}

func TestSetuidBinariesGiveNothing(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	// A setuid-root copy of id in the workspace: the workspace is mounted nosuid and no_new_privs is
	// set, so it runs as the sandbox uid.
	idBin, err := os.ReadFile("/usr/bin/id")
	if err != nil {
		t.Skip("no /usr/bin/id")
	}
	p := filepath.Join(ws, "suid-id")
	must(t, os.WriteFile(p, idBin, 0o755))
	must(t, os.Chown(p, 0, 0))
	must(t, os.Chmod(p, 0o4755))
	res := run(t, Spec{Argv: []string{p, "-u"}, Dir: ws})
	if got := strings.TrimSpace(string(res.Stdout)); got != strconv.Itoa(DefaultUID) {
		t.Errorf("setuid binary ran as uid %q, want %d", got, DefaultUID)
	}
}

func TestLandlockMinimumFailsClosed(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	abi := landlockABI()
	spec := sh(ws, "echo ran > ran.txt")
	spec.MinLandlockABI = abi + 1
	_, err := Run(context.Background(), spec)
	if fault.CodeOf(err) != fault.Unsupported {
		t.Fatalf("Run with a minimum above the kernel's ABI %d: %v, want an Unsupported error", abi, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "ran.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the program ran although Run failed closed")
	}
	spec.AllowWeakerLandlock = true
	res := run(t, spec)
	if !res.LandlockWeak || res.LandlockABI != abi {
		t.Errorf("LandlockWeak = %v, LandlockABI = %d; want true, %d", res.LandlockWeak, res.LandlockABI, abi)
	}
	if got := readFile(t, filepath.Join(ws, "ran.txt")); got != "ran\n" {
		t.Errorf("ran.txt = %q", got)
	}
}

func TestResultReportsExitAndOutput(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	spec := sh(ws, `printf out; printf err >&2; cat; exit 7`)
	spec.Stdin = strings.NewReader("-in")
	res := run(t, spec)
	if res.ExitCode != 7 || res.Signal != 0 {
		t.Errorf("exit %d signal %v, want 7, 0", res.ExitCode, res.Signal)
	}
	if string(res.Stdout) != "out-in" || string(res.Stderr) != "err" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if res.LandlockABI == 0 || res.Cgroup == "none" {
		t.Errorf("Result does not report enforcement: landlock %d cgroup %q", res.LandlockABI, res.Cgroup)
	}

	var sb strings.Builder
	spec = sh(ws, `head -c 100000 /dev/zero`)
	spec.Stdout = &sb
	spec.Limits.Output = 10
	res = run(t, spec)
	if sb.Len() != 10 || res.StdoutBytes != 100000 || res.Stdout != nil || !slices.Contains(res.Hit, LimitOutput) {
		t.Errorf("bounded output: forwarded %d, counted %d, kept %d, hit %v", sb.Len(), res.StdoutBytes, len(res.Stdout), res.Hit)
	}
}

func TestCgroupRemoved(t *testing.T) {
	// Not parallel: it looks for any cgroup of this process left behind.
	needRoot(t)
	ws := workspace(t)
	h := host()
	if h.cgroups.version == "" {
		t.Skipf("no usable cgroup: %v", h.cgroups.err)
	}
	run(t, sh(ws, "true"))
	prefix := fmt.Sprintf("seance-sandbox-%d-", os.Getpid())
	for _, dir := range []string{h.cgroups.memory, h.cgroups.pids} {
		for _, name := range listDir(t, dir) {
			if strings.HasPrefix(name, prefix) {
				t.Errorf("cgroup %s/%s left behind", dir, name)
			}
		}
	}
}

func TestContextCancelKillsTree(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, sh(ws, "sleep 30"))
	if fault.CodeOf(err) != fault.Timeout {
		t.Errorf("err = %v, want a Timeout", err)
	}
	if res.Duration > 5*time.Second {
		t.Errorf("Run took %v after its context ended", res.Duration)
	}
}

func TestSpecErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		spec Spec
		code fault.Code
	}{
		{"empty argv", Spec{Dir: dir}, fault.Invalid},
		{"relative dir", Spec{Argv: []string{"true"}, Dir: "ws"}, fault.Invalid},
		{"root dir", Spec{Argv: []string{"true"}, Dir: "/"}, fault.Invalid},
		{"missing dir", Spec{Argv: []string{"true"}, Dir: filepath.Join(dir, "nope")}, fault.NotFound},
		{"relative read-only", Spec{Argv: []string{"true"}, Dir: dir, ReadOnly: []string{"usr"}}, fault.Invalid},
		{"NUL in argv", Spec{Argv: []string{"true", "a\x00b"}, Dir: dir}, fault.Invalid},
		{"invalid UTF-8 in argv", Spec{Argv: []string{"true", "\xff"}, Dir: dir}, fault.Invalid},
		{"env without =", Spec{Argv: []string{"true"}, Dir: dir, Env: []string{"PATH"}}, fault.Invalid},
		{"host /proc", Spec{Argv: []string{"true"}, Dir: dir, ReadOnly: []string{"/proc"}}, fault.Invalid},
		{"host /sys part", Spec{Argv: []string{"true"}, Dir: dir, ReadOnly: []string{"/sys/fs"}}, fault.Invalid},
		{"huge argv", Spec{Argv: []string{"true", strings.Repeat("a", 2<<20)}, Dir: dir}, fault.TooLarge},
		{"unknown network", Spec{Argv: []string{"true"}, Dir: dir, Network: Network(7)}, fault.Invalid},
		{"proxy mode without a proxy", Spec{Argv: []string{"true"}, Dir: dir, Network: NetworkProxy}, fault.Invalid},
		{"proxy without proxy mode", Spec{Argv: []string{"true"}, Dir: dir, Proxy: &recordingServer{}}, fault.Invalid},
		{"negative limit", Spec{Argv: []string{"true"}, Dir: dir, Limits: Limits{Memory: -1}}, fault.Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Run(context.Background(), c.spec); fault.CodeOf(err) != c.code {
				t.Errorf("err = %v, want code %s", err, c.code)
			}
		})
	}
}

func TestProgramNotFound(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	_, err := Run(context.Background(), Spec{Argv: []string{"no-such-program-4f9a1"}, Dir: ws})
	if fault.CodeOf(err) != fault.NotFound {
		t.Errorf("err = %v, want NotFound", err)
	}
}

func TestRlimitsApplied(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	spec := sh(ws, `ulimit -n; ulimit -t; head -c 3000000 /dev/zero > big; echo wrote $?`)
	spec.Limits = Limits{OpenFiles: 64, CPUTime: 7 * time.Second, FileSize: 1 << 20}
	res := run(t, spec)
	lines := strings.Fields(string(res.Stdout))
	if len(lines) < 2 || lines[0] != "64" || lines[1] != "7" {
		t.Errorf("ulimit -n, -t in the sandbox: %q (stderr %q); want 64, 7", res.Stdout, res.Stderr)
	}
	st, err := os.Stat(filepath.Join(ws, "big"))
	must(t, err)
	if st.Size() > 1<<20 {
		t.Errorf("a %d-byte file was written under a 1 MiB file-size limit", st.Size())
	}
}

func TestReadOnlyFile(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "tool.conf")
	must(t, os.WriteFile(f, []byte("setting=1\n"), 0o666))
	must(t, os.WriteFile(filepath.Join(dir, "another.secret"), []byte("x"), 0o666))
	chownTree(t, dir)
	spec := sh(ws, "cat "+f+"; echo changed > "+f+"; ls "+dir)
	spec.ReadOnly = []string{f}
	res := run(t, spec)
	if string(res.Stdout) != "setting=1\ntool.conf\n" {
		t.Errorf("read-only file not visible alone: %q (stderr %q)", res.Stdout, res.Stderr)
	}
	if got := readFile(t, f); got != "setting=1\n" {
		t.Errorf("read-only file changed to %q", got)
	}
}

func TestBlockingStdinDoesNotHang(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ws := workspace(t)
	pr, pw := io.Pipe() // never written: a Read blocks until the test ends
	defer pw.Close()
	spec := sh(ws, "exit 3")
	spec.Stdin = pr
	res := run(t, spec)
	if res.ExitCode != 3 {
		t.Errorf("exit %d, want 3", res.ExitCode)
	}
	if res.Duration > 10*time.Second {
		t.Errorf("Run took %v with a stdin that never ends", res.Duration)
	}
}
