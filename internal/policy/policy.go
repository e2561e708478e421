// Package policy decides what each agent may do: which workspace paths it may read and write, which
// commands and languages it may run, which network hosts it may reach, the limits its processes run
// under, and, per tool, whether a call runs at once (auto), waits for a person (ask) or is refused
// (deny). Policies are YAML files in the seance home's policy/ folder, which must lie outside every
// workspace an agent can write; changes to them are commits of the home repository and audit entries.
//
// An agent may request a wider capability; only a person grants it (Store.Grant), through whatever
// surface the application offers (a CLI prompt, an HTTP endpoint). Sub-agents and nested teams get
// Narrow(parent, child): the intersection, never wider than either.
//
// policy decides; it enforces nothing by itself. The sandbox enforces the limits and paths it is given,
// and the tool runtime must call Decide before every call. The audit log lives in policy/audit.
//
// policy imports gitrepo, policy/audit, fault and yaml; the tool runtime and internal/app use it.
package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Mode is a tool's approval mode.
type Mode string

// The approval modes, from most to least permissive.
const (
	Auto Mode = "auto" // the call runs when the capabilities allow it
	Ask  Mode = "ask"  // a person approves each call
	Deny Mode = "deny" // the tool is not available
)

func (m Mode) valid() bool { return m == Auto || m == Ask || m == Deny }

// strictness orders modes: higher is stricter.
func (m Mode) strictness() int {
	switch m {
	case Auto:
		return 0
	case Ask:
		return 1
	}
	return 2 // deny, and anything unknown
}

func stricter(a, b Mode) Mode {
	if a == "" {
		return b
	}
	if b == "" || a.strictness() >= b.strictness() {
		return a
	}
	return b
}

// Limits bound an agent's processes; zero means no limit from this policy (the sandbox's defaults
// still apply).
type Limits struct {
	MemoryBytes   int64
	Pids          int64
	CPUTime       time.Duration
	Wall          time.Duration
	FileSizeBytes int64
}

