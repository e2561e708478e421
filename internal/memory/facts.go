package memory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/fault"
)

// Remembered facts are short statements an agent (or a person) asked the memory to keep, each with
// its provenance: who recorded it, in which run, the source it cites and the passage it came from.
// They are append-only: a fact is never edited or deleted; a correction is a new fact that names the
// one it supersedes, and the earlier one stays, shown as superseded. A fact may have a validity
// period; once it has ended the fact is expired and retrieval leaves it out unless asked.

// Limits of a fact's fields, in bytes.
const (
	MaxFactBytes       = 4096
	MaxFactSourceBytes = 2048
	MaxFactNameBytes   = 128 // agent and run
)

// Fact is one remembered fact.
type Fact struct {
	// ID is assigned by the store, from 1, in the order facts are recorded.
	ID int64
	// Text is the fact as stated.
	Text string
	// Agent names who recorded the fact (an agent's name, or a person's); Run is the run it was
	// recorded in ("" outside a run).
	Agent, Run string
	// Source is what the fact cites: a path (with lines), a URL, or a short description. Required.
	Source string
	// Chunk is the memory passage the fact came from (its id when the fact was recorded), 0 when none.
	// Re-ingesting a file gives its passages new ids, so an old fact's chunk may no longer exist.
	Chunk int64
	// RecordedAt is when the store recorded the fact.
	RecordedAt time.Time
	// ValidFrom is when the fact starts to hold (RecordedAt when not given); ValidUntil when it stops
	// (zero: no end). A fact whose ValidUntil has passed is expired.
	ValidFrom, ValidUntil time.Time
	// Supersedes is the id of the earlier fact this one corrects, 0 when none. A fact can be
	// superseded once; later corrections supersede the latest fact.
	Supersedes int64
	// SupersededBy is the id of the fact that corrects this one, 0 when none. The store fills it in
	// when it reads the fact; it is never stored in the fact's own row.
	SupersededBy int64
}

// Expired reports whether the fact's validity has ended at time at.
func (f Fact) Expired(at time.Time) bool { return !f.ValidUntil.IsZero() && !at.Before(f.ValidUntil) }

// Current reports whether the fact holds at time at: it has started, has not expired, and no later
// fact supersedes it.
func (f Fact) Current(at time.Time) bool {
	return f.SupersededBy == 0 && !f.Expired(at) && !at.Before(f.ValidFrom)
}

// Status describes the fact at time at: "current", "superseded by #N", "expired <time>" or "valid from
// <time>".
func (f Fact) Status(at time.Time) string {
	switch {
	case f.SupersededBy != 0:
		return fmt.Sprintf("superseded by #%d", f.SupersededBy)
	case f.Expired(at):
		return "expired " + f.ValidUntil.UTC().Format(time.RFC3339)
	case at.Before(f.ValidFrom):
		return "valid from " + f.ValidFrom.UTC().Format(time.RFC3339)
	}
	return "current"
}

// FactFilter selects facts for FactStore's lookups. The zero value selects the facts current now.
type FactFilter struct {
	// Limit bounds the facts or hits returned (0: no bound for Facts, 5 for the searches).
	Limit int
	// At is the time validity is judged at (time.Now() when zero).
	At time.Time
	// All keeps facts that are expired, superseded or not yet valid at At.
	All bool
}

// Keep reports whether f passes the filter.
func (ff FactFilter) Keep(f Fact) bool {
	if ff.All {
		return true
	}
	at := ff.At
	if at.IsZero() {
		at = time.Now()
	}
	return f.Current(at)
}

// Select returns the facts of all (oldest first) the filter keeps, the newest Limit of them when Limit
// is set: what FactStore.Facts returns. It reuses all's array.
func (ff FactFilter) Select(all []Fact) []Fact {
	out := all[:0]
	for _, f := range all {
		if ff.Keep(f) {
			out = append(out, f)
		}
	}
	if ff.Limit > 0 && len(out) > ff.Limit {
		out = out[len(out)-ff.Limit:]
	}
	return out
}

