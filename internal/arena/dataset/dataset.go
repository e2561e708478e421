// Package dataset exports arena transcripts as training data for distillation: SFT records in chat
// format from verified-correct answers, and DPO pairs (chosen verified correct, rejected verified
// wrong, same prompt), de-duplicated and filtered, every record carrying its provenance and a
// `verified` flag. Unverified answers are refused unless the caller asks for them, so a model is not
// fed its own unchecked output by accident.
//
// The functions are pure: they take transcripts and return records and a report. It is imported by
// internal/arena (and the CLI through it); it imports team, chat and fault.
package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/team"
)

// File identifies a team or agent definition by its path in the seance home and its content hash.
type File struct {
	Path string `json:"path"`
	SHA  string `json:"sha"`
}

// Transcript is one contestant's answer to one prompt, with its verdict.
type Transcript struct {
	Run        string
	Suite      string
	Item       string
	Contestant string
	// Models are the models that produced the answer (one for a single model, the members' for a team).
	Models []string
	// Prompt is every message the contestant was sent; Answer its final answer.
	Prompt []chat.Message
	Answer string
	// Verified is set when a verifier judged the answer; Correct is its verdict.
	Verified bool
	Correct  bool
	// Agreement is the share of a team's votes behind the answer (0..1); 1 for a single model.
	Agreement float64
	// Approved is set when a person approved the answer.
	Approved bool
	// Files are the team and agent definitions the answer came from.
	Files []File
}

// FromResult turns a team run into a transcript (not yet verified: the caller sets Verified and
// Correct from its verifier). Agreement is the vote tally's, or 1 without a vote.
func FromResult(r *team.Result) Transcript {
	t := Transcript{Run: r.Run, Contestant: r.Team, Prompt: r.Input, Answer: r.Answer, Agreement: 1}
	if r.Tally != nil {
		t.Agreement = r.Tally.Agreement
	}
	if r.Source != "" || r.SHA != "" {
		t.Files = append(t.Files, File{Path: r.Source, SHA: r.SHA})
	}
	seen := map[string]bool{}
	for _, m := range r.Members {
		if m.Source != "" || m.SHA != "" {
			t.Files = append(t.Files, File{Path: m.Source, SHA: m.SHA})
		}
		if m.Model != "" && !seen[m.Model] {
			seen[m.Model] = true
			t.Models = append(t.Models, m.Model)
		}
	}
	return t
}

// Message is a chat message in the records' wire format.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Provenance says where a record came from.
type Provenance struct {
	Run        string   `json:"run"`
	Suite      string   `json:"suite,omitempty"`
	Item       string   `json:"item,omitempty"`
	Contestant string   `json:"contestant"`
	Models     []string `json:"models"`
	// FilesHash is the SHA-256 of the sorted "path sha" lines of Files: one value to compare.
	FilesHash string  `json:"files_hash,omitempty"`
	Files     []File  `json:"files,omitempty"`
	Correct   bool    `json:"correct"`
	Agreement float64 `json:"agreement"`
	Approved  bool    `json:"approved"`
}

// SFT is a supervised fine-tuning record: the prompt's messages followed by the answer.
type SFT struct {
	Messages   []Message  `json:"messages"`
	Verified   bool       `json:"verified"`
	Provenance Provenance `json:"provenance"`
}

// DPO is a preference pair: the same prompt, a verified-correct answer and a verified-wrong one.
type DPO struct {
	Prompt   []Message `json:"prompt"`
	Chosen   []Message `json:"chosen"`
	Rejected []Message `json:"rejected"`
	// Verified is always true: pairs are only built from verified answers.
	Verified   bool `json:"verified"`
	Provenance struct {
		Chosen   Provenance `json:"chosen"`
		Rejected Provenance `json:"rejected"`
	} `json:"provenance"`
}

