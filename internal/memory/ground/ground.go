// Package ground makes answers cite the memory: a Model wraps an llm.Model, retrieves passages for the
// last user message with memory.Search, gives them to the model as numbered sources with the
// instruction to cite them as [n], and checks the answer's citations with memory.CheckCitations. The
// sources (with their provenance) and the check reach the caller in chat.Response.Grounding.
//
// internal/app builds grounded agents (an agent whose front matter has memory:) and the CLI builds one
// for `seance ask --memory`. ground imports memory, llm, chat and fault.
package ground

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/memory"
)

// NoSources is the notice a grounded answer starts with when the memory has nothing relevant to the
// question; the checker reads it as a statement that the sources do not answer.
const NoSources = "No sources were found in memory for this question."

// DefaultMaxSourceRunes caps the text of one source in the prompt when Options.MaxSourceRunes is 0.
const DefaultMaxSourceRunes = 2000

// Options configure a grounded Model.
type Options struct {
	// Store is the memory to search. Required.
	Store memory.Store
	// Search tunes retrieval; Search.K is the number of sources (5 when 0).
	Search memory.SearchOptions
	// Scopes, when set, restrict the sources to those whose path is one of them or lies under one of
	// them (absolute, cleaned paths; "*" allows everything).
	Scopes []string
	// Check tunes the citation check.
	Check memory.CheckOptions
	// MaxSourceRunes caps each source's text in the prompt (DefaultMaxSourceRunes when 0); the check
	// uses the same, possibly shortened, text.
	MaxSourceRunes int
}

// Model is a grounded llm.Model. It is safe for concurrent use when its inner model and store are.
type Model struct {
	inner llm.Model
	opts  Options
}

var _ llm.Model = (*Model)(nil)

// New returns inner grounded in opts.Store.
func New(inner llm.Model, opts Options) (*Model, error) {
	if inner == nil {
		return nil, fault.New(fault.Invalid, "ground: no model")
	}
	if opts.Store == nil {
		return nil, fault.New(fault.Invalid, "ground: no memory store")
	}
	if opts.Search.K <= 0 {
		opts.Search.K = 5
	}
	if opts.MaxSourceRunes <= 0 {
		opts.MaxSourceRunes = DefaultMaxSourceRunes
	}
	opts.Scopes = append([]string(nil), opts.Scopes...)
	for i, s := range opts.Scopes {
		if s != "*" {
			if !filepath.IsAbs(s) {
				return nil, fault.Param("memory", "ground: memory scope %q is not an absolute path (or *)", s)
			}
			opts.Scopes[i] = filepath.Clean(s)
		}
	}
	return &Model{inner: inner, opts: opts}, nil
}

// Describe describes the inner model when it can describe itself.
func (m *Model) Describe() llm.Info {
	if d, ok := m.inner.(llm.Describer); ok {
		return d.Describe()
	}
	return llm.Info{}
}

// Chat retrieves sources for the last user message, asks the inner model with them in the system
// prompt, and checks the answer's citations. When nothing relevant is found the answer starts with
// NoSources (streamed first) and Grounding has no sources. A request without a user message is
// fault.Invalid. Retrieval errors are returned as they are.
func (m *Model) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	query := lastUser(req.Messages)
	if strings.TrimSpace(query) == "" {
		return nil, fault.Param("messages", "a grounded model needs a user message to retrieve sources for")
	}
	sources, err := m.retrieve(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("ground: retrieve sources: %w", err)
	}
	inner := *req
	inner.Messages = withSystem(req.Messages, instructions(sources))
	prefix := ""
	if len(sources) == 0 {
		prefix = NoSources + "\n\n"
		if stream != nil {
			if err := stream(chat.Delta{Content: prefix}); err != nil {
				return nil, err
			}
		}
	}
	resp, err := m.inner.Chat(ctx, &inner, stream)
	if err != nil {
		return nil, err
	}
	out := *resp
	out.Message.Content = prefix + resp.Message.Content
	texts := make([]string, len(sources))
	for i, s := range sources {
		texts[i] = s.Text
	}
	out.Grounding = &chat.Grounding{
		Query:   query,
		Sources: sources,
		Check:   toChatCheck(memory.CheckCitations(out.Message.Content, texts, m.opts.Check)),
	}
	return &out, nil
}

