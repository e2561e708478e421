package agent

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm/llmtest"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/policy/audit"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/tool"
	"github.com/seance-dev/seance/internal/tool/builtin"
	"github.com/seance-dev/seance/internal/workspace"
)

// TestMain lets the test binary serve as its own sandbox child (run_code re-executes it).
func TestMain(m *testing.M) {
	sandbox.MaybeChild()
	os.Exit(m.Run())
}

const run = "r1"

type fixture struct {
	ws       *workspace.Workspace
	store    *policy.Store
	log      *audit.Log
	auditLog string
	rt       *tool.Runtime
}

// newFixture builds a home with the given policy files, a workspace on run r1, an audit log and a
// runtime with the built-in tools.
func newFixture(t testing.TB, policies map[string]string, approver tool.Approver) *fixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	home, wsDir := t.TempDir(), t.TempDir()
	for n, c := range policies {
		p := filepath.Join(home, policy.Dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Create(ctx, wsDir, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Begin(ctx, run); err != nil {
		t.Fatal(err)
	}
	f := &fixture{ws: ws, auditLog: filepath.Join(home, "audit.log")}
	if f.log, err = audit.Open(f.auditLog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.log.Close() })
	if f.store, err = policy.Load(home, policy.Options{Audit: f.log, Workspaces: []string{wsDir}}); err != nil {
		t.Fatal(err)
	}
	reg, err := builtin.Registry(builtin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.rt, err = tool.NewRuntime(tool.Options{Registry: reg, Workspace: ws, Policies: f.store, Audit: f.log, Run: run,
		Approver: approver, AskTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func call(id, name string, args any) chat.ToolCall {
	b, _ := json.Marshal(args)
	return chat.ToolCall{ID: id, Name: name, Arguments: string(b)}
}

func calls(cs ...chat.ToolCall) llmtest.Turn {
	return llmtest.Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: cs}, Usage: chat.Usage{PromptTokens: 10, CompletionTokens: 5}}}
}

func answer(text string) llmtest.Turn {
	return llmtest.Turn{Reply: chat.Response{Message: chat.Message{Content: text}, Usage: chat.Usage{PromptTokens: 20, CompletionTokens: 7}}}
}

// toolResults returns the tool messages of a request, by call id.
func toolResults(req *chat.Request) map[string]string {
	out := map[string]string{}
	for _, m := range req.Messages {
		if m.Role == chat.Tool {
			out[m.ToolCallID] = m.Content
		}
	}
	return out
}

func entries(t *testing.T, f *fixture, kind string) []audit.Entry {
	t.Helper()
	es, err := audit.Show(f.auditLog, audit.Filter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func verify(t *testing.T, f *fixture) {
	t.Helper()
	rep, err := audit.Verify(f.auditLog)
	if err != nil || !rep.OK() {
		t.Fatalf("audit verify: %v %+v", err, rep.Problem)
	}
}

func newAgent(t *testing.T, f *fixture, m *llmtest.Scripted, opts Options) *Model {
	t.Helper()
	if opts.Agent == "" {
		opts.Agent = "writer"
	}
	a, err := New(m, f.rt, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWriteThenReadRoundTrip(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: [notes/**]\ndefault: auto\n"}, nil)
	m := llmtest.NewScripted(
		calls(call("c1", "write_file", map[string]string{"path": "notes/a.txt", "content": "hello tools"})),
		calls(call("c2", "read_file", map[string]string{"path": "notes/a.txt"})),
		answer("The file says hello tools."),
	)
	var got *Result
	a := newAgent(t, f, m, Options{Done: func(r *Result) { got = r }})
	var streamed strings.Builder
	resp, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "write and read"}}},
		func(d chat.Delta) error { streamed.WriteString(d.Content); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "The file says hello tools." || streamed.String() != resp.Message.Content {
		t.Fatalf("answer %q, streamed %q", resp.Message.Content, streamed.String())
	}
	if resp.FinishReason != chat.FinishStop {
		t.Errorf("finish %q", resp.FinishReason)
	}
	if resp.Usage.PromptTokens != 40 || resp.Usage.CompletionTokens != 17 {
		t.Errorf("usage %+v: want the sum of the three steps (40, 17)", resp.Usage)
	}
	reqs := m.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model calls", len(reqs))
	}
	names := map[string]bool{}
	for _, s := range reqs[0].Tools {
		names[s.Name] = true
	}
	for _, n := range []string{"read_file", "write_file", "list_dir", "search_files", "run", "run_code"} {
		if !names[n] {
			t.Errorf("tool %s not offered: %v", n, names)
		}
	}
	if r := toolResults(reqs[2]); r["c2"] != "hello tools" || !strings.Contains(r["c1"], "wrote 11 bytes") {
		t.Errorf("tool results %q", r)
	}
	// The assistant message with the calls precedes the results.
	msgs := reqs[2].Messages
	if msgs[1].Role != chat.Assistant || len(msgs[1].ToolCalls) != 1 || msgs[2].Role != chat.Tool || msgs[2].ToolCallID != "c1" {
		t.Errorf("conversation %+v", msgs)
	}
	b, err := f.ws.ReadFile("notes/a.txt", 0)
	if err != nil || string(b) != "hello tools" {
		t.Fatalf("workspace file %q %v", b, err)
	}
	log, err := f.ws.Log(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if log[0].Author.Name != "writer" || !strings.Contains(log[0].Subject, "write_file") {
		t.Errorf("last commit %+v: want the agent's write_file", log[0])
	}
	es := entries(t, f, "call")
	if len(es) != 2 || es[0].Tool != "write_file" || es[0].Commit != log[0].Hash || es[0].ApprovedBy != "policy" ||
		es[0].Decision != "allow" || es[0].BytesIn != 11 || es[1].BytesOut != 11 || es[1].Commit != "" || es[0].Run != run {
		t.Errorf("audit entries %+v (commit %s)", es, log[0].Hash)
	}
	verify(t, f)
	if got == nil || got.Steps != 3 || len(got.Calls) != 2 || got.Partial {
		t.Errorf("result %+v", got)
	}
}

func TestDeniedCallIsReturnedToTheModel(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: [notes/**]\ndefault: auto\n"}, nil)
	m := llmtest.NewScripted(
		calls(call("c1", "write_file", map[string]string{"path": "secret/x.txt", "content": "no"})),
		answer("I may not write there."),
	)
	a := newAgent(t, f, m, Options{})
	resp, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "I may not write there." {
		t.Errorf("answer %q", resp.Message.Content)
	}
	r := toolResults(m.Requests()[1])["c1"]
	if !strings.Contains(r, "refused by policy") || !strings.Contains(r, "write secret/x.txt") {
		t.Errorf("tool result %q", r)
	}
	if _, err := f.ws.ReadFile("secret/x.txt", 0); err == nil {
		t.Error("the refused write happened")
	}
	es := entries(t, f, "call")
	if len(es) != 1 || es[0].Decision != "deny" || es[0].Commit != "" || es[0].Error == "" {
		t.Errorf("audit %+v", es)
	}
	verify(t, f)
}

func TestAskApprovedByPerson(t *testing.T) {
	var store *policy.Store
	var asked []policy.Request
	approver := func(ctx context.Context, r policy.Request) {
		asked = append(asked, r)
		if _, err := store.Grant(ctx, r.ID, "alice"); err != nil {
			t.Errorf("grant: %v", err)
		}
	}
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: ['**']\ntools: {write_file: ask}\ndefault: auto\n"}, approver)
	store = f.store
	m := llmtest.NewScripted(
		calls(call("c1", "write_file", map[string]string{"path": "a.txt", "content": "approved"})),
		answer("done"),
	)
	a := newAgent(t, f, m, Options{})
	if _, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0].Agent != "writer" || asked[0].Cap.Kind != policy.KindCall || !strings.Contains(asked[0].Cap.Value, "a.txt") {
		t.Fatalf("requests %+v", asked)
	}
	if b, err := f.ws.ReadFile("a.txt", 0); err != nil || string(b) != "approved" {
		t.Fatalf("file %q %v", b, err)
	}
	es := entries(t, f, "call")
	if len(es) != 1 || es[0].Decision != "allow" || es[0].ApprovedBy != "alice" || es[0].Commit == "" {
		t.Errorf("audit %+v", es)
	}
	if len(entries(t, f, "request")) != 1 || len(entries(t, f, "grant")) != 1 {
		t.Error("the request and the grant are not audited")
	}
	verify(t, f)
}

func TestAskDeniedByPerson(t *testing.T) {
	var store *policy.Store
	approver := func(ctx context.Context, r policy.Request) {
		if _, err := store.Deny(ctx, r.ID, "bob", "not today"); err != nil {
			t.Errorf("deny: %v", err)
		}
	}
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: ['**']\ndefault: ask\n"}, approver)
	store = f.store
	m := llmtest.NewScripted(calls(call("c1", "write_file", map[string]string{"path": "a.txt", "content": "x"})), answer("ok"))
	a := newAgent(t, f, m, Options{})
	if _, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if r := toolResults(m.Requests()[1])["c1"]; !strings.Contains(r, "bob did not approve") || !strings.Contains(r, "not today") {
		t.Errorf("tool result %q", r)
	}
	if _, err := f.ws.ReadFile("a.txt", 0); err == nil {
		t.Error("the denied write happened")
	}
	if es := entries(t, f, "call"); len(es) != 1 || es[0].Decision != "deny" {
		t.Errorf("audit %+v", es)
	}
}

func TestInvalidArgumentsGoBackToTheModel(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: ['**']\ndefault: auto\n"}, nil)
	m := llmtest.NewScripted(
		calls(
			call("c1", "write_file", map[string]any{"path": "a.txt"}),                        // content missing
			call("c2", "write_file", map[string]any{"path": "a.txt", "content": 3}),          // wrong type
			call("c3", "read_file", map[string]any{"path": "a.txt", "mode": "x"}),            // unknown property
			chat.ToolCall{ID: "c4", Name: "read_file", Arguments: `{"path": "a.txt"`},        // not JSON
			call("c5", "teleport", map[string]any{}),                                         // no such tool
			call("c6", "run_code", map[string]any{"language": "cobol", "source": "DISPLAY"}), // not in the enum
		),
		answer("sorry"),
	)
	a := newAgent(t, f, m, Options{})
	resp, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "sorry" {
		t.Errorf("answer %q", resp.Message.Content)
	}
	r := toolResults(m.Requests()[1])
	want := map[string]string{
		"c1": "args.content: required",
		"c2": "args.content: want string, got integer",
		"c3": `unknown property "mode"`,
		"c4": "not valid JSON",
		"c5": `no tool "teleport"`,
		"c6": "args.language: want one of",
	}
	for id, w := range want {
		if !strings.Contains(r[id], w) {
			t.Errorf("%s: result %q, want it to contain %q", id, r[id], w)
		}
	}
	if len(entries(t, f, "call")) != 6 {
		t.Error("invalid calls are not all audited")
	}
	verify(t, f)
	if log, _ := f.ws.RunLog(context.Background(), run, 0); len(log) != 0 {
		t.Errorf("invalid calls made commits: %+v", log)
	}
}

func TestStepLimitEndsTheLoopPartial(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: ['**']\ndefault: auto\n"}, nil)
	loop := func(i int) llmtest.Turn {
		return calls(call("c", "list_dir", map[string]string{}))
	}
	var finalReq *chat.Request
	last := answer("partial answer")
	last.Check = func(r *chat.Request) error { finalReq = r; return nil }
	m := llmtest.NewScripted(loop(1), loop(2), loop(3), last)
	var got *Result
	a := newAgent(t, f, m, Options{MaxSteps: 3})
	ctx := Observe(context.Background(), func(r *Result) { got = r })
	resp, err := a.Chat(ctx, &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != chat.FinishLength || resp.Message.Content != "partial answer" {
		t.Errorf("response %+v", resp)
	}
	if got == nil || !got.Partial || len(got.Reasons) != 1 || got.Steps != 4 || len(got.Calls) != 3 {
		t.Fatalf("result %+v", got)
	}
	if finalReq.ToolChoice.Mode != chat.ToolChoiceNone {
		t.Errorf("the last request's tool choice is %q", finalReq.ToolChoice.Mode)
	}
	if n := len(m.Requests()); n != 4 {
		t.Errorf("%d model calls, want 4", n)
	}
}

func TestStepLimitDropsCallsOfTheLastStep(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: ['**']\ndefault: auto\n"}, nil)
	m := llmtest.NewScripted(
		calls(call("c1", "list_dir", map[string]string{})),
		calls(call("c2", "write_file", map[string]string{"path": "x", "content": "y"})), // ignores ToolChoice none
	)
	a := newAgent(t, f, m, Options{MaxSteps: 1})
	resp, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != chat.FinishLength {
		t.Errorf("finish %q", resp.FinishReason)
	}
	if _, err := f.ws.ReadFile("x", 0); err == nil {
		t.Error("a call after the step limit ran")
	}
	if n := len(entries(t, f, "call")); n != 1 {
		t.Errorf("%d calls audited, want 1", n)
	}
}

func TestCallerToolsAreReturnedToTheCaller(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\ndefault: auto\n"}, nil)
	m := llmtest.NewScripted(calls(call("c1", "weather", map[string]string{"city": "Seoul"})))
	a := newAgent(t, f, m, Options{Tools: []string{"read_file"}})
	resp, err := a.Chat(context.Background(), &chat.Request{
		Messages: []chat.Message{{Role: chat.User, Content: "weather?"}},
		Tools:    []chat.ToolSpec{{Name: "weather"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Message.ToolCalls) != 1 || resp.Message.ToolCalls[0].Name != "weather" || resp.FinishReason != chat.FinishToolCalls {
		t.Errorf("response %+v", resp)
	}
	tools := m.Requests()[0].Tools
	if len(tools) != 2 || tools[0].Name != "weather" || tools[1].Name != "read_file" {
		t.Errorf("offered %+v", tools)
	}
}

func TestDeniedToolsAreNotOffered(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\ntools: {run: deny, run_code: deny}\ndefault: auto\n"}, nil)
	specs, err := f.rt.Specs("writer", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if s.Name == "run" || s.Name == "run_code" {
			t.Errorf("denied tool %s offered", s.Name)
		}
	}
	if len(specs) != 5 || !slices.ContainsFunc(specs, func(s chat.ToolSpec) bool { return s.Name == tool.RequestTool }) {
		t.Errorf("%d tools offered, want the 4 file tools and %s", len(specs), tool.RequestTool)
	}
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the sandbox needs root here (cgroups); CI runs as root")
	}
}

func TestRunCodeInTheSandboxWritesTheWorkspace(t *testing.T) {
	needRoot(t)
	f := newFixture(t, map[string]string{"coder.yaml": "read: ['**']\nwrite: ['**']\nlanguages: [sh, python3]\ndefault: auto\n"}, nil)
	langs := builtin.Languages(builtin.SandboxOptions{})
	lang, src := "sh", `printf 'from the sandbox %s\n' "$(id -u)" > out.txt; cat out.txt; rm -f /etc/hostname 2>/dev/null; exit 3`
	m := llmtest.NewScripted(
		calls(call("c1", "run_code", map[string]string{"language": lang, "source": src})),
		answer("ran it"),
	)
	a := newAgent(t, f, m, Options{Agent: "coder"})
	if _, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil); err != nil {
		t.Fatal(err)
	}
	r := toolResults(m.Requests()[1])["c1"]
	if !strings.Contains(r, "exit status 3") || !strings.Contains(r, "from the sandbox 65534") {
		t.Fatalf("tool result %q (languages %v)", r, langs)
	}
	b, err := f.ws.ReadFile("out.txt", 0)
	if err != nil || string(b) != "from the sandbox 65534\n" {
		t.Fatalf("out.txt %q %v", b, err)
	}
	if _, err := os.Stat("/etc/hostname"); err != nil {
		t.Errorf("/etc/hostname: %v", err)
	}
	log, err := f.ws.RunLog(context.Background(), run, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Author.Name != "coder" || !strings.Contains(log[0].Subject, "run_code") {
		t.Fatalf("run log %+v", log)
	}
	es := entries(t, f, "call")
	if len(es) != 1 || es[0].Exit == nil || *es[0].Exit != 3 || es[0].Commit != log[0].Hash || es[0].Tool != "run_code" ||
		strings.Join(es[0].Argv, " ") != "run_code sh" || es[0].BytesOut == 0 || es[0].BytesIn != int64(len(src)) {
		t.Errorf("audit %+v", es)
	}
	verify(t, f)
}

func TestRunNeedsTheCommandAndTheWholeWorkspace(t *testing.T) {
	f := newFixture(t, map[string]string{
		"narrow.yaml": "read: ['**']\nwrite: [notes/**]\ncommands: [ls]\ndefault: auto\n",
		"wide.yaml":   "read: ['**']\nwrite: ['**']\ncommands: [ls]\ndefault: auto\n",
	}, nil)
	for _, c := range []struct {
		agent string
		argv  []string
		want  string
	}{
		{"wide", []string{"rm", "-rf", "."}, "may not run command rm"},
		{"wide", []string{"/bin/ls"}, "may not run command /bin/ls"}, // a bare name does not match a path
		{"narrow", []string{"ls"}, "may not write ."},                // a process can write anywhere in the workspace
	} {
		rec, err := f.rt.Call(context.Background(), c.agent, call("x", "run", map[string]any{"argv": c.argv}))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Verdict != policy.Refuse || !strings.Contains(rec.Result.Content, c.want) {
			t.Errorf("%s %v: %+v, want a refusal containing %q", c.agent, c.argv, rec, c.want)
		}
	}
}

func TestHTTPFetchIsOffByDefault(t *testing.T) {
	f := newFixture(t, map[string]string{"web.yaml": "hosts: [127.0.0.1]\ndefault: auto\n"}, nil)
	rec, err := f.rt.Call(context.Background(), "web", call("x", "http_fetch", map[string]string{"url": "http://127.0.0.1:1/"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Result.Content, `no tool "http_fetch"`) {
		t.Errorf("http_fetch without enabling it: %+v", rec)
	}
}

func TestUnansweredAskIsRefused(t *testing.T) {
	f := newFixture(t, map[string]string{"writer.yaml": "write: ['**']\ndefault: ask\n"}, nil)
	reg, _ := builtin.Registry(builtin.Options{})
	rt, err := tool.NewRuntime(tool.Options{Registry: reg, Workspace: f.ws, Policies: f.store, Audit: f.log, Run: run, AskTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rt.Call(context.Background(), "writer", call("x", "write_file", map[string]string{"path": "a", "content": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Verdict != policy.Refuse || !strings.Contains(rec.Result.Content, "no person approved") {
		t.Errorf("%+v", rec)
	}
	// The request expires with the call: it leaves the pending list, a late grant is refused, and the
	// expiry is audited.
	if p := f.store.Pending(); len(p) != 0 {
		t.Errorf("an expired request is still pending: %+v", p)
	}
	reqID := rec.Reason[strings.LastIndex(rec.Reason, "request ")+len("request "):]
	reqID = strings.Fields(reqID)[0]
	if r, err := f.store.Get(strings.TrimSuffix(reqID, ":")); err != nil || r.Status != policy.Expired {
		t.Errorf("request %q: %+v %v", reqID, r, err)
	} else if _, err := f.store.Grant(context.Background(), r.ID, "ada"); err == nil {
		t.Error("a late grant of an expired request was accepted")
	}
	entries, err := audit.Show(f.auditLog, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(entries, func(e audit.Entry) bool { return e.Kind == "expire" }) {
		t.Error("the expiry is not audited")
	}
	if _, err := f.ws.ReadFile("a", 0); err == nil {
		t.Error("the unapproved write happened")
	}
}

func TestConcurrentAgentsGetTheirOwnCommits(t *testing.T) {
	f := newFixture(t, map[string]string{"default.yaml": "read: ['**']\nwrite: ['**']\ndefault: auto\n"}, nil)
	errs := make(chan error, 2)
	for _, name := range []string{"ann", "bob"} {
		go func() {
			m := llmtest.NewScripted(
				calls(call("c", "write_file", map[string]string{"path": name + ".txt", "content": name})),
				answer("ok"),
			)
			a, err := New(m, f.rt, Options{Agent: name})
			if err == nil {
				_, err = a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "go"}}}, nil)
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	log, err := f.ws.RunLog(context.Background(), run, 0)
	if err != nil || len(log) != 2 {
		t.Fatalf("run log %+v %v", log, err)
	}
	for _, c := range log {
		diff, err := f.ws.Diff(context.Background(), c.Hash+"^", c.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(diff, c.Author.Name+".txt") || strings.Count(diff, "diff --git") != 1 {
			t.Errorf("commit by %s holds %s", c.Author.Name, diff)
		}
	}
	verify(t, f)
}

// An agent refused for a missing capability asks a person for it with request_capability; a grant
// lets the retried call through and is kept, a denial carries the person's note, and both calls and
// the store's request and grant are in the audit log.
func TestAgentRequestsACapability(t *testing.T) {
	var decide func(r policy.Request)
	f := newFixture(t, map[string]string{"writer.yaml": "read: ['**']\nwrite: [notes/**]\ndefault: auto\n"},
		func(_ context.Context, r policy.Request) { go decide(r) })
	decide = func(r policy.Request) {
		if r.Cap.Value == "src/**" {
			f.store.Grant(context.Background(), r.ID, "ada")
		} else {
			f.store.Deny(context.Background(), r.ID, "ada", "not the config")
		}
	}
	m := llmtest.NewScripted(
		calls(call("1", "write_file", map[string]string{"path": "src/a.go", "content": "package a\n"})),
		calls(call("2", tool.RequestTool, map[string]string{"kind": "write", "value": "src/**", "reason": "to fix the bug"})),
		calls(call("3", "write_file", map[string]string{"path": "src/a.go", "content": "package a\n"}),
			call("4", tool.RequestTool, map[string]string{"kind": "write", "value": "config.yaml", "reason": "tidy"}),
			call("5", tool.RequestTool, map[string]string{"kind": "write", "value": "notes/x", "reason": "again"}),
			call("6", tool.RequestTool, map[string]string{"kind": "write", "value": "../etc/passwd", "reason": "why not"})),
		answer("done"),
	)
	a, err := New(m, f.rt, Options{Agent: "writer", Tools: []string{"write_file", tool.RequestTool}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Chat(context.Background(), &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "fix it"}}}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := m.Requests()
	for id, want := range map[string]string{
		"1": "may not write src/a.go",
		"2": "ada granted write src/**; retry the call",
		"3": "wrote",
		"4": "ada did not grant write config.yaml: not the config",
		"5": "already allows write notes/x",
		"6": "want a path relative to the workspace",
	} {
		got := ""
		for _, r := range reqs {
			if s, ok := toolResults(r)[id]; ok {
				got = s
			}
		}
		if !strings.Contains(strings.ToLower(got), strings.ToLower(want)) {
			t.Errorf("call %s: %q, want %q", id, got, want)
		}
	}
	if _, err := f.ws.ReadFile("src/a.go", 0); err != nil {
		t.Errorf("the granted write did not happen: %v", err)
	}
	if p := f.store.Policy("writer"); !p.Allows(policy.Capability{Kind: policy.KindWrite, Value: "src/b.go"}) {
		t.Error("the grant is not kept")
	}
	entries, err := audit.Show(f.auditLog, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var requests, grants, calls int
	for _, e := range entries {
		switch {
		case e.Kind == "call" && e.Tool == tool.RequestTool:
			calls++
			if e.Args == nil {
				t.Errorf("request call without arguments: %+v", e)
			}
		case e.Kind == "request":
			requests++
		case e.Kind == "grant":
			grants++
		}
	}
	if calls != 4 || requests != 2 || grants != 1 {
		t.Errorf("audit: %d request calls, %d requests, %d grants", calls, requests, grants)
	}
}
