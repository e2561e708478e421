//go:build linux && (amd64 || arm64)

package redteam

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/sandbox"
)

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	n int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.n - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// control runs an attack unsandboxed on the host, as the sandbox's uid, against a fixture of its own
// (with its own home, policy folder and audit log), and returns what the judge found. The attack must
// succeed there: an attack that does nothing, or a check that cannot see its effect, would otherwise
// pass in the sandbox without proving anything.
func (s *suite) control(t *testing.T, a *attack) []string {
	base := filepath.Join(s.root, "control", a.Name)
	home := filepath.Join(base, "home")
	must(t, writeFiles(home, map[string]string{
		"policy/default.yaml": "default: ask\n",
		"audit.log":           "{\"seq\":1}\n",
	}))
	must(t, chownTree(home))
	fx, err := newFixture(base, a.Name, "c", home, filepath.Join(s.binDir, "suid-helper"), "")
	must(t, err)
	// The sandbox uid must reach the fixture through the temporary folders above it.
	for d := s.root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		must(t, os.Chmod(d, 0o755))
	}
	must(t, os.Chmod(filepath.Join(s.root, "control"), 0o755))
	hiddenSecret := "hidden-secret-" + randomHex(12)
	must(t, os.WriteFile(filepath.Join(fx.hidden, "secret.txt"), []byte(hiddenSecret+"\n"), 0o644))
	must(t, os.Chown(filepath.Join(fx.hidden, "secret.txt"), uid, gid))
	must(t, fx.listen())
	defer fx.net.close()
	argv, _, err := a.program(fx.ws, s.binDir, fx.marker)
	must(t, err)
	must(t, fx.recordWorkspace())
	watched := []string{fx.outside, fx.hidden, filepath.Join(fx.ws, ".git"), home, fx.suidWS}
	before, err := snapshot(watched...)
	must(t, err)
	defer func() {
		for _, p := range s.canaries(fx) {
			os.RemoveAll(p)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = fx.ws
	cmd.Env = fx.env(s)
	stdout, stderr := &limitedBuffer{n: 64 << 10}, &limitedBuffer{n: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}, Setpgid: true}
	start := time.Now()
	err = cmd.Run()
	// The program was just written: a process another test forked at that moment may still hold the
	// descriptor (until it executes), and exec then fails with ETXTBSY. Try again, briefly.
	for i := 0; i < 10 && errors.Is(err, syscall.ETXTBSY); i++ {
		time.Sleep(50 * time.Millisecond)
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = fx.ws, fx.env(s), stdout, stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}, Setpgid: true}
		err = cmd.Run()
	}
	// A connection the attack made just before it ended may still wait in a listener's backlog:
	// give the listeners a moment to accept it before the judge closes them.
	time.Sleep(250 * time.Millisecond)
	// Survivors of the outlive attacks must be left alone to show that they survive (they end by
	// themselves once they have written their file); everything else is killed with its group.
	if cmd.Process != nil && a.Category != "outlive" {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	res := sandbox.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start)}
	plain := *a
	plain.Stop, plain.Signal = "", ""
	found := s.judge(&plain, fx, res, suiteLimits, append([]string{hiddenSecret}, s.secrets...), before, watched, nil)
	if a.Category == "outlive" {
		time.Sleep(lateWait)
		found = append(found, fx.survivors()...)
	}
	if len(found) == 0 {
		t.Errorf("%s: the positive control found no effect when the attack ran unsandboxed on the host (%v)\nstdout: %s\nstderr: %s",
			a.Name, err, clip(res.Stdout), clip(res.Stderr))
	}
	return found
}