// retrieve searches the store and returns the sources in scope, numbered.
func (m *Model) retrieve(ctx context.Context, query string) ([]chat.GroundingSource, error) {
	search := m.opts.Search
	k := search.K
	if m.scoped() {
		search.K = max(4*k, 20) // hits out of scope are dropped below
	}
	hits, err := memory.Search(ctx, m.opts.Store, query, search)
	if err != nil {
		return nil, err
	}
	var out []chat.GroundingSource
	for _, h := range hits {
		if len(out) == k {
			break
		}
		if !m.inScope(h.Chunk.Source) {
			continue
		}
		c := h.Chunk
		out = append(out, chat.GroundingSource{
			N:         len(out) + 1,
			Path:      c.Source,
			StartLine: c.StartLine,
			EndLine:   c.EndLine,
			Title:     c.Title,
			Headings:  c.Headings,
			Commit:    c.Commit,
			Text:      clip(strings.TrimSpace(c.Text), m.opts.MaxSourceRunes),
			Score:     h.Score,
		})
	}
	return out, nil
}

func (m *Model) scoped() bool {
	for _, s := range m.opts.Scopes {
		if s == "*" {
			return false
		}
	}
	return len(m.opts.Scopes) > 0
}

func (m *Model) inScope(path string) bool {
	if !m.scoped() {
		return true
	}
	for _, s := range m.opts.Scopes {
		if path == s || strings.HasPrefix(path, strings.TrimSuffix(s, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + " …"
		}
		i++
	}
	return s
}

// instructions is the system prompt part that gives the model its sources.
func instructions(sources []chat.GroundingSource) string {
	if len(sources) == 0 {
		return "The memory has no sources for this question. The answer you write will be shown after the " +
			"notice \"" + NoSources + "\" Answer only if you know the answer, without citations, and do not " +
			"invent sources or citations."
	}
	var b strings.Builder
	b.WriteString("Answer from the numbered sources below. After each sentence that uses a source, cite it " +
		"with its number in square brackets, like [1] or [1][2]. Cite only the numbers listed here, and only for " +
		"what that source says. Quote the sources exactly or not at all. If the sources do not contain the " +
		"answer, say \"The sources do not contain the answer.\" and do not guess.\n\nSources:\n")
	for _, s := range sources {
		fmt.Fprintf(&b, "\n[%d] %s", s.N, s.Title)
		if len(s.Headings) > 0 {
			fmt.Fprintf(&b, " › %s", strings.Join(s.Headings, " › "))
		}
		fmt.Fprintf(&b, " (%s:%d-%d)\n%s\n", filepath.Base(s.Path), s.StartLine, s.EndLine, s.Text)
	}
	return b.String()
}

// withSystem returns msgs with extra appended to the leading system message, or a new leading system
// message holding it (many chat templates accept only one system message, first).
func withSystem(msgs []chat.Message, extra string) []chat.Message {
	out := make([]chat.Message, 0, len(msgs)+1)
	if len(msgs) > 0 && msgs[0].Role == chat.System {
		first := msgs[0]
		if strings.TrimSpace(first.Content) != "" {
			first.Content += "\n\n" + extra
		} else {
			first.Content = extra
		}
		return append(append(out, first), msgs[1:]...)
	}
	out = append(out, chat.Message{Role: chat.System, Content: extra})
	return append(out, msgs...)
}

func lastUser(msgs []chat.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == chat.User {
			return msgs[i].Content
		}
	}
	return ""
}

// toChatCheck converts the memory's report to chat data.
func toChatCheck(r memory.CheckReport) chat.CitationCheck {
	out := chat.CitationCheck{
		Claims: r.Claims, Supported: r.Supported, Unsupported: r.Unsupported,
		BadCitations: r.BadCitations, Uncited: r.Uncited,
	}
	for _, s := range r.Sentences {
		out.Sentences = append(out.Sentences, chat.SentenceCheck{
			Text: s.Text, Citations: s.Citations, Supported: s.Supported, Score: s.Score,
			Verdict: string(s.Verdict), Reason: s.Reason,
		})
	}
	return out
}