// Filter chooses which transcripts become records. The zero Filter keeps every verified-correct
// transcript.
type Filter struct {
	// MinAgreement drops answers with less agreement (a team's vote share).
	MinAgreement float64
	// RequireApproval drops answers no person approved.
	RequireApproval bool
	// AllowUnverified lets SFT include answers no verifier checked (marked verified=false). Without
	// it they are refused, and the report says how many. DPO never uses unverified answers.
	AllowUnverified bool
	// MaxPairs caps the DPO pairs per prompt (4 when 0).
	MaxPairs int
}

// Report says what an export did with each transcript.
type Report struct {
	Considered int
	Written    int
	Duplicates int
	// Skipped counts transcripts left out, by reason.
	Skipped map[string]int
	// Notes are messages for the person exporting (refusals, warnings).
	Notes []string
}

// String is the report for a person.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d transcripts, %d records written, %d duplicates dropped", r.Considered, r.Written, r.Duplicates)
	reasons := make([]string, 0, len(r.Skipped))
	for k := range r.Skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Fprintf(&b, ", %d %s", r.Skipped[k], k)
	}
	for _, n := range r.Notes {
		b.WriteString("\n")
		b.WriteString(n)
	}
	return b.String()
}

func (r *Report) skip(reason string) {
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
	}
	r.Skipped[reason]++
}

// The reasons a transcript is skipped.
const (
	SkipWrong       = "verified wrong"
	SkipUnverified  = "unverified (refused)"
	SkipAgreement   = "below minimum agreement"
	SkipUnapproved  = "not approved"
	SkipEmpty       = "empty answer"
	SkipNoPartner   = "no partner of the other verdict"
	SkipEmptyPrompt = "empty prompt"
)

// keep applies the filter's agreement and approval rules.
func (f Filter) keep(t Transcript, rep *Report) bool {
	switch {
	case strings.TrimSpace(t.Answer) == "":
		rep.skip(SkipEmpty)
	case len(t.Prompt) == 0:
		rep.skip(SkipEmptyPrompt)
	case t.Agreement < f.MinAgreement:
		rep.skip(SkipAgreement)
	case f.RequireApproval && !t.Approved:
		rep.skip(SkipUnapproved)
	default:
		return true
	}
	return false
}

// ExportSFT returns SFT records from the transcripts that pass the filter: verified correct, or —
// with AllowUnverified — unverified (never verified wrong). Records whose prompt and answer (white
// space collapsed) repeat an earlier one are dropped; the first is kept, so the input order decides.
func ExportSFT(ts []Transcript, f Filter) ([]SFT, Report) {
	rep := Report{Considered: len(ts)}
	var out []SFT
	seen := map[string]bool{}
	refused := 0
	for _, t := range ts {
		switch {
		case t.Verified && !t.Correct:
			rep.skip(SkipWrong)
			continue
		case !t.Verified && !f.AllowUnverified:
			rep.skip(SkipUnverified)
			refused++
			continue
		}
		if !f.keep(t, &rep) {
			continue
		}
		key := promptKey(t.Prompt) + "\x00" + normAnswer(t.Answer)
		if seen[key] {
			rep.Duplicates++
			continue
		}
		seen[key] = true
		msgs := append(wire(t.Prompt), Message{Role: string(chat.Assistant), Content: t.Answer})
		out = append(out, SFT{Messages: msgs, Verified: t.Verified, Provenance: provenance(t)})
	}
	rep.Written = len(out)
	if refused > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("refused %d unverified transcripts: no verifier checked them, and training a model on its own unchecked output teaches it its mistakes; allow unverified records explicitly to include them (they are marked \"verified\": false)", refused))
	}
	if f.AllowUnverified {
		n := 0
		for _, r := range out {
			if !r.Verified {
				n++
			}
		}
		if n > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("warning: %d records are unverified (\"verified\": false), included because unverified records were allowed", n))
		}
	}
	return out, rep
}

