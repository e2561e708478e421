//go:build linux && (amd64 || arm64)

package redteam

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/tool"
	"github.com/seance-dev/seance/internal/tool/builtin"
	"github.com/seance-dev/seance/internal/workspace"
)

var update = flag.Bool("update", false, "rewrite the results table in docs/SECURITY.md")

// parallel bounds how many attacks run in the sandbox at once (the CI machine has 2 cores).
const parallel = 3

// suiteLimits are the limits of every attack unless its header narrows them: small, so that the
// exhaustion attacks end quickly, and far above what the other attacks need.
var suiteLimits = sandbox.Limits{
	Memory:   256 << 20,
	Pids:     64,
	CPUTime:  10 * time.Second,
	FileSize: 8 << 20,
	Wall:     30 * time.Second,
	Output:   64 << 10,
}

// lateWait is how long the harness waits after an "outlive" attack before it looks for what a
// survivor would have written; the attacks' survivors write after 2 s.
const lateWait = 3 * time.Second

// suite is the state shared by all attacks of one run.
type suite struct {
	root           string
	home, logPath  string
	log            *audit.Log
	hostSecretPath string
	secrets        []string
	binDir         string
	runID          string
	sem            chan struct{}
	policies       *policy.Store
	allowed        *allowedTarget
	// nonRoot is set when the suite runs as the non-root half of TestRedTeamNonRoot.
	nonRoot *nonRootMode

	mu   sync.Mutex
	rows map[string]row
}

// row is one line of the results table.
type row struct {
	a        *attack
	outcome  string
	failures []string
	marker   string
}

func TestRedTeam(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the red-team suite needs root (cgroups, chown of the planted files); CI runs it as root")
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
	s := newSuite(t, "", nil)
	if err := buildAll(s.binDir, attacks); err != nil {
		t.Fatal(err)
	}
	if s.runAll(t, attacks) {
		s.checkDoc(t, attacks, rootTable)
	}
}

// runAll runs every attack as a run call, then checks the audit log: every attack that ran appears
// in it exactly once, and it verifies. It reports whether every attack ran.
func (s *suite) runAll(t *testing.T, attacks []*attack) bool {
	t.Helper()
	t.Run("attack", func(t *testing.T) {
		for _, a := range attacks {
			t.Run(a.Name, func(t *testing.T) {
				t.Parallel()
				s.runAttack(t, a)
			})
		}
	})

	// Every attack that ran appears in the audit log exactly once, and the log verifies.
	if err := s.log.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(s.logPath)
	if err != nil || !rep.OK() {
		t.Fatalf("audit log does not verify: %v %+v", err, rep.Problem)
	}
	entries, err := audit.Show(s.logPath, audit.Filter{Run: s.runID, Tool: "run"})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	ran := len(s.rows)
	seen := map[string]int{}
	byMarker := map[string]*attack{}
	for _, r := range s.rows {
		byMarker[r.marker] = r.a
	}
	for _, e := range entries {
		// The runtime wrote the entry; the attack is named by the marker, its last argument.
		var a *attack
		if len(e.Argv) > 0 {
			a = byMarker[e.Argv[len(e.Argv)-1]]
		}
		if a == nil {
			t.Errorf("audit entry %d names no attack: %+v", e.Seq, e)
			continue
		}
		seen[a.Name]++
		if e.Decision != "allow" || e.ApprovedBy != "policy" || e.Exit == nil && e.Error == "" || e.Agent != agentFor(a) {
			t.Errorf("audit entry %d of %s is incomplete: %+v", e.Seq, a.Name, e)
		}
		if a.Category == "proxy" && !refusedSome(e.Network) {
			t.Errorf("audit entry %d of %s records no refused proxy attempt: network %q", e.Seq, a.Name, e.Network)
		}
	}
	for name := range s.rows {
		if seen[name] != 1 {
			t.Errorf("attack %s has %d audit entries, want 1", name, seen[name])
		}
	}
	s.mu.Unlock()
	if int64(len(entries)) != rep.Entries || len(entries) != ran {
		t.Errorf("audit log holds %d entries (%d of this run); %d attacks ran", rep.Entries, len(entries), ran)
	}

	return ran == len(attacks)
}

