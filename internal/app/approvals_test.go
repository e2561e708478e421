package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/httpapi"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/llmtest"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/workspace"
)

// TestMain lets the test binary serve as its own sandbox child (run_code re-executes it).
func TestMain(m *testing.M) {
	sandbox.MaybeChild()
	os.Exit(m.Run())
}

// toolServer is a real App serving on 127.0.0.1 whose agents run on scripted models ("script:NAME"
// references) with real tools in a real workspace.
type toolServer struct {
	a      *App
	base   string // http://127.0.0.1:PORT/v1/
	ws     string // the workspace folder ("" without tools)
	tools  *Tools
	models map[string]*llmtest.Scripted
}

// startToolServer writes config yaml and home files (paths relative to the home), registers the
// scripted models, opens the served tool runtime when withWorkspace, and serves.
func startToolServer(t *testing.T, yaml string, files map[string]string, models map[string]*llmtest.Scripted, withWorkspace bool) *toolServer {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	user := t.TempDir()
	home := filepath.Join(user, ".seance")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.MapEnv(map[string]string{"HOME": user}), config.Flags{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.reg.Register("script", func(_ context.Context, u *url.URL) (llm.Model, error) {
		m, ok := models[u.Opaque]
		if !ok {
			return nil, fmt.Errorf("no scripted model %q", u.Opaque)
		}
		return m, nil
	})
	ctx := context.Background()
	if _, err := a.InitHome(ctx); err != nil {
		t.Fatal(err)
	}
	for rel, data := range files {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &toolServer{a: a, models: models}
	if withWorkspace {
		s.ws = filepath.Join(t.TempDir(), "ws")
		if s.tools, err = a.ServeTools(ctx, s.ws); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln, "test") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := s.tools.Close(); err != nil {
			t.Errorf("close tools: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	s.base = "http://" + ln.Addr().String() + "/v1/"
	return s
}

func (s *toolServer) client(key string) sdk.Client {
	return sdk.NewClient(option.WithBaseURL(s.base), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(60*time.Second))
}

// complete asks model for a completion and returns its answer and the team run's id.
func (s *toolServer) complete(t *testing.T, key, model, prompt string) (string, string, error) {
	t.Helper()
	var header http.Header
	client := s.client(key)
	resp, err := client.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model:    model,
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage(prompt)},
	}, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(r)
		if res != nil {
			header = res.Header
		}
		return res, err
	}))
	if err != nil {
		return "", "", err
	}
	return resp.Choices[0].Message.Content, header.Get(httpapi.RunHeader), nil
}

// call does one HTTP request with an optional bearer key and JSON body, returning status and body.
func (s *toolServer) call(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// waitPending long-polls GET /v1/approvals until n requests are pending.
func (s *toolServer) waitPending(t *testing.T, key string, n int) []httpapi.Approval {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, body := s.call(t, "GET", "approvals?wait=5", key, "")
		if code != 200 {
			t.Fatalf("GET approvals: %d %s", code, body)
		}
		var list struct {
			Object string
			Data   []httpapi.Approval
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		if list.Object != "list" {
			t.Fatalf("list object %q", list.Object)
		}
		if len(list.Data) >= n {
			return list.Data
		}
	}
	t.Fatalf("no %d pending approvals after 30s", n)
	return nil
}

func toolCall(id, name string, args map[string]string) llmtest.Turn {
	b, _ := json.Marshal(args)
	return llmtest.Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: id, Name: name, Arguments: string(b)}}}}}
}

// answer is a final turn; check, when set, inspects the tool result the model receives.
func answer(text string, check func(result string) error) llmtest.Turn {
	return llmtest.Turn{Reply: chat.Response{Message: chat.Message{Content: text}}, Check: func(r *chat.Request) error {
		last := r.Messages[len(r.Messages)-1]
		if last.Role != chat.Tool {
			return fmt.Errorf("last message is %s, want the tool result", last.Role)
		}
		if check != nil {
			return check(last.Content)
		}
		return nil
	}}
}

// homeFiles is a one-member route team "desk" whose agent scribe writes files with model script:scribe.
func homeFiles(policy string) map[string]string {
	return map[string]string{
		"agents/scribe.md":   "---\nname: scribe\ndescription: writes files\nmodel: scribe-model\ntools: [write_file]\n---\nYou write files.\n",
		"teams/desk.yaml":    "name: desk\ndescription: one scribe\npattern: route\nmembers: [scribe]\n",
		"policy/scribe.yaml": policy,
	}
}

const scriptModels = "models:\n  scribe-model: script:scribe\n"

