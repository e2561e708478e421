package policy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/gitrepo"
	"github.com/seance-dev/seance/internal/policy/audit"
)

// Dir is the folder of policy files inside the seance home.
const Dir = "policy"

// DefaultAgent names the file (policy/default.yaml) whose policy applies to agents without their own.
const DefaultAgent = "default"

// grantsFile records the capabilities people granted, appended to, inside Dir.
const grantsFile = "grants.yaml"

// Builtin is the policy of agents when the home has neither their file nor default.yaml: the whole
// workspace readable and writable (every change is a commit, so revertible), the memory readable and
// writable (remembered facts are append-only), no commands, languages or hosts, and every tool call
// approved by a person.
func Builtin(agent string) Policy {
	return Policy{Agent: agent, Read: []string{"**"}, Write: []string{"**"}, Memory: MemoryWrite, Default: Ask}
}

// Options configure Load.
type Options struct {
	// Repo is the seance home's repository; policy changes are committed to it. Nil: no commits.
	Repo *gitrepo.Repo
	// Audit receives an entry for every request, grant, refusal and policy change. Nil: none.
	Audit *audit.Log
	// Workspaces are the folders agents can write; a policy folder inside any of them is refused.
	Workspaces []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store holds the policies of a seance home, the grants people made and the pending requests. It is
// safe for concurrent use.
type Store struct {
	home, dir string
	repo      *gitrepo.Repo
	log       *audit.Log
	now       func() time.Time

	mu       sync.Mutex
	files    map[string]Policy // by agent, as read from the files
	grants   []Grant
	requests map[string]*Request
	order    []string                 // request ids in creation order
	done     map[string]chan struct{} // closed when a request is decided
}

// Grant is a capability a person granted to an agent, recorded in policy/grants.yaml.
type Grant struct {
	Request string     `yaml:"request"`
	Agent   string     `yaml:"agent"`
	Cap     Capability `yaml:"capability"`
	By      string     `yaml:"by"`
	At      time.Time  `yaml:"at"`
}

// Inside reports whether path p lies inside folder dir (or is dir), after resolving symbolic links of
// both as far as they exist.
func Inside(p, dir string) (bool, error) {
	rp, err := realPath(p)
	if err != nil {
		return false, err
	}
	rd, err := realPath(dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(rd, rp)
	if err != nil {
		return false, nil
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

// realPath resolves the longest existing prefix of p and appends the rest; a dangling symbolic link is
// followed through its text (so a link to a folder not created yet still counts as that folder).
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	for range 40 {
		rest := ""
		cur := abs
		for {
			if r, err := filepath.EvalSymlinks(cur); err == nil {
				return filepath.Join(r, rest), nil
			}
			if st, err := os.Lstat(cur); err == nil && st.Mode()&os.ModeSymlink != 0 {
				target, err := os.Readlink(cur)
				if err != nil {
					return "", err
				}
				if !filepath.IsAbs(target) {
					target = filepath.Join(filepath.Dir(cur), target)
				}
				abs = filepath.Join(target, rest)
				break // resolve again from the link's target
			}
			parent := filepath.Dir(cur)
			if parent == cur {
				return abs, nil
			}
			rest = filepath.Join(filepath.Base(cur), rest)
			cur = parent
		}
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", p)
}

// CheckOutside returns an error when the policy folder of home lies inside workspace (where an agent
// could rewrite its own policy) or the workspace lies inside the policy folder.
func CheckOutside(home, workspace string) error {
	dir := filepath.Join(home, Dir)
	in, err := Inside(dir, workspace)
	if err != nil {
		return fmt.Errorf("policy folder %s: %w", dir, err)
	}
	out, err := Inside(workspace, dir)
	if err != nil {
		return fmt.Errorf("workspace %s: %w", workspace, err)
	}
	if in || out {
		return fault.New(fault.Invalid, "policy folder %s and workspace %s overlap: policies must live outside every workspace", dir, workspace)
	}
	return nil
}

// Load reads the policy files of the seance home (home/policy/*.yaml and the grants). A missing folder
// is an empty store (every agent gets Builtin). A policy folder inside one of opts.Workspaces is
// refused.
func Load(home string, opts Options) (*Store, error) {
	for _, ws := range opts.Workspaces {
		if err := CheckOutside(home, ws); err != nil {
			return nil, err
		}
	}
	s := &Store{home: home, dir: filepath.Join(home, Dir), repo: opts.Repo, log: opts.Audit, now: opts.Now,
		files: map[string]Policy{}, requests: map[string]*Request{}, done: map[string]chan struct{}{}}
	if s.now == nil {
		s.now = time.Now
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("policy folder %s: %w", s.dir, err)
	}
	var problems []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || n == grantsFile || (!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			problems = append(problems, fmt.Sprintf("policy %s: a symbolic link (refused)", n))
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, n))
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", n, err)
		}
		p, err := Parse(n, b)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if _, dup := s.files[p.Agent]; dup {
			problems = append(problems, fmt.Sprintf("policy %s: a second policy for agent %s", n, p.Agent))
			continue
		}
		s.files[p.Agent] = p
	}
	b, err := os.ReadFile(filepath.Join(s.dir, grantsFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("policy grants: %w", err)
	default:
		if err := yaml.Unmarshal(b, &s.grants); err != nil {
			problems = append(problems, fmt.Sprintf("policy %s: %v", grantsFile, err))
		}
	}
	if len(problems) > 0 {
		// A policy that does not parse must not silently fall back to a wider default.
		return nil, fault.New(fault.Invalid, "%s", strings.Join(problems, "; "))
	}
	return s, nil
}

// Policy returns agent's effective policy: its file (or default.yaml, or Builtin) widened by the
// grants people made to it.
func (s *Store) Policy(agent string) Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policyLocked(agent)
}

func (s *Store) policyLocked(agent string) Policy {
	p, ok := s.files[agent]
	if !ok {
		if d, ok := s.files[DefaultAgent]; ok {
			p = d
		} else {
			p = Builtin(agent)
		}
		p.Agent = agent
	}
	p.Read, p.Write = slices.Clone(p.Read), slices.Clone(p.Write)
	p.Commands, p.Languages, p.Hosts = slices.Clone(p.Commands), slices.Clone(p.Languages), slices.Clone(p.Hosts)
	tools := make(map[string]Mode, len(p.Tools))
	for k, v := range p.Tools {
		tools[k] = v
	}
	p.Tools = tools
	for _, g := range s.grants {
		if g.Agent != agent {
			continue
		}
		switch g.Cap.Kind {
		case KindRead:
			p.Read = append(p.Read, g.Cap.Value)
		case KindWrite:
			p.Write = append(p.Write, g.Cap.Value)
		case KindCommand:
			p.Commands = append(p.Commands, g.Cap.Value)
		case KindLanguage:
			p.Languages = append(p.Languages, g.Cap.Value)
		case KindHost:
			p.Hosts = append(p.Hosts, g.Cap.Value)
		case KindMemory:
			if memoryRank(g.Cap.Value) > memoryRank(p.Memory) {
				p.Memory = g.Cap.Value
			}
		case KindTool:
			p.Tools[g.Cap.Value] = Auto
		}
	}
	return p
}

// Decide returns the decision of agent's effective policy on call.
func (s *Store) Decide(agent string, call Call) Decision {
	p := s.Policy(agent)
	return p.Decide(call)
}

// Set writes p as the policy file of its agent, commits it to the home repository and records an
// audit entry naming by. It is how people change policies from seance itself; files edited by hand
// are committed by the home's own commands.
func (s *Store) Set(ctx context.Context, p Policy, by string) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fault.Wrap(err, fault.Invalid, "policy %s: %v", p.Agent, err)
	}
	if strings.TrimSpace(by) == "" {
		return "", fault.New(fault.Invalid, "a policy change must name the person making it")
	}
	b, err := Marshal(p)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := filepath.Join(Dir, p.Agent+".yaml")
	if err := s.writeFile(rel, b); err != nil {
		return "", err
	}
	p.bounds = nil
	s.files[p.Agent] = p
	commit, err := s.commit(ctx, fmt.Sprintf("policy: %s set by %s", p.Agent, by), rel)
	if err != nil {
		return "", err
	}
	return commit, s.audit(audit.Entry{Kind: "policy", Agent: p.Agent, ApprovedBy: by, Commit: commit,
		Reason: "policy file " + filepath.ToSlash(rel) + " written"})
}

