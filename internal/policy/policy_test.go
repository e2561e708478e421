package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestMatchPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"**", "a", true},
		{"**", "a/b/c.txt", true},
		{"**", ".", true},
		{"src/**", "src", true},
		{"src/**", "src/a/b.go", true},
		{"src/**", "srcx/a", false},
		{"src/*.go", "src/a.go", true},
		{"src/*.go", "src/a/b.go", false},
		{"**/*.md", "README.md", true},
		{"**/*.md", "docs/x/y.md", true},
		{"**/*.md", "docs/x/y.txt", false},
		{"notes.txt", "notes.txt", true},
		{"notes.txt", "notes.txt/x", false},
		{"a/**/z", "a/z", true},
		{"a/**/z", "a/b/c/z", true},
		{"a/**/z", "a/b/c/y", false},
		{"[", "[", false},
	}
	for _, c := range cases {
		if got := matchPath(c.pat, c.name); got != c.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	p := Policy{
		Agent: "writer", Read: []string{"**"}, Write: []string{"src/**", "notes.md"},
		Commands: []string{"python3", "go", "/usr/bin/ls"}, Languages: []string{"python3"}, Hosts: []string{"example.org", "*.golang.org"},
		Tools: map[string]Mode{"read_file": Auto, "write_file": Auto, "run": Auto, "run_code": Ask, "http_fetch": Deny},
	}
	cases := []struct {
		call    Call
		verdict Verdict
		missing string
	}{
		{Call{Tool: "read_file", Read: []string{"anything/at/all.txt"}}, Allow, ""},
		{Call{Tool: "read_file", Read: []string{"../outside"}}, Refuse, "read ../outside"},
		{Call{Tool: "read_file", Read: []string{"/etc/passwd"}}, Refuse, "read /etc/passwd"},
		{Call{Tool: "read_file", Read: []string{".git/config"}}, Refuse, "read .git/config"},
		{Call{Tool: "write_file", Write: []string{"src/main.go"}}, Allow, ""},
		{Call{Tool: "write_file", Write: []string{"src/../README"}}, Refuse, "write src/../README"},
		{Call{Tool: "write_file", Write: []string{"notes.md"}}, Allow, ""},
		{Call{Tool: "write_file", Write: []string{".git/hooks/pre-commit"}}, Refuse, "write .git/hooks/pre-commit"},
		{Call{Tool: "write_file", Write: []string{"README"}}, Refuse, "write README"},
		{Call{Tool: "run", Argv: []string{"python3", "x.py"}}, Allow, ""},
		{Call{Tool: "run", Argv: []string{"/tmp/python3"}}, Refuse, "command /tmp/python3"},
		{Call{Tool: "run", Argv: []string{"/usr/bin/ls"}}, Allow, ""},
		{Call{Tool: "run", Argv: []string{"ls"}}, Refuse, "command ls"},
		{Call{Tool: "run", Argv: []string{"rm", "-rf", "/"}}, Refuse, "command rm"},
		{Call{Tool: "run_code", Language: "python3"}, AskUser, ""},
		{Call{Tool: "run_code", Language: "perl"}, Refuse, "language perl"},
		{Call{Tool: "http_fetch", Hosts: []string{"example.org"}}, Refuse, "tool http_fetch"},
		{Call{Tool: "search_files", Read: []string{"."}}, AskUser, ""}, // default mode: ask
		{Call{Tool: ""}, Refuse, ""},
	}
	for _, c := range cases {
		d := p.Decide(c.call)
		if d.Verdict != c.verdict || d.Reason == "" {
			t.Errorf("%+v: %+v, want %s", c.call, d, c.verdict)
		}
		got := ""
		if d.Missing != nil {
			got = d.Missing.String()
		}
		if got != c.missing {
			t.Errorf("%+v: missing %q, want %q", c.call, got, c.missing)
		}
	}
	p.Tools["http_fetch"] = Auto
	for host, want := range map[string]Verdict{"example.org": Allow, "EXAMPLE.org.": Allow, "proxy.golang.org": Allow,
		"golang.org": Refuse, "evil.org": Refuse, "example.org.evil.org": Refuse, "": Refuse} {
		if d := p.Decide(Call{Tool: "http_fetch", Hosts: []string{host}}); d.Verdict != want {
			t.Errorf("host %q: %s, want %s", host, d.Verdict, want)
		}
	}
}

