package team

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

// percentile returns the q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func reportLatencies(b *testing.B, per []time.Duration, unit string) {
	slices.Sort(per)
	b.ReportMetric(float64(percentile(per, 0.50).Nanoseconds())/1e3, "p50-µs/"+unit)
	b.ReportMetric(float64(percentile(per, 0.99).Nanoseconds())/1e3, "p99-µs/"+unit)
}

// BenchmarkOverheadPerCall measures what the team runtime adds to a member call against a backend
// that answers at once: a route team of one member (one call per run, so the run's setup is
// included) and a vote of 16 samples (run time divided by its calls).
func BenchmarkOverheadPerCall(b *testing.B) {
	for _, tc := range []struct {
		name    string
		team    Team
		calls   int
		members []string
	}{
		{"route-1", Team{Name: "r", Pattern: Route, Members: []string{"m"}}, 1, []string{"m"}},
		{"vote-16", Team{Name: "v", Pattern: Vote, Members: []string{"m"}, Params: json.RawMessage(`{"samples":16,"extract":"number"}`)}, 16, []string{"m"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := newCast().add("m", &fake{name: "m", fn: answer("The answer is 42")}, nil)
			m := mustTeam(b, tc.team, c)
			req := ask("What is six times seven?")
			per := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := m.Chat(context.Background(), req, func(chat.Delta) error { return nil }); err != nil {
					b.Fatal(err)
				}
				per = append(per, time.Since(start)/time.Duration(tc.calls))
			}
			reportLatencies(b, per, "call")
		})
	}
}

// BenchmarkMoAParallel runs a moa team of k proposers against a fixed-latency backend that serves 4
// calls at once (the aggregator answers at once), and reports the run's wall time relative to one
// call of the backend.
func BenchmarkMoAParallel(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, k := range []int{1, 4} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			slots := make(chan struct{}, 4)
			c := newCast().add("agg", &fake{name: "agg", fn: answer("merged")}, nil)
			var members []string
			for i := range k {
				name := fmt.Sprintf("p%d", i)
				members = append(members, name)
				c.add(name, &fake{name: name, fn: answer("proposal"), delay: latency, slots: slots}, nil)
			}
			m := mustTeam(b, Team{Name: "moa", Pattern: MoA, Members: append(members, "agg")}, c)
			req := ask("q")
			var walls []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := m.Chat(context.Background(), req, nil); err != nil {
					b.Fatal(err)
				}
				walls = append(walls, time.Since(start))
			}
			slices.Sort(walls)
			b.ReportMetric(float64(percentile(walls, 0.5))/float64(latency), "x-one-call-p50")
			b.ReportMetric(float64(percentile(walls, 0.99))/float64(latency), "x-one-call-p99")
		})
	}
}
