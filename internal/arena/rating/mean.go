package rating

// MeanInterval returns the mean of xs with a seeded percentile-bootstrap 95% interval from resamples
// resamples (DefaultResamples when 0). An empty slice gives a zero Interval. It serves paired
// differences (a team's per-item score minus its baseline's: -1, 0 or 1).
func MeanInterval(xs []float64, resamples int, seed uint64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{}
	}
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	rng := newRand(seed)
	means := make([]float64, resamples)
	for b := range means {
		var s float64
		for range n {
			s += xs[rng.IntN(n)]
		}
		means[b] = s / float64(n)
	}
	lo, hi := percentiles(means)
	return Interval{Estimate: sum / float64(n), Low: lo, High: hi}
}
