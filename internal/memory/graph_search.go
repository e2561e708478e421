package memory

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// Entity is an entity as the store knows it, over every chunk.
type Entity struct {
	Key  string
	Name string // one of its surface forms
	Kind string // one of its kinds (the strongest, where the store can tell)
	// Chunks is the number of chunks that mention it.
	Chunks int
}

// Edge is a relation between two entities summed over the chunks that state it.
type Edge struct {
	From, To string // entity keys; for RelCooccurs, From < To
	Kind     string
	// Weight is the sum of the relation's weights over its chunks; Chunks counts them.
	Weight float64
	Chunks int
}

// GraphHit is a chunk found through the graph, with the weighted entity keys it mentions.
type GraphHit struct {
	Hit
	Keys []string
}

// GraphSearcher is a Store that keeps the knowledge graph of its chunks (ExtractRules or another
// Extractor, run when a chunk is stored, its rows replaced and removed with the chunk's source).
type GraphSearcher interface {
	// Entities returns the stored entities whose keys are among keys (made by EntityKey), in the
	// order of keys; keys no chunk mentions are left out.
	Entities(ctx context.Context, keys []string) ([]Entity, error)
	// Edges returns, for each of keys, up to perKey of the heaviest relations that touch it (summed
	// over chunks), without duplicates, heaviest first.
	Edges(ctx context.Context, keys []string, perKey int) ([]Edge, error)
	// MentionHits returns up to k chunks that mention the weighted entities, ranked by RankMentions,
	// each with Method "graph" and the keys it mentions. Weights that are not positive are ignored.
	MentionHits(ctx context.Context, weights map[string]float64, k int) ([]GraphHit, error)
}

// MentionRow is one (entity, chunk) row of a store's mention table.
type MentionRow struct {
	Key   string
	Chunk int64
	Count int
}

// RankedChunk is a chunk scored by RankMentions.
type RankedChunk struct {
	Chunk int64
	Score float64
	Keys  []string
}

