package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/netproxy"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/tool"
)

// sandboxPath is the PATH of sandboxed processes: only system folders the sandbox shows.
const sandboxPath = "/usr/local/bin:/usr/bin:/bin"

// systemDirs are the folders every sandbox shows read-only (docs/SANDBOX.md).
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc"}

// language describes how run_code runs one language inside the sandbox.
type language struct {
	name string
	// needs are the programs that must exist (looked up in sandboxPath, or absolute).
	needs []string
	// argv builds the command line for source.
	argv func(source string) []string
	// env is added to the process environment.
	env []string
	// minLimits raise the default limits (never a policy's) for toolchains that need more.
	minLimits sandbox.Limits
}

// compiled writes source to a file in the sandbox's private /tmp, builds it there and executes the
// result in the workspace; only a shell inside the sandbox sees the script.
func compiled(file, build string) func(string) []string {
	script := `set -e
d=$(mktemp -d /tmp/seance-code.XXXXXX)
printf '%s' "$1" > "$d/` + file + `"
(cd "$d" && ` + build + `)
exec "$d/prog"`
	return func(src string) []string { return []string{"/bin/sh", "-c", script, "sh", src} }
}

func languages(goRoot, goVersion string) []language {
	langs := []language{
		{name: "sh", needs: []string{"/bin/sh"}, argv: func(s string) []string { return []string{"/bin/sh", "-c", s, "sh"} }},
		{name: "bash", needs: []string{"bash"}, argv: func(s string) []string { return []string{"bash", "-c", s, "bash"} }},
		{name: "python3", needs: []string{"python3"}, argv: func(s string) []string { return []string{"python3", "-c", s} }},
		{name: "perl", needs: []string{"perl"}, argv: func(s string) []string { return []string{"perl", "-e", s} }},
		{name: "node", needs: []string{"node"}, argv: func(s string) []string { return []string{"node", "-e", s} },
			minLimits: sandbox.Limits{Memory: 1 << 30}},
		{name: "c", needs: []string{"/bin/sh", "gcc"}, argv: compiled("main.c", "gcc -O1 -o prog main.c -lm")},
	}
	if goRoot != "" {
		mod := "module prog\n"
		if goVersion != "" {
			mod += "\ngo " + goVersion + "\n"
		}
		langs = append(langs, language{
			name:  "go",
			needs: []string{"/bin/sh", filepath.Join(goRoot, "bin", "go")},
			argv:  compiled("main.go", "printf '"+strings.ReplaceAll(mod, "\n", `\n`)+"' > go.mod && go build -o prog ."),
			env: []string{"GOROOT=" + goRoot, "GOCACHE=/tmp/go-cache", "GOPATH=/tmp/go", "GOTOOLCHAIN=local",
				"GOPROXY=off", "GOFLAGS=-mod=mod", "GOENV=off", "GOTELEMETRY=off", "CGO_ENABLED=0"},
			// A cold build cache compiles the standard library packages the program imports.
			minLimits: sandbox.Limits{Memory: 1 << 30, CPUTime: 120 * time.Second, Wall: 180 * time.Second},
		})
	}
	return langs
}

// found reports whether program exists where the sandbox can see it.
func found(program string, extra []string) bool {
	if filepath.IsAbs(program) {
		st, err := os.Stat(program)
		return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
	}
	for _, d := range append(strings.Split(sandboxPath, ":"), extra...) {
		if found(filepath.Join(d, program), nil) {
			return true
		}
	}
	return false
}

// procs runs processes for run and run_code.
type procs struct {
	opts   SandboxOptions
	langs  map[string]language
	names  []string // detected languages, sorted
	goRoot string
}

func newProcs(opts SandboxOptions) *procs {
	p := &procs{opts: opts, langs: map[string]language{}}
	goRoot := opts.GoRoot
	if goRoot == "" {
		if found("/usr/local/go/bin/go", nil) {
			goRoot = "/usr/local/go"
		}
	}
	goVersion := ""
	if goRoot != "" {
		if b, err := os.ReadFile(filepath.Join(goRoot, "VERSION")); err == nil {
			v, _, _ := strings.Cut(strings.TrimPrefix(string(b), "go"), "\n")
			if parts := strings.Split(v, "."); len(parts) >= 2 {
				goVersion = parts[0] + "." + parts[1]
			}
		}
		p.goRoot = goRoot
	}
	for _, l := range languages(goRoot, goVersion) {
		if opts.Languages != nil && !slices.Contains(opts.Languages, l.name) {
			continue
		}
		ok := true
		for _, n := range l.needs {
			ok = ok && found(n, nil)
		}
		if ok {
			p.langs[l.name] = l
			p.names = append(p.names, l.name)
		}
	}
	slices.Sort(p.names)
	return p
}

// Languages returns the run_code languages usable on this machine with opts, sorted.
func Languages(opts SandboxOptions) []string { return slices.Clone(newProcs(opts).names) }

type runArgs struct {
	Argv    []string `json:"argv"`
	Stdin   string   `json:"stdin"`
	Timeout int      `json:"timeout_seconds"`
}