// gitShow returns the content of path at rev in the workspace (naming the git folder: after run_code
// the work tree belongs to the sandbox's uid, which git run as another user refuses as a -C folder).
func gitShow(t *testing.T, ws, rev, path string) (string, error) {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", filepath.Join(ws, ".git"), "show", rev+":"+path).CombinedOutput()
	return string(out), err
}

func TestServeTeamWithToolsCommitsOnItsRunBranch(t *testing.T) {
	scribe := llmtest.NewScripted(
		toolCall("c1", "write_file", map[string]string{"path": "first.txt", "content": "one"}),
		answer("wrote first", nil),
		toolCall("c2", "write_file", map[string]string{"path": "second.txt", "content": "two"}),
		answer("wrote second", nil),
	)
	s := startToolServer(t, scriptModels, homeFiles("write: ['**']\ndefault: auto\n"),
		map[string]*llmtest.Scripted{"scribe": scribe}, true)

	// Two runs at once: the workspace serves one at a time, each on its own branch.
	type result struct {
		text, run string
		err       error
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, run, err := s.complete(t, "unused", "desk", "write a file")
			results[i] = result{text, run, err}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	ws, err := workspace.Open(ctx, s.ws, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.run == "" || !strings.HasPrefix(r.text, "wrote ") {
			t.Fatalf("answer %q run %q", r.text, r.run)
		}
		name := strings.TrimPrefix(r.text, "wrote ") + ".txt"
		log, err := ws.RunLog(ctx, r.run, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Exactly this run's one call is on its branch, authored by the agent.
		if len(log) != 1 || log[0].Author.Name != "scribe" || !slices.Equal(log[0].Files, []string{name}) {
			t.Fatalf("run %s branch log %+v, want one commit of %s by scribe", r.run, log, name)
		}
		if got, err := gitShow(t, s.ws, "seance/run/"+r.run, name); err != nil || got != map[string]string{"first.txt": "one", "second.txt": "two"}[name] {
			t.Errorf("%s on run %s's branch: %q %v", name, r.run, got, err)
		}
		for _, other := range []string{"first.txt", "second.txt"} {
			if _, err := gitShow(t, s.ws, "seance/run/"+r.run, other); other != name && err == nil {
				t.Errorf("%s leaked onto run %s's branch", other, r.run)
			}
		}
		// The audit log names the call, its run and the commit.
		es, err := audit.Show(s.a.AuditPath(), audit.Filter{Kind: "call", Run: r.run})
		if err != nil || len(es) != 1 || es[0].Agent != "scribe" || es[0].Tool != "write_file" ||
			es[0].Commit != log[0].Hash || es[0].ApprovedBy != "policy" || !strings.Contains(string(es[0].Args), name) {
			t.Errorf("run %s audit %+v %v", r.run, es, err)
		}
		files[name] = r.run
	}
	if len(files) != 2 || results[0].run == results[1].run {
		t.Errorf("the two runs did not write two files on two branches: %v", files)
	}
	// Nothing reached main: approving is a person's business (seance ws approve).
	if _, err := gitShow(t, s.ws, "main", "first.txt"); err == nil {
		t.Error("a run's file is on main")
	}
	if n := len(s.tools.Policies.Pending()); n != 0 {
		t.Errorf("%d requests pending with an auto policy", n)
	}
}

func TestServeRunCodeInTheSandbox(t *testing.T) {
	coder := llmtest.NewScripted(
		llmtest.Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: "c1", Name: "run_code",
			Arguments: `{"language":"sh","source":"echo made-in-sandbox > out.txt; id -u"}`}}}}},
		answer("done", func(res string) error {
			if strings.Contains(res, "\n0\n") || strings.HasPrefix(res, "0\n") {
				return fmt.Errorf("the process ran as root: %q", res)
			}
			return nil
		}),
	)
	files := map[string]string{
		"agents/coder.md":   "---\nname: coder\ndescription: runs code\nmodel: coder-model\ntools: [run_code]\n---\n",
		"teams/lab.yaml":    "name: lab\ndescription: one coder\npattern: route\nmembers: [coder]\n",
		"policy/coder.yaml": "read: ['**']\nwrite: ['**']\nlanguages: [sh]\ndefault: auto\n",
	}
	s := startToolServer(t, "models:\n  coder-model: script:coder\n", files, map[string]*llmtest.Scripted{"coder": coder}, true)
	text, run, err := s.complete(t, "unused", "lab", "run it")
	if err != nil || text != "done" {
		t.Fatalf("%q %v", text, err)
	}
	if got, err := gitShow(t, s.ws, "seance/run/"+run, "out.txt"); err != nil || got != "made-in-sandbox\n" {
		t.Errorf("out.txt on the run branch: %q %v", got, err)
	}
	es, err := audit.Show(s.a.AuditPath(), audit.Filter{Kind: "call", Run: run, Tool: "run_code"})
	if err != nil || len(es) != 1 || es[0].Exit == nil || *es[0].Exit != 0 || es[0].Commit == "" {
		t.Errorf("audit %+v %v", es, err)
	}
}