// minPositive returns the smaller of a and b, where zero means unlimited.
func minPositive[T int64 | time.Duration](a, b T) T {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// Narrow returns the tighter of each limit.
func (l Limits) Narrow(o Limits) Limits {
	return Limits{
		MemoryBytes:   minPositive(l.MemoryBytes, o.MemoryBytes),
		Pids:          minPositive(l.Pids, o.Pids),
		CPUTime:       minPositive(l.CPUTime, o.CPUTime),
		Wall:          minPositive(l.Wall, o.Wall),
		FileSizeBytes: minPositive(l.FileSizeBytes, o.FileSizeBytes),
	}
}

// Policy is one agent's capabilities. Path patterns are slash-separated, relative to the workspace,
// with path.Match syntax per segment plus "**" for any number of segments ("src/**", "*.md", "**").
// Command patterns match argv[0] (a bare name matches only a bare argv[0]); host patterns are exact
// names or "*.example.org" (subdomains only).
type Policy struct {
	Agent     string
	Read      []string
	Write     []string
	Commands  []string
	Languages []string
	Hosts     []string
	// Memory is the access to the seance memory (the recall and remember tools): "" (none), "read" or
	// "write" (which includes read).
	Memory string
	Limits Limits
	// Tools maps a tool name (or "*" for every other tool) to its mode.
	Tools map[string]Mode
	// Default is the mode of tools Tools does not name (default Ask).
	Default Mode

	// bounds are the policies this one was narrowed from: a capability must be allowed by every one.
	bounds []Policy
}

// Capability kinds, for Capability.Kind.
const (
	KindRead     = "read"
	KindWrite    = "write"
	KindCommand  = "command"
	KindLanguage = "language"
	KindHost     = "host"
	KindMemory   = "memory" // Value is "read" or "write"
	KindTool     = "tool"   // Value is a tool name: grant turns its mode to auto
	KindCall     = "call"   // a one-time approval of an "ask" call; Value describes the call
)

// Capability is one thing an agent may need: a path to read or write, a command, a language, a host,
// a tool, or approval of one call.
type Capability struct {
	Kind  string
	Value string
}

// String formats c as "kind value".
func (c Capability) String() string { return c.Kind + " " + c.Value }

// Call is what a tool call needs, filled in by the tool runtime from the validated arguments.
type Call struct {
	Tool string
	// Read and Write are the workspace paths (relative, slash-separated) the call reads and writes.
	Read, Write []string
	// Argv is the command line of a run call (argv[0] is checked against Commands).
	Argv []string
	// Language is run_code's language (checked against Languages).
	Language string
	// Hosts are the network hosts the call connects to.
	Hosts []string
	// Memory is the access to the seance memory the call needs: "", "read" or "write".
	Memory string
}

// Verdict is the answer of Decide.
type Verdict string

// The verdicts.
const (
	Allow   Verdict = "allow"
	AskUser Verdict = "ask"
	Refuse  Verdict = "deny"
)

// Decision is the answer of Decide: a verdict and why. Missing names the first capability the
// policy lacks when the verdict is a refusal for that reason (the agent may Request it).
type Decision struct {
	Verdict Verdict
	Reason  string
	Missing *Capability
}

// Mode returns the effective approval mode of tool: the strictest of this policy's and its bounds'.
func (p *Policy) Mode(tool string) Mode {
	m := p.ownMode(tool)
	for i := range p.bounds {
		m = stricter(m, p.bounds[i].ownMode(tool))
	}
	return m
}

func (p *Policy) ownMode(tool string) Mode {
	if m, ok := p.Tools[tool]; ok {
		return m
	}
	if m, ok := p.Tools["*"]; ok {
		return m
	}
	if p.Default != "" {
		return p.Default
	}
	return Ask
}

// Allows reports whether the policy and every policy it was narrowed from allow c. Reads and writes of
// .git are never allowed.
func (p *Policy) Allows(c Capability) bool {
	if !p.ownAllows(c) {
		return false
	}
	for i := range p.bounds {
		if !p.bounds[i].ownAllows(c) {
			return false
		}
	}
	return true
}

func (p *Policy) ownAllows(c Capability) bool {
	switch c.Kind {
	case KindRead, KindWrite:
		name, ok := cleanRel(c.Value)
		if !ok || name == ".git" || strings.HasPrefix(name, ".git/") {
			return false
		}
		pats := p.Write
		if c.Kind == KindRead {
			// What an agent may write it may read.
			pats = append(slices.Clip(p.Read), p.Write...)
		}
		return slices.ContainsFunc(pats, func(pat string) bool { return matchPath(pat, name) })
	case KindCommand:
		return c.Value != "" && slices.ContainsFunc(p.Commands, func(pat string) bool { return matchCommand(pat, c.Value) })
	case KindLanguage:
		return c.Value != "" && slices.Contains(p.Languages, c.Value)
	case KindHost:
		return slices.ContainsFunc(p.Hosts, func(pat string) bool { return matchHost(pat, c.Value) })
	case KindMemory:
		return (c.Value == MemoryRead || c.Value == MemoryWrite) && memoryRank(p.Memory) >= memoryRank(c.Value)
	case KindTool:
		return p.ownMode(c.Value) != Deny
	}
	return false
}

// needs lists the capabilities call requires, in the order they are checked.
func (c Call) needs() []Capability {
	var caps []Capability
	for _, r := range c.Read {
		caps = append(caps, Capability{KindRead, r})
	}
	for _, w := range c.Write {
		caps = append(caps, Capability{KindWrite, w})
	}
	if len(c.Argv) > 0 {
		caps = append(caps, Capability{KindCommand, c.Argv[0]})
	}
	if c.Language != "" {
		caps = append(caps, Capability{KindLanguage, c.Language})
	}
	for _, h := range c.Hosts {
		caps = append(caps, Capability{KindHost, h})
	}
	if c.Memory != "" {
		caps = append(caps, Capability{KindMemory, c.Memory})
	}
	return caps
}

// The memory access levels, for Policy.Memory, Call.Memory and KindMemory capabilities.
const (
	MemoryRead  = "read"
	MemoryWrite = "write"
)

// memoryRank orders memory access: none < read < write; anything else ranks as none.
func memoryRank(access string) int {
	switch access {
	case MemoryRead:
		return 1
	case MemoryWrite:
		return 2
	}
	return 0
}

// Decide returns whether call may run: refused when its tool is denied or a capability it needs is
// missing, otherwise allowed or sent to a person according to the tool's mode.
func (p *Policy) Decide(call Call) Decision {
	if call.Tool == "" {
		return Decision{Verdict: Refuse, Reason: "the call names no tool"}
	}
	mode := p.Mode(call.Tool)
	if mode == Deny || !mode.valid() {
		return Decision{Verdict: Refuse, Reason: fmt.Sprintf("tool %s is denied to agent %s", call.Tool, p.Agent),
			Missing: &Capability{KindTool, call.Tool}}
	}
	for _, c := range call.needs() {
		if !p.Allows(c) {
			c := c
			return Decision{Verdict: Refuse, Reason: fmt.Sprintf("agent %s may not %s", p.Agent, describe(c)), Missing: &c}
		}
	}
	if mode == Ask {
		return Decision{Verdict: AskUser, Reason: fmt.Sprintf("tool %s needs a person's approval for agent %s", call.Tool, p.Agent)}
	}
	return Decision{Verdict: Allow, Reason: "allowed by policy"}
}

func describe(c Capability) string {
	switch c.Kind {
	case KindRead:
		return "read " + c.Value
	case KindWrite:
		return "write " + c.Value
	case KindCommand:
		return "run command " + c.Value
	case KindLanguage:
		return "run " + c.Value + " code"
	case KindHost:
		return "connect to " + c.Value
	case KindMemory:
		if c.Value == MemoryWrite {
			return "write to the memory"
		}
		return "read the memory"
	}
	return "use " + c.String()
}

// Narrow returns the policy of a sub-agent or nested team whose parent has policy parent and whose own
// file (or definition) says child: every capability must be allowed by both, every tool's mode is the
// stricter of the two, every limit the tighter. The result is never wider than parent or child.
func Narrow(parent, child Policy) Policy {
	out := child
	out.Read = slices.Clone(child.Read)
	out.Write = slices.Clone(child.Write)
	out.Commands = slices.Clone(child.Commands)
	out.Languages = slices.Clone(child.Languages)
	out.Hosts = slices.Clone(child.Hosts)
	out.Tools = make(map[string]Mode, len(child.Tools)+len(parent.Tools))
	for k, v := range child.Tools {
		out.Tools[k] = v
	}
	out.Limits = parent.Limits.Narrow(child.Limits)
	// The parent's own rules and the bounds it carries become bounds of the result.
	pb := parent
	pb.bounds = nil
	out.bounds = append(append(slices.Clone(child.bounds), pb), parent.bounds...)
	return out
}

// cleanRel cleans a workspace-relative path; ok is false for absolute paths and paths leaving the tree.
func cleanRel(name string) (string, bool) {
	if name == "" {
		name = "."
	}
	if path.IsAbs(name) || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return "", false
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// matchPath matches a slash-separated name against a pattern with path.Match segments and "**".
func matchPath(pattern, name string) bool {
	if name == "." {
		return pattern == "**" || pattern == "."
	}
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		ok, err := path.Match(pat[0], name[0])
		if err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// matchCommand matches argv[0]: a pattern without a slash matches only a bare command name (looked up
// in the sandbox's PATH); a pattern with a slash matches the full path.
func matchCommand(pattern, argv0 string) bool {
	if strings.Contains(pattern, "/") != strings.Contains(argv0, "/") {
		return false
	}
	ok, err := path.Match(pattern, argv0)
	return err == nil && ok
}

// matchHost matches a host, "name" or "name:port", case-insensitively: the pattern's name exact or,
// as "*.example.org", any subdomain; a pattern with a port matches only that port, one without any.
func matchHost(pattern, host string) bool {
	pname, pport := splitPort(strings.ToLower(pattern))
	name, port := splitPort(strings.ToLower(host))
	name = strings.TrimSuffix(name, ".")
	if name == "" || (pport != "" && pport != port) {
		return false
	}
	if rest, ok := strings.CutPrefix(pname, "*."); ok {
		return strings.HasSuffix(name, "."+rest)
	}
	return pname == name
}

// splitPort splits "name:port" (one colon, a port of digits) into its parts; anything else is a name
// without a port.
func splitPort(host string) (name, port string) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.Count(host, ":") != 1 || i == len(host)-1 || strings.Trim(host[i+1:], "0123456789") != "" {
		return host, ""
	}
	return host[:i], host[i+1:]
}
