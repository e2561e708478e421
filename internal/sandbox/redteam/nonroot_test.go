//go:build linux && (amd64 || arm64)

package redteam

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/sandbox"
)

var nonRootBase = flag.String("redteam.nonroot", "", "internal: run the suite as the non-root half of TestRedTeamNonRoot, in this folder")

// nonRootMode is what the non-root half of the suite gets from the root half.
type nonRootMode struct {
	suid string // a setuid-root helper the root half planted, visible read-only to every attack
}

// nonRootResults is what the non-root half hands back to the root half.
type nonRootResults struct {
	Pid  int             `json:"pid"` // the non-root half's pid, part of every marker
	Rows []nonRootResult `json:"rows"`
}

type nonRootResult struct {
	Name     string   `json:"name"`
	Outcome  string   `json:"outcome"`
	Failures []string `json:"failures,omitempty"`
}

// TestRedTeamNonRoot runs the whole suite as a non-root user: the test binary re-runs itself as uid
// 65534, where the sandbox uses a user namespace and no cgroups (AllowNoCgroup), and every attack
// runs as a run call through tool.Runtime exactly as in TestRedTeam, judged by its effect on the
// host. The memory and pids limits are then rlimits, which Result cannot report: the harness judges
// those attacks by what it sees of their processes from the host while they run (observer).
func TestRedTeamNonRoot(t *testing.T) {
	if *nonRootBase != "" {
		nonRootInner(t, *nonRootBase)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("the non-root red-team run is started by root (it plants a setuid-root helper and switches to uid 65534); CI runs it as root")
	}
	if _, err := os.Stat("/proc/sys/user/max_user_namespaces"); err != nil {
		t.Skip("no user namespaces")
	}
	for _, tool := range []string{"/bin/sh", "/bin/bash", "/usr/bin/python3", "/usr/bin/perl", "/usr/bin/node", "gcc", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the red-team suite needs %s: %v", tool, err)
		}
	}
	attacks, err := loadAttacks(attacksDir)
	if err != nil {
		t.Fatal(err)
	}
	// Everything the non-root half needs, where uid 65534 can read it: the test binary, the attack
	// sources, the built attacks; a home and a temporary folder of its own; a setuid-root helper.
	base := t.TempDir()
	must(t, os.Chmod(filepath.Dir(base), 0o755))
	must(t, os.Chmod(base, 0o755))
	bin := filepath.Join(base, "redteam.test")
	must(t, copyFile(os.Args[0], bin, 0o755))
	must(t, os.CopyFS(filepath.Join(base, "attacks"), os.DirFS(attacksDir)))
	binDir := filepath.Join(base, "bin")
	must(t, os.Mkdir(binDir, 0o755))
	if err := buildAll(binDir, attacks); err != nil {
		t.Fatal(err)
	}
	suid := filepath.Join(base, "suid", "suid-helper")
	must(t, os.Mkdir(filepath.Dir(suid), 0o755))
	must(t, copyFile(filepath.Join(binDir, "suid-helper"), suid, 0o755))
	must(t, os.Chmod(suid, 0o4755|os.ModeSetuid))
	for _, d := range []string{"home", "out"} {
		must(t, os.Mkdir(filepath.Join(base, d), 0o700))
		must(t, os.Chown(filepath.Join(base, d), uid, gid))
	}
	// The non-root half's temporary folder, where its fixtures go, sits directly in the system's:
	// the fixtures' Unix socket paths must stay within 108 bytes.
	tmp, err := os.MkdirTemp("", "rtnr")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	must(t, os.Chown(tmp, uid, gid))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	args := []string{"-test.run", "^TestRedTeamNonRoot$", "-redteam.nonroot", base}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = base
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + filepath.Join(base, "home"), "TMPDIR=" + tmp, "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the non-root half (uid %d) failed: %v\n%s", uid, err, out)
	} else if testing.Verbose() {
		t.Logf("the non-root half (uid %d):\n%s", uid, out)
	}
	b, err := os.ReadFile(filepath.Join(base, "out", "results.json"))
	if err != nil {
		t.Fatalf("the non-root half left no results: %v\n%s", err, out)
	}
	var rs nonRootResults
	must(t, json.Unmarshal(b, &rs))

	// What the non-root half cannot see: root's home and the other folders it may not list.
	prefix := fmt.Sprintf("rtmark%dx", rs.Pid)
	for _, dir := range []string{"/", "/etc", "/usr", "/usr/local", "/usr/bin", "/tmp", "/var/tmp", "/dev/shm", "/root", "/home"} {
		if m, _ := filepath.Glob(filepath.Join(dir, prefix+"*")); len(m) > 0 {
			t.Errorf("attacks of the non-root run created %q", m)
		}
	}
	if left := processesWith(prefix); len(left) > 0 {
		t.Errorf("processes of the non-root run are still alive: %q", left)
	}
	if got, err := os.Stat(suid); err != nil || got.Mode() != 0o755|os.ModeSetuid {
		t.Errorf("the setuid-root helper changed: %v %v", got.Mode(), err)
	}

	s := &suite{rows: map[string]row{}}
	for _, r := range rs.Rows {
		s.rows[r.Name] = row{outcome: r.Outcome, failures: r.Failures}
	}
	for _, a := range attacks {
		r, ok := s.rows[a.Name]
		switch {
		case !ok:
			t.Errorf("%s did not run in the non-root half", a.Name)
		case len(r.failures) > 0:
			t.Errorf("%s: NOT BLOCKED without root: %s", a.Name, strings.Join(r.failures, "; "))
		}
	}
	if len(rs.Rows) == len(attacks) && !t.Failed() || *update {
		s.checkDoc(t, attacks, nonRootTable)
	}
}