// MentionHits is the store-independent part of GraphSearcher.MentionHits: it reads the mention rows of
// the positively weighted keys (sorted) with mentions, ranks them with RankMentions, reads the best k
// chunks with chunks, and returns them as graph hits in rank order. Both stores implement the method
// with it, each supplying its own two reads.
func MentionHits(weights map[string]float64, k int, mentions func(keys []string) ([]MentionRow, error),
	chunks func(ids []int64) ([]Chunk, error)) ([]GraphHit, error) {
	var keys []string
	for key, w := range weights {
		if w > 0 {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 || k <= 0 {
		return nil, nil
	}
	sort.Strings(keys)
	rows, err := mentions(keys)
	if err != nil {
		return nil, err
	}
	ranked := RankMentions(rows, weights, k)
	ids := make([]int64, len(ranked))
	for i, r := range ranked {
		ids[i] = r.Chunk
	}
	found, err := chunks(ids)
	if err != nil {
		return nil, err
	}
	found = InOrder(ids, found)
	out := make([]GraphHit, 0, len(found))
	for _, r := range ranked {
		if len(found) > 0 && found[0].ID == r.Chunk {
			out = append(out, GraphHit{Hit: Hit{Chunk: found[0], Score: r.Score, Method: "graph"}, Keys: r.Keys})
			found = found[1:]
		}
	}
	return out, nil
}

// RankMentions scores chunks by the entities they mention: the sum over the weighted keys a chunk
// mentions of weight × (1 + ln count). It returns the best k (ties by chunk id). Both stores rank with
// it, so they agree.
func RankMentions(rows []MentionRow, weights map[string]float64, k int) []RankedChunk {
	byChunk := map[int64]*RankedChunk{}
	for _, r := range rows {
		w := weights[r.Key]
		if w <= 0 || r.Count < 1 {
			continue
		}
		c := byChunk[r.Chunk]
		if c == nil {
			c = &RankedChunk{Chunk: r.Chunk}
			byChunk[r.Chunk] = c
		}
		c.Score += w * (1 + math.Log(float64(r.Count)))
		c.Keys = append(c.Keys, r.Key)
	}
	out := make([]RankedChunk, 0, len(byChunk))
	for _, c := range byChunk {
		sort.Strings(c.Keys)
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Chunk < out[j].Chunk
	})
	if k >= 0 && len(out) > k {
		out = out[:k]
	}
	return out
}

// Graph walks: how the query's entities spread to others before chunks are ranked.
const (
	// WalkPPR is personalised PageRank over the query entities' neighbourhood (two hops, computed in
	// Go over the subgraph read from the store).
	WalkPPR = "ppr"
	// WalkNeighbours adds each query entity's direct neighbours, in proportion to the edge weights.
	WalkNeighbours = "neighbours"
	// WalkNone ranks the chunks that mention the query's entities, without expansion.
	WalkNone = "none"
)

// GraphOptions tune SearchGraph. The zero value is usable.
type GraphOptions struct {
	// K is the number of hits (50 when 0).
	K int
	// Walk is WalkPPR, WalkNeighbours or WalkNone (DefaultGraphWalk when "").
	Walk string
	// PerKey is how many of the heaviest edges are read per entity (20 when 0).
	PerKey int
	// Restart is personalised PageRank's restart probability (0.5 when 0), or, for WalkNeighbours,
	// one minus the share of a query entity's weight given to its neighbours.
	Restart float64
	// NamesOnly starts the walk only from the query's entities that some chunk marks as more than a
	// frequent noun (a name, an acronym, code, a quotation or an emphasised term).
	NamesOnly bool
}

// DefaultGraphWalk is the walk SearchGraph uses by default. Measured (docs/MEMORY.md, Graph): alone,
// PPR ranks the Korean query set best (nDCG@10 0.853 against 0.829 without a walk) and finds the most
// of SciFact's cited abstracts in its top 100 (0.880 against 0.862), though its SciFact nDCG@10 is
// the lowest (0.541 against 0.610).
const DefaultGraphWalk = WalkPPR

// QueryEntity is an entity key a query may mention, with the query words it spans.
type QueryEntity struct {
	Key   string
	Words []int // indexes into the query's words
}

// QueryEntities returns the candidate entity keys of a query: every run of one to four of its
// normalised words (EntityKey's normalisation), except single common words, and the number of the
// query's content words (those that are not stop words), the denominator of a graph hit's coverage.
func QueryEntities(query string) (cands []QueryEntity, content int) {
	var words []string
	prev := classSep
	tokens(query, func(t token) {
		defer func() { prev = t.class }()
		switch t.class {
		case classHangul:
			if prev == classWord && isParticle(t.text) {
				return // "Sutton의": the particle of a Latin word
			}
			words = append(words, stripParticle(t.text))
		case classCJK:
			bigrams(t.text, func(s string) { words = append(words, s) })
		default:
			words = append(words, t.text)
		}
	})
	common := func(w string) bool {
		return stopWords[w] || englishCommon[w] || koreanCommon[w] || isParticle(w)
	}
	for _, w := range words {
		if !common(w) {
			content++
		}
	}
	seen := map[string]bool{}
	for i := range words {
		for n := 1; n <= MaxNGram && i+n <= len(words); n++ {
			if n == 1 && (common(words[i]) || len([]rune(words[i])) < 2) {
				continue
			}
			if common(words[i]) || common(words[i+n-1]) {
				continue // a candidate starts and ends with a content word
			}
			key := strings.Join(words[i:i+n], " ")
			if seen[key] {
				continue
			}
			seen[key] = true
			idx := make([]int, n)
			for j := range idx {
				idx[j] = i + j
			}
			cands = append(cands, QueryEntity{Key: key, Words: idx})
		}
	}
	return cands, content
}

// SearchGraph finds chunks through the knowledge graph: the query's entities (QueryEntities found
// by g.Entities), weighted 1/√(chunks mentioning them) so that rare names count more, are spread to
// related entities by opts.Walk, and chunks are ranked by the weighted entities they mention
// (RankMentions). Each hit's Coverage is the share of the query's content words that the query
// entities it mentions span. A query that names no stored entity returns no hits.
func SearchGraph(ctx context.Context, g GraphSearcher, query string, opts GraphOptions) ([]Hit, error) {
	if opts.K <= 0 {
		opts.K = 50
	}
	if opts.Walk == "" {
		opts.Walk = DefaultGraphWalk
	}
	if opts.PerKey <= 0 {
		opts.PerKey = 20
	}
	if opts.Restart <= 0 || opts.Restart > 1 {
		opts.Restart = 0.5
	}
	cands, content := QueryEntities(query)
	if len(cands) == 0 {
		return nil, nil
	}
	keys := make([]string, len(cands))
	span := make(map[string][]int, len(cands))
	for i, c := range cands {
		keys[i] = c.Key
		span[c.Key] = c.Words
	}
	ents, err := g.Entities(ctx, keys)
	if err != nil {
		return nil, err
	}
	if len(ents) == 0 {
		return nil, nil
	}
	seeds := make(map[string]float64, len(ents))
	df := map[string]int{}
	var seedKeys []string
	for _, e := range ents {
		if opts.NamesOnly && e.Kind == KindNoun {
			continue
		}
		df[e.Key] = e.Chunks
		seeds[e.Key] = 1 / math.Sqrt(float64(max(1, e.Chunks)))
		seedKeys = append(seedKeys, e.Key)
	}
	if len(seeds) == 0 {
		return nil, nil
	}
	var weights map[string]float64
	switch opts.Walk {
	case WalkNone:
		weights = seeds
	case WalkNeighbours:
		weights, err = neighbourWeights(ctx, g, seeds, seedKeys, df, opts)
	case WalkPPR:
		weights, err = pprWeights(ctx, g, seeds, seedKeys, df, opts)
	default:
		return nil, fault.Param("walk", "memory: unknown graph walk %q (ppr, neighbours or none)", opts.Walk)
	}
	if err != nil {
		return nil, err
	}
	ghits, err := g.MentionHits(ctx, weights, opts.K)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(ghits))
	for i, gh := range ghits {
		covered := map[int]bool{}
		for _, k := range gh.Keys {
			if _, ok := seeds[k]; ok {
				for _, w := range span[k] {
					covered[w] = true
				}
			}
		}
		h := gh.Hit
		h.Method = "graph"
		if content > 0 {
			h.Coverage = min(1, float64(len(covered))/float64(content))
		}
		hits[i] = h
	}
	return hits, nil
}

