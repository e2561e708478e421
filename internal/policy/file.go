package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/runid"

	"go.yaml.in/yaml/v3"

	"github.com/seance-dev/seance/internal/fault"
)

// fileLimits is the limits section of a policy file.
type fileLimits struct {
	Memory   string `yaml:"memory,omitempty"`
	Pids     int64  `yaml:"pids,omitempty"`
	CPUTime  string `yaml:"cpu_time,omitempty"`
	Wall     string `yaml:"wall,omitempty"`
	FileSize string `yaml:"file_size,omitempty"`
}

// file is a policy file as written in YAML.
type file struct {
	Agent     string          `yaml:"agent,omitempty"`
	Read      []string        `yaml:"read,omitempty"`
	Write     []string        `yaml:"write,omitempty"`
	Commands  []string        `yaml:"commands,omitempty"`
	Languages []string        `yaml:"languages,omitempty"`
	Hosts     []string        `yaml:"hosts,omitempty"`
	Memory    string          `yaml:"memory,omitempty"`
	Limits    fileLimits      `yaml:"limits,omitempty"`
	Tools     map[string]Mode `yaml:"tools,omitempty"`
	Default   Mode            `yaml:"default,omitempty"`
}

var (
	hostName = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	})
	toolName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\*|[A-Za-z0-9_.-]{1,64})$`) })
)

// Parse reads a policy from YAML; name (the file name) is used in messages and, without its
// extension, as the agent when the file names none.
func Parse(name string, data []byte) (Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Policy{}, fault.Wrap(err, fault.Invalid, "policy %s: %v", name, err)
	}
	if f.Agent == "" {
		f.Agent = strings.TrimSuffix(path.Base(name), path.Ext(name))
	}
	p, err := f.policy()
	if err != nil {
		return Policy{}, fault.Wrap(err, fault.Invalid, "policy %s: %v", name, err)
	}
	return p, nil
}

func (f file) policy() (Policy, error) {
	p := Policy{Agent: f.Agent, Read: f.Read, Write: f.Write, Commands: f.Commands, Languages: f.Languages,
		Hosts: f.Hosts, Memory: f.Memory, Tools: f.Tools, Default: f.Default, Limits: Limits{Pids: f.Limits.Pids}}
	if p.Memory == "none" {
		p.Memory = ""
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	var err error
	if p.Limits.MemoryBytes, err = parseSize(f.Limits.Memory); err != nil {
		return Policy{}, fmt.Errorf("limits.memory: %w", err)
	}
	if p.Limits.FileSizeBytes, err = parseSize(f.Limits.FileSize); err != nil {
		return Policy{}, fmt.Errorf("limits.file_size: %w", err)
	}
	if p.Limits.CPUTime, err = parseDuration(f.Limits.CPUTime); err != nil {
		return Policy{}, fmt.Errorf("limits.cpu_time: %w", err)
	}
	if p.Limits.Wall, err = parseDuration(f.Limits.Wall); err != nil {
		return Policy{}, fmt.Errorf("limits.wall: %w", err)
	}
	if p.Limits.Pids < 0 {
		return Policy{}, fmt.Errorf("limits.pids: negative")
	}
	return p, nil
}

// Validate checks the policy's names, patterns and modes.
func (p *Policy) Validate() error {
	if !validAgent(p.Agent) {
		return fmt.Errorf("agent %q: want letters, digits, '.', '_' or '-'", p.Agent)
	}
	for _, list := range []struct {
		key  string
		pats []string
	}{{"read", p.Read}, {"write", p.Write}} {
		for _, pat := range list.pats {
			if c, ok := cleanRel(pat); !ok || c != pat {
				return fmt.Errorf("%s: pattern %q: want a clean path relative to the workspace", list.key, pat)
			}
			for _, seg := range strings.Split(pat, "/") {
				if _, err := path.Match(seg, ""); err != nil {
					return fmt.Errorf("%s: pattern %q: %v", list.key, pat, err)
				}
			}
		}
	}
	for _, c := range p.Commands {
		if _, err := path.Match(c, ""); err != nil || c == "" {
			return fmt.Errorf("commands: pattern %q is not valid", c)
		}
	}
	for _, l := range p.Languages {
		if l == "" || strings.ContainsAny(l, " /\n") {
			return fmt.Errorf("languages: %q is not a language name", l)
		}
	}
	for _, h := range p.Hosts {
		name, port := splitPort(h)
		if n, err := strconv.Atoi(port); !hostName().MatchString(name) || (port != "" && (err != nil || n < 1 || n > 65535)) {
			return fmt.Errorf("hosts: %q: want a lower-case host name or *.domain, optionally with :port (1-65535)", h)
		}
	}
	if p.Memory != "" && p.Memory != MemoryRead && p.Memory != MemoryWrite {
		return fmt.Errorf("memory: %q: want none, read or write", p.Memory)
	}
	for t, m := range p.Tools {
		if !toolName().MatchString(t) {
			return fmt.Errorf("tools: %q is not a tool name", t)
		}
		if !m.valid() {
			return fmt.Errorf("tools.%s: mode %q: want auto, ask or deny", t, m)
		}
	}
	if p.Default != "" && !p.Default.valid() {
		return fmt.Errorf("default: mode %q: want auto, ask or deny", p.Default)
	}
	return nil
}

// Marshal returns the policy as YAML (the file format). Bounds from Narrow are not part of a file and
// are not written.
func Marshal(p Policy) ([]byte, error) {
	f := file{Agent: p.Agent, Read: p.Read, Write: p.Write, Commands: p.Commands, Languages: p.Languages,
		Hosts: p.Hosts, Memory: p.Memory, Tools: p.Tools, Default: p.Default, Limits: fileLimits{
			Memory: formatSize(p.Limits.MemoryBytes), Pids: p.Limits.Pids, FileSize: formatSize(p.Limits.FileSizeBytes),
			CPUTime: formatDuration(p.Limits.CPUTime), Wall: formatDuration(p.Limits.Wall)}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Agent, err)
	}
	return b.Bytes(), nil
}

var units = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}

// parseSize reads "512MiB", "64M", "1G", "4096" (bytes); "" is 0 (no limit).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional K, M or G suffix", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n == 0:
		return ""
	case n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

func parseDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 30s or 2m", s)
	}
	return d, nil
}

func formatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// validAgent reports whether s can be an agent name in a policy: 1 to 64 of [A-Za-z0-9._-].
func validAgent(s string) bool { return runid.Name(s, 64) }