func (p *procs) runTool() tool.Tool {
	return def[runArgs]{
		spec: chat.ToolSpec{
			Name: "run",
			Description: "Run a program in the sandbox with the workspace as its folder: argv is the program and its arguments (no shell; " +
				"name a shell in argv to use one). No network unless the policy grants hosts; then HTTP and HTTPS to those hosts only, " +
				"through the proxy named in HTTP_PROXY. Answers the exit status and the output.",
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"argv":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":256},
				"stdin":{"type":"string","description":"standard input (default: none)"},
				"timeout_seconds":{"type":"integer","minimum":1,"maximum":3600}},
				"required":["argv"],"additionalProperties":false}`),
		},
		plan: func(a runArgs) (policy.Call, error) {
			if a.Argv[0] == "" {
				return policy.Call{}, fault.Param("argv", "argv[0] is empty")
			}
			// A process can touch the whole workspace, so it needs the whole workspace.
			return policy.Call{Argv: a.Argv, Read: []string{"."}, Write: []string{"."}}, nil
		},
		call: func(ctx context.Context, env tool.Env, a runArgs) (tool.Result, error) {
			return p.exec(ctx, env, a.Argv, nil, a.Stdin, a.Timeout, sandbox.Limits{})
		},
	}
}

type codeArgs struct {
	Language string `json:"language"`
	Source   string `json:"source"`
	Stdin    string `json:"stdin"`
	Timeout  int    `json:"timeout_seconds"`
}

func (p *procs) codeTool() tool.Tool {
	enum, _ := json.Marshal(p.names)
	if len(p.names) == 0 {
		enum = []byte(`["none"]`)
	}
	return def[codeArgs]{
		spec: chat.ToolSpec{
			Name: "run_code",
			Description: "Run a program written in one of the installed languages in the sandbox, with the workspace as its folder. " +
				"No network unless the policy grants hosts; then HTTP and HTTPS to those hosts only, through the proxy named in " +
				"HTTP_PROXY. Answers the exit status and the output.",
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"language":{"type":"string","enum":` + string(enum) + `},
				"source":{"type":"string","minLength":1},
				"stdin":{"type":"string"},
				"timeout_seconds":{"type":"integer","minimum":1,"maximum":3600}},
				"required":["language","source"],"additionalProperties":false}`),
		},
		plan: func(a codeArgs) (policy.Call, error) {
			if _, ok := p.langs[a.Language]; !ok {
				return policy.Call{}, fault.Param("language", "language %q is not installed", a.Language)
			}
			return policy.Call{Language: a.Language, Read: []string{"."}, Write: []string{"."}}, nil
		},
		call: func(ctx context.Context, env tool.Env, a codeArgs) (tool.Result, error) {
			l, ok := p.langs[a.Language]
			if !ok {
				return tool.Result{}, fault.Param("language", "language %q is not installed", a.Language)
			}
			res, err := p.exec(ctx, env, l.argv(a.Source), l.env, a.Stdin, a.Timeout, l.minLimits)
			res.BytesIn += int64(len(a.Source))
			res.Argv = []string{"run_code", a.Language}
			return res, err
		},
	}
}

// limits combines the tool's defaults, a language's minimums, the agent's policy and a call's
// timeout: the policy and the timeout only ever lower them.
func (p *procs) limits(pol policy.Limits, timeout int, raise sandbox.Limits) sandbox.Limits {
	l := p.opts.Limits
	def := sandbox.DefaultLimits()
	pick := func(v, d, r int64) int64 {
		if v == 0 {
			v = d
		}
		return max(v, r)
	}
	l.Memory = pick(l.Memory, def.Memory, raise.Memory)
	l.Pids = int(pick(int64(l.Pids), int64(def.Pids), int64(raise.Pids)))
	l.CPUTime = time.Duration(pick(int64(l.CPUTime), int64(def.CPUTime), int64(raise.CPUTime)))
	l.Wall = time.Duration(pick(int64(l.Wall), int64(def.Wall), int64(raise.Wall)))
	l.FileSize = pick(l.FileSize, def.FileSize, raise.FileSize)
	lower := func(v, cap int64) int64 {
		if cap > 0 && cap < v {
			return cap
		}
		return v
	}
	l.Memory = lower(l.Memory, pol.MemoryBytes)
	l.Pids = int(lower(int64(l.Pids), pol.Pids))
	l.CPUTime = time.Duration(lower(int64(l.CPUTime), int64(pol.CPUTime)))
	l.Wall = time.Duration(lower(int64(l.Wall), int64(pol.Wall)))
	l.FileSize = lower(l.FileSize, pol.FileSizeBytes)
	if timeout > 0 {
		l.Wall = time.Duration(lower(int64(l.Wall), int64(time.Duration(timeout)*time.Second)))
	}
	return l
}