// neighbourWeights gives each seed's direct neighbours (1 − restart) of its weight, split in
// proportion to the edges' weights and divided by √(chunks mentioning the neighbour).
func neighbourWeights(ctx context.Context, g GraphSearcher, seeds map[string]float64, seedKeys []string, df map[string]int, opts GraphOptions) (map[string]float64, error) {
	edges, err := g.Edges(ctx, seedKeys, opts.PerKey)
	if err != nil {
		return nil, err
	}
	total := map[string]float64{}
	for _, e := range edges {
		total[e.From] += e.Weight
		total[e.To] += e.Weight
	}
	out := make(map[string]float64, len(seeds))
	for k, w := range seeds {
		out[k] = opts.Restart * w
	}
	spread := map[string]float64{}
	for _, e := range edges {
		for _, d := range [][2]string{{e.From, e.To}, {e.To, e.From}} {
			if w, ok := seeds[d[0]]; ok && total[d[0]] > 0 {
				spread[d[1]] += (1 - opts.Restart) * w * e.Weight / total[d[0]]
			}
		}
	}
	if err := fillDF(ctx, g, spread, df); err != nil {
		return nil, err
	}
	type kw struct {
		k string
		w float64
	}
	var ranked []kw
	for k, w := range spread {
		ranked = append(ranked, kw{k, w / math.Sqrt(float64(max(1, df[k])))})
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].w != ranked[j].w {
			return ranked[i].w > ranked[j].w
		}
		return ranked[i].k < ranked[j].k
	})
	// The best-weighted neighbours rank the chunks (the rest would only add hub rows to read).
	for _, x := range ranked[:min(len(ranked), maxRankEntities)] {
		out[x.k] += x.w
	}
	return out, nil
}

