package memory

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/seance-dev/seance/internal/fault"
)

// SearchOptions tune Search. The zero value is usable.
type SearchOptions struct {
	// K is the number of hits returned (5 when 0).
	K int
	// Depth is how many candidates each retriever contributes to fusion (50 when 0).
	Depth int
	// MinCoverage is the relevance gate (DefaultMinCoverage when 0; negative disables it).
	MinCoverage float64
	// RRFK is the constant of reciprocal-rank fusion (60 when 0).
	RRFK float64
	// Embedder, when set and the store is a VectorStore, adds a vector search of the query (with
	// the vectors this embedder made) to the fusion.
	Embedder Embedder
	// MinCosine is the relevance gate of vector hits (DefaultMinCosine when 0; negative disables it).
	MinCosine float64
	// ExactWeight scales the reciprocal-rank contributions of exact-lookup lists relative to the
	// other lists' 1 (DefaultExactWeight when 0; negative leaves them out); Fuse scales it down
	// further for a list of more than five hits.
	ExactWeight float64
	// IncludeExpired makes Search also return remembered facts that are expired, superseded or not
	// yet valid (see Fact.Current); by default only current facts are found.
	IncludeExpired bool
	// VectorWeight is the weight of the cosine against the normalised BM25 score when Search blends
	// the two (see Blend; DefaultVectorWeight when 0).
	VectorWeight float64
	// GraphWeight is the weight of the knowledge-graph score (SearchGraph, when the store is a
	// GraphSearcher) when Search blends it into the full-text list (see BlendGraph;
	// DefaultGraphWeight when 0; negative leaves the graph out).
	GraphWeight float64
	// GraphWalk is how the graph list spreads the query's entities (GraphOptions.Walk;
	// DefaultGraphWalk when "").
	GraphWalk string
}

// exactSpecific is the length up to which an exact list has its full weight in Fuse.
const exactSpecific = 5

// Default weights, set by measurement on SciFact's training claims (TestSciFactHybrid,
// docs/MEMORY.md): exact lists at weight 1 cost nDCG@10 0.05 against BM25 (claims are full of
// numbers and acronyms that many abstracts share), at 0.5 about 0.03; the cosine weight matters
// little between 0.1 and 0.5.
const (
	DefaultExactWeight  = 0.5
	DefaultVectorWeight = 0.25
)

// DefaultMinCoverage is the default relevance gate: a full-text hit must contain at least this share
// of the query's idf-weighted terms. Measured in memory/sqlite: on SciFact's training claims the gate
// at 0.25 keeps nDCG@10 at 0.835 (0.836 without; 0.824 at 0.30), every target passage of the Korean
// query set passes it, and unrelated questions that share a common word with the Korean essays score
// 0.09–0.14.
const DefaultMinCoverage = 0.25

// DefaultMinCosine is the default relevance gate of vector hits: a chunk found by vector search
// must have at least this cosine similarity to the query. Measured with USE-lite on SciFact
// (TestSciFactHybrid, docs/MEMORY.md): on an 865-abstract subset the nearest abstract to sixteen
// questions the corpus does not answer has cosine 0.41 at most, while 95% of the cited abstracts in
// the top 100 have 0.54 or more; on all 5183 abstracts the two overlap (off-topic up to 0.575, cited
// p5 0.588), so the gate is a compromise there. Other embedders have other scales.
const DefaultMinCosine = 0.45

