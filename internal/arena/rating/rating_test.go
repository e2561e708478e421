package rating

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestAccuracyEmptyAndDegenerate(t *testing.T) {
	if got := Accuracy(nil, 100, 1); got != (Interval{}) {
		t.Errorf("empty: %+v", got)
	}
	all := []bool{true, true, true}
	if got := Accuracy(all, 100, 1); got.Estimate != 1 || got.Low != 1 || got.High != 1 {
		t.Errorf("all correct: %+v", got)
	}
	xs := []bool{true, false, true, false, true, true, false, true}
	a, b := Accuracy(xs, 500, 7), Accuracy(xs, 500, 7)
	if a != b {
		t.Errorf("same seed, different intervals: %+v %+v", a, b)
	}
	if a.Estimate != 5.0/8 || !(a.Low < a.Estimate && a.Estimate < a.High) {
		t.Errorf("interval %+v does not surround the estimate 0.625", a)
	}
}

// TestAccuracyCoverage simulates contestants with known accuracies and counts how often the 95%
// bootstrap interval holds the true accuracy.
func TestAccuracyCoverage(t *testing.T) {
	runs, items, resamples := 400, 200, 1000
	ps := []float64{0.1, 0.3, 0.5, 0.7, 0.9}
	if testing.Short() {
		resamples = 400
		if raceEnabled {
			ps, resamples = []float64{0.3, 0.7}, 200
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, p := range ps {
		covered := 0
		for run := range runs {
			xs := make([]bool, items)
			for i := range xs {
				xs[i] = rng.Float64() < p
			}
			if Accuracy(xs, resamples, uint64(run)).Contains(p) {
				covered++
			}
		}
		rate := float64(covered) / float64(runs)
		t.Logf("p=%.1f: %d items, %d runs, %d resamples: coverage %.3f", p, items, runs, resamples, rate)
		if rate < 0.92 || rate > 0.98 {
			t.Errorf("p=%.1f: coverage %.3f outside [0.92, 0.98]", p, rate)
		}
	}
}

// simulate returns results of contestants with the given accuracies on n items.
func simulate(rng *rand.Rand, acc map[string]float64, n int) []Result {
	names := slices.Sorted(maps.Keys(acc)) // map order would make the simulation differ run to run
	var rs []Result
	for i := range n {
		for _, name := range names {
			rs = append(rs, Result{Contestant: name, Item: fmt.Sprintf("item%03d", i), Correct: rng.Float64() < acc[name]})
		}
	}
	return rs
}

var accuracies = map[string]float64{"tiny": 0.3, "small": 0.5, "medium": 0.7, "large": 0.9}

func TestRatingsOrderContestants(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(3, seed))
		b, err := NewBoard(simulate(rng, accuracies, 300))
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, b, Options{Resamples: 200, Seed: seed})
	}
}

func checkOrder(t *testing.T, b *Board, o Options) {
	t.Helper()
	for method, rs := range map[string][]Rating{"elo": b.Elo(o), "bt": b.BradleyTerry(o)} {
		byName := map[string]Rating{}
		for _, r := range rs {
			byName[r.Name] = r
			if !(r.Low <= r.Estimate && r.Estimate <= r.High) {
				t.Errorf("%s %s: estimate outside its interval: %+v", method, r.Name, r)
			}
		}
		order := []string{"tiny", "small", "medium", "large"}
		for i := 1; i < len(order); i++ {
			lo, hi := byName[order[i-1]], byName[order[i]]
			if lo.Estimate >= hi.Estimate {
				t.Errorf("%s: %s (%.0f) not below %s (%.0f)", method, lo.Name, lo.Estimate, hi.Name, hi.Estimate)
			}
		}
		t.Logf("seed %d %s: %+v", o.Seed, method, rs)
	}
}

// TestBradleyTerryRecoversStrengths checks the fit against the model's own truth. With independent
// contestants of accuracy p, a decisive item is won by a over b with odds
// p_a(1-p_b) / (p_b(1-p_a)), so the true strength is p/(1-p), and on the rating scale
// 400·log10(p/(1-p)), centred. The intervals should hold it most of the time.
func TestBradleyTerryRecoversStrengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	truth := map[string]float64{}
	var mean float64
	for name, p := range accuracies {
		truth[name] = 400 * math.Log10(p/(1-p))
		mean += truth[name] / float64(len(accuracies))
	}
	sims := 40
	if testing.Short() {
		sims = 15
	}
	covered, total := 0, 0
	for s := range sims {
		b, err := NewBoard(simulate(rng, accuracies, 300))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.BradleyTerry(Options{Resamples: 200, Seed: uint64(s), Prior: 1e-9}) {
			total++
			if r.Contains(1500 + truth[r.Name] - mean) {
				covered++
			}
		}
	}
	rate := float64(covered) / float64(total)
	t.Logf("Bradley–Terry interval coverage of the true strength: %d/%d = %.3f", covered, total, rate)
	if rate < 0.85 {
		t.Errorf("coverage %.3f below 0.85", rate)
	}
}

func TestFitBradleyTerryExact(t *testing.T) {
	// Expected win counts under strengths 1, 2, 4 with 1000 games per pair: the MLE is exact.
	s := []float64{1, 2, 4}
	wins := make([][]float64, 3)
	for i := range wins {
		wins[i] = make([]float64, 3)
		for j := range wins[i] {
			if i != j {
				wins[i][j] = 1000 * s[i] / (s[i] + s[j])
			}
		}
	}
	got := FitBradleyTerry(wins)
	g := math.Cbrt(1 * 2 * 4)
	for i := range s {
		if math.Abs(got[i]-s[i]/g) > 1e-6 {
			t.Errorf("strength %d = %g, want %g", i, got[i], s[i]/g)
		}
	}
}

func TestPairwise(t *testing.T) {
	rs := []Result{
		{"a", "1", true}, {"b", "1", false},
		{"a", "2", false}, {"b", "2", true},
		{"a", "3", true}, {"b", "3", true},
		{"a", "4", true}, {"b", "4", false},
		{"a", "5", true}, // b has no result on 5: not compared
	}
	b, err := NewBoard(rs)
	if err != nil {
		t.Fatal(err)
	}
	ps := b.Pairwise()
	if len(ps) != 1 || ps[0] != (Pair{A: "a", B: "b", WinsA: 2, WinsB: 1, Ties: 1}) {
		t.Errorf("Pairwise = %+v", ps)
	}
	if _, err := NewBoard(append(rs, Result{"a", "1", false})); err != ErrDuplicate {
		t.Errorf("duplicate result: %v", err)
	}
	acc := b.Accuracy(200, 1)
	if acc[0].Estimate != 0.8 || acc[1].Estimate != 0.5 {
		t.Errorf("accuracies %+v, want 0.8 and 0.5", acc)
	}
}

func TestRatingsAreSeeded(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	b, err := NewBoard(simulate(rng, accuracies, 100))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Resamples: 100, Seed: 42}
	x, y := b.Elo(o), b.Elo(o)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("Elo with the same seed differs: %+v vs %+v", x[i], y[i])
		}
	}
}