// fillDF reads the chunk counts of the keys of m that df lacks.
func fillDF(ctx context.Context, g GraphSearcher, m map[string]float64, df map[string]int) error {
	var missing []string
	for k := range m {
		if _, ok := df[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) == 0 {
		return nil
	}
	ents, err := g.Entities(ctx, missing)
	if err != nil {
		return err
	}
	for _, e := range ents {
		df[e.Key] = e.Chunks
	}
	return nil
}

// Bounds of a walk: first-hop entities whose edges are read, entities in the PageRank subgraph, and
// entities that rank chunks.
const (
	maxHopEntities  = 10
	maxWalkNodes    = 200
	maxRankEntities = 50
)

// pprWeights runs personalised PageRank over the subgraph of the seeds, their neighbours and the
// edges among them (read two hops from the store), restarting at the seeds in proportion to their
// weights, and divides each entity's rank by √(chunks mentioning it), so that hubs do not swamp the
// ranking.
func pprWeights(ctx context.Context, g GraphSearcher, seeds map[string]float64, seedKeys []string, df map[string]int, opts GraphOptions) (map[string]float64, error) {
	first, err := g.Edges(ctx, seedKeys, opts.PerKey)
	if err != nil {
		return nil, err
	}
	nodes := map[string]int{}
	var names []string
	node := func(k string) int {
		i, ok := nodes[k]
		if !ok {
			i = len(names)
			nodes[k] = i
			names = append(names, k)
		}
		return i
	}
	for _, k := range seedKeys {
		node(k)
	}
	for _, e := range first {
		node(e.From)
		node(e.To)
	}
	// The second hop starts from the first-hop entities most tied to the seeds for their size: a hub
	// ("cells", "모델") would add many edges and, divided by √chunks, little weight.
	tie := map[string]float64{}
	for _, e := range first {
		tie[e.From] += e.Weight
		tie[e.To] += e.Weight
	}
	firstHop := map[string]float64{}
	for _, k := range names[len(seedKeys):] {
		firstHop[k] = tie[k]
	}
	if err := fillDF(ctx, g, firstHop, df); err != nil {
		return nil, err
	}
	hop := slices.Clone(names[len(seedKeys):])
	sort.SliceStable(hop, func(i, j int) bool {
		return tie[hop[i]]/math.Sqrt(float64(max(1, df[hop[i]]))) > tie[hop[j]]/math.Sqrt(float64(max(1, df[hop[j]])))
	})
	hop = hop[:min(len(hop), maxHopEntities)]
	second, err := g.Edges(ctx, hop, opts.PerKey)
	if err != nil {
		return nil, err
	}
	type arc struct {
		to int
		w  float64
	}
	// Second-hop entities join the subgraph, heaviest edges first, up to maxWalkNodes.
	for _, e := range second {
		if len(names) >= maxWalkNodes {
			break
		}
		node(e.From)
		node(e.To)
	}
	adj := make([][]arc, len(names))
	seen := map[[3]string]bool{}
	for _, e := range append(first, second...) {
		a, okA := nodes[e.From]
		b, okB := nodes[e.To]
		if !okA || !okB || seen[[3]string{e.From, e.To, e.Kind}] {
			continue
		}
		seen[[3]string{e.From, e.To, e.Kind}] = true
		adj[a] = append(adj[a], arc{b, e.Weight})
		adj[b] = append(adj[b], arc{a, e.Weight})
	}
	out := make([]float64, len(names))
	for i, a := range adj {
		for _, x := range a {
			out[i] += x.w
		}
	}
	p := make([]float64, len(names))
	sum := 0.0
	for k, w := range seeds {
		p[nodes[k]] = w
		sum += w
	}
	for i := range p {
		p[i] /= sum
	}
	r := append([]float64(nil), p...)
	next := make([]float64, len(names))
	for range 30 {
		for i := range next {
			next[i] = opts.Restart * p[i]
		}
		dangling := 0.0
		for i, a := range adj {
			if out[i] == 0 {
				dangling += r[i]
				continue
			}
			for _, x := range a {
				next[x.to] += (1 - opts.Restart) * r[i] * x.w / out[i]
			}
		}
		for i := range next {
			next[i] += (1 - opts.Restart) * dangling * p[i]
		}
		r, next = next, r
	}
	// The best-ranked entities rank the chunks (the rest would only add hub rows to read).
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r[order[a]] > r[order[b]] })
	weights := map[string]float64{}
	for _, i := range order[:min(len(order), maxRankEntities)] {
		if r[i] > 0 {
			weights[names[i]] = r[i]
		}
	}
	for k := range seeds {
		weights[k] = r[nodes[k]]
	}
	if err := fillDF(ctx, g, weights, df); err != nil {
		return nil, err
	}
	for k, w := range weights {
		weights[k] = w / math.Sqrt(float64(max(1, df[k])))
	}
	return weights, nil
}