// nonRootInner is the non-root half: the suite as uid 65534, with the attacks the root half built.
func nonRootInner(t *testing.T, base string) {
	if os.Geteuid() == 0 {
		t.Fatal("the non-root half runs as root")
	}
	attacks, err := loadAttacks(filepath.Join(base, "attacks"))
	if err != nil {
		t.Fatal(err)
	}
	s := newSuite(t, filepath.Join(base, "bin"), &nonRootMode{suid: filepath.Join(base, "suid", "suid-helper")})
	s.runAll(t, attacks)
	rs := nonRootResults{Pid: os.Getpid()}
	s.mu.Lock()
	for _, a := range attacks {
		if r, ok := s.rows[a.Name]; ok {
			rs.Rows = append(rs.Rows, nonRootResult{Name: a.Name, Outcome: r.outcome, Failures: r.failures})
		}
	}
	s.mu.Unlock()
	b, err := json.Marshal(rs)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(base, "out", "results.json"), b, 0o644))
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// observer samples, from the host, the processes of one attack (those whose command line holds its
// marker) while it runs: how many tasks they are, the largest private memory of one of them, and
// how full the sandbox's /tmp and /dev/shm are (through /proc/PID/root). Without a cgroup this is
// how the harness sees the memory and pids limits hold.
type observer struct {
	marker string
	done   chan struct{}
	ended  chan struct{}

	samples  int   // samples that saw a process of the attack
	tasks    int   // most tasks (threads of every process) seen at once
	anon     int64 // largest RssAnon of one process, bytes
	tmp, shm int64 // most bytes seen in use in the sandbox's /tmp and /dev/shm
}

// observeEvery is the sampling interval.
const observeEvery = 10 * time.Millisecond

func observe(marker string) *observer {
	o := &observer{marker: marker, done: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(o.ended)
		tick := time.NewTicker(observeEvery)
		defer tick.Stop()
		for {
			o.sample()
			select {
			case <-o.done:
				return
			case <-tick.C:
			}
		}
	}()
	return o
}

// stop ends the sampling and waits for it.
func (o *observer) stop() {
	close(o.done)
	<-o.ended
}

func (o *observer) sample() {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	// The attack's processes carry its marker in their command line; zombies (whose command line is
	// empty) still count against the pids limit, so every descendant of a marked process counts.
	type proc struct {
		ppid, threads int
		marked        bool
	}
	procs := map[int]proc{}
	children := map[int][]int{}
	var marked []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, threads, ok := procStat(pid)
		if !ok {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		p := proc{ppid: ppid, threads: threads, marked: bytes.Contains(cmd, []byte(o.marker))}
		procs[pid] = p
		children[ppid] = append(children[ppid], pid)
		if p.marked {
			marked = append(marked, pid)
		}
	}
	if len(marked) == 0 {
		return
	}
	o.samples++
	dir := filepath.Join("/proc", strconv.Itoa(marked[0]))
	var fs syscall.Statfs_t
	if syscall.Statfs(filepath.Join(dir, "root", "tmp"), &fs) == nil {
		o.tmp = max(o.tmp, int64(fs.Blocks-fs.Bfree)*fs.Bsize)
	}
	if syscall.Statfs(filepath.Join(dir, "root", "dev", "shm"), &fs) == nil {
		o.shm = max(o.shm, int64(fs.Blocks-fs.Bfree)*fs.Bsize)
	}
	tasks := 0
	seen := map[int]bool{}
	queue := marked
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		tasks += procs[pid].threads
		queue = append(queue, children[pid]...)
		if procs[pid].marked {
			o.anon = max(o.anon, rssAnon(filepath.Join("/proc", strconv.Itoa(pid), "status")))
		}
	}
	o.tasks = max(o.tasks, tasks)
}

// procStat reads the parent and the number of threads from /proc/PID/stat.
func procStat(pid int) (ppid, threads int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name, in parentheses, may hold spaces; the fields after it are numbered from 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 18 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])     // field 4
	threads, err2 := strconv.Atoi(f[17]) // field 20
	return ppid, threads, err1 == nil && err2 == nil
}

// rssAnon reads the RssAnon line of /proc/PID/status, in bytes (0 when it cannot).
func rssAnon(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			if fields := strings.Fields(v); len(fields) > 0 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// judge checks what the observer saw against the limit that should have held: never above it. It
// does not ask the attack to come close to the limit: a fork bomb or an allocation that fails at the
// limit can be over in less time than one scan of /proc takes, so a lower bound would fail at random
// (the root run's cgroup counters show that the attacks reach their limits).
func (o *observer) judge(stop sandbox.LimitKind, lim sandbox.Limits) []string {
	var fail []string
	if o.samples == 0 {
		return []string{"the host never saw a process of the attack"}
	}
	switch stop {
	case sandbox.LimitPids:
		if o.tasks > lim.Pids {
			fail = append(fail, fmt.Sprintf("%d tasks at once, above the pids limit %d", o.tasks, lim.Pids))
		}
	case sandbox.LimitMemory:
		for _, m := range []struct {
			what string
			n    int64
		}{{"one process's private memory", o.anon}, {"/tmp", o.tmp}, {"/dev/shm", o.shm}} {
			if m.n > lim.Memory {
				fail = append(fail, fmt.Sprintf("%s reached %d bytes, above the memory limit %d", m.what, m.n, lim.Memory))
			}
		}
	}
	return fail
}