// newSuite plants what all attacks share: a seance home with policy files and the audit log (visible
// read-only to every attack), a secret in the host's home folder, and the binaries' folder (made
// here, or binDir when the attacks are already built). nr is nil as root.
func newSuite(t *testing.T, binDir string, nr *nonRootMode) *suite {
	t.Helper()
	s := &suite{root: t.TempDir(), runID: "redteam-" + time.Now().UTC().Format("20060102T150405"), sem: make(chan struct{}, parallel), rows: map[string]row{}, nonRoot: nr}
	s.home = filepath.Join(s.root, "home")
	s.logPath = filepath.Join(s.home, "audit.log")
	s.binDir = binDir
	if binDir == "" {
		s.binDir = filepath.Join(s.root, "bin")
		must(t, os.Mkdir(s.binDir, 0o755))
	}
	// Every attack is a run call: its interpreter, or its compiled program in its workspace.
	commands := "commands: [/bin/sh, /bin/bash, /usr/bin/python3, /usr/bin/perl, /usr/bin/node, '" + filepath.Join(s.root, "attacks", "*", "ws", "attack") + "']\n"
	base := "read: ['**']\nwrite: ['**']\n" + commands + "tools: {run: auto}\ndefault: deny\n"
	must(t, writeFiles(s.home, map[string]string{
		"policy/default.yaml":     "default: ask\n",
		"policy/redteam.yaml":     base,
		"policy/redteam-net.yaml": base + "hosts: [" + allowedHost + ", " + rebindHost + "]\n",
	}))
	var err error
	s.log, err = audit.Open(s.logPath)
	must(t, err)
	s.policies, err = policy.Load(s.home, policy.Options{})
	must(t, err)
	s.allowed = newAllowedTarget(t)
	// Owned by the sandbox's uid: only the sandbox keeps attacks from writing them.
	must(t, chownTree(s.home))

	if home, err := os.UserHomeDir(); err == nil {
		s.hostSecretPath = filepath.Join(home, fmt.Sprintf(".seance-redteam-secret-%d", os.Getpid()))
		secret := "host-home-secret-" + randomHex(12)
		must(t, os.WriteFile(s.hostSecretPath, []byte(secret+"\n"), 0o644))
		must(t, os.Chown(s.hostSecretPath, uid, gid))
		t.Cleanup(func() { os.Remove(s.hostSecretPath) })
		s.secrets = append(s.secrets, secret)
	}
	if v := os.Getenv(parentSecretEnv); v != "" {
		s.secrets = append(s.secrets, v)
	} else {
		t.Fatalf("TestMain did not set %s", parentSecretEnv)
	}
	if shadow, err := os.ReadFile("/etc/shadow"); err == nil {
		for _, line := range strings.Split(string(shadow), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				s.secrets = append(s.secrets, line)
			}
		}
	}
	return s
}