// randPolicy builds a policy from small random choices, so that random pairs overlap in interesting ways.
func randPolicy(r *rand.Rand, agent string) Policy {
	pick := func(from []string) []string {
		var out []string
		for _, s := range from {
			if r.IntN(2) == 0 {
				out = append(out, s)
			}
		}
		return out
	}
	modes := []Mode{Auto, Ask, Deny}
	tools := map[string]Mode{}
	for _, tl := range []string{"read_file", "write_file", "run", "run_code", "http_fetch", "*"} {
		if r.IntN(2) == 0 {
			tools[tl] = modes[r.IntN(3)]
		}
	}
	lim := func() int64 { return []int64{0, 1, 5, 100}[r.IntN(4)] }
	return Policy{
		Agent:     agent,
		Read:      pick([]string{"**", "src/**", "*.md", "docs/*", "a/**/z"}),
		Write:     pick([]string{"**", "src/*.go", "out/**", "notes.md"}),
		Commands:  pick([]string{"python3", "go", "*", "/usr/bin/*", "sh"}),
		Languages: pick([]string{"python3", "sh", "perl"}),
		Hosts:     pick([]string{"example.org", "*.example.org", "golang.org"}),
		Tools:     tools,
		Default:   modes[r.IntN(3)],
		Limits: Limits{MemoryBytes: lim(), Pids: lim(), CPUTime: time.Duration(lim()), Wall: time.Duration(lim()),
			FileSizeBytes: lim()},
	}
}

func randCall(r *rand.Rand) Call {
	one := func(from []string) string { return from[r.IntN(len(from))] }
	c := Call{Tool: one([]string{"read_file", "write_file", "run", "run_code", "http_fetch", "search_files"})}
	paths := []string{"src/a.go", "src/x/y.go", "README.md", "docs/a.md", "a/b/z", "notes.md", "out/r.txt", ".git/config", "../x"}
	switch r.IntN(5) {
	case 0:
		c.Read = []string{one(paths)}
	case 1:
		c.Write = []string{one(paths)}
	case 2:
		c.Argv = []string{one([]string{"python3", "go", "sh", "/usr/bin/ls", "rm"})}
	case 3:
		c.Language = one([]string{"python3", "sh", "perl", "node"})
	case 4:
		c.Hosts = []string{one([]string{"example.org", "a.example.org", "golang.org", "evil.org"})}
	}
	return c
}

func rank(v Verdict) int {
	switch v {
	case Allow:
		return 2
	case AskUser:
		return 1
	}
	return 0
}

// limitOK reports whether narrowed limit n is no looser than limit l (0 is unlimited).
func limitOK[T int64 | time.Duration](n, l T) bool { return l == 0 || (n != 0 && n <= l) }

// TestNarrowNeverWidens: for random parents, children and calls, the narrowed policy never decides
// more permissively than either, and its limits are never looser — including through several levels.
func TestNarrowNeverWidens(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		parent, child, grandchild := randPolicy(r, "lead"), randPolicy(r, "sub"), randPolicy(r, "subsub")
		n := Narrow(parent, child)
		nn := Narrow(n, grandchild)
		for range 10 {
			c := randCall(r)
			dp, dc, dn, dnn, dg := parent.Decide(c), child.Decide(c), n.Decide(c), nn.Decide(c), grandchild.Decide(c)
			if rank(dn.Verdict) > rank(dp.Verdict) || rank(dn.Verdict) > rank(dc.Verdict) {
				t.Fatalf("case %d: narrowed %s but parent %s, child %s for %+v", i, dn.Verdict, dp.Verdict, dc.Verdict, c)
			}
			if rank(dnn.Verdict) > rank(dn.Verdict) || rank(dnn.Verdict) > rank(dg.Verdict) || rank(dnn.Verdict) > rank(dp.Verdict) {
				t.Fatalf("case %d: two levels down %s wider than %s/%s/%s for %+v", i, dnn.Verdict, dn.Verdict, dg.Verdict, dp.Verdict, c)
			}
			// The intersection is exact: allowed by both parent and child means allowed when narrowed,
			// with the stricter mode.
			if dp.Verdict != Refuse && dc.Verdict != Refuse && rank(dn.Verdict) != min(rank(dp.Verdict), rank(dc.Verdict)) {
				t.Fatalf("case %d: narrowed %s, parent %s, child %s for %+v", i, dn.Verdict, dp.Verdict, dc.Verdict, c)
			}
		}
		for _, pair := range [][2]Limits{{n.Limits, parent.Limits}, {n.Limits, child.Limits}, {nn.Limits, n.Limits}} {
			a, b := pair[0], pair[1]
			if !limitOK(a.MemoryBytes, b.MemoryBytes) || !limitOK(a.Pids, b.Pids) || !limitOK(a.CPUTime, b.CPUTime) ||
				!limitOK(a.Wall, b.Wall) || !limitOK(a.FileSizeBytes, b.FileSizeBytes) {
				t.Fatalf("case %d: limits %+v looser than %+v", i, a, b)
			}
		}
	}
}