// graphOnlyCoverage is the least coverage of a graph hit that no other list found. A graph hit's
// coverage counts query words, not their information (it has no idf), so it is looser than the
// full-text gate: "패션 모델의 런웨이 워킹 연습 방법" reaches 0.33 on the Korean seeds through two
// common nouns (모델, 방법).
const graphOnlyCoverage = 0.5

// withGraph blends the graph's hits into the last of lists, the full-text (or hybrid) list, when
// the store keeps a graph and the weight is not negative (BlendGraph). Graph hits pass the relevance
// gate by their own coverage (at least graphOnlyCoverage) or because a gated list already holds
// their chunk, so that the graph re-ranks and adds to the passages the query is about but never
// brings in one that only shares a common entity with it.
func withGraph(ctx context.Context, store Store, query string, opts SearchOptions, lists [][]Hit) ([][]Hit, error) {
	g, ok := store.(GraphSearcher)
	w := opts.GraphWeight
	if w == 0 {
		w = DefaultGraphWeight
	}
	if !ok || w < 0 || len(lists) == 0 {
		return lists, nil
	}
	hits, err := SearchGraph(ctx, g, query, GraphOptions{K: opts.Depth, Walk: opts.GraphWalk})
	if err != nil {
		return nil, err
	}
	known := map[int64]bool{}
	for _, l := range lists {
		for _, h := range l {
			known[h.Chunk.ID] = true
		}
	}
	hits = gate(hits, func(h Hit) bool {
		return known[h.Chunk.ID] || opts.MinCoverage < 0 || h.Coverage >= max(opts.MinCoverage, graphOnlyCoverage)
	})
	if len(hits) == 0 {
		return lists, nil
	}
	last := len(lists) - 1
	out := append(lists[:last:last], BlendGraph(lists[last], hits, w))
	return out, nil
}

// BlendGraph merges a full-text (or blended hybrid) list and a graph list by score: each chunk
// scores its full-text score divided by the list's best, plus lambda times its graph score divided by
// the graph list's best; a score missing from a list counts 0. The result, best first (ties by chunk
// id), keeps the full-text hit (its Method and Coverage) where there is one, and is the graph hit
// (Method "graph") otherwise. Rank fusion of the graph list was measured much worse on SciFact
// (docs/MEMORY.md, Graph): among BM25's close top ranks, any other list's rank decides the order.
func BlendGraph(text, graph []Hit, lambda float64) []Hit {
	norm := func(hs []Hit) float64 {
		top := 0.0
		for _, h := range hs {
			top = max(top, h.Score)
		}
		if top <= 0 {
			return 0
		}
		return 1 / top
	}
	tn, gn := norm(text), norm(graph)
	byID := make(map[int64]int, len(text)+len(graph))
	out := make([]Hit, 0, len(text)+len(graph))
	for _, h := range text {
		byID[h.Chunk.ID] = len(out)
		h.Score *= tn
		out = append(out, h)
	}
	for _, h := range graph {
		if i, ok := byID[h.Chunk.ID]; ok {
			out[i].Score += lambda * h.Score * gn
			continue
		}
		byID[h.Chunk.ID] = len(out)
		h.Score *= lambda * gn
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

// DefaultGraphWeight is the weight of the graph score in Search's blend with the full-text list:
// negative, so Search leaves the graph out unless SearchOptions.GraphWeight is positive. Measured on
// SciFact's training claims (TestGraphEval, docs/MEMORY.md): every weight from 0.1 to 1 and every
// walk lowered nDCG@10 (0.820 without the graph; 0.81 at 0.1, 0.74–0.76 at 1), since the claims
// are prose that BM25 already matches word for word; on the Korean query set the graph helped only
// at weight 1 (0.969 → 0.985), too few queries to set a default by.
const DefaultGraphWeight = -1.0

// SortEdges orders edges heaviest first, then by their keys and kind, so that stores agree.
func SortEdges(edges []Edge) {
	sort.Slice(edges, func(i, j int) bool {
		a, b := edges[i], edges[j]
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Kind < b.Kind
	})
}