func (s *Store) writeFile(rel string, b []byte) error {
	p := filepath.Join(s.home, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("policy folder: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", rel, err)
	}
	return nil
}

// commit commits rel to the home repository, returning the commit ("" without a repository).
func (s *Store) commit(ctx context.Context, msg, rel string) (string, error) {
	if s.repo == nil {
		return "", nil
	}
	unlock := s.repo.Lock()
	defer unlock()
	h, err := s.repo.Commit(ctx, msg, filepath.ToSlash(rel))
	if errors.Is(err, gitrepo.ErrNothingToCommit) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("commit policy change: %w", err)
	}
	return h, nil
}

func (s *Store) audit(e audit.Entry) error {
	if s.log == nil {
		return nil
	}
	if _, err := s.log.Append(e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Status is the state of a Request.
type Status string

// The request states.
const (
	Pending Status = "pending"
	Granted Status = "granted"
	Denied  Status = "denied"
	// Expired is a request nobody decided in time: its call was refused, so it no longer waits.
	Expired Status = "expired"
)

// Request is an agent's request for a capability (or for approval of one call) and its outcome.
type Request struct {
	ID      string
	Agent   string
	Run     string
	Cap     Capability
	Reason  string // the agent's reason
	Status  Status
	By      string // the person who decided
	Note    string // the person's note on a denial
	Created time.Time
	Decided time.Time
}

// ErrUnknownRequest is returned for a request id the store does not hold.
var ErrUnknownRequest = errors.New("no such request")

// Request records agent's request for capability c and returns it, pending. Pending requests live in
// memory (a restart forgets them; the audit log keeps the record). Deciding is for a person: Grant or
// Deny, through a CLI prompt or an HTTP endpoint; the agent waits with Wait.
func (s *Store) Request(ctx context.Context, agent, run string, c Capability, reason string) (Request, error) {
	if !validAgent(agent) {
		return Request{}, fault.Param("agent", "agent %q is not a valid name", agent)
	}
	switch c.Kind {
	case KindRead, KindWrite:
		if _, ok := cleanRel(c.Value); !ok {
			return Request{}, fault.Param("capability", "path %q: want a path relative to the workspace", c.Value)
		}
	case KindCommand, KindLanguage, KindHost, KindTool, KindCall:
		if strings.TrimSpace(c.Value) == "" {
			return Request{}, fault.Param("capability", "empty %s", c.Kind)
		}
	case KindMemory:
		if c.Value != MemoryRead && c.Value != MemoryWrite {
			return Request{}, fault.Param("capability", "memory access %q: want read or write", c.Value)
		}
	default:
		return Request{}, fault.Param("capability", "unknown capability kind %q", c.Kind)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Request{}, fmt.Errorf("request id: %w", err)
	}
	r := &Request{ID: hex.EncodeToString(id[:]), Agent: agent, Run: run, Cap: c, Reason: reason, Status: Pending, Created: s.now()}
	s.mu.Lock()
	s.requests[r.ID] = r
	s.order = append(s.order, r.ID)
	s.done[r.ID] = make(chan struct{})
	out := *r
	s.mu.Unlock()
	return out, s.audit(audit.Entry{Kind: "request", Run: run, Agent: agent, Decision: string(AskUser),
		Reason: fmt.Sprintf("request %s: %s (%s)", r.ID, c, reason)})
}

// Pending returns the requests not yet decided, oldest first.
func (s *Store) Pending() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, id := range s.order {
		if r := s.requests[id]; r.Status == Pending {
			out = append(out, *r)
		}
	}
	return out
}

// Get returns request id.
func (s *Store) Get(id string) (Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return Request{}, fault.Wrap(ErrUnknownRequest, fault.NotFound, "no request %q", id)
	}
	return *r, nil
}