// runAttack plants the fixture, runs one attack in the sandbox, audits the call and judges the attack
// by its effects.
func (s *suite) runAttack(t *testing.T, a *attack) {
	base := filepath.Join(s.root, "attacks", a.Name)
	sharedSUID := ""
	if s.nonRoot != nil {
		sharedSUID = s.nonRoot.suid
	}
	fx, err := newFixture(base, a.Name, "x", s.home, filepath.Join(s.binDir, "suid-helper"), sharedSUID)
	must(t, err)
	hiddenSecret := "hidden-secret-" + randomHex(12)
	must(t, os.WriteFile(filepath.Join(fx.hidden, "secret.txt"), []byte(hiddenSecret+"\n"), 0o644))
	must(t, os.Chown(filepath.Join(fx.hidden, "secret.txt"), uid, gid))
	secrets := append([]string{hiddenSecret}, s.secrets...)
	must(t, fx.listen())
	defer fx.net.close()
	argv, srcBytes, err := a.program(fx.ws, s.binDir, fx.marker)
	must(t, err)
	must(t, fx.recordWorkspace())
	// The workspace's setuid copy is not watched: before every process the run tool hands the
	// workspace to the sandbox's uid (lchown), which clears the setuid bit. The outside copy stays
	// setuid-root and watched.
	watched := append([]string{fx.outside, fx.hidden, filepath.Join(s.home, "policy")}, gitWatched(fx.ws)...)
	if s.hostSecretPath != "" {
		watched = append(watched, s.hostSecretPath)
	}
	readOnly := []string{fx.outside, s.home}
	if s.nonRoot != nil {
		// Without root the harness cannot make setuid-root files: the outer half planted one.
		watched = append(watched, filepath.Dir(s.nonRoot.suid))
		readOnly = append(readOnly, filepath.Dir(s.nonRoot.suid))
	}
	before, err := snapshot(watched...)
	must(t, err)

	lim := suiteLimits
	if a.Limits.Memory != 0 {
		lim.Memory = a.Limits.Memory
	}
	if a.Limits.Pids != 0 {
		lim.Pids = a.Limits.Pids
	}
	if a.Limits.CPUTime != 0 {
		lim.CPUTime = a.Limits.CPUTime
	}
	if a.Limits.FileSize != 0 {
		lim.FileSize = a.Limits.FileSize
	}
	if a.Limits.Wall != 0 {
		lim.Wall = a.Limits.Wall
	}
	_ = srcBytes
	head, err := gitHead(fx.ws)
	must(t, err)
	// The attack is a real run call through the tool runtime: the policy decides it, the workspace
	// is snapshotted before and committed after, the runtime writes the audit entry, and run starts
	// the process through sandbox.Run (with the proxy when the agent's policy grants hosts).
	reg, err := builtin.Registry(builtin.Options{Sandbox: builtin.SandboxOptions{
		Limits:        lim,
		Env:           fx.env(s)[2:], // PATH and HOME are run's own
		ReadOnly:      readOnly,
		Resolver:      rebindResolver{},
		AllowNoCgroup: s.nonRoot != nil,
	}})
	must(t, err)
	wsp, err := workspace.Open(context.Background(), fx.ws, workspace.Options{})
	must(t, err)
	rt, err := tool.NewRuntime(tool.Options{Registry: reg, Workspace: wsp, Policies: s.policies, Audit: s.log, Run: s.runID, MaxResult: 1 << 20})
	must(t, err)
	callArgs, err := json.Marshal(map[string]any{"argv": argv})
	must(t, err)

	s.sem <- struct{}{}
	var obs *observer
	if s.nonRoot != nil && a.Category == "exhaustion" {
		obs = observe(fx.marker)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lim.Wall+time.Minute)
	rec, callErr := rt.Call(ctx, agentFor(a), chat.ToolCall{ID: "call-" + a.Name, Name: "run", Arguments: string(callArgs)})
	cancel()
	if obs != nil {
		obs.stop()
	}
	<-s.sem
	runEnd := time.Now()
	res, runErr := runResult(rec)
	if callErr != nil {
		runErr = callErr
	}

	var fail []string
	failf := func(format string, args ...any) { fail = append(fail, fmt.Sprintf(format, args...)) }
	if runErr != nil {
		failf("sandbox.Run: %v (the attack was not judged)", runErr)
	} else {
		fail = append(fail, s.judge(a, fx, res, lim, secrets, before, watched, obs)...)
		fail = append(fail, gitIntact(fx.ws, head, rec.Commit)...)
		if a.Category == "proxy" {
			if !refusedSome(rec.Result.Network) {
				failf("the proxy refused nothing (network %q): the attack did not try it", rec.Result.Network)
			}
			if !strings.Contains(string(res.Stdout), "control: ok") {
				failf("the allowed host was not reached through the proxy (positive control)")
			}
		}
		if a.Category == "outlive" {
			time.Sleep(time.Until(runEnd.Add(lateWait)))
			fail = append(fail, fx.survivors()...)
		}
	}
	controlOK := true
	// The positive controls run as root only: they run the attack on the host as uid 65534, which
	// is what the non-root half's own uid would do, so they would prove nothing new.
	if a.Control && !testing.Short() && s.nonRoot == nil {
		controlOK = len(s.control(t, a)) > 0
	}
	if len(fail) > 0 || testing.Verbose() {
		t.Logf("exit %d signal %v killed %q hit %v duration %v network %q\nstdout: %s\nstderr: %s", res.ExitCode, res.Signal, res.Killed, res.Hit, res.Duration, rec.Result.Network, clip(res.Stdout), clip(res.Stderr))
		if obs != nil {
			t.Logf("seen from the host: %d samples, at most %d tasks, %d bytes private memory in one process, %d in /tmp, %d in /dev/shm", obs.samples, obs.tasks, obs.anon, obs.tmp, obs.shm)
		}
		for _, f := range fail {
			t.Errorf("%s: NOT BLOCKED: %s", a.Name, f)
		}
	}
	s.mu.Lock()
	out := outcome(a, fail, s.nonRoot != nil, lim)
	if !controlOK {
		out += " (**the positive control found no effect**)"
	}
	s.rows[a.Name] = row{a: a, outcome: out, failures: fail, marker: fx.marker}
	s.mu.Unlock()
}

