package home

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seance-dev/seance/internal/team"
)

// Problem is one validation error: the file (relative to the home), the line (1-based, 0 when the
// whole file is meant) and what is wrong.
type Problem struct {
	File string
	Line int
	Msg  string
}

// String formats the problem as "file:line: message".
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return p.File + ": " + p.Msg
}

// ValidationError lists every problem found in a home's files.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problem, or the problems one a line, each indented, after a line break.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	var b strings.Builder
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// problems collects Problems for one file.
type problems struct {
	file string
	list *[]Problem
}

func (p problems) add(line int, format string, args ...any) {
	*p.list = append(*p.list, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// nameRE is the syntax of agent and team names (team.Agent.Name).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// maxName bounds names, which become file names and model ids.
const maxName = 64

func validName(s string) bool { return len(s) <= maxName && nameRE.MatchString(s) }

// blobSHA returns the git blob id of content (what `git hash-object` prints), so a transcript's hash
// names an object that `git cat-file -p` can show once the file is committed.
func blobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// agentFile is an agent as read from its file, with the lines validation refers to.
type agentFile struct {
	spec     team.Agent
	nameLine int
}

// teamFile is a team as read from its file, with the lines validation refers to.
type teamFile struct {
	spec        team.Team
	nameLine    int
	memberLines []int
	// paramsLine is the line of params (else of pattern), where parameter errors are reported.
	paramsLine int
}

// splitFrontMatter splits a Markdown file into its YAML front matter and body. fmLine is the file line
// of the front matter's first line, so YAML line n is file line fmLine+n-1.
func splitFrontMatter(src []byte) (fm, body []byte, fmLine int, ok bool) {
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	s := string(src)
	first, rest, found := strings.Cut(s, "\n")
	if !found || strings.TrimRight(first, " \t\r") != "---" {
		return nil, nil, 0, false
	}
	off := 0
	for {
		line, next, more := strings.Cut(rest[off:], "\n")
		if t := strings.TrimRight(line, " \t\r"); t == "---" || t == "..." {
			return []byte(rest[:off]), []byte(next), 2, true
		}
		if !more {
			return nil, nil, 0, false
		}
		off += len(line) + 1
	}
}

// mapping returns the top mapping of a parsed YAML document, reporting what else it found.
func mapping(doc *yaml.Node, p problems, lineOff int, what string) *yaml.Node {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.add(0, "%s is empty", what)
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		p.add(m.Line+lineOff, "%s must be a mapping of keys to values", what)
		return nil
	}
	return m
}

// fields walks a mapping's pairs, reporting unknown and duplicate keys, and calls set for known ones.
func fields(m *yaml.Node, p problems, lineOff int, known []string, set func(key string, line int, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		line := k.Line + lineOff
		if k.Kind != yaml.ScalarNode {
			p.add(line, "keys must be plain names")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.add(line, "key %q repeats line %d", k.Value, prev)
			continue
		}
		seen[k.Value] = line
		if !contains(known, k.Value) {
			p.add(line, "unknown key %q (want %s)%s", k.Value, strings.Join(known, ", "), suggest(k.Value, known))
			continue
		}
		set(k.Value, line, v)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar decoders: each reports its own problem and returns ok=false on a wrong value.

func str(v *yaml.Node, p problems, off int, key string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.add(v.Line+off, "%s: want a string", key)
		return "", false
	}
	return v.Value, true
}

func strList(v *yaml.Node, p problems, off int, key string) ([]string, []int, bool) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil, true
	}
	if v.Kind != yaml.SequenceNode {
		p.add(v.Line+off, "%s: want a list of names", key)
		return nil, nil, false
	}
	var out []string
	var lines []int
	ok := true
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" || e.Value == "" {
			p.add(e.Line+off, "%s: want a name, not a %s", key, kindName(e))
			ok = false
			continue
		}
		out, lines = append(out, e.Value), append(lines, e.Line+off)
	}
	return out, lines, ok
}

func number(v *yaml.Node, p problems, off int, key string, lo, hi float64) (*float64, bool) {
	if v.Kind == yaml.ScalarNode && (v.Tag == "!!float" || v.Tag == "!!int") {
		f, err := strconv.ParseFloat(v.Value, 64)
		if err == nil && !math.IsNaN(f) && f >= lo && f <= hi {
			return &f, true
		}
	}
	p.add(v.Line+off, "%s: want a number from %g to %g, got %s", key, lo, hi, shown(v))
	return nil, false
}

func integer(v *yaml.Node, p problems, off int, key string, lo, hi int64) (int64, bool) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
		var n int64
		if err := v.Decode(&n); err == nil && n >= lo && n <= hi {
			return n, true
		}
	}
	p.add(v.Line+off, "%s: want a whole number from %d to %d, got %s", key, lo, hi, shown(v))
	return 0, false
}