// FactStore is a Store that keeps remembered facts. Facts are append-only: implementations refuse to
// change or delete a stored fact, in their schema and not only in code. Implementations must be safe
// for concurrent use.
type FactStore interface {
	// Remember checks f (PrepareFact), appends it and returns it as stored, with its ID and
	// RecordedAt. A fact that cites a chunk that does not exist, or supersedes a fact that does not
	// exist or that another fact already supersedes, is refused with fault.Invalid.
	Remember(ctx context.Context, f Fact) (Fact, error)
	// Fact returns the fact with id, or an error wrapping ErrNotFound.
	Fact(ctx context.Context, id int64) (Fact, error)
	// Facts returns the facts filter selects, oldest first (the newest Limit when Limit is set).
	Facts(ctx context.Context, filter FactFilter) ([]Fact, error)
	// LookupFacts returns the facts filter selects that contain the normalised phrase (see
	// ExactSearcher), as hits of Method "exact" with Coverage 1.
	LookupFacts(ctx context.Context, phrase string, filter FactFilter) ([]Hit, error)
	// SearchFacts ranks the facts filter selects by BM25 over the query terms, as hits of Method
	// "text" with their Coverage (see FactTextHits).
	SearchFacts(ctx context.Context, query string, filter FactFilter) ([]Hit, error)
}

// PrepareFact checks a fact to be remembered and fills in its defaults: the text, agent and source
// are required; text, source, agent and run must be valid UTF-8 without control characters (the text
// may have line breaks and tabs) and within their limits; ValidUntil must come after ValidFrom. Fields
// are trimmed, RecordedAt is now, ValidFrom defaults to now, and times are kept to the microsecond
// (what both stores hold). Errors are fault.Invalid naming the field.
func PrepareFact(f Fact, now time.Time) (Fact, error) {
	check := func(name, v string, max int, required, multiline bool) (string, error) {
		if !utf8.ValidString(v) {
			return "", fault.Param(name, "fact: %s is not valid UTF-8", name)
		}
		v = strings.TrimSpace(v)
		if v == "" && required {
			return "", fault.Param(name, "fact: %s is empty", name)
		}
		if len(v) > max {
			return "", fault.Param(name, "fact: %s has %d bytes, more than %d", name, len(v), max)
		}
		for _, r := range v {
			if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
				return "", fault.Param(name, "fact: %s contains the control character %U", name, r)
			}
		}
		return v, nil
	}
	var err error
	if f.Text, err = check("text", f.Text, MaxFactBytes, true, true); err != nil {
		return f, err
	}
	if f.Source, err = check("source", f.Source, MaxFactSourceBytes, true, false); err != nil {
		return f, err
	}
	if f.Agent, err = check("agent", f.Agent, MaxFactNameBytes, true, false); err != nil {
		return f, err
	}
	if f.Run, err = check("run", f.Run, MaxFactNameBytes, false, false); err != nil {
		return f, err
	}
	if len(Words(f.Text)) == 0 {
		return f, fault.Param("text", "fact: the text has no words")
	}
	if f.Chunk < 0 {
		return f, fault.Param("chunk", "fact: chunk ids are positive")
	}
	if f.Supersedes < 0 {
		return f, fault.Param("supersedes", "fact: fact ids are positive")
	}
	f.ID, f.SupersededBy = 0, 0
	f.RecordedAt = now.UTC().Truncate(time.Microsecond)
	if f.ValidFrom.IsZero() {
		f.ValidFrom = f.RecordedAt
	}
	f.ValidFrom = f.ValidFrom.UTC().Truncate(time.Microsecond)
	if !f.ValidUntil.IsZero() {
		f.ValidUntil = f.ValidUntil.UTC().Truncate(time.Microsecond)
		if !f.ValidUntil.After(f.ValidFrom) {
			return f, fault.Param("valid_until", "fact: valid_until (%s) is not after valid_from (%s)",
				f.ValidUntil.Format(time.RFC3339), f.ValidFrom.Format(time.RFC3339))
		}
	}
	for _, t := range []time.Time{f.ValidFrom, f.ValidUntil} {
		if !t.IsZero() && (t.Year() < 1 || t.Year() > 9999) {
			return f, fault.Param("valid_until", "fact: a time outside the years 1 to 9999")
		}
	}
	return f, nil
}

// FactHit returns a hit for a fact. Its Chunk stands in for the fact so that code that shows or
// cites chunks shows the fact sensibly: ID 0, Source "fact #<id>", Title naming the recording agent,
// Text the fact, lines 1-1, Hash the SHA-256 of the text, IngestedAt the time it was recorded.
func FactHit(f Fact, score, coverage float64, method string) Hit {
	sum := sha256.Sum256([]byte(f.Text))
	fc := f
	return Hit{
		Chunk: Chunk{
			Source:     fmt.Sprintf("fact #%d", f.ID),
			Title:      fmt.Sprintf("remembered by %s", f.Agent),
			StartLine:  1,
			EndLine:    1,
			Text:       f.Text,
			Hash:       hex.EncodeToString(sum[:]),
			IngestedAt: f.RecordedAt,
		},
		Fact:     &fc,
		Score:    score,
		Coverage: coverage,
		Method:   method,
	}
}