// Wait blocks until request id is decided or ctx ends, and returns it.
func (s *Store) Wait(ctx context.Context, id string) (Request, error) {
	s.mu.Lock()
	ch, ok := s.done[id]
	s.mu.Unlock()
	if !ok {
		return Request{}, fault.Wrap(ErrUnknownRequest, fault.NotFound, "no request %q", id)
	}
	select {
	case <-ch:
		return s.Get(id)
	case <-ctx.Done():
		return Request{}, ctx.Err()
	}
}

// decide moves a pending request to st, by person by.
func (s *Store) decide(id string, st Status, by, note string) (*Request, error) {
	if strings.TrimSpace(by) == "" {
		return nil, fault.Param("by", "a decision must name the person making it")
	}
	r, ok := s.requests[id]
	if !ok {
		return nil, fault.Wrap(ErrUnknownRequest, fault.NotFound, "no request %q", id)
	}
	switch r.Status {
	case Pending:
	case Expired:
		return nil, fault.New(fault.Invalid, "request %s expired (%s): its call was refused", id, r.Note)
	default:
		return nil, fault.New(fault.Invalid, "request %s was already %s by %s", id, r.Status, r.By)
	}
	if by == r.Agent {
		return nil, fault.New(fault.Invalid, "agent %s cannot decide its own request", by)
	}
	r.Status, r.By, r.Note, r.Decided = st, by, note, s.now()
	return r, nil
}