func duration(v *yaml.Node, p problems, off int, key string) (time.Duration, bool) {
	if v.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(v.Value); err == nil && d >= 0 {
			return d, true
		}
	}
	p.add(v.Line+off, "%s: want a duration such as 90s or 5m, got %s", key, shown(v))
	return 0, false
}

func shown(v *yaml.Node) string {
	if v.Kind == yaml.ScalarNode {
		return strconv.Quote(v.Value)
	}
	return "a " + kindName(v)
}

func kindName(v *yaml.Node) string {
	switch v.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.AliasNode:
		return "alias"
	}
	if v.Tag == "!!null" {
		return "null"
	}
	return "scalar"
}

// parserErrors are the messages of yaml.v3's parser (as opposed to its scanner).
var parserErrors = []string{
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
}

// yamlError turns a YAML syntax error into a problem with the file line.
func yamlError(err error, p problems, off int) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// yaml.v3 reports "line N: ..." relative to the parsed text: 1-based for scanner errors but
	// 0-based for parser errors (those with the messages in parserErrors).
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, tail, ok := strings.Cut(rest, ":"); ok {
			if line, err := strconv.Atoi(n); err == nil {
				tail = strings.TrimSpace(tail)
				if contains(parserErrors, tail) {
					line++
				}
				p.add(line+off, "%s", tail)
				return
			}
		}
	}
	p.add(0, "%s", msg)
}

var agentKeys = []string{"name", "description", "model", "persona", "temperature", "top_p", "top_k", "min_p",
	"repeat_penalty", "presence_penalty", "frequency_penalty", "seed", "max_tokens", "tools", "memory"}

// parseAgent reads an agent file: YAML front matter and a Markdown body that is the system prompt.
// stem is the file name without extension, which the name must equal.
func parseAgent(file, stem string, src []byte, list *[]Problem) (agentFile, bool) {
	p := problems{file: file, list: list}
	before := len(*list)
	fm, body, fmLine, ok := splitFrontMatter(src)
	if !ok {
		p.add(1, "an agent file starts with YAML front matter between two --- lines")
		return agentFile{}, false
	}
	off := fmLine - 1
	var doc yaml.Node
	if err := yaml.Unmarshal(fm, &doc); err != nil {
		yamlError(err, p, off)
		return agentFile{}, false
	}
	m := mapping(&doc, p, off, "the front matter")
	if m == nil {
		return agentFile{}, false
	}
	af := agentFile{spec: team.Agent{Name: stem, Model: DefaultModel}}
	a := &af.spec
	fields(m, p, off, agentKeys, func(key string, _ int, v *yaml.Node) {
		var good bool
		switch key {
		case "name":
			a.Name, good = str(v, p, off, key)
			af.nameLine = v.Line + off
		case "description":
			a.Description, good = str(v, p, off, key)
		case "model":
			a.Model, good = str(v, p, off, key)
			if good && strings.TrimSpace(a.Model) == "" {
				p.add(v.Line+off, "model: empty (omit the key for %q)", DefaultModel)
			}
		case "persona":
			a.Persona, good = str(v, p, off, key)
		case "temperature":
			a.Sampling.Temperature, good = number(v, p, off, key, 0, 5)
		case "top_p":
			a.Sampling.TopP, good = number(v, p, off, key, 0, 1)
		case "min_p":
			a.Sampling.MinP, good = number(v, p, off, key, 0, 1)
		case "repeat_penalty":
			a.Sampling.RepeatPenalty, good = number(v, p, off, key, 0, 10)
		case "presence_penalty":
			a.Sampling.PresencePenalty, good = number(v, p, off, key, -2, 2)
		case "frequency_penalty":
			a.Sampling.FrequencyPenalty, good = number(v, p, off, key, -2, 2)
		case "top_k":
			var n int64
			if n, good = integer(v, p, off, key, 0, 1<<20); good {
				k := int(n)
				a.Sampling.TopK = &k
			}
		case "seed":
			var n int64
			if n, good = integer(v, p, off, key, math.MinInt64, math.MaxInt64); good {
				a.Sampling.Seed = &n
			}
		case "max_tokens":
			var n int64
			n, good = integer(v, p, off, key, 0, 1<<24)
			a.MaxTokens = int(n)
		case "tools":
			a.Tools, _, good = strList(v, p, off, key)
		case "memory":
			a.Memory, _, good = strList(v, p, off, key)
		}
		_ = good
	})
	checkName(p, a.Name, stem, af.nameLine)
	a.System = strings.TrimSpace(string(body))
	return af, len(*list) == before
}

var teamKeys = []string{"name", "description", "pattern", "members", "params", "budget"}
var budgetKeys = []string{"tokens", "wall", "member_timeout", "parallel"}