// ExportDPO returns preference pairs: for each prompt, verified-correct answers that pass the filter
// are chosen and verified-wrong answers rejected, paired round-robin up to MaxPairs per prompt, in
// order of first appearance. Identical answers are counted once; unverified answers are never used.
func ExportDPO(ts []Transcript, f Filter) ([]DPO, Report) {
	rep := Report{Considered: len(ts)}
	maxPairs := f.MaxPairs
	if maxPairs <= 0 {
		maxPairs = 4
	}
	type group struct {
		prompt            []chat.Message
		chosen, rejected  []Transcript
		seenGood, seenBad map[string]bool
	}
	var order []string
	groups := map[string]*group{}
	unverified := 0
	for _, t := range ts {
		if !t.Verified {
			rep.skip(SkipUnverified)
			unverified++
			continue
		}
		if t.Correct && !f.keep(t, &rep) {
			continue
		}
		if !t.Correct && (strings.TrimSpace(t.Answer) == "" || len(t.Prompt) == 0) {
			rep.skip(SkipEmpty)
			continue
		}
		k := promptKey(t.Prompt)
		g := groups[k]
		if g == nil {
			g = &group{prompt: t.Prompt, seenGood: map[string]bool{}, seenBad: map[string]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		a := normAnswer(t.Answer)
		switch {
		case t.Correct && g.seenGood[a], !t.Correct && g.seenBad[a]:
			rep.Duplicates++
		case t.Correct:
			g.seenGood[a] = true
			g.chosen = append(g.chosen, t)
		default:
			g.seenBad[a] = true
			g.rejected = append(g.rejected, t)
		}
	}
	var out []DPO
	for _, k := range order {
		g := groups[k]
		if len(g.chosen) == 0 || len(g.rejected) == 0 {
			for range len(g.chosen) + len(g.rejected) {
				rep.skip(SkipNoPartner)
			}
			continue
		}
		n := min(max(len(g.chosen), len(g.rejected)), maxPairs)
		for i := range n {
			c, r := g.chosen[i%len(g.chosen)], g.rejected[i%len(g.rejected)]
			d := DPO{
				Prompt:   wire(g.prompt),
				Chosen:   []Message{{Role: string(chat.Assistant), Content: c.Answer}},
				Rejected: []Message{{Role: string(chat.Assistant), Content: r.Answer}},
				Verified: true,
			}
			d.Provenance.Chosen, d.Provenance.Rejected = provenance(c), provenance(r)
			out = append(out, d)
		}
	}
	rep.Written = len(out)
	if unverified > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("left out %d unverified transcripts: preference pairs are built only from verified answers", unverified))
	}
	return out, rep
}

// WriteJSONL writes records one JSON object per line.
func WriteJSONL[T any](w io.Writer, records []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, r := range records {
		if err := enc.Encode(r); err != nil {
			return fault.Wrap(err, fault.Internal, "write record %d", i+1)
		}
	}
	return nil
}

// FilesHash is the SHA-256 (hex) of the files' sorted "path sha" lines; "" without files.
func FilesHash(files []File) string {
	if len(files) == 0 {
		return ""
	}
	lines := make([]string, len(files))
	for i, f := range files {
		lines[i] = f.Path + " " + f.SHA
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

func provenance(t Transcript) Provenance {
	models := t.Models
	if models == nil {
		models = []string{}
	}
	return Provenance{
		Run: t.Run, Suite: t.Suite, Item: t.Item, Contestant: t.Contestant, Models: models,
		FilesHash: FilesHash(t.Files), Files: t.Files, Correct: t.Verified && t.Correct, Agreement: t.Agreement, Approved: t.Approved,
	}
}

// wire converts messages to the records' format (tool calls are not exported).
func wire(ms []chat.Message) []Message {
	out := make([]Message, 0, len(ms)+1)
	for _, m := range ms {
		out = append(out, Message{Role: string(m.Role), Content: m.Content})
	}
	return out
}

// promptKey identifies a prompt: a hash of its roles and contents.
func promptKey(ms []chat.Message) string {
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%s\x00%s\x00", m.Role, strings.Join(strings.Fields(m.Content), " "))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func normAnswer(s string) string { return strings.Join(strings.Fields(s), " ") }