// Grant grants request id, in the name of the person by. A capability (not a one-call approval) is
// appended to policy/grants.yaml, committed to the home repository, and widens the agent's policy from
// now on. The decision is audited and wakes Wait.
func (s *Store) Grant(ctx context.Context, id, by string) (Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.decide(id, Granted, by, "")
	if err != nil {
		return Request{}, err
	}
	commit := ""
	if r.Cap.Kind != KindCall {
		grants := append(slices.Clone(s.grants), Grant{Request: r.ID, Agent: r.Agent, Cap: r.Cap, By: by, At: r.Decided.UTC()})
		b, err := yaml.Marshal(grants)
		if err == nil {
			err = s.writeFile(filepath.Join(Dir, grantsFile), b)
		}
		if err != nil {
			r.Status, r.By = Pending, "" // not granted after all
			return Request{}, fmt.Errorf("record grant: %w", err)
		}
		s.grants = grants
		close(s.done[id])
		if commit, err = s.commit(ctx, fmt.Sprintf("policy: grant %s to %s (request %s, by %s)", r.Cap, r.Agent, r.ID, by), filepath.Join(Dir, grantsFile)); err != nil {
			return *r, err
		}
	} else {
		close(s.done[id])
	}
	return *r, s.audit(audit.Entry{Kind: "grant", Run: r.Run, Agent: r.Agent, Decision: string(Allow), ApprovedBy: by,
		Commit: commit, Reason: fmt.Sprintf("request %s: %s", r.ID, r.Cap)})
}

// Deny refuses request id in the name of the person by, with an optional note for the agent.
func (s *Store) Deny(ctx context.Context, id, by, note string) (Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.decide(id, Denied, by, note)
	if err != nil {
		return Request{}, err
	}
	close(s.done[id])
	return *r, s.audit(audit.Entry{Kind: "deny", Run: r.Run, Agent: r.Agent, Decision: string(Refuse), ApprovedBy: by,
		Reason: fmt.Sprintf("request %s: %s: %s", r.ID, r.Cap, note)})
}

// Expire ends pending request id that nobody decided in time (its caller stopped waiting), so that it
// leaves Pending and a late decision is refused as a conflict instead of granting what nobody waits
// for. It is audited, wakes Wait, and returns the request; a request decided meanwhile is returned as
// decided, with no error, so the caller honours that decision.
func (s *Store) Expire(ctx context.Context, id, reason string) (Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return Request{}, fault.Wrap(ErrUnknownRequest, fault.NotFound, "no request %q", id)
	}
	if r.Status != Pending {
		return *r, nil
	}
	r.Status, r.Note, r.Decided = Expired, reason, s.now()
	close(s.done[id])
	return *r, s.audit(audit.Entry{Kind: "expire", Run: r.Run, Agent: r.Agent, Decision: string(Refuse),
		Reason: fmt.Sprintf("request %s: %s: %s", r.ID, r.Cap, reason)})
}

// Grants returns the recorded grants, oldest first.
func (s *Store) Grants() []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.grants)
}

// Agents returns the agents that have a policy file, sorted.
func (s *Store) Agents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.files))
	for a := range s.files {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
