package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/tool"
)

type pathArgs struct {
	Path string `json:"path"`
}

func readFile(opts Options) tool.Tool {
	return def[pathArgs]{
		spec: chat.ToolSpec{
			Name:        "read_file",
			Description: fmt.Sprintf("Read a text file of the workspace (at most %d bytes). Paths are relative to the workspace.", opts.MaxRead),
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"path":{"type":"string","minLength":1,"description":"file path relative to the workspace"}},
				"required":["path"],"additionalProperties":false}`),
		},
		plan: func(a pathArgs) (policy.Call, error) { return policy.Call{Read: []string{a.Path}}, nil },
		call: func(_ context.Context, env tool.Env, a pathArgs) (tool.Result, error) {
			b, err := env.Workspace.ReadFile(a.Path, opts.MaxRead)
			if err != nil {
				return tool.Result{}, err
			}
			res := tool.Result{BytesOut: int64(len(b))}
			if !utf8.Valid(b) {
				res.Content = fmt.Sprintf("%s: %d bytes of binary data (not shown)", a.Path, len(b))
				return res, nil
			}
			res.Content = string(b)
			return res, nil
		},
	}
}

type writeArgs struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

func writeFile() tool.Tool {
	return def[writeArgs]{
		spec: chat.ToolSpec{
			Name:        "write_file",
			Description: "Create or replace a file of the workspace with the given text; missing folders are created. Every change is committed and can be reverted.",
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"path":{"type":"string","minLength":1,"description":"file path relative to the workspace"},
				"content":{"type":"string","description":"the complete new content"}},
				"required":["path","content"],"additionalProperties":false}`),
		},
		plan: func(a writeArgs) (policy.Call, error) { return policy.Call{Write: []string{a.Path}}, nil },
		call: func(_ context.Context, env tool.Env, a writeArgs) (tool.Result, error) {
			if err := env.Workspace.WriteFile(a.Path, []byte(a.Content), 0o644); err != nil {
				return tool.Result{BytesIn: int64(len(a.Content))}, err
			}
			return tool.Result{Content: fmt.Sprintf("wrote %d bytes to %s", len(a.Content), a.Path), BytesIn: int64(len(a.Content))}, nil
		},
	}
}

type listArgs struct {
	Path string `json:"path"`
}

