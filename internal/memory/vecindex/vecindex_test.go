package vecindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
)

// TestExact checks the bounded heaps of the exact scan against a full sort, across the parallel
// split.
func TestExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, dim = 5000, 16
	s := NewSet(dim, n)
	for i := range n {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.IntN(5)) // small integers: ties are frequent and sums exact
		}
		if err := s.Add(fmt.Sprint(i), v); err != nil {
			t.Fatal(err)
		}
	}
	q := make([]float32, dim)
	for i := range q {
		q[i] = float32(r.IntN(3))
	}
	all := make([]Match, n)
	for i := range n {
		var sc float32
		for j, x := range s.Vec(i) {
			sc += q[j] * x
		}
		all[i] = Match{Row: i, Key: fmt.Sprint(i), Score: sc}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Score != all[j].Score {
			return all[i].Score > all[j].Score
		}
		return all[i].Row < all[j].Row
	})
	for _, k := range []int{1, 10, 100, n + 5} {
		if got := s.Exact(q, k); !slices.Equal(got, all[:min(k, n)]) {
			t.Errorf("k=%d: top differs from a full sort", k)
		}
	}
	if got := s.Exact(q, 0); got != nil {
		t.Errorf("k=0: %v", got)
	}
	if err := s.Add("short", make([]float32, dim-1)); err == nil {
		t.Error("a vector of the wrong length was added")
	}
	if err := s.AddEncoded("short", make([]byte, 4*dim-4)); err == nil {
		t.Error("an encoded vector of the wrong length was added")
	}
}

// TestEncode checks that AddEncoded reads what Encode writes, and Query's checks.
func TestEncode(t *testing.T) {
	v := []float32{1.5, -2, 0, 3.25e-7}
	s := NewSet(len(v), 1)
	if err := s.AddEncoded("k", Encode(v)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Vec(0), v) || s.Key(0) != "k" || s.Len() != 1 {
		t.Errorf("round trip: %v %q", s.Vec(0), s.Key(0))
	}
	q, err := Query([]float32{3, 4, 0, 0}, 4, "e")
	if err != nil || q[0] != 0.6 || q[1] != 0.8 {
		t.Errorf("Query: %v %v", q, err)
	}
	if _, err := Query([]float32{1, 2}, 4, "e"); err == nil {
		t.Error("a query of the wrong dimension was accepted")
	}
	nan := float32(0)
	nan /= nan
	if _, err := Query([]float32{1, nan, 0, 0}, 4, "e"); err == nil {
		t.Error("a NaN query was accepted")
	}
}

// clustered makes synthetic clustered unit vectors of dim values: groups of centres around a few
// topics, and each vector its centre plus noise, so neighbourhoods overlap as in real embeddings
// rather than being cleanly separated. query draws a new vector the same way.
type clustered struct {
	r       *rand.Rand
	dim     int
	centres [][]float32
	noise   float64
}

func newClustered(seed uint64, dim, centres int, noise float64) *clustered {
	r := rand.New(rand.NewPCG(seed, 7))
	topics := make([][]float32, max(1, centres/16))
	for i := range topics {
		topics[i] = gauss(r, dim, 1)
	}
	c := &clustered{r: r, dim: dim, noise: noise}
	for i := range centres {
		v := gauss(r, dim, 0.8)
		for j, x := range topics[i%len(topics)] {
			v[j] += x
		}
		c.centres = append(c.centres, v)
	}
	return c
}

func gauss(r *rand.Rand, dim int, sigma float64) []float32 {
	v := make([]float32, dim)
	for j := range v {
		v[j] = float32(sigma * r.NormFloat64())
	}
	return v
}

func (c *clustered) query() []float32 {
	v := gauss(c.r, c.dim, c.noise)
	for j, x := range c.centres[c.r.IntN(len(c.centres))] {
		v[j] += x
	}
	memory.Normalize(v)
	return v
}

func (c *clustered) set(n int) *Set {
	s := NewSet(c.dim, n)
	for i := range n {
		if err := s.Add(fmt.Sprint(i), c.query()); err != nil {
			panic(err)
		}
	}
	return s
}