// exec runs argv in the sandbox with the workspace as its folder.
func (p *procs) exec(ctx context.Context, env tool.Env, argv, extraEnv []string, stdin string, timeout int, raise sandbox.Limits) (tool.Result, error) {
	res := tool.Result{Argv: argv, BytesIn: int64(len(stdin))}
	dir := env.Workspace.Dir()
	uid, gid := p.opts.UID, p.opts.GID
	if uid == 0 {
		uid = sandbox.DefaultUID
	}
	if gid == 0 {
		gid = sandbox.DefaultGID
	}
	if err := ownTree(dir, uid, gid); err != nil {
		return res, fmt.Errorf("give the workspace to the sandbox's uid: %w", err)
	}
	path := sandboxPath
	var ro []string
	if p.goRoot != "" {
		path = filepath.Join(p.goRoot, "bin") + ":" + path
		if !underSystem(p.goRoot) {
			ro = append(ro, p.goRoot)
		}
	}
	ro = append(ro, p.opts.ReadOnly...)
	procEnv := append([]string{"PATH=" + path, "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8"}, p.opts.Env...)
	spec := sandbox.Spec{
		Argv:                argv,
		Dir:                 dir,
		ReadOnly:            ro,
		Env:                 append(procEnv, extraEnv...),
		Limits:              p.limits(env.Policy.Limits, timeout, raise),
		UID:                 p.opts.UID,
		GID:                 p.opts.GID,
		AllowWeakerLandlock: p.opts.AllowWeakerLandlock,
		AllowNoCgroup:       p.opts.AllowNoCgroup,
	}
	if stdin != "" {
		spec.Stdin = strings.NewReader(stdin)
	}
	// Network: none, unless the policy grants hosts; then only those, through a proxy that lives
	// as long as the process.
	var nl *netLog
	if len(env.Policy.Hosts) > 0 {
		list, err := hostList(env.Policy)
		if err != nil {
			return res, fault.Wrap(err, fault.Invalid, "the policy's hosts: %v", err)
		}
		nl = &netLog{}
		spec.Network = sandbox.NetworkProxy
		spec.Proxy = netproxy.New(netproxy.Config{Allow: list, Resolver: p.opts.Resolver, Log: nl.add})
	}
	r, err := sandbox.Run(ctx, spec)
	if nl != nil {
		res.Network = nl.summary()
	}
	if err != nil {
		return res, err
	}
	exit := r.ExitCode
	res.Exit = &exit
	res.BytesOut = r.StdoutBytes + r.StderrBytes
	res.IsError = r.ExitCode != 0 || r.Killed != ""
	var b strings.Builder
	fmt.Fprintf(&b, "exit status %d", r.ExitCode)
	if r.Signal != 0 {
		fmt.Fprintf(&b, " (signal %d)", int(r.Signal))
	}
	if r.Killed != "" {
		fmt.Fprintf(&b, "; killed: %s limit", r.Killed)
	}
	if len(r.Hit) > 0 {
		hit := make([]string, len(r.Hit))
		for i, h := range r.Hit {
			hit[i] = string(h)
		}
		fmt.Fprintf(&b, "; limits hit: %s", strings.Join(hit, ", "))
	}
	fmt.Fprintf(&b, "; %s\n", r.Duration.Round(time.Millisecond))
	if res.Network != "" {
		fmt.Fprintf(&b, "network (through the proxy): %s\n", res.Network)
	}
	stream(&b, "stdout", r.Stdout, r.StdoutBytes)
	stream(&b, "stderr", r.Stderr, r.StderrBytes)
	res.Content = b.String()
	return res, nil
}

// netLog collects the proxy attempts of one process.
type netLog struct {
	mu       sync.Mutex
	attempts []netproxy.Attempt
}

func (l *netLog) add(a netproxy.Attempt) {
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.mu.Unlock()
}

// maxRefusedListed bounds the refused targets a summary names.
const maxRefusedListed = 20

// summary is one line for the result and the audit log: attempts allowed and refused, bytes moved,
// and the refused targets with why.
func (l *netLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var allowed, refused int
	var up, down int64
	var hosts []string
	seen := map[string]bool{}
	for _, a := range l.attempts {
		up += a.Up
		down += a.Down
		if a.Allowed {
			allowed++
			continue
		}
		refused++
		target := a.Method
		if a.Host != "" {
			target = net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
		}
		if target == "" {
			target = "(unreadable request)"
		}
		if !seen[target] && len(hosts) < maxRefusedListed {
			seen[target] = true
			hosts = append(hosts, target)
		}
	}
	s := fmt.Sprintf("%d allowed, %d refused; %d bytes sent, %d received", allowed, refused, up, down)
	if len(hosts) > 0 {
		s += "; refused: " + strings.Join(hosts, ", ")
	}
	return s
}

func stream(b *strings.Builder, name string, kept []byte, total int64) {
	if total == 0 {
		return
	}
	fmt.Fprintf(b, "--- %s ---\n", name)
	if utf8.Valid(kept) {
		b.Write(kept)
	} else {
		b.WriteString(strings.ToValidUTF8(string(kept), "\uFFFD"))
	}
	if len(kept) > 0 && kept[len(kept)-1] != '\n' {
		b.WriteByte('\n')
	}
	if total > int64(len(kept)) {
		fmt.Fprintf(b, "… (%d more bytes not kept)\n", total-int64(len(kept)))
	}
}

func underSystem(p string) bool {
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