func TestServeAskGrantAndDeny(t *testing.T) {
	var deniedWith string
	scribe := llmtest.NewScripted(
		toolCall("c1", "write_file", map[string]string{"path": "granted.txt", "content": "yes"}),
		answer("granted", func(res string) error {
			if strings.Contains(res, "refused") {
				return fmt.Errorf("granted call refused: %s", res)
			}
			return nil
		}),
		toolCall("c2", "write_file", map[string]string{"path": "denied.txt", "content": "no"}),
		answer("denied", func(res string) error { deniedWith = res; return nil }),
	)
	s := startToolServer(t, scriptModels, homeFiles("write: ['**']\ntools: {write_file: ask}\n"),
		map[string]*llmtest.Scripted{"scribe": scribe}, true)

	decide := func(decision, note string) (answerText, run string, a httpapi.Approval) {
		type done struct {
			text, run string
			err       error
		}
		ch := make(chan done, 1)
		go func() {
			text, run, err := s.complete(t, "unused", "desk", "write")
			ch <- done{text, run, err}
		}()
		pending := s.waitPending(t, "", 1)
		p := pending[0]
		if p.Agent != "scribe" || p.Status != "pending" || p.Capability.Kind != "call" || !strings.Contains(p.Capability.Value, ".txt") || p.Run == "" || p.Created == 0 {
			t.Fatalf("pending %+v", p)
		}
		// The completion is still blocked on the decision.
		select {
		case d := <-ch:
			t.Fatalf("the completion finished before a decision: %+v", d)
		case <-time.After(100 * time.Millisecond):
		}
		code, body := s.call(t, "GET", "approvals/"+p.ID, "", "")
		if code != 200 || !strings.Contains(string(body), `"status":"pending"`) {
			t.Fatalf("GET one: %d %s", code, body)
		}
		code, body = s.call(t, "POST", "approvals/"+p.ID, "", fmt.Sprintf(`{"decision":%q,"note":%q,"by":"ada"}`, decision, note))
		if code != 200 {
			t.Fatalf("POST %s: %d %s", decision, code, body)
		}
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatal(err)
		}
		d := <-ch
		if d.err != nil {
			t.Fatal(d.err)
		}
		if d.run != p.Run {
			t.Errorf("request names run %q, the completion %q", p.Run, d.run)
		}
		// Deciding again is a conflict.
		code, body = s.call(t, "POST", "approvals/"+p.ID, "", `{"decision":"grant"}`)
		if code != 409 || !strings.Contains(string(body), `"code":"conflict"`) {
			t.Errorf("second decision: %d %s", code, body)
		}
		return d.text, d.run, a
	}

	text, run, a := decide("grant", "")
	if text != "granted" || a.Status != "granted" || !strings.HasPrefix(a.DecidedBy, "ada (no key, from 127.0.0.1") || a.Decided == 0 {
		t.Fatalf("grant: answer %q, approval %+v", text, a)
	}
	if got, err := gitShow(t, s.ws, "seance/run/"+run, "granted.txt"); err != nil || got != "yes" {
		t.Errorf("granted.txt: %q %v", got, err)
	}
	es, err := audit.Show(s.a.AuditPath(), audit.Filter{Run: run})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]audit.Entry{}
	for _, e := range es {
		kinds[e.Kind] = e
	}
	if c := kinds["call"]; c.ApprovedBy != a.DecidedBy || c.Decision != "allow" || c.Commit == "" {
		t.Errorf("call entry %+v, want approved by %q", c, a.DecidedBy)
	}
	if g := kinds["grant"]; g.ApprovedBy != a.DecidedBy || !strings.Contains(g.Reason, a.ID) {
		t.Errorf("grant entry %+v", g)
	}

	text, run, a = decide("deny", "not today")
	if text != "denied" || a.Status != "denied" || a.Note != "not today" {
		t.Fatalf("deny: answer %q, approval %+v", text, a)
	}
	if !strings.Contains(deniedWith, "refused") || !strings.Contains(deniedWith, "not today") {
		t.Errorf("the model read %q, want the refusal with the note", deniedWith)
	}
	if _, err := gitShow(t, s.ws, "seance/run/"+run, "denied.txt"); err == nil {
		t.Error("denied.txt exists on the run branch")
	}
	if _, err := os.Stat(filepath.Join(s.ws, "denied.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("denied.txt in the work tree: %v", err)
	}
	es, err = audit.Show(s.a.AuditPath(), audit.Filter{Run: run, Kind: "call"})
	if err != nil || len(es) != 1 || es[0].Decision != "deny" || es[0].Commit != "" || !strings.Contains(es[0].Reason, "denied by ada") {
		t.Errorf("denied call audit %+v %v", es, err)
	}

	// Errors, in the envelope.
	for _, c := range []struct {
		method, path, body string
		status             int
		param              string
	}{
		{"GET", "approvals/0123456789abcdef", "", 404, ""},
		{"POST", "approvals/0123456789abcdef", `{"decision":"grant"}`, 404, ""},
		{"POST", "approvals/" + a.ID, `{"decision":"maybe"}`, 400, "decision"},
		{"POST", "approvals/" + a.ID, `{"decision":"grant","extra":1}`, 400, ""},
		{"POST", "approvals/" + a.ID, `{"decision":`, 400, ""},
		{"POST", "approvals/" + a.ID, ``, 400, "decision"},
		{"GET", "approvals?wait=forever", "", 400, "wait"},
		{"DELETE", "approvals/" + a.ID, "", 405, ""},
	} {
		code, body := s.call(t, c.method, c.path, "", c.body)
		var env struct {
			Error struct {
				Message string
				Param   *string
			}
		}
		if code != c.status || json.Unmarshal(body, &env) != nil || env.Error.Message == "" {
			t.Errorf("%s %s %s: %d %s, want %d with an error envelope", c.method, c.path, c.body, code, body, c.status)
			continue
		}
		if c.param != "" && (env.Error.Param == nil || *env.Error.Param != c.param) {
			t.Errorf("%s %s: param %v, want %q", c.method, c.path, env.Error.Param, c.param)
		}
	}
}