// TestChildCannotWiden names the obvious attempts one by one.
func TestChildCannotWiden(t *testing.T) {
	t.Parallel()
	parent := Policy{Agent: "lead", Read: []string{"src/**"}, Write: []string{"src/**"}, Commands: []string{"go"},
		Languages: []string{"sh"}, Tools: map[string]Mode{"run": Ask, "http_fetch": Deny}, Default: Auto,
		Limits: Limits{MemoryBytes: 1 << 20, Wall: time.Minute}}
	child := Policy{Agent: "sub", Read: []string{"**"}, Write: []string{"**"}, Commands: []string{"*"},
		Languages: []string{"sh", "python3"}, Hosts: []string{"example.org"}, Tools: map[string]Mode{"*": Auto}, Default: Auto,
		Limits: Limits{MemoryBytes: 1 << 30, Pids: 10}}
	n := Narrow(parent, child)
	for _, c := range []Call{
		{Tool: "read_file", Read: []string{"secret.txt"}},
		{Tool: "write_file", Write: []string{"README"}},
		{Tool: "run", Argv: []string{"rm"}},
		{Tool: "run_code", Language: "python3"},
		{Tool: "http_fetch", Hosts: []string{"example.org"}},
	} {
		if d := n.Decide(c); d.Verdict != Refuse {
			t.Errorf("%+v: %s (%s)", c, d.Verdict, d.Reason)
		}
	}
	if d := n.Decide(Call{Tool: "run", Argv: []string{"go"}}); d.Verdict != AskUser {
		t.Errorf("run go: %s, want ask (the parent's mode)", d.Verdict)
	}
	if d := n.Decide(Call{Tool: "write_file", Write: []string{"src/a.go"}}); d.Verdict != Allow {
		t.Errorf("write src/a.go: %s", d.Verdict)
	}
	want := Limits{MemoryBytes: 1 << 20, Pids: 10, Wall: time.Minute}
	if n.Limits != want {
		t.Errorf("limits %+v, want %+v", n.Limits, want)
	}
	// Mutating the result does not reach the parent or child.
	n.Read[0] = "changed"
	n.Tools["x"] = Auto
	if child.Read[0] != "**" || child.Tools["x"] != "" {
		t.Error("Narrow shares slices or maps with the child")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	good := `
read: ["**"]
write: [src/**, notes.md]
commands: [python3, go]
languages: [python3]
hosts: [example.org, "*.golang.org"]
memory: read
limits:
  memory: 512MiB
  pids: 64
  cpu_time: 30s
  wall: 2m
  file_size: 64M
tools:
  read_file: auto
  run: ask
  http_fetch: deny
default: ask
`
	p, err := Parse("policy/writer.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{MemoryBytes: 512 << 20, Pids: 64, CPUTime: 30 * time.Second, Wall: 2 * time.Minute, FileSizeBytes: 64 << 20}
	if p.Agent != "writer" || p.Limits != want || p.Tools["run"] != Ask || len(p.Write) != 2 || p.Memory != MemoryRead {
		t.Errorf("parsed %+v", p)
	}
	b, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse("x.yaml", b)
	if err != nil {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	if q.Agent != p.Agent || q.Limits != p.Limits || q.Memory != p.Memory || fmt.Sprint(q.Tools) != fmt.Sprint(p.Tools) || fmt.Sprint(q.Hosts) != fmt.Sprint(p.Hosts) {
		t.Errorf("round trip %+v vs %+v", q, p)
	}
	for name, bad := range map[string]string{
		"unknown field": "reed: [x]\n",
		"bad mode":      "tools: {run: maybe}\n",
		"bad default":   "default: yes\n",
		"absolute path": "write: [/etc/**]\n",
		"dotdot":        "read: [../x]\n",
		"bad glob":      "read: [\"[\"]\n",
		"bad host":      "hosts: [\"http://x\"]\n",
		"bad size":      "limits: {memory: lots}\n",
		"bad duration":  "limits: {wall: forever}\n",
		"negative pids": "limits: {pids: -1}\n",
		"bad memory":    "memory: all\n",
		"bad agent":     "agent: \"../x\"\n",
		"not a map":     "- a\n",
	} {
		if _, err := Parse("p.yaml", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "p.yaml") {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
}

// Memory access is its own capability: none by default in a file, read below write, narrowed like
// the others, and never implied by workspace paths.
func TestMemoryAccess(t *testing.T) {
	t.Parallel()
	recall := Call{Tool: "recall", Memory: MemoryRead}
	remember := Call{Tool: "remember", Memory: MemoryWrite}
	for _, tc := range []struct {
		yaml             string
		recall, remember Verdict
	}{
		{"read: ['**']\nwrite: ['**']\ndefault: auto\n", Refuse, Refuse},
		{"memory: none\ndefault: auto\n", Refuse, Refuse},
		{"memory: read\ndefault: auto\n", Allow, Refuse},
		{"memory: write\ndefault: auto\n", Allow, Allow},
		{"memory: write\ntools: {remember: ask}\ndefault: auto\n", Allow, AskUser},
	} {
		p, err := Parse("a.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Decide(recall).Verdict; got != tc.recall {
			t.Errorf("%q: recall %s, want %s", tc.yaml, got, tc.recall)
		}
		d := p.Decide(remember)
		if d.Verdict != tc.remember {
			t.Errorf("%q: remember %s, want %s", tc.yaml, d.Verdict, tc.remember)
		}
		if d.Verdict == Refuse && (d.Missing == nil || *d.Missing != (Capability{KindMemory, MemoryWrite}) ||
			!strings.Contains(d.Reason, "may not write to the memory")) {
			t.Errorf("%q: refusal %+v", tc.yaml, d)
		}
	}
	parent := Policy{Agent: "lead", Memory: MemoryRead, Default: Auto}
	child := Policy{Agent: "sub", Memory: MemoryWrite, Default: Auto}
	n := Narrow(parent, child)
	if n.Decide(remember).Verdict != Refuse || n.Decide(recall).Verdict != Allow {
		t.Errorf("narrowed: remember %s recall %s", n.Decide(remember).Verdict, n.Decide(recall).Verdict)
	}
	if (&Policy{Agent: "x", Memory: MemoryWrite}).Allows(Capability{KindMemory, "everything"}) {
		t.Error("an unknown memory access is allowed")
	}
	if b := Builtin("x"); b.Decide(remember).Verdict != AskUser {
		t.Errorf("the built-in policy: remember %s, want ask", b.Decide(remember).Verdict)
	}
}

func TestMatchHost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pat, host string
		want      bool
	}{
		{"example.org", "example.org", true},
		{"example.org", "EXAMPLE.org.", true},
		{"example.org", "example.org:443", true},
		{"example.org", "www.example.org", false},
		{"*.example.org", "www.example.org:80", true},
		{"*.example.org", "example.org", false},
		{"example.org:8443", "example.org:8443", true},
		{"example.org:8443", "example.org:443", false},
		{"example.org:8443", "example.org", false},
		{"*.example.org:443", "a.b.example.org:443", true},
		{"*.example.org:443", "a.example.org:80", false},
		{"127.0.0.2", "127.0.0.2:9000", true},
		{"example.org", "", false},
		{"example.org", ":443", false},
	} {
		if got := matchHost(c.pat, c.host); got != c.want {
			t.Errorf("matchHost(%q, %q) = %v, want %v", c.pat, c.host, got, c.want)
		}
	}
	for _, h := range []string{"example.org:0", "example.org:65536", "example.org:http", "example.org:", "http://x:80"} {
		if _, err := Parse("p.yaml", []byte("hosts: [\""+h+"\"]\n")); err == nil {
			t.Errorf("host %q accepted", h)
		}
	}
	if _, err := Parse("p.yaml", []byte("hosts: [\"example.org:8443\", \"*.golang.org:443\"]\n")); err != nil {
		t.Errorf("hosts with ports: %v", err)
	}
}
