// Package rating turns verified results into numbers a person can trust: accuracy with a
// bootstrap interval, pairwise wins per item, and Elo and Bradley–Terry ratings with bootstrap
// intervals. Everything is seeded, so the same results always give the same report.
//
// It is imported by internal/arena; it imports only the standard library.
package rating

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Interval is an estimate with a 95% interval.
type Interval struct {
	Estimate float64
	Low      float64
	High     float64
}

// Contains reports whether x lies in the closed interval.
func (iv Interval) Contains(x float64) bool { return iv.Low <= x && x <= iv.High }

// DefaultResamples is the number of bootstrap resamples used when a caller passes 0.
const DefaultResamples = 1000

// newRand returns the seeded generator every bootstrap here uses.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Accuracy returns the share of true values in correct and its percentile-bootstrap 95% interval
// from resamples resamples (DefaultResamples when 0) drawn from a generator seeded with seed.
// An empty slice gives a zero Interval.
func Accuracy(correct []bool, resamples int, seed uint64) Interval {
	n := len(correct)
	if n == 0 {
		return Interval{}
	}
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	k := 0
	for _, c := range correct {
		if c {
			k++
		}
	}
	est := float64(k) / float64(n)
	if k == 0 || k == n {
		return Interval{Estimate: est, Low: est, High: est}
	}
	// A resample's mean depends only on how many draws land on correct items, so each draw is a
	// Bernoulli(k/n) trial: a raw 64-bit draw below k/n of the range.
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	threshold := uint64(est * (1 << 63) * 2)
	means := make([]float64, resamples)
	for b := range means {
		s := 0
		for range n {
			if src.Uint64() < threshold {
				s++
			}
		}
		means[b] = float64(s) / float64(n)
	}
	lo, hi := percentiles(means)
	return Interval{Estimate: est, Low: lo, High: hi}
}

// percentiles returns the 2.5th and 97.5th percentiles of xs (which it sorts).
func percentiles(xs []float64) (float64, float64) {
	slices.Sort(xs)
	return quantile(xs, 0.025), quantile(xs, 0.975)
}

// quantile interpolates linearly between the order statistics of sorted xs.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// Result is one contestant's verified result on one item.
type Result struct {
	Contestant string
	Item       string
	Correct    bool
}

// Board holds the results of a tournament: which contestant got which item right.
type Board struct {
	// Contestants and Items are sorted.
	Contestants []string
	Items       []string
	// cell[i][c] is -1 (no result), 0 (wrong) or 1 (correct) for item i and contestant c.
	cell [][]int8
}

// ErrDuplicate is returned by NewBoard when a contestant has two results for one item.
var ErrDuplicate = errors.New("rating: two results for one contestant and item")