// patterns lists the patterns in the order error messages show them.
var patterns = []team.Pattern{team.Route, team.Vote, team.MoA, team.Debate, team.Review}

func patternNames() []string {
	s := make([]string, len(patterns))
	for i, p := range patterns {
		s[i] = string(p)
	}
	return s
}

// parseTeam reads a team file (YAML).
func parseTeam(file, stem string, src []byte, list *[]Problem) (teamFile, bool) {
	p := problems{file: file, list: list}
	before := len(*list)
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		yamlError(err, p, 0)
		return teamFile{}, false
	}
	m := mapping(&doc, p, 0, "a team file")
	if m == nil {
		return teamFile{}, false
	}
	tf := teamFile{spec: team.Team{Name: stem}}
	t := &tf.spec
	var sawPattern, sawMembers bool
	fields(m, p, 0, teamKeys, func(key string, line int, v *yaml.Node) {
		switch key {
		case "name":
			t.Name, _ = str(v, p, 0, key)
			tf.nameLine = v.Line
		case "description":
			t.Description, _ = str(v, p, 0, key)
		case "pattern":
			sawPattern = true
			s, ok := str(v, p, 0, key)
			if !ok {
				return
			}
			if !contains(patternNames(), s) {
				p.add(v.Line, "unknown pattern %q (want %s)%s", s, strings.Join(patternNames(), ", "), suggest(s, patternNames()))
				return
			}
			t.Pattern = team.Pattern(s)
			if tf.paramsLine == 0 {
				tf.paramsLine = v.Line
			}
		case "members":
			sawMembers = true
			var ok bool
			t.Members, tf.memberLines, ok = strList(v, p, 0, key)
			if !ok {
				return
			}
			if len(t.Members) == 0 {
				p.add(v.Line, "members: a team needs at least one member")
			}
			seen := map[string]int{}
			for i, name := range t.Members {
				if !validName(name) {
					p.add(tf.memberLines[i], "member %q is not a valid name", name)
				}
				if prev, dup := seen[name]; dup {
					p.add(tf.memberLines[i], "member %q repeats line %d (use the pattern's params to sample a member more than once)", name, prev)
				}
				seen[name] = tf.memberLines[i]
			}
		case "params":
			t.Params = params(v, p)
			tf.paramsLine = line
		case "budget":
			t.Budget = budget(v, p)
		}
	})
	if !sawPattern {
		p.add(m.Line, "missing key \"pattern\" (want %s)", strings.Join(patternNames(), ", "))
	}
	if !sawMembers {
		p.add(m.Line, "missing key \"members\"")
	}
	checkName(p, t.Name, stem, tf.nameLine)
	return tf, len(*list) == before
}

// params converts the params mapping to JSON for the pattern to decode.
func params(v *yaml.Node, p problems) json.RawMessage {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.add(v.Line, "params: want a mapping of the pattern's parameters")
		return nil
	}
	var val any
	if err := v.Decode(&val); err != nil {
		p.add(v.Line, "params: %v", err)
		return nil
	}
	val, err := jsonable(val)
	if err != nil {
		p.add(v.Line, "params: %v", err)
		return nil
	}
	b, err := json.Marshal(val)
	if err != nil {
		p.add(v.Line, "params: %v", err)
		return nil
	}
	return b
}

// jsonable converts YAML-decoded values to ones encoding/json accepts (string map keys, no NaN).
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key %v is not a string", k)
			}
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a number JSON can hold", x)
		}
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	}
	return v, nil
}

func budget(v *yaml.Node, p problems) team.Budget {
	var b team.Budget
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return b
	}
	if v.Kind != yaml.MappingNode {
		p.add(v.Line, "budget: want a mapping (%s)", strings.Join(budgetKeys, ", "))
		return b
	}
	fields(v, p, 0, budgetKeys, func(key string, _ int, v *yaml.Node) {
		switch key {
		case "tokens":
			n, _ := integer(v, p, 0, "budget.tokens", 0, math.MaxInt32)
			b.Tokens = int(n)
		case "wall":
			b.Wall, _ = duration(v, p, 0, "budget.wall")
		case "member_timeout":
			b.MemberTimeout, _ = duration(v, p, 0, "budget.member_timeout")
		case "parallel":
			n, _ := integer(v, p, 0, "budget.parallel", 0, 1024)
			b.Parallel = int(n)
		}
	})
	return b
}

func checkName(p problems, name, stem string, line int) {
	switch {
	case !validName(name):
		p.add(line, "name %q: want lower-case letters, digits, - and _ (starting with a letter or digit, at most %d)", name, maxName)
	case name != stem:
		p.add(line, "name %q does not match the file name %q", name, stem)
	}
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within a small edit distance.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