// Search finds the chunks that best answer query by reciprocal-rank fusion of the store's retrievers:
// exact lookup of the query's quoted phrases, identifiers and (at two to four words) the whole query, and BM25
// full-text search, and, with opts.Embedder and a VectorStore, vector search (an exact cosine scan),
// whose list is first blended by score with the full-text one (Blend). Hits
// pass the relevance gate when they are exact matches, when their coverage reaches opts.MinCoverage,
// or, for vector hits, when their cosine reaches opts.MinCosine; when nothing passes, Search returns
// no hits rather than weak ones.
func Search(ctx context.Context, store Store, query string, opts SearchOptions) ([]Hit, error) {
	if opts.K <= 0 {
		opts.K = 5
	}
	if opts.Depth <= 0 {
		opts.Depth = 50
	}
	if opts.MinCoverage == 0 {
		opts.MinCoverage = DefaultMinCoverage
	}
	if opts.RRFK <= 0 {
		opts.RRFK = 60
	}
	if opts.MinCosine == 0 {
		opts.MinCosine = DefaultMinCosine
	}
	if strings.TrimSpace(query) == "" {
		return nil, fault.Param("query", "memory: empty query")
	}
	ex, hasExact := store.(ExactSearcher)
	tx, hasText := store.(TextSearcher)
	vs, hasVec := store.(VectorStore)
	hasVec = hasVec && opts.Embedder != nil
	if !hasExact && !hasText && !hasVec {
		return nil, fault.New(fault.Unsupported, "memory: the store cannot search")
	}
	var lists [][]Hit
	if hasExact {
		for _, p := range ExactPhrases(query) {
			hits, err := ex.LookupExact(ctx, p, opts.Depth)
			if err != nil {
				return nil, err
			}
			if len(hits) > 0 {
				lists = append(lists, hits)
			}
		}
	}
	// Each list is gated first; the full-text and vector lists are then blended by score into one
	// list, which is fused with the exact lists by rank.
	var text, vec []Hit
	if hasText {
		hits, err := tx.SearchText(ctx, query, opts.Depth)
		if err != nil {
			return nil, err
		}
		text = gate(hits, func(h Hit) bool { return opts.MinCoverage < 0 || h.Coverage >= opts.MinCoverage })
	}
	if hasVec {
		qv, err := opts.Embedder.Embed(ctx, []string{query})
		if err != nil {
			return nil, fmt.Errorf("memory: embed the query with %s: %w", opts.Embedder.Name(), err)
		}
		if len(qv) != 1 {
			return nil, fault.New(fault.Upstream, "memory: embedder %s returned %d vectors for one query", opts.Embedder.Name(), len(qv))
		}
		hits, err := vs.SearchVectors(ctx, opts.Embedder.Name(), qv[0], opts.Depth)
		if err != nil {
			return nil, err
		}
		vec = gate(hits, func(h Hit) bool { return opts.MinCosine < 0 || h.Score >= opts.MinCosine })
		text = Blend(text, vec, opts.VectorWeight)
	}
	lists = append(lists, text)
	lists, err := withGraph(ctx, store, query, opts, lists)
	if err != nil {
		return nil, err
	}
	facts, err := factLists(ctx, store, query, opts)
	if err != nil {
		return nil, err
	}
	lists = append(lists, facts...)
	ungated := opts
	ungated.MinCoverage, ungated.MinCosine = -1, -1
	return Fuse(lists, ungated), nil
}

// gate returns the hits that pass.
func gate(hits []Hit, pass func(Hit) bool) []Hit {
	out := hits[:0:0]
	for _, h := range hits {
		if pass(h) {
			out = append(out, h)
		}
	}
	return out
}

// Blend merges a BM25 list and a vector list by score: each chunk scores its BM25 divided by the
// list's best BM25, plus lambda (DefaultVectorWeight when 0) times its cosine; a score missing from
// a list counts 0. The result, best first (ties by chunk id), keeps the full-text Coverage and has
// Method "text" for chunks BM25 found and "vector" for the others. Rank fusion of the two lists
// was measured worse on SciFact (docs/MEMORY.md): it discards how far apart scores are, and a weak
// vector ranking then pulls good BM25 hits down.
func Blend(text, vec []Hit, lambda float64) []Hit {
	if lambda == 0 {
		lambda = DefaultVectorWeight
	}
	top := 0.0
	for _, h := range text {
		top = max(top, h.Score)
	}
	byID := make(map[int64]int, len(text)+len(vec))
	out := make([]Hit, 0, len(text)+len(vec))
	for _, h := range text {
		s := 0.0
		if top > 0 {
			s = h.Score / top
		}
		byID[h.Chunk.ID] = len(out)
		h.Score = s
		out = append(out, h)
	}
	for _, h := range vec {
		if i, ok := byID[h.Chunk.ID]; ok {
			out[i].Score += lambda * h.Score
			continue
		}
		byID[h.Chunk.ID] = len(out)
		h.Score *= lambda
		h.Method, h.Coverage = "vector", 0
		out = append(out, h)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Chunk.ID < out[j].Chunk.ID
	})
	return out
}