// NewBoard builds a Board from results.
func NewBoard(results []Result) (*Board, error) {
	cs, is := map[string]int{}, map[string]int{}
	for _, r := range results {
		cs[r.Contestant], is[r.Item] = 0, 0
	}
	b := &Board{Contestants: sortedKeys(cs), Items: sortedKeys(is)}
	for i, c := range b.Contestants {
		cs[c] = i
	}
	for i, it := range b.Items {
		is[it] = i
	}
	b.cell = make([][]int8, len(b.Items))
	for i := range b.cell {
		b.cell[i] = make([]int8, len(b.Contestants))
		for c := range b.cell[i] {
			b.cell[i][c] = -1
		}
	}
	for _, r := range results {
		p := &b.cell[is[r.Item]][cs[r.Contestant]]
		if *p != -1 {
			return nil, ErrDuplicate
		}
		*p = 0
		if r.Correct {
			*p = 1
		}
	}
	return b, nil
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Accuracy returns each contestant's accuracy over the items it has results for, with bootstrap
// intervals, in the order of b.Contestants.
func (b *Board) Accuracy(resamples int, seed uint64) []Interval {
	out := make([]Interval, len(b.Contestants))
	for c := range b.Contestants {
		var xs []bool
		for i := range b.Items {
			if v := b.cell[i][c]; v >= 0 {
				xs = append(xs, v == 1)
			}
		}
		out[c] = Accuracy(xs, resamples, seed+uint64(c))
	}
	return out
}

// Pair is the head-to-head record of two contestants over the items both have results for: a
// win is an item one got right and the other wrong; Ties counts items both got right or both wrong.
type Pair struct {
	A, B         string
	WinsA, WinsB int
	Ties         int
}

// Pairwise returns the head-to-head record of every pair of contestants (A before B in sort order).
func (b *Board) Pairwise() []Pair {
	var out []Pair
	for x := range b.Contestants {
		for y := x + 1; y < len(b.Contestants); y++ {
			p := Pair{A: b.Contestants[x], B: b.Contestants[y]}
			for i := range b.Items {
				cx, cy := b.cell[i][x], b.cell[i][y]
				switch {
				case cx < 0 || cy < 0:
				case cx > cy:
					p.WinsA++
				case cy > cx:
					p.WinsB++
				default:
					p.Ties++
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// Options tune the ratings. Zero values mean the defaults.
type Options struct {
	// Resamples is the number of bootstrap resamples of the items (DefaultResamples).
	Resamples int
	Seed      uint64
	// Base and Scale place ratings on the familiar Elo scale: Base + Scale·log10(strength),
	// 1500 and 400 by default, so a 400-point gap means 10:1 odds of winning a decisive item.
	Base, Scale float64
	// K is Elo's update step (16).
	K float64
	// Orders is the number of seeded game orders Elo's point estimate averages over (10): online
	// Elo depends on the order of games, which here carries no information.
	Orders int
	// Prior is the Bradley–Terry pseudo-wins each contestant gets against each other one (0.5),
	// which keeps the strengths finite when a contestant never wins (or never loses).
	Prior float64
}

func (o Options) withDefaults() Options {
	if o.Resamples <= 0 {
		o.Resamples = DefaultResamples
	}
	if o.Base == 0 {
		o.Base = 1500
	}
	if o.Scale == 0 {
		o.Scale = 400
	}
	if o.K == 0 {
		o.K = 16
	}
	if o.Orders <= 0 {
		o.Orders = 10
	}
	if o.Prior == 0 {
		o.Prior = 0.5
	}
	return o
}

// Rating is one contestant's rating with its bootstrap 95% interval.
type Rating struct {
	Name string
	Interval
	// Wins and Losses count its decisive items against all others.
	Wins, Losses int
}

// game is one decisive comparison: winner and loser by contestant index.
type game struct{ w, l int }

// gamesOf appends item i's decisive games (in a fixed pair order) to gs.
func (b *Board) gamesOf(gs []game, i int) []game {
	row := b.cell[i]
	for x := range row {
		for y := x + 1; y < len(row); y++ {
			switch {
			case row[x] < 0 || row[y] < 0 || row[x] == row[y]:
			case row[x] > row[y]:
				gs = append(gs, game{x, y})
			default:
				gs = append(gs, game{y, x})
			}
		}
	}
	return gs
}

// rate computes ratings on the full items (point estimates) and on resampled items (intervals).
// fit rates the items in the order given; rng lets it shuffle what it may.
func (b *Board) rate(o Options, fit func(items []int, rng *rand.Rand) []float64, pointFit func(items []int, rng *rand.Rand) []float64) []Rating {
	n := len(b.Items)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	rng := newRand(o.Seed)
	point := pointFit(all, rng)
	samples := make([][]float64, len(b.Contestants))
	idx := make([]int, n)
	for range o.Resamples {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		r := fit(idx, rng)
		for c := range samples {
			samples[c] = append(samples[c], r[c])
		}
	}
	out := make([]Rating, len(b.Contestants))
	for c, name := range b.Contestants {
		lo, hi := percentiles(samples[c])
		out[c] = Rating{Name: name, Interval: Interval{Estimate: point[c], Low: lo, High: hi}}
	}
	for i := range b.Items {
		for _, g := range b.gamesOf(nil, i) {
			out[g.w].Wins++
			out[g.l].Losses++
		}
	}
	return out
}

// Elo rates the contestants by online Elo over the decisive games of every item, each item's
// games in a fixed order and the items in a seeded random order. The point estimate is the mean
// over o.Orders orders; the interval comes from resampling items (one order per resample).
func (b *Board) Elo(o Options) []Rating {
	o = o.withDefaults()
	if len(b.Items) == 0 {
		return b.empty(o)
	}
	once := func(items []int, rng *rand.Rand) []float64 {
		order := slices.Clone(items)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		r := make([]float64, len(b.Contestants))
		for c := range r {
			r[c] = o.Base
		}
		var gs []game
		for _, i := range order {
			gs = b.gamesOf(gs[:0], i)
			for _, g := range gs {
				e := 1 / (1 + math.Pow(10, (r[g.l]-r[g.w])/o.Scale))
				r[g.w] += o.K * (1 - e)
				r[g.l] -= o.K * (1 - e)
			}
		}
		return r
	}
	mean := func(items []int, rng *rand.Rand) []float64 {
		sum := make([]float64, len(b.Contestants))
		for range o.Orders {
			for c, v := range once(items, rng) {
				sum[c] += v / float64(o.Orders)
			}
		}
		return sum
	}
	return b.rate(o, once, mean)
}

func (b *Board) empty(o Options) []Rating {
	out := make([]Rating, len(b.Contestants))
	for c, name := range b.Contestants {
		out[c] = Rating{Name: name, Interval: Interval{Estimate: o.Base, Low: o.Base, High: o.Base}}
	}
	return out
}

// BradleyTerry rates the contestants by the Bradley–Terry model fitted by maximum likelihood with
// Hunter's minorisation–maximisation iteration, each pair given o.Prior pseudo-wins both ways. The
// strengths are normalised to a geometric mean of 1 and reported as Base + Scale·log10(strength);
// intervals come from resampling items.
func (b *Board) BradleyTerry(o Options) []Rating {
	o = o.withDefaults()
	fit := func(items []int, _ *rand.Rand) []float64 {
		k := len(b.Contestants)
		wins := make([][]float64, k)
		for c := range wins {
			wins[c] = make([]float64, k)
			for d := range wins[c] {
				if c != d {
					wins[c][d] = o.Prior
				}
			}
		}
		var gs []game
		for _, i := range items {
			gs = b.gamesOf(gs[:0], i)
			for _, g := range gs {
				wins[g.w][g.l]++
			}
		}
		s := FitBradleyTerry(wins)
		r := make([]float64, k)
		for c := range r {
			r[c] = o.Base + o.Scale*math.Log10(s[c])
		}
		return r
	}
	return b.rate(o, fit, fit)
}

// FitBradleyTerry returns the maximum-likelihood Bradley–Terry strengths for the win matrix
// wins[i][j] (how often i beat j), normalised to a geometric mean of 1, by Hunter's (2004)
// minorisation–maximisation update p_i ← W_i / Σ_j n_ij/(p_i+p_j), iterated until no strength moves
// by more than 1e-10 in log terms (at most 10000 rounds). A contestant without wins gets strength 0
// unless the matrix holds prior pseudo-wins.
func FitBradleyTerry(wins [][]float64) []float64 {
	k := len(wins)
	p := make([]float64, k)
	for i := range p {
		p[i] = 1
	}
	next := make([]float64, k)
	for range 10000 {
		for i := range k {
			var w, den float64
			for j := range k {
				if i == j {
					continue
				}
				w += wins[i][j]
				if n := wins[i][j] + wins[j][i]; n > 0 {
					den += n / (p[i] + p[j])
				}
			}
			if den == 0 {
				next[i] = p[i]
				continue
			}
			next[i] = w / den
		}
		// Normalise to a geometric mean of 1 over the positive strengths.
		var logSum float64
		pos := 0
		for _, v := range next {
			if v > 0 {
				logSum += math.Log(v)
				pos++
			}
		}
		g := 1.0
		if pos > 0 {
			g = math.Exp(logSum / float64(pos))
		}
		delta := 0.0
		for i := range next {
			next[i] /= g
			if next[i] > 0 && p[i] > 0 {
				delta = math.Max(delta, math.Abs(math.Log(next[i]/p[i])))
			} else if next[i] != p[i] {
				delta = math.Inf(1)
			}
		}
		p, next = next, p
		if delta < 1e-10 {
			break
		}
	}
	return p
}
