package rating

import (
	"math/rand/v2"
	"testing"
)

func TestMeanIntervalCoversPairedDifference(t *testing.T) {
	if iv := MeanInterval(nil, 0, 1); iv != (Interval{}) {
		t.Fatalf("empty: %+v", iv)
	}
	// Paired differences with true mean 0.1: +1 with p 0.3, -1 with p 0.2, 0 otherwise.
	covered, runs := 0, 200
	for r := range runs {
		rng := rand.New(rand.NewPCG(uint64(r), 99))
		xs := make([]float64, 200)
		for i := range xs {
			switch u := rng.Float64(); {
			case u < 0.3:
				xs[i] = 1
			case u < 0.5:
				xs[i] = -1
			}
		}
		iv := MeanInterval(xs, 300, uint64(r))
		if iv.Low > iv.Estimate || iv.Estimate > iv.High {
			t.Fatalf("estimate outside its interval: %+v", iv)
		}
		if iv.Contains(0.1) {
			covered++
		}
	}
	if rate := float64(covered) / float64(runs); rate < 0.9 || rate > 0.99 {
		t.Errorf("the interval held the true mean in %.1f%% of runs, want about 95%%", 100*rate)
	}
}