func TestServeAskTimesOut(t *testing.T) {
	var read string
	scribe := llmtest.NewScripted(
		toolCall("c1", "write_file", map[string]string{"path": "late.txt", "content": "x"}),
		answer("gave up", func(res string) error { read = res; return nil }),
	)
	s := startToolServer(t, scriptModels+"tools:\n  ask_timeout: 1s\n", homeFiles("write: ['**']\ndefault: ask\n"),
		map[string]*llmtest.Scripted{"scribe": scribe}, true)
	start := time.Now()
	text, _, err := s.complete(t, "unused", "desk", "write")
	if err != nil || text != "gave up" {
		t.Fatalf("%q %v", text, err)
	}
	if !strings.Contains(read, "no person approved the call within 1s") || time.Since(start) < time.Second {
		t.Errorf("after %s the model read %q", time.Since(start), read)
	}
	// The request expired with the call: nothing is pending, and a late grant is a conflict.
	code, body := s.call(t, "GET", "approvals", "", "")
	if code != 200 || !strings.Contains(string(body), `"data":[]`) {
		t.Fatalf("pending after the timeout: %d %s", code, body)
	}
	_, id, _ := strings.Cut(read, "(request ")
	id, _, _ = strings.Cut(id, ")")
	code, body = s.call(t, "POST", "approvals/"+id, "", `{"decision":"grant"}`)
	if code != 409 || !strings.Contains(string(body), "expired") {
		t.Errorf("a late grant of request %q: %d %s, want 409 (expired)", id, code, body)
	}
}