// Fuse merges ranked lists by reciprocal-rank fusion after applying the relevance gate to each hit:
// a hit is kept when its Coverage reaches opts.MinCoverage (exact hits have coverage 1), or, for a
// hit of Method "vector", when its Score (the cosine) reaches opts.MinCosine. The contributions of
// exact lists (Method "exact") are weighted by opts.ExactWeight, scaled down for lists of more than
// a few hits, and those of other lists by 1. It returns
// at most opts.K hits with Method "fused", best first.
func Fuse(lists [][]Hit, opts SearchOptions) []Hit {
	if opts.K <= 0 {
		opts.K = 5
	}
	if opts.RRFK <= 0 {
		opts.RRFK = 60
	}
	if opts.MinCoverage == 0 {
		opts.MinCoverage = DefaultMinCoverage
	}
	if opts.MinCosine == 0 {
		opts.MinCosine = DefaultMinCosine
	}
	if opts.ExactWeight == 0 {
		opts.ExactWeight = DefaultExactWeight
	}
	type acc struct {
		hit   Hit
		score float64
	}
	byID := map[hitKey]*acc{}
	for _, list := range lists {
		w := 1.0
		if len(list) > 0 && list[0].Method == "exact" {
			// A phrase found in many chunks is weak evidence for each of them (a common number or
			// acronym), one found in a few is strong (a name): the list's weight falls with its length.
			w = opts.ExactWeight * min(1, exactSpecific/float64(len(list)))
		}
		if w < 0 {
			continue
		}
		for rank, h := range list {
			if h.Method == "vector" {
				if h.Score < opts.MinCosine {
					continue
				}
			} else if h.Coverage < opts.MinCoverage {
				continue
			}
			a := byID[h.key()]
			if a == nil {
				a = &acc{hit: h}
				byID[h.key()] = a
			}
			a.score += w / (opts.RRFK + float64(rank+1))
			a.hit.Coverage = max(a.hit.Coverage, h.Coverage)
		}
	}
	out := make([]Hit, 0, len(byID))
	for _, a := range byID {
		a.hit.Score, a.hit.Method = a.score, "fused"
		if a.hit.Fact != nil {
			a.hit.Method = "fact"
		}
		out = append(out, a.hit)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].key().less(out[j].key())
	})
	if len(out) > opts.K {
		out = out[:opts.K]
	}
	return out
}

var quoted = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`"([^"]+)"|“([^”]+)”|「([^」]+)」|'([^']{2,})'`)
})

// ExactPhrases returns the parts of a query worth an exact lookup: quoted phrases, identifier-like
// words (with digits, inner capitals, underscores or inner punctuation, such as "GPT-4", "MoE" or
// "max_tokens"), and the whole query when it has two to four words.
func ExactPhrases(query string) []string {
	var out []string
	seen := map[string]bool{}
	addPhrase := func(p string) {
		p = strings.TrimSpace(p)
		key := strings.Join(Words(p), " ")
		if key != "" && !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	for _, m := range quoted().FindAllStringSubmatch(query, -1) {
		for _, g := range m[1:] {
			if g != "" {
				addPhrase(g)
			}
		}
	}
	for _, f := range strings.Fields(query) {
		if identifier(strings.Trim(f, `.,;:!?()[]{}"'“”`)) {
			addPhrase(f)
		}
	}
	// A one-word query is left to BM25 unless it looks like an identifier: the exact index would
	// return every chunk holding a common word, all of them passing the gate.
	if n := len(Words(query)); n >= 2 && n <= 4 {
		addPhrase(query)
	}
	return out
}

// identifier reports whether a word looks like a name, number or code identifier rather than
// ordinary prose.
func identifier(w string) bool {
	if len(w) < 2 {
		return false
	}
	for i, r := range w {
		switch {
		case unicode.IsDigit(r), r == '_':
			return true
		case i > 0 && unicode.IsUpper(r):
			return true
		case (r == '-' || r == '.' || r == '/') && i > 0 && i < len(w)-1:
			return true
		}
	}
	return false
}
