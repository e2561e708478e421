package sqlite

import (
	"slices"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/memory"
)

// ivfIndex is an inverted-file index over a vectorCache: spherical k-means centroids, each with the
// rows nearest to it. A query scans only the rows of its nprobe nearest centroids. It is an
// experiment measured against the exact scan (TestIVFRecall, TestSciFactHybrid); SearchVectors does
// not use it.
type ivfIndex struct {
	dim, lists int
	centroids  []float32 // lists·dim, unit length
	members    [][]int32
}

// buildIVF clusters the cache's rows into lists groups with iters rounds of spherical k-means,
// starting from evenly spaced rows (deterministic).
func buildIVF(c *vectorCache, lists, iters int) *ivfIndex {
	n, dim := len(c.hashes), c.dim
	lists = max(1, min(lists, n))
	ix := &ivfIndex{dim: dim, lists: lists, centroids: make([]float32, lists*dim)}
	for l := range lists {
		r := l * n / lists
		copy(ix.centroids[l*dim:(l+1)*dim], c.data[r*dim:(r+1)*dim])
	}
	assign := make([]int, n)
	for it := 0; ; it++ {
		for r := range n {
			assign[r] = ix.nearest(c.data[r*dim : (r+1)*dim])
		}
		if it == iters {
			break
		}
		sums := make([]float32, lists*dim)
		counts := make([]int, lists)
		for r, l := range assign {
			counts[l]++
			s, v := sums[l*dim:(l+1)*dim], c.data[r*dim:(r+1)*dim]
			for j := range s {
				s[j] += v[j]
			}
		}
		for l := range lists {
			if counts[l] > 0 { // an empty list keeps its centroid
				s := sums[l*dim : (l+1)*dim]
				memory.Normalize(s)
				copy(ix.centroids[l*dim:(l+1)*dim], s)
			}
		}
	}
	ix.members = make([][]int32, lists)
	for r, l := range assign {
		ix.members[l] = append(ix.members[l], int32(r))
	}
	return ix
}

// nearest returns the list whose centroid has the highest dot product with v.
func (ix *ivfIndex) nearest(v []float32) int {
	best, bestScore := 0, float32(0)
	for l := range ix.lists {
		s := tensor.Dot(v, ix.centroids[l*ix.dim:(l+1)*ix.dim])
		if l == 0 || s > bestScore {
			best, bestScore = l, s
		}
	}
	return best
}

// search returns the k rows most similar to the unit query q among the rows of its nprobe nearest
// lists, best first (ties by row).
func (ix *ivfIndex) search(c *vectorCache, q []float32, k, nprobe int) []scored {
	lists := ix.lists
	cs := make([]scored, lists)
	for l := range lists {
		cs[l] = scored{l, tensor.Dot(q, ix.centroids[l*ix.dim:(l+1)*ix.dim])}
	}
	slices.SortFunc(cs, byScore)
	h := minHeap(make([]scored, 0, k))
	for _, cl := range cs[:min(nprobe, lists)] {
		for _, r := range ix.members[cl.row] {
			h.offer(scored{int(r), tensor.Dot(q, c.data[int(r)*c.dim:(int(r)+1)*c.dim])}, k)
		}
	}
	slices.SortFunc(h, byScore)
	return h
}

// byScore orders scored rows best first, ties by row.
func byScore(a, b scored) int {
	switch {
	case a.score > b.score:
		return -1
	case a.score < b.score:
		return 1
	}
	return a.row - b.row
}