// judge applies every host-side check to the state after an attack.
// obs is what the host saw of an exhaustion attack's processes while it ran (non-root mode), or nil.
func (s *suite) judge(a *attack, fx *fixture, res sandbox.Result, lim sandbox.Limits, secrets []string, before map[string]fileState, watched []string, obs *observer) []string {
	var fail []string
	failf := func(format string, args ...any) { fail = append(fail, fmt.Sprintf(format, args...)) }

	// Planted files outside the workspace, the workspace's .git, the policy folder, the host's home
	// secret: content, mode, owner, mtime and existence.
	after, err := snapshot(watched...)
	if err != nil {
		failf("snapshot: %v", err)
	}
	for _, d := range diffSnapshots(before, after) {
		failf("planted file %s", d)
	}
	// Nothing appeared where the sandbox may not write (each attack names what it creates after its
	// marker).
	if m := s.canaries(fx); len(m) > 0 {
		failf("created outside the workspace: %q", m)
	}
	var names []string
	ents, err := os.ReadDir(fx.base)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if err != nil || !slices.Equal(names, fx.baseNames) {
		failf("the folder around the workspace now holds %q (%v), not %q", names, err, fx.baseNames)
	}
	// The audit log is checked as a whole at the end (Verify, one entry per attack).

	// Secrets: not in the output, not in any file or name in the workspace.
	files, content, err := fx.scanWorkspace(lim.FileSize)
	if err != nil {
		failf("scan workspace: %v", err)
	}
	for i, sec := range secrets {
		for _, where := range []struct {
			name string
			b    []byte
		}{{"stdout", res.Stdout}, {"stderr", res.Stderr}, {"the workspace", content}} {
			if bytes.Contains(where.b, []byte(sec)) {
				failf("secret %d (%.12s…) found in %s", i, sec, where.name)
			}
		}
	}
	for _, f := range files {
		base := filepath.Base(f.path)
		switch {
		case f.new && (f.uid != uid || f.gid != gid):
			failf("%s was created as uid %d gid %d: privileges were gained", f.path, f.uid, f.gid)
		case f.mode&fs.ModeDevice != 0:
			failf("device node %s (%v) was created", f.path, f.mode)
		case strings.HasPrefix(base, "PWNED"):
			failf("the attack left its proof of success %s", f.path)
		case strings.HasPrefix(base, "LATE"):
			failf("a process outlived the attack and wrote %s", f.path)
		case f.size > lim.FileSize:
			failf("%s is %d bytes, above the file-size limit %d", f.path, f.size, lim.FileSize)
		}
	}

	// Network: nothing reached a listener.
	fx.net.close()
	for _, h := range fx.net.Hits() {
		failf("a host listener was reached: %s", h)
	}

	// Processes: nothing of the attack is left.
	if left := processesWith(fx.marker); len(left) > 0 {
		failf("processes outlived the sandbox: %q", left)
	}

	// Limits: the attack ended within bounded time, by the expected limit or signal.
	if res.Duration > lim.Wall+15*time.Second {
		failf("ran for %v with a wall limit of %v", res.Duration, lim.Wall)
	}
	switch {
	case obs != nil && (a.Stop == sandbox.LimitMemory || a.Stop == sandbox.LimitPids):
		// Without a cgroup Result never reports these limits: judge by what the host saw.
		fail = append(fail, obs.judge(a.Stop, lim)...)
	case a.Stop == sandbox.LimitFileSize:
		// The target is pid 1 of its namespace, and the kernel does not deliver SIGXFSZ (a signal
		// whose default action would kill it) to a namespace's init: its write fails with EFBIG and
		// Result does not report the limit. Judge by the effect: some file reached the limit exactly
		// and none went past it (checked above), and the attack ended on its own.
		largest := int64(0)
		for _, f := range files {
			largest = max(largest, f.size)
		}
		if largest != lim.FileSize {
			failf("no file reached the file-size limit %d (largest %d): the attack did not fill the disk as far as it may", lim.FileSize, largest)
		}
		if res.Killed != "" && res.Killed != sandbox.LimitFileSize {
			failf("killed by the %s limit, not stopped by the file-size limit", res.Killed)
		}
	case a.Stop != "" && res.Killed != a.Stop && !slices.Contains(res.Hit, a.Stop):
		failf("not stopped by the %s limit: killed %q, hit %v, exit %d, signal %v", a.Stop, res.Killed, res.Hit, res.ExitCode, res.Signal)
	}
	if a.Signal != "" {
		want, ok := signals[a.Signal]
		if !ok || res.Signal != want {
			failf("ended with signal %v, exit %d; want %s", res.Signal, res.ExitCode, a.Signal)
		}
	}
	return fail
}