func listDir() tool.Tool {
	return def[listArgs]{
		spec: chat.ToolSpec{
			Name:        "list_dir",
			Description: "List a folder of the workspace (not recursive). Folders end with '/', symbolic links show their kind.",
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"path":{"type":"string","description":"folder relative to the workspace (default: the workspace itself)"}},
				"additionalProperties":false}`),
		},
		plan: func(a listArgs) (policy.Call, error) { return policy.Call{Read: []string{cleanDir(a.Path)}}, nil },
		call: func(_ context.Context, env tool.Env, a listArgs) (tool.Result, error) {
			ents, err := env.Workspace.List(cleanDir(a.Path))
			if err != nil {
				return tool.Result{}, err
			}
			var b strings.Builder
			for _, e := range ents {
				switch {
				case e.Symlink:
					fmt.Fprintf(&b, "%s (symbolic link)\n", e.Name)
				case e.Dir:
					fmt.Fprintf(&b, "%s/\n", e.Name)
				default:
					fmt.Fprintf(&b, "%s (%d bytes)\n", e.Name, e.Size)
				}
			}
			if len(ents) == 0 {
				b.WriteString("(empty)\n")
			}
			return tool.Result{Content: b.String(), BytesOut: int64(b.Len())}, nil
		},
	}
}

func cleanDir(p string) string {
	if strings.TrimSpace(p) == "" {
		return "."
	}
	return path.Clean(p)
}

type searchArgs struct {
	Pattern    string `json:"pattern"`
	Path       string `json:"path"`
	Glob       string `json:"glob"`
	Literal    bool   `json:"literal"`
	MaxResults int    `json:"max_results"`
}

// Search bounds: a search never reads more than these, whatever the workspace holds.
const (
	searchMaxFiles    = 20000
	searchMaxFileSize = 1 << 20
)

func searchFiles() tool.Tool {
	return def[searchArgs]{
		spec: chat.ToolSpec{
			Name:        "search_files",
			Description: "Search the text files of a workspace folder (recursively) for a regular expression (RE2 syntax) or a literal string; answers path:line: text for each match. Only files the agent may read are searched.",
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"pattern":{"type":"string","minLength":1,"description":"regular expression (RE2), or literal text when literal is true"},
				"path":{"type":"string","description":"folder to search (default: the whole workspace)"},
				"glob":{"type":"string","description":"only files whose name matches this pattern, e.g. *.go"},
				"literal":{"type":"boolean"},
				"max_results":{"type":"integer","minimum":1,"maximum":1000}},
				"required":["pattern"],"additionalProperties":false}`),
		},
		plan: func(a searchArgs) (policy.Call, error) {
			if a.Glob != "" {
				if _, err := path.Match(a.Glob, ""); err != nil {
					return policy.Call{}, fault.Param("glob", "glob %q: %v", a.Glob, err)
				}
			}
			pat := a.Pattern
			if a.Literal {
				pat = regexp.QuoteMeta(pat)
			}
			if _, err := regexp.Compile(pat); err != nil {
				return policy.Call{}, fault.Param("pattern", "pattern: %v", err)
			}
			return policy.Call{Read: []string{cleanDir(a.Path)}}, nil
		},
		call: func(ctx context.Context, env tool.Env, a searchArgs) (tool.Result, error) {
			pat := a.Pattern
			if a.Literal {
				pat = regexp.QuoteMeta(pat)
			}
			re, err := regexp.Compile(pat)
			if err != nil {
				return tool.Result{}, fault.Param("pattern", "pattern: %v", err)
			}
			max := a.MaxResults
			if max == 0 {
				max = 100
			}
			s := &search{ctx: ctx, env: env, re: re, glob: a.Glob, max: max}
			if err := s.walk(cleanDir(a.Path)); err != nil {
				return tool.Result{}, err
			}
			var b strings.Builder
			for _, h := range s.hits {
				b.WriteString(h)
				b.WriteByte('\n')
			}
			switch {
			case len(s.hits) == 0:
				b.WriteString("no matches\n")
			case s.more:
				fmt.Fprintf(&b, "… more matches not shown (limit %d)\n", max)
			}
			if s.skipped > 0 {
				fmt.Fprintf(&b, "(%d files skipped: not readable by policy, binary or over %d bytes)\n", s.skipped, searchMaxFileSize)
			}
			return tool.Result{Content: b.String(), BytesOut: s.read}, nil
		},
	}
}

type search struct {
	ctx     context.Context
	env     tool.Env
	re      *regexp.Regexp
	glob    string
	max     int
	files   int
	skipped int
	read    int64
	hits    []string
	more    bool
}

func (s *search) walk(dir string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	ents, err := s.env.Workspace.List(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if s.more || s.files >= searchMaxFiles {
			s.more = true
			return nil
		}
		switch {
		case e.Symlink:
			continue // never followed
		case e.Dir:
			if err := s.walk(e.Name); err != nil {
				return err
			}
			continue
		}
		if s.glob != "" {
			if ok, _ := path.Match(s.glob, path.Base(e.Name)); !ok {
				continue
			}
		}
		s.files++
		if !s.env.Policy.Allows(policy.Capability{Kind: policy.KindRead, Value: e.Name}) || e.Size > searchMaxFileSize {
			s.skipped++
			continue
		}
		b, err := s.env.Workspace.ReadFile(e.Name, searchMaxFileSize)
		if err != nil || !utf8.Valid(b) {
			s.skipped++
			continue
		}
		s.read += int64(len(b))
		for i, line := range strings.Split(string(b), "\n") {
			if s.re.MatchString(line) {
				if len(s.hits) >= s.max {
					s.more = true
					return nil
				}
				if len(line) > 300 {
					cut := 300
					for cut > 0 && !utf8.RuneStart(line[cut]) {
						cut--
					}
					line = line[:cut] + "…"
				}
				s.hits = append(s.hits, fmt.Sprintf("%s:%d: %s", e.Name, i+1, line))
			}
		}
	}
	return nil
}
