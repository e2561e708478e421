package vecindex

import (
	"runtime"
	"slices"
	"sync"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/memory"
)

// IVF is an inverted-file index: spherical k-means centroids, each with the vectors nearest to it,
// kept contiguous in the index's own copy of the set. A query scans only the vectors of its nprobe
// nearest centroids, so it may miss one that the exact scan finds (measured in docs/MEMORY.md). An
// IVF is immutable once built and safe for concurrent use.
type IVF struct {
	set        *Set // the vectors, reordered by list
	dim, lists int
	centroids  []float32 // lists·dim, unit length
	start      []int     // list l holds rows start[l] to start[l+1]-1 of the set
}

// trainPerList bounds the rows k-means trains on: at most this many per list, evenly spaced over
// the set; every row is then assigned to its nearest centroid once.
const trainPerList = 32

// BuildIVF clusters s's rows into lists groups with iters rounds of spherical k-means over a
// sample of at most trainPerList rows per list, starting from evenly spaced rows (deterministic),
// assigns every row to its nearest centroid, and copies the rows, list by list, into the index (s
// itself is only read, so it may be searched meanwhile). The assignments are split over the cores.
func BuildIVF(s *Set, lists, iters int) *IVF {
	n, dim := s.Len(), s.dim
	lists = max(1, min(lists, n))
	ix := &IVF{set: NewSet(dim, 0), dim: dim, lists: lists, centroids: make([]float32, lists*dim), start: make([]int, lists+1)}
	if n == 0 {
		return ix
	}
	for l := range lists {
		copy(ix.centroids[l*dim:(l+1)*dim], s.Vec(l*n/lists))
	}
	sample := make([]int32, min(n, trainPerList*lists))
	for i := range sample {
		sample[i] = int32(i * n / len(sample))
	}
	assign := make([]int32, len(sample))
	for range iters {
		ix.assign(s, sample, assign)
		sums := make([]float32, lists*dim)
		counts := make([]int, lists)
		for i, l := range assign {
			counts[l]++
			sum, v := sums[int(l)*dim:(int(l)+1)*dim], s.Vec(int(sample[i]))
			for j := range sum {
				sum[j] += v[j]
			}
		}
		for l := range lists {
			if counts[l] > 0 { // an empty list keeps its centroid
				sum := sums[l*dim : (l+1)*dim]
				memory.Normalize(sum)
				copy(ix.centroids[l*dim:(l+1)*dim], sum)
			}
		}
	}
	rows := make([]int32, n)
	for r := range rows {
		rows[r] = int32(r)
	}
	all := make([]int32, n)
	ix.assign(s, rows, all)
	// Counting sort of the rows by list, stable, then the set is rewritten in that order.
	for _, l := range all {
		ix.start[l+1]++
	}
	for l := range lists {
		ix.start[l+1] += ix.start[l]
	}
	next := slices.Clone(ix.start[:lists])
	keys, data := make([]string, n), make([]float32, n*dim)
	for r, l := range all {
		to := next[l]
		next[l]++
		keys[to] = s.keys[r]
		copy(data[to*dim:(to+1)*dim], s.Vec(r))
	}
	ix.set = &Set{dim: dim, keys: keys, data: data}
	return ix
}

// assign sets out[i] to the list nearest to row rows[i], over the available cores.
func (ix *IVF) assign(s *Set, rows, out []int32) {
	parts := min(runtime.GOMAXPROCS(0), 8, max(1, len(rows)/1024))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := len(rows)*p/parts, len(rows)*(p+1)/parts
		wg.Go(func() {
			buf := make([]float32, ix.lists)
			for i := lo; i < hi; i++ {
				tensor.Scores(buf, s.Vec(int(rows[i])), ix.centroids, ix.dim, 1)
				out[i] = int32(argmax(buf))
			}
		})
	}
	wg.Wait()
}

// argmax returns the index of the largest value of v (the first of equal ones).
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Lists is the number of lists.
func (ix *IVF) Lists() int { return ix.lists }

// Set returns the index's copy of the vectors, whose rows Search returns.
func (ix *IVF) Set() *Set { return ix.set }

// Search returns the k vectors most similar to the unit query q among those of its nprobe nearest
// lists (more lists when those hold fewer than k vectors), best first (ties by row of Set).
func (ix *IVF) Search(q []float32, k, nprobe int) []Match {
	s := ix.set
	if k <= 0 || s.Len() == 0 {
		return nil
	}
	cscore := make([]float32, ix.lists)
	tensor.Scores(cscore, q, ix.centroids, ix.dim, 1)
	cs := make([]Match, ix.lists)
	for l, sc := range cscore {
		cs[l] = Match{Row: l, Score: sc}
	}
	slices.SortFunc(cs, byScore)
	// The probed lists' rows, as ranges, scanned in parts over the cores when there are many.
	var ranges [][2]int
	total := 0
	for i, cl := range cs {
		if i >= nprobe && total >= k {
			break
		}
		lo, hi := ix.start[cl.Row], ix.start[cl.Row+1]
		if hi > lo {
			ranges = append(ranges, [2]int{lo, hi})
			total += hi - lo
		}
	}
	parts := 1
	if total >= 4096 {
		parts = min(runtime.GOMAXPROCS(0), 8)
	}
	heaps := make([]minHeap, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := total*p/parts, total*(p+1)/parts // positions in the concatenated ranges
		wg.Go(func() {
			h := minHeap(make([]Match, 0, k))
			var buf []float32
			pos := 0
			for _, r := range ranges {
				n := r[1] - r[0]
				lo, hi := max(from, pos), min(to, pos+n)
				if lo < hi {
					h.scan(s, q, r[0]+lo-pos, r[0]+hi-pos, k, &buf)
				}
				pos += n
			}
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
