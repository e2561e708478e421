package memory

import (
	"math"
	"sort"
)

// Posting says how often a query term occurs in a chunk, and the chunk's length in terms.
type Posting struct {
	Chunk   int64
	TF, Len float64
}

// BM25 holds the parameters of Okapi BM25. Both stores score full text with it, from their own
// postings, so that they rank alike.
type BM25 struct{ K1, B float64 }

// Scored is a chunk's BM25 score and its coverage: the idf-weighted share of the query terms it
// contains (what the relevance gate looks at).
type Scored struct {
	Chunk           int64
	Score, Coverage float64
}

// Rank scores the chunks in postings — one list per distinct query term — over a collection of n
// chunks whose average length is avgdl, and returns the best k, best first, ties to the lower id.
func (p BM25) Rank(postings [][]Posting, n, avgdl float64, k int) []Scored {
	type acc struct{ score, covered float64 }
	scores := map[int64]*acc{}
	var allIDF float64
	for _, ps := range postings {
		df := float64(len(ps))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		allIDF += idf
		for _, q := range ps {
			a := scores[q.Chunk]
			if a == nil {
				a = &acc{}
				scores[q.Chunk] = a
			}
			a.score += idf * q.TF * (p.K1 + 1) / (q.TF + p.K1*(1-p.B+p.B*q.Len/avgdl))
			a.covered += idf
		}
	}
	out := make([]Scored, 0, len(scores))
	for id, a := range scores {
		cov := 0.0
		if allIDF > 0 {
			cov = a.covered / allIDF
		}
		out = append(out, Scored{Chunk: id, Score: a.score, Coverage: cov})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Chunk < out[j].Chunk
	})
	return out[:min(len(out), k)]
}

// TextHits joins ranked scores with their chunks (in any order; missing chunks are skipped) into hits
// in rank order.
func TextHits(ranked []Scored, chunks []Chunk) []Hit {
	byID := make(map[int64]Chunk, len(chunks))
	for _, c := range chunks {
		byID[c.ID] = c
	}
	hits := make([]Hit, 0, len(ranked))
	for _, r := range ranked {
		if c, ok := byID[r.Chunk]; ok {
			hits = append(hits, Hit{Chunk: c, Score: r.Score, Coverage: r.Coverage, Method: "text"})
		}
	}
	return hits
}

// InOrder returns chunks (read in any order) in the order of ids, leaving out ids no chunk has: what
// the stores' chunk readers return.
func InOrder(ids []int64, chunks []Chunk) []Chunk {
	byID := make(map[int64]Chunk, len(chunks))
	for _, c := range chunks {
		byID[c.ID] = c
	}
	out := make([]Chunk, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out
}

// ChunkIDs returns the chunk ids of ranked scores, in order.
func ChunkIDs(ranked []Scored) []int64 {
	ids := make([]int64, len(ranked))
	for i, r := range ranked {
		ids[i] = r.Chunk
	}
	return ids
}
