package vecindex

import (
	"context"
	"math"
	"sync"
)

// Defaults of Options, set by measurement (docs/MEMORY.md, "Approximate vector index").
const (
	// DefaultThreshold is the number of vectors above which an Index searches through IVF.
	DefaultThreshold = 20_000
	// DefaultIters is the number of k-means rounds of an index build.
	DefaultIters = 5
)

// Options choose how an Index searches. The zero value is the default: exact up to
// DefaultThreshold vectors, IVF with DefaultLists and DefaultProbe above.
type Options struct {
	// Exact forces the exact scan whatever the number of vectors.
	Exact bool
	// Threshold is the number of vectors above which IVF is used (DefaultThreshold when 0).
	Threshold int
	// Lists is the number of IVF lists (DefaultLists(n) when 0).
	Lists int
	// NProbe is the number of lists a query scans (DefaultProbe(lists) when 0).
	NProbe int
}

// DefaultLists is the number of IVF lists for n vectors: √n.
func DefaultLists(n int) int {
	return max(1, int(math.Round(math.Sqrt(float64(n)))))
}

// DefaultProbe is the number of lists a query scans: a fifth of them, at least 8 (all when there
// are fewer). On SciFact's USE-lite vectors a fifth of the lists gave recall@10 ≈ 0.96 against the
// exact scan; a tenth, 0.90 (docs/MEMORY.md).
func DefaultProbe(lists int) int {
	return min(lists, max(8, (lists+4)/5))
}

// Index searches one Set, by exact scan or, above the threshold, through an IVF index built on the
// first search that needs it. It is safe for concurrent use.
type Index struct {
	n, dim int
	opts   Options
	approx bool

	// set is scanned by exact searches. An approximate index drops it once the IVF index (which
	// has its own copy, reordered) is built, so only exact searches and the build read it.
	set  *Set
	once sync.Once
	ivf  *IVF
}

// NewIndex returns an index over set, which must not change afterwards.
func NewIndex(set *Set, opts Options) *Index {
	th := opts.Threshold
	if th <= 0 {
		th = DefaultThreshold
	}
	return &Index{n: set.Len(), dim: set.Dim(), opts: opts, approx: !opts.Exact && set.Len() > th, set: set}
}

// Len is the number of vectors.
func (x *Index) Len() int { return x.n }

// Dim is the length of every vector.
func (x *Index) Dim() int { return x.dim }

// Approximate reports whether Search goes through IVF.
func (x *Index) Approximate() bool { return x.approx }

// Search returns the k vectors most similar to the unit query q, best first, with their keys: all
// of them by exact scan when the set is small or Options.Exact is set, else the best of those in the
// query's nearest IVF lists. The first approximate search builds the IVF index (seconds at 10⁵
// 512-d vectors; docs/MEMORY.md); concurrent searches wait for it.
func (x *Index) Search(q []float32, k int) []Match {
	if !x.approx {
		return x.set.Exact(q, k)
	}
	x.once.Do(func() {
		lists := x.opts.Lists
		if lists <= 0 {
			lists = DefaultLists(x.n)
		}
		x.ivf = BuildIVF(x.set, lists, DefaultIters)
		x.set = nil // the index has its own copy
	})
	nprobe := x.opts.NProbe
	if nprobe <= 0 {
		nprobe = DefaultProbe(x.ivf.Lists())
	}
	return x.ivf.Search(q, k, nprobe)
}

// Cache keeps an Index per embedder, tagged with the store's generation of that embedder's vectors
// (a number every change of them bumps), and reloads it when the generation differs. It is safe for
// concurrent use; the zero value is not usable, NewCache is.
type Cache struct {
	mu   sync.Mutex
	opts Options
	m    map[string]*cached
}

type cached struct {
	gen int64
	ix  *Index
}

// NewCache returns an empty cache whose indexes use opts.
func NewCache(opts Options) *Cache {
	return &Cache{opts: opts, m: map[string]*cached{}}
}

// SetOptions changes how searches are made from now on; indexes already built are dropped.
func (c *Cache) SetOptions(opts Options) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts = opts
	c.m = map[string]*cached{}
}

// Options returns the options in use.
func (c *Cache) Options() Options {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts
}

// Loader reads an embedder's vectors and the generation they belong to, both from one snapshot.
type Loader func(ctx context.Context) (*Set, int64, error)

// Get returns the embedder's index when its cached generation is gen, else loads the vectors with
// load (one load at a time per cache) and caches them under the generation load reports.
func (c *Cache) Get(ctx context.Context, embedder string, gen int64, load Loader) (*Index, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[embedder]; e != nil && e.gen == gen {
		return e.ix, nil
	}
	set, got, err := load(ctx)
	if err != nil {
		return nil, err
	}
	ix := NewIndex(set, c.opts)
	c.m[embedder] = &cached{gen: got, ix: ix}
	return ix, nil
}