// FactPhraseHits returns, as exact hits, the facts among candidates that filter keeps and that
// contain the normalised phrase in order, ranked by occurrences (ties to the older fact), at most
// filter.Limit (5 when 0). Stores pass the candidates their n-gram index found.
func FactPhraseHits(phrase string, candidates []Fact, filter FactFilter) []Hit {
	words := Words(phrase)
	if len(words) == 0 {
		return nil
	}
	var hits []Hit
	for _, f := range candidates {
		if !filter.Keep(f) {
			continue
		}
		if n := CountPhrase(Words(f.Text), words); n > 0 {
			hits = append(hits, FactHit(f, float64(n), 1, "exact"))
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Fact.ID < hits[j].Fact.ID
	})
	return hits[:min(len(hits), limitOr(filter.Limit, 5))]
}

// FactTextHits ranks candidates — every stored fact that holds at least one of the query's terms,
// whether filter keeps it or not — by BM25 (the stores' k1 = 0.9, b = 0.4) over a collection of n facts
// with totalTerms terms in all, and returns the best filter.Limit (5 when 0) that filter keeps, as
// hits of Method "text" with their Coverage. Facts are short and few next to chunks, so their terms
// are counted here from the text rather than kept in postings.
func FactTextHits(query string, candidates []Fact, n, totalTerms int64, filter FactFilter) []Hit {
	terms := QueryTerms(query)
	if len(terms) == 0 || len(candidates) == 0 || n <= 0 {
		return nil
	}
	index := make(map[string]int, len(terms))
	for i, t := range terms {
		index[t] = i
	}
	postings := make([][]Posting, len(terms))
	byID := make(map[int64]Fact, len(candidates))
	for _, f := range candidates {
		byID[f.ID] = f
		ft := Terms(f.Text)
		tf := map[int]float64{}
		for _, t := range ft {
			if i, ok := index[t]; ok {
				tf[i]++
			}
		}
		for i, c := range tf {
			postings[i] = append(postings[i], Posting{Chunk: f.ID, TF: c, Len: float64(len(ft))})
		}
	}
	avgdl := float64(totalTerms) / float64(n)
	if avgdl <= 0 {
		avgdl = 1
	}
	ranked := BM25{K1: 0.9, B: 0.4}.Rank(postings, float64(n), avgdl, len(byID))
	k := limitOr(filter.Limit, 5)
	var hits []Hit
	for _, r := range ranked {
		if f := byID[r.Chunk]; filter.Keep(f) {
			hits = append(hits, FactHit(f, r.Score, r.Coverage, "text"))
			if len(hits) == k {
				break
			}
		}
	}
	return hits
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// factLists returns the ranked lists of remembered facts Search fuses when the store is a FactStore:
// an exact list per phrase of ExactPhrases and a full-text list gated by opts.MinCoverage. Facts are
// those current now unless opts.IncludeExpired.
func factLists(ctx context.Context, store Store, query string, opts SearchOptions) ([][]Hit, error) {
	fs, ok := store.(FactStore)
	if !ok {
		return nil, nil
	}
	filter := FactFilter{Limit: opts.Depth, All: opts.IncludeExpired}
	var lists [][]Hit
	for _, p := range ExactPhrases(query) {
		hits, err := fs.LookupFacts(ctx, p, filter)
		if err != nil {
			return nil, err
		}
		if len(hits) > 0 {
			lists = append(lists, hits)
		}
	}
	hits, err := fs.SearchFacts(ctx, query, filter)
	if err != nil {
		return nil, err
	}
	hits = gate(hits, func(h Hit) bool { return opts.MinCoverage < 0 || h.Coverage >= opts.MinCoverage })
	if len(hits) > 0 {
		lists = append(lists, hits)
	}
	return lists, nil
}

// hitKey identifies what a hit found across the lists Fuse merges: a chunk, or a remembered fact
// (whose ids are a space of their own).
type hitKey struct {
	fact bool
	id   int64
}

func (h Hit) key() hitKey {
	if h.Fact != nil {
		return hitKey{fact: true, id: h.Fact.ID}
	}
	return hitKey{id: h.Chunk.ID}
}

// less orders keys: chunks before facts, then by id.
func (k hitKey) less(o hitKey) bool {
	if k.fact != o.fact {
		return !k.fact
	}
	return k.id < o.id
}