// canaries returns the files named after the attack's marker in host folders outside the workspace.
func (s *suite) canaries(fx *fixture) []string {
	var found []string
	for _, dir := range []string{"/", "/etc", "/usr", "/usr/local", "/usr/bin", "/tmp", "/var/tmp", "/dev/shm", "/root", "/home",
		fx.home, filepath.Join(fx.home, "policy"), s.root, fx.base, fx.outside, fx.hidden} {
		m, _ := filepath.Glob(filepath.Join(dir, fx.marker+"*"))
		found = append(found, m...)
	}
	return found
}

var signals = map[string]syscall.Signal{"SIGSYS": syscall.SIGSYS, "SIGKILL": syscall.SIGKILL, "SIGXFSZ": syscall.SIGXFSZ}

// survivors looks again, after the survivors' delay, for processes and late writes.
func (fx *fixture) survivors() []string {
	var fail []string
	if left := processesWith(fx.marker); len(left) > 0 {
		fail = append(fail, fmt.Sprintf("processes alive %v after the sandbox ended: %q", lateWait, left))
	}
	if m, _ := filepath.Glob(filepath.Join(fx.ws, "LATE*")); len(m) > 0 {
		fail = append(fail, fmt.Sprintf("a survivor wrote %q after the sandbox ended", m))
	}
	return fail
}

// outcome is the table's word for how an attack ended; nonRoot selects the words of the non-root
// run, whose memory and pids limits are rlimits judged by what the host saw.
func outcome(a *attack, fail []string, nonRoot bool, lim sandbox.Limits) string {
	switch {
	case len(fail) > 0:
		return "**NOT BLOCKED**: " + strings.ReplaceAll(fail[0], "|", "/")
	case nonRoot && a.Stop == sandbox.LimitMemory:
		return fmt.Sprintf("held at the `memory` limit without a cgroup (%d MiB per process by RLIMIT_DATA, per tmpfs by its size)", lim.Memory>>20)
	case nonRoot && a.Stop == sandbox.LimitPids:
		return fmt.Sprintf("held at the `pids` limit without a cgroup (at most %d tasks, RLIMIT_NPROC)", lim.Pids)
	case a.Stop == sandbox.LimitFileSize:
		return "held at the `filesize` limit (EFBIG)"
	case a.Stop != "":
		return "stopped by the `" + string(a.Stop) + "` limit"
	case a.Signal != "":
		return "killed by " + a.Signal
	default:
		return "blocked"
	}
}

// processesWith returns the host processes whose command line contains marker.
func processesWith(marker string) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []string{"cannot read /proc: " + err.Error()}
	}
	var pids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(marker)) {
			pids = append(pids, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return pids
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
