package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/app"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
)

func TestApprovalsCommands(t *testing.T) {
	r, home := homeRunner(t)
	ctx := context.Background()
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := "serve:\n  api_keys: [sk-user]\n  approver_keys: [sk-boss]\n"
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// A real server with a real tool runtime, in this process.
	cfg, err := config.Load(config.MapEnv(map[string]string{"HOME": r.user}), config.Flags{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tools, err := a.ServeTools(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln, "test") }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	server := "http://" + ln.Addr().String()

	code, _, errs := r.run("", "approvals", "list", "--url", server)
	if code != 0 || !strings.Contains(errs, "no request is waiting") {
		t.Fatalf("empty list: exit %d %s", code, errs)
	}
	// Requests as an agent's ask makes them: pending in the policy store.
	first, err := tools.Policies.Request(ctx, "scribe", "r1", policy.Capability{Kind: policy.KindCall, Value: `{"path":"a.txt"}`}, "write_file is ask")
	if err != nil {
		t.Fatal(err)
	}
	second, err := tools.Policies.Request(ctx, "scribe", "r1", policy.Capability{Kind: policy.KindCall, Value: `{"path":"b.txt"}`}, "write_file is ask")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := r.run("", "approvals", "list", "--url", server)
	if code != 0 || !strings.Contains(out, first.ID) || !strings.Contains(out, second.ID) || !strings.Contains(out, "scribe") {
		t.Fatalf("list: exit %d %s\n%s", code, errs, out)
	}
	code, out, _ = r.run("", "approvals", "list", "--url", server, "--json", "--key", "sk-user")
	var list []approval
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0].ID != first.ID || list[0].Capability.Kind != "call" {
		t.Fatalf("list --json with an ordinary key: exit %d\n%s", code, out)
	}
	// An ordinary key may not decide.
	code, _, errs = r.run("", "approvals", "grant", first.ID, "--url", server, "--key", "sk-user")
	if code != 1 || !strings.Contains(errs, "403") {
		t.Errorf("grant with an ordinary key: exit %d %s", code, errs)
	}
	// The config's approver key is the default.
	code, out, errs = r.run("", "approvals", "grant", first.ID, "--url", server, "--by", "ada")
	if code != 0 || !strings.Contains(out, "granted by ada (key:") {
		t.Fatalf("grant: exit %d %s\n%s", code, errs, out)
	}
	code, out, errs = r.run("", "approvals", "deny", second.ID, "--url", server, "--note", "not now")
	if code != 0 || !strings.Contains(out, "denied") || !strings.Contains(out, "not now") {
		t.Fatalf("deny: exit %d %s\n%s", code, errs, out)
	}
	for _, c := range []struct {
		id   string
		want policy.Status
	}{{first.ID, policy.Granted}, {second.ID, policy.Denied}} {
		got, err := tools.Policies.Get(c.id)
		if err != nil || got.Status != c.want || !strings.HasPrefix(got.By, "key:") && !strings.HasPrefix(got.By, "ada (key:") {
			t.Errorf("request %s: %+v %v", c.id, got, err)
		}
	}
	es, err := audit.Show(a.AuditPath(), audit.Filter{Kind: "deny"})
	if err != nil || len(es) != 1 || !strings.Contains(es[0].Reason, "not now") {
		t.Errorf("deny audit %+v %v", es, err)
	}
	// A capability (not one call): granting it widens the agent's policy, recorded in the home.
	wider, err := tools.Policies.Request(ctx, "scribe", "r1", policy.Capability{Kind: policy.KindWrite, Value: "drafts/**"}, "needs drafts")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := r.run("", "approvals", "grant", wider.ID, "--url", server, "--json"); code != 0 || !strings.Contains(out, `"status": "granted"`) {
		t.Fatalf("grant a capability: exit %d %s\n%s", code, errs, out)
	}
	if p := tools.Policies.Policy("scribe"); !slices.Contains(p.Write, "drafts/**") {
		t.Errorf("granted capability missing from the policy: %v", p.Write)
	}
	if b, err := os.ReadFile(filepath.Join(home, "policy", "grants.yaml")); err != nil || !strings.Contains(string(b), "drafts/**") {
		t.Errorf("grants.yaml: %q %v", b, err)
	}
	code, _, errs = r.run("", "approvals", "deny", second.ID, "--url", server)
	if code != 1 || !strings.Contains(errs, "409") {
		t.Errorf("deciding twice: exit %d %s", code, errs)
	}
	code, _, errs = r.run("", "approvals", "show", "nope", "--url", server)
	if code != 1 || !strings.Contains(errs, "404") {
		t.Errorf("unknown id: exit %d %s", code, errs)
	}
	if code, _, _ = r.run("", "approvals", "frobnicate", "--url", server); code != 2 {
		t.Errorf("unknown verb: exit %d", code)
	}
}

// serveStderr is the error stream of a `seance serve` running in a goroutine.
type serveStderr struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *serveStderr) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *serveStderr) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServeWorkspaceFlag(t *testing.T) {
	r, _ := homeRunner(t)
	serve := func(args ...string) (banner string, approvals int) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		errb := &serveStderr{}
		done := make(chan int, 1)
		go func() {
			done <- Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), Stdio{In: strings.NewReader(""), Out: io.Discard, Err: errb},
				func(k string) (string, bool) { return map[string]string{"HOME": r.user}[k], k == "HOME" })
		}()
		defer func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve %v: exit %d\n%s", args, code, errb)
			}
		}()
		addr := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)/v1`)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if m := addr.FindStringSubmatch(errb.String()); m != nil {
				res, err := http.Get(m[1] + "/v1/approvals")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return errb.String(), res.StatusCode
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("serve %v did not start:\n%s", args, errb)
		return "", 0
	}
	banner, status := serve()
	if status != 404 || !strings.Contains(banner, "no workspace") {
		t.Errorf("without --workspace: approvals %d, banner %q", status, banner)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	banner, status = serve("--workspace", ws)
	if status != 200 || !strings.Contains(banner, ws) {
		t.Errorf("with --workspace: approvals %d, banner %q", status, banner)
	}
	if st, err := os.Stat(filepath.Join(ws, ".git")); err != nil || !st.IsDir() {
		t.Errorf("the workspace was not created: %v", err)
	}
}