func TestServeApproverKeys(t *testing.T) {
	scribe := llmtest.NewScripted(
		toolCall("c1", "write_file", map[string]string{"path": "a.txt", "content": "a"}),
		answer("ok", nil),
	)
	yaml := scriptModels + "serve:\n  api_keys: [sk-user]\n  approver_keys: [sk-boss]\n"
	s := startToolServer(t, yaml, homeFiles("write: ['**']\ndefault: ask\n"), map[string]*llmtest.Scripted{"scribe": scribe}, true)
	done := make(chan error, 1)
	go func() {
		_, _, err := s.complete(t, "sk-user", "desk", "write")
		done <- err
	}()
	if code, _ := s.call(t, "GET", "approvals", "", ""); code != 401 {
		t.Errorf("list without a key: %d, want 401", code)
	}
	if code, _ := s.call(t, "GET", "approvals", "sk-wrong", ""); code != 401 {
		t.Errorf("list with a wrong key: %d, want 401", code)
	}
	p := s.waitPending(t, "sk-user", 1)[0] // an ordinary key lists
	if code, _ := s.call(t, "GET", "approvals/"+p.ID, "sk-boss", ""); code != 200 {
		t.Errorf("get with the approver key: %d", code)
	}
	code, body := s.call(t, "POST", "approvals/"+p.ID, "sk-user", `{"decision":"grant"}`)
	if code != 403 || !strings.Contains(string(body), `"code":"forbidden"`) {
		t.Fatalf("grant with an ordinary key: %d %s, want 403", code, body)
	}
	if code, _ := s.call(t, "POST", "approvals/"+p.ID, "", `{"decision":"grant"}`); code != 401 {
		t.Errorf("grant without a key: %d, want 401", code)
	}
	code, body = s.call(t, "POST", "approvals/"+p.ID, "sk-boss", `{"decision":"grant"}`)
	if code != 200 {
		t.Fatalf("grant with the approver key: %d %s", code, body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The approver key is an API key too.
	boss := s.client("sk-boss")
	if _, err := boss.Models.List(context.Background()); err != nil {
		t.Errorf("the approver key is refused elsewhere: %v", err)
	}
	fp := httpapi.KeyFingerprint("sk-boss")
	es, err := audit.Show(s.a.AuditPath(), audit.Filter{Kind: "grant"})
	if err != nil || len(es) != 1 || es[0].ApprovedBy != fp {
		t.Errorf("grant audit %+v %v, want approved by %s", es, err, fp)
	}
	raw, err := os.ReadFile(s.a.AuditPath())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "sk-boss") || strings.Contains(string(raw), "sk-user") {
		t.Error("an API key is in the audit log")
	}
}

func TestServeToolTeamWithoutWorkspace(t *testing.T) {
	scribe := llmtest.NewScripted()
	s := startToolServer(t, scriptModels, homeFiles("default: auto\n"), map[string]*llmtest.Scripted{"scribe": scribe}, false)
	_, _, err := s.complete(t, "unused", "desk", "write")
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "unsupported" ||
		!strings.Contains(apiErr.Message, "scribe (write_file)") || !strings.Contains(apiErr.Message, "--workspace") {
		t.Fatalf("err = %v, want 400 unsupported naming the agent and --workspace", err)
	}
	if n := len(scribe.Requests()); n != 0 {
		t.Errorf("the model was called %d times", n)
	}
	if code, body := s.call(t, "GET", "approvals", "", ""); code != 404 || !strings.Contains(string(body), "--workspace") {
		t.Errorf("approvals without tools: %d %s", code, body)
	}
}

// TestServeAgentWithToolsOnItsOwn serves an agent of the home on its own (a grounded agent, which
// /v1/models lists): its tool calls too work on a run branch of their own, never on main.
func TestServeAgentWithToolsOnItsOwn(t *testing.T) {
	scribe := llmtest.NewScripted(
		toolCall("c1", "write_file", map[string]string{"path": "alone.txt", "content": "solo"}),
		answer("wrote alone", nil),
	)
	files := map[string]string{
		"agents/scribe.md":   "---\nname: scribe\ndescription: writes files\nmodel: scribe-model\ntools: [write_file]\nmemory: [\"*\"]\n---\nYou write files.\n",
		"policy/scribe.yaml": "write: ['**']\ndefault: auto\n",
	}
	s := startToolServer(t, scriptModels, files, map[string]*llmtest.Scripted{"scribe": scribe}, true)
	text, _, err := s.complete(t, "unused", "scribe", "write alone")
	if err != nil || !strings.HasSuffix(text, "wrote alone") {
		t.Fatalf("%q %v", text, err)
	}
	out, err := exec.Command("git", "--git-dir", filepath.Join(s.ws, ".git"), "for-each-ref", "--format=%(refname:short)", "refs/heads/seance/run/").Output()
	if err != nil {
		t.Fatal(err)
	}
	branches := strings.Fields(string(out))
	if len(branches) != 1 {
		t.Fatalf("run branches %q, want one", branches)
	}
	run := strings.TrimPrefix(branches[0], "seance/run/")
	if got, err := gitShow(t, s.ws, branches[0], "alone.txt"); err != nil || got != "solo" {
		t.Errorf("alone.txt on %s: %q %v", branches[0], got, err)
	}
	if _, err := gitShow(t, s.ws, "main", "alone.txt"); err == nil {
		t.Error("the agent's file is on main")
	}
	es, err := audit.Show(s.a.AuditPath(), audit.Filter{Kind: "call", Agent: "scribe"})
	if err != nil || len(es) != 1 || es[0].Run != run || es[0].Commit == "" {
		t.Errorf("audit %+v %v, want one call of run %s", es, err, run)
	}
}
