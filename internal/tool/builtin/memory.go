package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/tool"
)

// Memory is what recall and remember use of seance's memory: a store that can be searched (recall
// runs memory.Search over it, so it needs at least one of the memory's searcher capabilities) and
// that keeps remembered facts. Both memory stores (memory/sqlite, memory/postgres) satisfy it.
type Memory interface {
	memory.Store
	memory.FactStore
}

// Bounds of recall.
const (
	recallDefaultK = 5
	recallMaxK     = 20
	recallMaxRunes = 1200 // of each hit's text
)

type recallArgs struct {
	Query          string `json:"query"`
	K              int    `json:"k"`
	IncludeExpired bool   `json:"include_expired"`
}

func recallTool(m Memory, search memory.SearchOptions) tool.Tool {
	return def[recallArgs]{
		spec: chat.ToolSpec{
			Name: "recall",
			Description: "Search seance's memory (ingested documents and remembered facts) for passages that answer a query. " +
				"Answers numbered hits with their provenance: path:lines, title and commit for passages; id, agent, run, time and " +
				"cited source for remembered facts. Nothing is returned rather than weak matches.",
			Parameters: json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{
				"query":{"type":"string","minLength":1,"maxLength":2000,"description":"what to look for: a question, keywords, or a \"quoted phrase\" to find exactly"},
				"k":{"type":"integer","minimum":1,"maximum":%d,"description":"how many hits (default %d)"},
				"include_expired":{"type":"boolean","description":"also show remembered facts that are expired or superseded (marked)"}},
				"required":["query"],"additionalProperties":false}`, recallMaxK, recallDefaultK)),
		},
		plan: func(recallArgs) (policy.Call, error) { return policy.Call{Memory: policy.MemoryRead}, nil },
		call: func(ctx context.Context, _ tool.Env, a recallArgs) (tool.Result, error) {
			opts := search
			opts.K = a.K
			if opts.K <= 0 {
				opts.K = recallDefaultK
			}
			opts.IncludeExpired = a.IncludeExpired
			hits, err := memory.Search(ctx, m, a.Query, opts)
			if err != nil {
				if fault.CodeOf(err) == fault.Invalid {
					return tool.Errorf("recall: %s", fault.Message(err)), nil
				}
				return tool.Result{}, err
			}
			out := FormatHits(hits, time.Now())
			return tool.Result{Content: out, BytesOut: int64(len(out))}, nil
		},
	}
}

// FormatHits writes memory hits for a model: numbered, each with its provenance on the first line and
// its text (cut at recallMaxRunes) on the next. Remembered facts are judged at time now.
func FormatHits(hits []memory.Hit, now time.Time) string {
	if len(hits) == 0 {
		return "no relevant memories found"
	}
	var b strings.Builder
	for i, h := range hits {
		fmt.Fprintf(&b, "%d. ", i+1)
		if f := h.Fact; f != nil {
			fmt.Fprintf(&b, "fact #%d · remembered by %s", f.ID, f.Agent)
			if f.Run != "" {
				fmt.Fprintf(&b, " in run %s", f.Run)
			}
			fmt.Fprintf(&b, " at %s · source: %s", f.RecordedAt.UTC().Format(time.RFC3339), f.Source)
			if f.Chunk != 0 {
				fmt.Fprintf(&b, " · from chunk %d", f.Chunk)
			}
			if !f.ValidUntil.IsZero() {
				fmt.Fprintf(&b, " · valid until %s", f.ValidUntil.UTC().Format(time.RFC3339))
			}
			if f.Supersedes != 0 {
				fmt.Fprintf(&b, " · corrects #%d", f.Supersedes)
			}
			if st := f.Status(now); st != "current" {
				fmt.Fprintf(&b, " · [%s]", strings.ToUpper(st[:1])+st[1:])
			}
		} else {
			c := h.Chunk
			fmt.Fprintf(&b, "%s:%d-%d", c.Source, c.StartLine, c.EndLine)
			if c.Title != "" {
				fmt.Fprintf(&b, " · %q", c.Title)
			}
			if len(c.Headings) > 0 {
				fmt.Fprintf(&b, " § %s", strings.Join(c.Headings, " › "))
			}
			if c.Commit != "" {
				fmt.Fprintf(&b, " · commit %.12s", c.Commit)
			}
			fmt.Fprintf(&b, " · chunk %d", c.ID)
		}
		b.WriteString("\n   ")
		b.WriteString(cutRunes(strings.Join(strings.Fields(h.Chunk.Text), " "), recallMaxRunes))
		b.WriteString("\n")
	}
	return b.String()
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

type rememberArgs struct {
	Fact       string `json:"fact"`
	Source     string `json:"source"`
	ValidUntil string `json:"valid_until"`
	Supersedes int64  `json:"supersedes"`
	Chunk      int64  `json:"chunk"`
}

func rememberTool(m Memory) tool.Tool {
	return def[rememberArgs]{
		spec: chat.ToolSpec{
			Name: "remember",
			Description: "Remember a fact in seance's memory, with the source it comes from. Facts are never changed or deleted: " +
				"to correct one, remember the corrected fact with supersedes set to the old fact's id. Answers the new fact's id.",
			Parameters: json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{
				"fact":{"type":"string","minLength":1,"maxLength":%d,"description":"the fact, as one or a few self-contained sentences"},
				"source":{"type":"string","minLength":1,"maxLength":%d,"description":"where the fact comes from: a path with lines, a URL, or a recall hit's provenance"},
				"valid_until":{"type":"string","description":"when the fact stops holding: an RFC 3339 time or a date YYYY-MM-DD (midnight UTC); omit when it does not expire"},
				"supersedes":{"type":"integer","minimum":1,"description":"the id of an earlier fact this one corrects"},
				"chunk":{"type":"integer","minimum":1,"description":"the chunk number of the recall hit the fact comes from"}},
				"required":["fact","source"],"additionalProperties":false}`, memory.MaxFactBytes, memory.MaxFactSourceBytes)),
		},
		plan: func(rememberArgs) (policy.Call, error) { return policy.Call{Memory: policy.MemoryWrite}, nil },
		call: func(ctx context.Context, env tool.Env, a rememberArgs) (tool.Result, error) {
			in := int64(len(a.Fact) + len(a.Source))
			f := memory.Fact{Text: a.Fact, Source: a.Source, Agent: env.Agent, Run: env.Run, Supersedes: a.Supersedes, Chunk: a.Chunk}
			if a.ValidUntil != "" {
				t, err := parseWhen(a.ValidUntil)
				if err != nil {
					return tool.Result{Content: "not remembered: " + err.Error(), IsError: true, BytesIn: in}, nil
				}
				f.ValidUntil = t
			}
			got, err := m.Remember(ctx, f)
			if err != nil {
				if fault.CodeOf(err) == fault.Invalid {
					return tool.Result{Content: "not remembered: " + fault.Message(err), IsError: true, BytesIn: in}, nil
				}
				return tool.Result{BytesIn: in}, err
			}
			msg := fmt.Sprintf("remembered as fact #%d", got.ID)
			if got.Supersedes != 0 {
				msg += fmt.Sprintf(" (it supersedes #%d, which stays on record as superseded)", got.Supersedes)
			}
			if got.Expired(time.Now()) {
				msg += "; note: its validity has already ended, so recall shows it only with include_expired"
			}
			return tool.Result{Content: msg, BytesIn: in}, nil
		},
	}
}

// parseWhen reads an RFC 3339 time or a date (midnight UTC).
func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("valid_until must be an RFC 3339 time (2027-01-31T18:00:00Z) or a date (2027-01-31)")
}
