//go:build linux && (amd64 || arm64)

package sandbox

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var usernsInner = flag.String("sandbox.userns-workspace", "", "internal: run TestUserNamespaceMode's inner half in this workspace")

// TestUserNamespaceMode runs the sandbox as a non-root user (the test binary re-runs itself as uid
// 65534), where it must build everything inside a user namespace and cannot use cgroups, and checks
// the network proxy in that mode as well.
func TestUserNamespaceMode(t *testing.T) {
	if *usernsInner != "" {
		userNamespaceInner(t, *usernsInner)
		return
	}
	needRoot(t)
	if _, err := os.Stat("/proc/sys/user/max_user_namespaces"); err != nil {
		t.Skip("no user namespaces")
	}
	// The test binary and the workspace must be reachable for uid 65534.
	base := t.TempDir()
	must(t, os.Chmod(filepath.Dir(base), 0o755))
	must(t, os.Chmod(base, 0o755))
	bin := filepath.Join(base, "sandbox.test")
	copyFile(t, os.Args[0], bin)
	ws := filepath.Join(base, "ws")
	must(t, os.MkdirAll(filepath.Join(ws, ".git"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, ".git", "HEAD"), []byte("ref\n"), 0o644))
	chownTree(t, ws)

	cmd := exec.Command(bin, "-test.run", "^TestUserNamespaceMode$", "-test.v", "-sandbox.userns-workspace", ws)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: DefaultUID, Gid: DefaultGID}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("inner test as uid %d: %v\n%s", DefaultUID, err, out)
	}
	if strings.Contains(string(out), "SKIP") {
		t.Skipf("inner test skipped:\n%s", out)
	}
	if !strings.Contains(string(out), "--- PASS: TestUserNamespaceMode") {
		t.Fatalf("the inner test did not run:\n%s", out)
	}
	t.Logf("inner test as uid %d:\n%s", DefaultUID, out)
	// Effects on the host: the workspace file was written (owned by the unprivileged user), .git was not.
	st, err := os.Stat(filepath.Join(ws, "made-in-userns"))
	if err != nil {
		t.Fatalf("workspace write in user-namespace mode: %v\n%s", err, out)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != DefaultUID {
		t.Errorf("file made in the sandbox is owned by host uid %d, want %d", uid, DefaultUID)
	}
	if got := readFile(t, filepath.Join(ws, ".git", "HEAD")); got != "ref\n" {
		t.Errorf(".git/HEAD changed to %q", got)
	}
	if _, err := os.Stat(filepath.Join(ws, ".git", "evil")); err == nil {
		t.Errorf(".git/evil was created")
	}
}

func userNamespaceInner(t *testing.T, ws string) {
	spec := sh(ws, `
		echo ok > made-in-userns
		echo evil > .git/evil; echo evil > .git/HEAD
		grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status`)
	spec.AllowNoCgroup = true
	res := run(t, spec)
	if res.Cgroup != "none" {
		t.Errorf("Cgroup = %q for a non-root run", res.Cgroup)
	}
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(res.Stdout), want) {
			t.Errorf("status lacks %q:\n%s", want, res.Stdout)
		}
	}
	// Without AllowNoCgroup a non-root Run fails closed.
	spec.AllowNoCgroup = false
	if _, err := Run(t.Context(), spec); err == nil {
		t.Errorf("Run without cgroups and without AllowNoCgroup succeeded")
	}
	userNamespaceMemory(t, ws)
	// The network proxy works without root too: the child hands its listener over a socket pair.
	if _, err := exec.LookPath("python3"); err == nil {
		checkProxyNetwork(t, ws, true)
	} else {
		t.Log("python3 is not installed: the proxy is not checked in user-namespace mode")
	}
}

// userNamespaceMemory checks the memory fallback without a cgroup: an allocation past Limits.Memory
// fails (RLIMIT_DATA), one below it succeeds, and /tmp and /dev/shm fill up at the limit.
func userNamespaceMemory(t *testing.T, ws string) {
	const limit = 64 << 20
	spec := sh(ws, `
		grep '^Max data size' /proc/self/limits
		dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null && echo small-allocation-ok
		dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null || echo big-allocation-refused
		head -c 100M /dev/zero > /tmp/fill || echo tmp-full
		echo "tmp $(wc -c < /tmp/fill)"; rm -f /tmp/fill
		head -c 100M /dev/zero > /dev/shm/fill || echo shm-full
		echo "shm $(wc -c < /dev/shm/fill)"`)
	spec.AllowNoCgroup = true
	spec.Limits = Limits{Memory: limit, FileSize: 256 << 20}
	res := run(t, spec)
	out := string(res.Stdout)
	if !strings.Contains(strings.Join(strings.Fields(out), " "), fmt.Sprintf("Max data size %d %d bytes", limit, limit)) {
		t.Errorf("RLIMIT_DATA is not %d:\n%s", limit, out)
	}
	for _, want := range []string{
		"small-allocation-ok", "big-allocation-refused", "tmp-full", "shm-full",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("memory fallback: output lacks %q:\n%s\nstderr: %s", want, out, res.Stderr)
		}
	}
	for _, where := range []string{"tmp", "shm"} {
		var n int64
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, where+" "); ok {
				n, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
		if n <= 0 || n > limit {
			t.Errorf("%s held %d bytes with a memory limit of %d", where, n, limit)
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	must(t, err)
	_, err = io.Copy(out, in)
	must(t, err)
	must(t, out.Close())
}