// TestIVFRecall measures IVF against the exact scan on clustered vectors (8192 unit vectors around
// 128 centres, 64-d): recall@10 must grow with nprobe, reach 0.95 with the default probe, and be
// exact when every list is probed.
func TestIVFRecall(t *testing.T) {
	c := newClustered(5, 64, 128, 2)
	s := c.set(8192)
	lists := DefaultLists(s.Len())
	ix := BuildIVF(s, lists, DefaultIters)
	if ix.Lists() != lists {
		t.Fatalf("%d lists, want %d", ix.Lists(), lists)
	}
	if ix.start[0] != 0 || ix.start[lists] != s.Len() || !slices.IsSorted(ix.start) {
		t.Fatalf("the lists' bounds %v do not cover the %d rows", ix.start, s.Len())
	}
	qs := make([][]float32, 100)
	for i := range qs {
		qs[i] = c.query()
	}
	last := -1.0
	for _, nprobe := range []int{1, DefaultProbe(lists), lists / 4, lists} {
		var recall float64
		for _, q := range qs {
			recall += Recall(s.Exact(q, 10), ix.Search(q, 10, nprobe))
		}
		recall /= float64(len(qs))
		t.Logf("nprobe %d of %d: recall@10 %.3f", nprobe, lists, recall)
		if recall < last-1e-9 || (nprobe >= DefaultProbe(lists) && recall < 0.95) || (nprobe == lists && recall != 1) {
			t.Errorf("nprobe %d: recall@10 %.3f (previous %.3f)", nprobe, recall, last)
		}
		last = recall
	}
}

// TestIndex checks that an Index scans exactly up to its threshold (or when told to) and goes
// through IVF above it, and that a full probe gives the exact answer.
func TestIndex(t *testing.T) {
	c := newClustered(9, 32, 32, 0.9)
	s := c.set(3000)
	q := c.query()
	// An IVF index has its own copy of the set, in another order, so results are compared by key.
	exact := keysOf(s.Exact(q, 10))
	for _, tt := range []struct {
		opts   Options
		approx bool
	}{
		{Options{}, false},
		{Options{Threshold: 2999}, true},
		{Options{Threshold: 3000}, false},
		{Options{Threshold: 10, Exact: true}, false},
	} {
		ix := NewIndex(s, tt.opts)
		if ix.Approximate() != tt.approx {
			t.Errorf("%+v: approximate %v", tt.opts, ix.Approximate())
		}
		if got := keysOf(ix.Search(q, 10)); !tt.approx && !slices.Equal(got, exact) {
			t.Errorf("%+v: the exact search differs from Exact", tt.opts)
		}
	}
	ix := NewIndex(s, Options{Threshold: 1, Lists: 16, NProbe: 16})
	if got := keysOf(ix.Search(q, 10)); !slices.Equal(got, exact) {
		t.Errorf("IVF probing every list: %v, want %v", got, exact)
	}
	if ix.ivf == nil || ix.ivf.Lists() != 16 {
		t.Errorf("the index was not built with 16 lists")
	}
}

func keysOf(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Key
	}
	return out
}

// TestCache checks that a cache loads once per generation and rebuilds when it changes or when
// its options do.
func TestCache(t *testing.T) {
	ctx := context.Background()
	c := NewCache(Options{})
	var loads atomic.Int64
	gen := int64(1)
	load := func(context.Context) (*Set, int64, error) {
		loads.Add(1)
		s := NewSet(2, 1)
		return s, gen, s.Add("a", []float32{1, 0})
	}
	a, err := c.Get(ctx, "e", 1, load)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Get(ctx, "e", 1, load)
	if a != b || loads.Load() != 1 {
		t.Errorf("same generation: %d loads, same index %v", loads.Load(), a == b)
	}
	gen = 2
	b, _ = c.Get(ctx, "e", 2, load)
	if a == b || loads.Load() != 2 {
		t.Errorf("new generation: %d loads, same index %v", loads.Load(), a == b)
	}
	if _, _ = c.Get(ctx, "other", 2, load); loads.Load() != 3 {
		t.Errorf("another embedder shares the cache entry")
	}
	c.SetOptions(Options{Exact: true})
	b2, _ := c.Get(ctx, "e", 2, load)
	if b2 == b || loads.Load() != 4 || !c.Options().Exact || b2.Approximate() {
		t.Errorf("after SetOptions: %d loads", loads.Load())
	}
}

