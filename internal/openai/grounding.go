package openai

import "github.com/seance-dev/seance/internal/chat"

// Grounding is the "seance_grounding" extension of a chat completion and of a stream's finish chunk:
// the numbered sources a grounded model (an agent with memory:) gave the model, and the check of the
// answer's citations. Clients that do not know it ignore it.
type Grounding struct {
	Query   string            `json:"query"`
	Sources []GroundingSource `json:"sources"`
	Check   CitationCheck     `json:"check"`
}

// GroundingSource is one numbered source with its provenance.
type GroundingSource struct {
	N         int      `json:"n"`
	Path      string   `json:"path"`
	StartLine int      `json:"start_line"`
	EndLine   int      `json:"end_line"`
	Title     string   `json:"title"`
	Headings  []string `json:"headings,omitempty"`
	Commit    string   `json:"commit,omitempty"`
	Score     float64  `json:"score"`
	Text      string   `json:"text"`
}

// CitationCheck is the check of an answer's citations: a verdict per sentence and the counts.
type CitationCheck struct {
	// OK is true when no sentence was flagged (every claim cited and supported).
	OK           bool              `json:"ok"`
	Claims       int               `json:"claims"`
	Supported    int               `json:"supported"`
	Unsupported  int               `json:"unsupported"`
	BadCitations int               `json:"bad_citations"`
	Uncited      int               `json:"uncited"`
	Sentences    []CheckedSentence `json:"sentences"`
}

// CheckedSentence is the verdict on one sentence: "supported", "unsupported", "bad_citation",
// "uncited" or "no_claim", with a score in [0, 1] and a reason for people.
type CheckedSentence struct {
	Text      string  `json:"text"`
	Citations []int   `json:"citations"`
	Supported bool    `json:"supported"`
	Score     float64 `json:"score"`
	Verdict   string  `json:"verdict"`
	Reason    string  `json:"reason"`
}

// GroundingFromChat converts a response's grounding; nil stays nil. Lists are never null.
func GroundingFromChat(g *chat.Grounding) *Grounding {
	if g == nil {
		return nil
	}
	c := g.Check
	out := &Grounding{Query: g.Query, Sources: make([]GroundingSource, 0, len(g.Sources)), Check: CitationCheck{
		OK:     c.Unsupported+c.BadCitations+c.Uncited == 0,
		Claims: c.Claims, Supported: c.Supported, Unsupported: c.Unsupported, BadCitations: c.BadCitations,
		Uncited: c.Uncited, Sentences: make([]CheckedSentence, 0, len(c.Sentences)),
	}}
	for _, s := range g.Sources {
		out.Sources = append(out.Sources, GroundingSource{N: s.N, Path: s.Path, StartLine: s.StartLine,
			EndLine: s.EndLine, Title: s.Title, Headings: s.Headings, Commit: s.Commit, Score: s.Score, Text: s.Text})
	}
	for _, s := range c.Sentences {
		cites := s.Citations
		if cites == nil {
			cites = []int{}
		}
		out.Check.Sentences = append(out.Check.Sentences, CheckedSentence{Text: s.Text, Citations: cites,
			Supported: s.Supported, Score: s.Score, Verdict: s.Verdict, Reason: s.Reason})
	}
	return out
}
