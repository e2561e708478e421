// Package vecindex ranks unit vectors by dot product (cosine) in memory, for the memory stores'
// SearchVectors: a Set holds one embedder's vectors as one contiguous []float32; Exact scans all of
// them (split over the cores, each part keeping a bounded heap of its k best); IVF is an approximate
// inverted-file index over a Set; an Index chooses between the two by size, and a Cache keeps one
// Index per embedder until the store's generation of that embedder changes. memory/sqlite and
// memory/postgres import it; it knows nothing of SQL.
package vecindex

import (
	"encoding/binary"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

// Set is one embedder's vectors in memory: row i is the vector of Keys()[i]. A Set is filled by Add
// or AddEncoded and then only read, by any number of goroutines.
type Set struct {
	dim  int
	keys []string
	data []float32 // len(keys)·dim
}

// NewSet returns an empty set of dim-dimensional vectors with room for n of them.
func NewSet(dim, n int) *Set {
	return &Set{dim: dim, keys: make([]string, 0, n), data: make([]float32, 0, n*dim)}
}

// Dim is the length of every vector of the set.
func (s *Set) Dim() int { return s.dim }

// Len is the number of vectors.
func (s *Set) Len() int { return len(s.keys) }

// Key returns the key of row r.
func (s *Set) Key(r int) string { return s.keys[r] }

// Vec returns row r's vector (not a copy).
func (s *Set) Vec(r int) []float32 { return s.data[r*s.dim : (r+1)*s.dim] }

// Add appends v (copied) under key. v must have Dim values.
func (s *Set) Add(key string, v []float32) error {
	if len(v) != s.dim {
		return fault.New(fault.Invalid, "memory: a %d-dimensional vector in a %d-dimensional set", len(v), s.dim)
	}
	s.keys = append(s.keys, key)
	s.data = append(s.data, v...)
	return nil
}

// AddEncoded appends the vector b encodes (see Encode) under key.
func (s *Set) AddEncoded(key string, b []byte) error {
	if len(b) != 4*s.dim {
		return fault.New(fault.Unprocessable, "memory: the stored vector of %s has %d bytes, want %d", key, len(b), 4*s.dim)
	}
	s.keys = append(s.keys, key)
	for i := 0; i < len(b); i += 4 {
		s.data = append(s.data, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return nil
}

// Encode returns v as the stores keep it: little-endian float32s.
func Encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// CheckPut validates the arguments of a store's PutVectors: an embedder name, a positive dimension,
// and vectors of that dimension, each with a text hash and finite values (fault.Invalid naming what is
// wrong). Both stores call it before they write.
func CheckPut(embedder string, dim int, vecs []memory.Vector) error {
	if embedder == "" || dim <= 0 {
		return fault.Param("embedder", "memory: vectors need an embedder name and a positive dimension")
	}
	for _, v := range vecs {
		if len(v.Vec) != dim {
			return fault.Param("vectors", "memory: a vector of %d values for dimension %d", len(v.Vec), dim)
		}
		if v.Hash == "" {
			return fault.Param("vectors", "memory: a vector without a text hash")
		}
		if !Finite(v.Vec) {
			return fault.Param("vectors", "memory: the vector of %s has a NaN or infinite value", v.Hash)
		}
	}
	return nil
}

// Finite reports whether every value of v is a number.
func Finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// Query checks a query vector against a set's dimension and returns a unit-length copy of it.
func Query(q []float32, dim int, embedder string) ([]float32, error) {
	if len(q) != dim {
		return nil, fault.Param("query", "memory: a %d-dimensional query for %s's %d-dimensional vectors", len(q), embedder, dim)
	}
	if !Finite(q) {
		return nil, fault.Param("query", "memory: the query vector has a NaN or infinite value")
	}
	u := slices.Clone(q)
	memory.Normalize(u)
	return u, nil
}

// Match is a row of a set, its key and its dot product with the query.
type Match struct {
	Row   int
	Key   string
	Score float32
}

// Exact returns the k rows with the highest dot product with q, best first, ties by lower row: an
// exact scan, split over up to eight cores when the set has 4096 rows or more.
func (s *Set) Exact(q []float32, k int) []Match {
	n := len(s.keys)
	if k <= 0 || n == 0 {
		return nil
	}
	parts := 1
	if n >= 4096 {
		parts = min(runtime.GOMAXPROCS(0), 8)
	}
	heaps := make([]minHeap, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Go(func() {
			h := minHeap(make([]Match, 0, min(k, hi-lo)))
			var buf []float32
			h.scan(s, q, lo, hi, k, &buf)
			heaps[p] = h
		})
	}
	wg.Wait()
	var all []Match
	for _, h := range heaps {
		all = append(all, h...)
	}
	slices.SortFunc(all, byScore)
	all = all[:min(k, len(all))]
	s.fillKeys(all)
	return all
}

// fillKeys sets the Key of each match.
func (s *Set) fillKeys(ms []Match) {
	for i := range ms {
		ms[i].Key = s.keys[ms[i].Row]
	}
}

// byScore orders matches best first, ties by lower row, so results do not depend on how a scan
// was split.
func byScore(a, b Match) int {
	switch {
	case a.Score > b.Score:
		return -1
	case a.Score < b.Score:
		return 1
	}
	return a.Row - b.Row
}

// scanBlock is how many rows scan scores per call of the multi-row kernel.
const scanBlock = 256

// scan offers the rows lo to hi-1 of s, scored against q with tensor's multi-row dot kernel, to
// the heap; buf is scratch space kept between calls.
func (h *minHeap) scan(s *Set, q []float32, lo, hi, k int, buf *[]float32) {
	if cap(*buf) < scanBlock {
		*buf = make([]float32, scanBlock)
	}
	for b := lo; b < hi; b += scanBlock {
		out := (*buf)[:min(scanBlock, hi-b)]
		tensor.Scores(out, q, s.data[b*s.dim:], s.dim, 1)
		for i, sc := range out {
			h.offer(Match{Row: b + i, Score: sc}, k)
		}
	}
}

// minHeap keeps the best k matches seen, the worst of them at the root.
type minHeap []Match

// less orders by score, then prefers the lower row.
func (h minHeap) less(i, j int) bool {
	if h[i].Score != h[j].Score {
		return h[i].Score < h[j].Score
	}
	return h[i].Row > h[j].Row
}

// offer adds x when the heap holds fewer than k matches or x beats its worst.
func (h *minHeap) offer(x Match, k int) {
	s := *h
	if len(s) < k {
		s = append(s, x)
		for i := len(s) - 1; i > 0; {
			p := (i - 1) / 2
			if !s.less(i, p) {
				break
			}
			s[i], s[p] = s[p], s[i]
			i = p
		}
		*h = s
		return
	}
	if root := s[0]; x.Score < root.Score || (x.Score == root.Score && x.Row > root.Row) {
		return
	}
	s[0] = x
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}

// Scores maps the keys of matches to their scores.
func Scores(ms []Match) map[string]float32 {
	out := make(map[string]float32, len(ms))
	for _, m := range ms {
		out[m.Key] = m.Score
	}
	return out
}

// Hits ranks the chunks whose text hashes have a score (from Scores) by it, best first, keeping
// the chunks' order among equal scores, and returns up to k as vector hits with the cosine as Score.
// Every chunk of a text that repeats is a hit of its own.
func Hits(chunks []memory.Chunk, score map[string]float32, k int) []memory.Hit {
	hits := make([]memory.Hit, 0, len(chunks))
	for _, ch := range chunks {
		if sc, ok := score[ch.Hash]; ok {
			hits = append(hits, memory.Hit{Chunk: ch, Score: float64(sc), Method: "vector"})
		}
	}
	slices.SortStableFunc(hits, func(a, b memory.Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return hits[:min(k, len(hits))]
}

// Recall returns the share of exact's keys that approx also has: recall@len(exact) of an
// approximate search against the exact one (1 when exact is empty).
func Recall(exact, approx []Match) float64 {
	if len(exact) == 0 {
		return 1
	}
	in := make(map[string]bool, len(approx))
	for _, m := range approx {
		in[m.Key] = true
	}
	n := 0
	for _, m := range exact {
		if in[m.Key] {
			n++
		}
	}
	return float64(n) / float64(len(exact))
}