// benchSet is the 100k 512-d clustered set of the benchmarks, made once.
var benchSet struct {
	c *clustered
	s *Set
}

func bench100k(b *testing.B) (*clustered, *Set) {
	if benchSet.s == nil {
		benchSet.c = newClustered(11, 512, 1000, 3.5)
		benchSet.s = benchSet.c.set(100_000)
	}
	return benchSet.c, benchSet.s
}

// BenchmarkExact measures the exact scan at 10k–100k 512-d vectors (where it stops being fast
// enough decides DefaultThreshold), reporting p50 and p99.
func BenchmarkExact(b *testing.B) {
	c, all := bench100k(b)
	for _, n := range []int{10_000, 20_000, 50_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := &Set{dim: all.dim, keys: all.keys[:n], data: all.data[:n*all.dim]}
			q := c.query()
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				s.Exact(q, 10)
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkIVF measures IVF with the default lists (√n = 316) at 100k synthetic clustered 512-d
// vectors for several probes against the exact scan: the mean latency of each, their ratio, and
// recall@10 over 200 queries; and the time to build the index.
func BenchmarkIVF(b *testing.B) {
	c, s := bench100k(b)
	lists := DefaultLists(s.Len())
	t0 := time.Now()
	ix := BuildIVF(s, lists, DefaultIters)
	build := time.Since(t0)
	qs := make([][]float32, 200)
	exact := make([][]Match, len(qs))
	var exactT time.Duration
	for i := range qs {
		qs[i] = c.query()
		t1 := time.Now()
		exact[i] = s.Exact(qs[i], 10)
		exactT += time.Since(t1)
	}
	for _, nprobe := range []int{16, 32, DefaultProbe(lists), 96, 128} {
		b.Run(fmt.Sprintf("nprobe=%d", nprobe), func(b *testing.B) {
			var recall float64
			var ivfT time.Duration
			for b.Loop() {
				recall, ivfT = 0, 0
				for i, q := range qs {
					t1 := time.Now()
					got := ix.Search(q, 10, nprobe)
					ivfT += time.Since(t1)
					recall += Recall(exact[i], got)
				}
			}
			b.ReportMetric(recall/float64(len(qs)), "recall@10")
			b.ReportMetric(float64(exactT.Microseconds())/float64(len(qs))/1000, "exact-ms")
			b.ReportMetric(float64(ivfT.Microseconds())/float64(len(qs))/1000, "ivf-ms")
			b.ReportMetric(float64(exactT)/float64(ivfT), "speedup")
			b.ReportMetric(build.Seconds(), "build-s")
		})
	}
}

// TestIVFFewRows checks that a search probing lists too small for k scans more lists.
func TestIVFFewRows(t *testing.T) {
	s := newClustered(3, 16, 8, 1).set(200)
	ix := BuildIVF(s, 50, DefaultIters)
	q := newClustered(4, 16, 8, 1).query()
	if got := ix.Search(q, 20, 1); len(got) != 20 {
		t.Errorf("%d matches, want 20", len(got))
	}
	if got := ix.Search(q, 500, 1); len(got) != 200 {
		t.Errorf("%d matches for k=500, want all 200", len(got))
	}
}

// TestIndexConcurrent searches an approximate index from several goroutines while its IVF index
// is being built (run with -race): every search gets k answers, the same as a lone search's.
func TestIndexConcurrent(t *testing.T) {
	c := newClustered(13, 32, 32, 1)
	ix := NewIndex(c.set(5000), Options{Threshold: 100})
	q := c.query()
	var wg sync.WaitGroup
	got := make([][]string, 8)
	for i := range got {
		wg.Go(func() { got[i] = keysOf(ix.Search(q, 10)) })
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != 10 || !slices.Equal(got[i], got[0]) {
			t.Fatalf("search %d: %v, search 0: %v", i, got[i], got[0])
		}
	}
	if !ix.Approximate() || ix.Len() != 5000 || ix.Dim() != 32 {
		t.Errorf("index: approximate %v, %d×%d", ix.Approximate(), ix.Len(), ix.Dim())
	}
}
