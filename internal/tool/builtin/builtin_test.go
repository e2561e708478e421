package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/tool"
	"github.com/seance-dev/seance/internal/workspace"
)

// TestMain lets the test binary serve as its own sandbox child.
func TestMain(m *testing.M) {
	sandbox.MaybeChild()
	os.Exit(m.Run())
}

func newWorkspace(t *testing.T) *workspace.Workspace {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ws, err := workspace.Create(context.Background(), t.TempDir(), workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// invoke validates args like the runtime does, then calls the tool directly.
func invoke(t *testing.T, reg *tool.Registry, env tool.Env, name string, args any) (tool.Result, error) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Validate(name, b); err != nil {
		return tool.Result{}, err
	}
	for _, tl := range Tools(Options{HTTP: &HTTPOptions{}}) {
		if tl.Spec().Name == name {
			if _, err := tl.Plan(b); err != nil {
				return tool.Result{}, err
			}
		}
	}
	var res tool.Result
	_, err = env.Workspace.Do(context.Background(), workspace.Call{Agent: env.Agent, Tool: name}, func(ctx context.Context) error {
		var cerr error
		res, cerr = find(t, reg, name).Call(ctx, env, b)
		return cerr
	})
	return res, err
}

func find(t *testing.T, reg *tool.Registry, name string) tool.Tool {
	t.Helper()
	for _, tl := range Tools(Options{HTTP: &HTTPOptions{}}) {
		if tl.Spec().Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

func allPolicy() policy.Policy {
	return policy.Policy{Agent: "a", Read: []string{"**"}, Write: []string{"**"}, Default: policy.Auto}
}

func TestFileTools(t *testing.T) {
	ws := newWorkspace(t)
	reg, err := Registry(Options{})
	if err != nil {
		t.Fatal(err)
	}
	pol := allPolicy()
	pol.Read = []string{"src/**", "docs/**"}
	pol.Write = nil
	env := tool.Env{Agent: "a", Workspace: ws, Policy: pol}
	must := func(res tool.Result, err error) tool.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	must(invoke(t, reg, env, "write_file", map[string]string{"path": "src/main.go", "content": "package main\n// TODO: fix\n"}))
	must(invoke(t, reg, env, "write_file", map[string]string{"path": "src/sub/x.txt", "content": "todo: lower\nTODO upper\n"}))
	must(invoke(t, reg, env, "write_file", map[string]string{"path": "private/TODO.txt", "content": "TODO hidden\n"}))
	if err := os.Symlink("/etc", filepath.Join(ws.Dir(), "src", "etc")); err != nil {
		t.Fatal(err)
	}

	res := must(invoke(t, reg, env, "read_file", map[string]string{"path": "src/main.go"}))
	if res.Content != "package main\n// TODO: fix\n" || res.BytesOut != int64(len(res.Content)) {
		t.Errorf("read_file %+v", res)
	}
	res = must(invoke(t, reg, env, "list_dir", map[string]string{"path": "src"}))
	for _, w := range []string{"src/main.go (26 bytes)", "src/sub/", "src/etc (symbolic link)"} {
		if !strings.Contains(res.Content, w) {
			t.Errorf("list_dir %q lacks %q", res.Content, w)
		}
	}
	res = must(invoke(t, reg, env, "search_files", map[string]any{"pattern": "TODO"}))
	want := "src/main.go:2: // TODO: fix\nsrc/sub/x.txt:2: TODO upper\n"
	if !strings.HasPrefix(res.Content, want) || strings.Contains(res.Content, "hidden") || !strings.Contains(res.Content, "1 files skipped") {
		t.Errorf("search_files %q: want %q first, the private file skipped", res.Content, want)
	}
	res = must(invoke(t, reg, env, "search_files", map[string]any{"pattern": "(?i)todo", "path": "src/sub", "glob": "*.txt"}))
	if res.Content != "src/sub/x.txt:1: todo: lower\nsrc/sub/x.txt:2: TODO upper\n" {
		t.Errorf("search_files in src/sub %q", res.Content)
	}
	res = must(invoke(t, reg, env, "search_files", map[string]any{"pattern": "a.b", "literal": true}))
	if !strings.HasPrefix(res.Content, "no matches\n") {
		t.Errorf("literal search %q", res.Content)
	}
	// Escapes are errors, not reads.
	for _, p := range []string{"src/etc/passwd", "../x", "/etc/passwd", ".git/config"} {
		if _, err := invoke(t, reg, env, "read_file", map[string]string{"path": p}); err == nil {
			t.Errorf("read_file %s succeeded", p)
		}
	}
	if _, err := invoke(t, reg, env, "search_files", map[string]any{"pattern": "("}); err == nil {
		t.Error("an invalid regular expression was accepted")
	}
}

func TestRunArgvInTheSandbox(t *testing.T) {
	needRoot(t)
	ws := newWorkspace(t)
	reg, err := Registry(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFile("in.txt", []byte("root wrote this\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := tool.Env{Agent: "a", Workspace: ws, Policy: allPolicy()}
	// The argument is one argv element: no shell ever splits or expands it.
	res, err := invoke(t, reg, env, "run", map[string]any{"argv": []string{"/bin/sh", "-c", `cat in.txt; echo "$1" > out.txt; echo appended >> in.txt`, "sh", "a; rm -rf /"}, "stdin": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit == nil || *res.Exit != 0 || !strings.Contains(res.Content, "root wrote this") {
		t.Fatalf("run %+v", res)
	}
	if b, _ := ws.ReadFile("out.txt", 0); string(b) != "a; rm -rf /\n" {
		t.Errorf("out.txt %q", b)
	}
	if b, _ := ws.ReadFile("in.txt", 0); string(b) != "root wrote this\nappended\n" {
		t.Errorf("in.txt %q: the sandbox could not write a file root created", b)
	}
	// .git stays read-only.
	res, err = invoke(t, reg, env, "run", map[string]any{"argv": []string{"/bin/sh", "-c", "echo x > .git/config"}})
	if err != nil || res.Exit == nil || *res.Exit == 0 {
		t.Errorf("writing .git: %+v %v", res, err)
	}
	// The policy's limits narrow the sandbox's.
	env.Policy.Limits.Wall = 300e6
	res, err = invoke(t, reg, env, "run", map[string]any{"argv": []string{"sleep", "5"}})
	if err != nil || !strings.Contains(res.Content, "killed: wall") || !res.IsError {
		t.Errorf("wall limit: %+v %v", res, err)
	}
	if _, err := invoke(t, reg, env, "run", map[string]any{"argv": []string{"no-such-program-xyz"}}); err == nil {
		t.Error("a missing program is not an error")
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the sandbox needs root here (cgroups); CI runs as root")
	}
}

func TestRunCodeLanguages(t *testing.T) {
	needRoot(t)
	ws := newWorkspace(t)
	reg, err := Registry(Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := tool.Env{Agent: "a", Workspace: ws, Policy: allPolicy()}
	sources := map[string]string{
		"sh":      `echo sh > sh.out; echo ok`,
		"bash":    `x=(b a s h); IFS=; echo "${x[*]}" > bash.out; echo ok`,
		"python3": "open('python3.out','w').write('python3\\n'); print('ok')",
		"perl":    `open(my $f, '>', 'perl.out') or die; print $f "perl\n"; print "ok\n";`,
		"node":    `require('fs').writeFileSync('node.out', 'node\n'); console.log('ok')`,
		"c":       "#include <stdio.h>\nint main(void){FILE*f=fopen(\"c.out\",\"w\");fputs(\"c\\n\",f);fclose(f);puts(\"ok\");return 0;}\n",
		"go":      "package main\nimport (\"fmt\"; \"os\")\nfunc main(){ os.WriteFile(\"go.out\", []byte(\"go\\n\"), 0o644); fmt.Println(\"ok\") }\n",
	}
	langs := Languages(SandboxOptions{})
	t.Logf("languages: %v", langs)
	for _, l := range langs {
		if l == "go" && testing.Short() {
			continue // a cold build cache makes this take tens of seconds
		}
		src, ok := sources[l]
		if !ok {
			t.Errorf("no test source for detected language %s", l)
			continue
		}
		res, err := invoke(t, reg, env, "run_code", map[string]any{"language": l, "source": src})
		if err != nil {
			t.Errorf("%s: %v", l, err)
			continue
		}
		if res.Exit == nil || *res.Exit != 0 || !strings.Contains(res.Content, "ok") {
			t.Errorf("%s: %s", l, res.Content)
			continue
		}
		b, err := ws.ReadFile(l+".out", 0)
		if err != nil || string(b) != (map[string]string{"bash": "bash"}[l]+map[bool]string{true: l, false: ""}[l != "bash"])+"\n" {
			t.Errorf("%s wrote %q, %v", l, b, err)
		}
	}
	if _, err := invoke(t, reg, env, "run_code", map[string]any{"language": "cobol", "source": "x"}); err == nil {
		t.Error("an unknown language was accepted")
	}
}

func TestLimitsOnlyNarrow(t *testing.T) {
	p := newProcs(SandboxOptions{})
	def := sandbox.DefaultLimits()
	l := p.limits(policy.Limits{MemoryBytes: 1 << 40, Wall: 5e9}, 2, sandbox.Limits{})
	if l.Memory != def.Memory || l.Wall != 2e9 {
		t.Errorf("limits %+v: a policy must not raise memory; the timeout must lower wall", l)
	}
	l = p.limits(policy.Limits{MemoryBytes: 1 << 20}, 0, sandbox.Limits{Memory: 1 << 30})
	if l.Memory != 1<<20 {
		t.Errorf("memory %d: the policy must cap a language's raised default", l.Memory)
	}
}

// fetchEnv returns an http_fetch tool and an Env whose policy allows hosts.
func fetchCall(t *testing.T, hosts []string, res Resolver, url string) (tool.Result, error) {
	t.Helper()
	tl := httpFetch(HTTPOptions{Resolver: res, MaxBody: 64})
	pol := allPolicy()
	pol.Hosts = hosts
	args, _ := json.Marshal(map[string]string{"url": url})
	pc, err := tl.Plan(args)
	if err != nil {
		return tool.Result{}, err
	}
	pc.Tool = "http_fetch"
	if d := pol.Decide(pc); d.Verdict != policy.Allow {
		return tool.Result{}, fmt.Errorf("policy: %s", d.Reason)
	}
	return tl.Call(context.Background(), tool.Env{Agent: "a", Policy: pol}, args)
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestHTTPFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "http://evil.test/", http.StatusFound)
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 100))
		default:
			fmt.Fprint(w, "hello from the test server")
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	loop := netip.MustParseAddr("127.0.0.1")
	res := fakeResolver{"local.test": {loop}, "evil.test": {loop}}

	got, err := fetchCall(t, []string{"127.0.0.1"}, res, srv.URL+"/")
	if err != nil || !strings.Contains(got.Content, "HTTP 200 OK") || !strings.Contains(got.Content, "hello from the test server") {
		t.Fatalf("allowed literal address: %+v %v", got, err)
	}
	got, err = fetchCall(t, []string{"127.0.0.1"}, res, srv.URL+"/big")
	if err != nil || !strings.Contains(got.Content, "cut at 64 bytes") || got.BytesOut != 64 {
		t.Errorf("body limit: %+v %v", got, err)
	}
	// A host the policy names that resolves to loopback is refused when connecting.
	_, err = fetchCall(t, []string{"local.test"}, res, fmt.Sprintf("http://local.test:%d/", port))
	if err == nil || !strings.Contains(err.Error(), "does not allow") {
		t.Errorf("name resolving to loopback: %v", err)
	}
	// A host the policy does not name never gets a request.
	if _, err = fetchCall(t, []string{"127.0.0.1"}, res, fmt.Sprintf("http://local.test:%d/", port)); err == nil {
		t.Error("a host outside the policy was fetched")
	}
	// Redirects leave the allowed hosts only to be refused.
	_, err = fetchCall(t, []string{"127.0.0.1"}, res, srv.URL+"/redirect")
	if err == nil || !strings.Contains(err.Error(), "redirect to evil.test") {
		t.Errorf("redirect: %v", err)
	}
	// A policy host with a port allows that port only, in the policy and when dialling.
	if got, err := fetchCall(t, []string{fmt.Sprintf("127.0.0.1:%d", port)}, res, srv.URL+"/"); err != nil || !strings.Contains(got.Content, "HTTP 200 OK") {
		t.Errorf("the granted port: %+v %v", got, err)
	}
	if _, err := fetchCall(t, []string{fmt.Sprintf("127.0.0.1:%d", port+1)}, res, srv.URL+"/"); err == nil || !strings.Contains(err.Error(), "may not connect to 127.0.0.1:") {
		t.Errorf("another port: %v", err)
	}
	if _, err := fetchCall(t, []string{"127.0.0.1"}, res, "file:///etc/passwd"); err == nil {
		t.Error("a file URL was accepted")
	}
}

func TestDialControlRefusesUnlistedAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pol := allPolicy()
	pol.Hosts = []string{"127.0.0.1"}
	dial := guardedDial(fakeResolver{}, pol)
	c, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("listed address: %v", err)
	}
	c.Close()
	pol.Hosts = []string{"localhost"}
	dial = guardedDial(fakeResolver{"localhost": {netip.MustParseAddr("127.0.0.1")}}, pol)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if _, err := dial(context.Background(), "tcp", net.JoinHostPort("localhost", port)); err == nil {
		t.Error("a name resolving to loopback was dialled")
	}
	for _, a := range []string{"10.1.2.3", "192.168.0.1", "169.254.169.254", "100.64.0.1", "::1", "fe80::1", "0.0.0.0"} {
		if addrAllowed(pol, netip.MustParseAddr(a)) {
			t.Errorf("%s allowed", a)
		}
	}
	if !addrAllowed(pol, netip.MustParseAddr("93.184.216.34")) {
		t.Error("a public address refused")
	}
}
