//go:build linux && (amd64 || arm64)

package redteam

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/tool"
)

// The hosts the "redteam-net" agent's policy grants: an address on the host's loopback where the
// harness serves the allowed target, and a name that the proxy's resolver answers with 127.0.0.1 (a
// DNS-rebinding name) — 127.0.0.1 itself, where the fixture's listeners are, is not granted.
const (
	allowedHost = "127.0.0.2"
	rebindHost  = "rebind.test"
)

// agentFor is the agent an attack runs as: attacks of the proxy category run with a policy that
// grants hosts (so the sandbox gets the proxy), every other attack with one that grants none.
func agentFor(a *attack) string {
	if a.Category == "proxy" {
		return "redteam-net"
	}
	return "redteam"
}

// refusedSome reports whether a run's network summary records at least one refused attempt.
func refusedSome(network string) bool {
	_, rest, ok := strings.Cut(network, " allowed, ")
	if !ok {
		return false
	}
	n, _, _ := strings.Cut(rest, " ")
	k, err := strconv.Atoi(n)
	return err == nil && k > 0
}

// rebindResolver answers rebindHost with 127.0.0.1 and nothing else.
type rebindResolver struct{}

func (rebindResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == rebindHost {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// allowedTarget is the HTTP server on allowedHost that the proxy attacks may reach.
type allowedTarget struct {
	addr string
}

func newAllowedTarget(t *testing.T) *allowedTarget {
	t.Helper()
	ln, err := net.Listen("tcp4", allowedHost+":0")
	must(t, err)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "allowed target")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return &allowedTarget{addr: ln.Addr().String()}
}

// headRE reads the first line of a run result (internal/tool/builtin's process.go writes it).
var headRE = regexp.MustCompile(`^exit status (-?\d+)(?: \(signal (\d+)\))?(?:; killed: ([a-z]+) limit)?(?:; limits hit: ([a-z, ]+))?; `)

// runResult recovers what the sandbox reported from the result the run tool returned to the model:
// the harness sees only what the tool runtime sees.
func runResult(rec tool.Record) (sandbox.Result, error) {
	var res sandbox.Result
	res.Duration = rec.Duration
	if rec.Result.Exit == nil {
		return res, fmt.Errorf("the run call did not run: %s", rec.Error)
	}
	c := rec.Result.Content
	m := headRE.FindStringSubmatch(c)
	if m == nil {
		return res, fmt.Errorf("unreadable run result %q", clip([]byte(c)))
	}
	res.ExitCode, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		n, _ := strconv.Atoi(m[2])
		res.Signal = syscall.Signal(n)
	}
	res.Killed = sandbox.LimitKind(m[3])
	for _, h := range strings.Split(m[4], ", ") {
		if h != "" {
			res.Hit = append(res.Hit, sandbox.LimitKind(h))
		}
	}
	out, errOut := "", ""
	if i := strings.Index(c, "\n--- stdout ---\n"); i >= 0 {
		out = c[i+len("\n--- stdout ---\n"):]
	}
	if i := strings.Index(c, "\n--- stderr ---\n"); i >= 0 {
		errOut = c[i+len("\n--- stderr ---\n"):]
		if j := strings.Index(out, "\n--- stderr ---\n"); j >= 0 {
			out = out[:j+1]
		}
	}
	res.Stdout, res.Stderr = []byte(out), []byte(errOut)
	return res, nil
}

// gitWatched are the parts of a workspace's .git that no tool call may change (the runtime's own
// commits change objects, refs, the index and logs; gitIntact checks those).
func gitWatched(ws string) []string {
	var out []string
	for _, n := range []string{"config", "HEAD", "hooks", "info", "description"} {
		out = append(out, filepath.Join(ws, ".git", n))
	}
	return out
}

func gitHead(ws string) (string, error) {
	out, err := exec.Command("git", "--git-dir", filepath.Join(ws, ".git"), "rev-parse", "HEAD").Output()
	return strings.TrimSpace(string(out)), err
}

// gitIntact checks the workspace's history after a call: the repository is sound, the commit the
// harness saw before the call is still an ancestor of HEAD, and HEAD is the runtime's commit when the
// call made one.
func gitIntact(ws, before, commit string) []string {
	var fail []string
	if out, err := exec.Command("git", "--git-dir", filepath.Join(ws, ".git"), "fsck", "--no-progress").CombinedOutput(); err != nil {
		fail = append(fail, fmt.Sprintf("git fsck of the workspace failed: %v %s", err, out))
	}
	if err := exec.Command("git", "--git-dir", filepath.Join(ws, ".git"), "merge-base", "--is-ancestor", before, "HEAD").Run(); err != nil {
		fail = append(fail, fmt.Sprintf("the workspace's history lost commit %s: %v", before, err))
	}
	if head, err := gitHead(ws); err != nil || commit != "" && head != commit {
		fail = append(fail, fmt.Sprintf("HEAD is %s (%v), not the runtime's commit %s", head, err, commit))
	}
	return fail
}
