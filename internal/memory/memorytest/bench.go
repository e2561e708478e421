package memorytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
)

// LookupStore is what BenchLookupExact needs of a store.
type LookupStore interface {
	memory.Batcher
	memory.ExactSearcher
	memory.Statter
}

// BenchLookupExact measures exact-lookup latency on s, which it fills with 1000 sources of 300 random
// words from a 20 000-word vocabulary (over a million n-gram rows), looking up a phrase of two to five
// words of each; it reports the n-gram rows and the p50 and p99 latencies (the bar: p99
// under 1 ms). analyze, when set, runs after the fill (PostgreSQL's planner statistics).
func BenchLookupExact(b *testing.B, s LookupStore, analyze func() error) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 20000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%x", rng.Uint64()%(1<<24))
	}
	var updates []memory.Update
	var phrases []string
	for i := 0; i < 1000; i++ {
		words := make([]string, 300)
		for j := range words {
			words[j] = vocab[rng.IntN(len(vocab))]
		}
		updates = append(updates, memory.Update{Source: memory.Source{Path: fmt.Sprintf("/bench/%d.txt", i), Title: "t", Kind: "text",
			Hash: fmt.Sprint(i), IngestedAt: time.Now()}, Chunks: []memory.Chunk{{Text: strings.Join(words, " "), StartLine: 1, EndLine: 1}}})
		j := rng.IntN(290)
		phrases = append(phrases, strings.Join(words[j:j+2+rng.IntN(4)], " "))
	}
	if err := s.ReplaceBatch(ctx, updates); err != nil {
		b.Fatal(err)
	}
	if analyze != nil {
		if err := analyze(); err != nil {
			b.Fatal(err)
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if st.NGrams < 1_000_000 {
		b.Fatalf("only %d n-grams", st.NGrams)
	}
	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		t0 := time.Now()
		hits, err := s.LookupExact(ctx, phrases[i%len(phrases)], 10)
		lat = append(lat, time.Since(t0))
		if err != nil || len(hits) == 0 {
			b.Fatalf("lookup %q: %d hits, %v", phrases[i%len(phrases)], len(hits), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(st.NGrams), "ngrams")
	ReportLatency(b, lat)
}

// ReportLatency reports the p50 and p99 of lat (which it sorts) as the benchmark's p50-µs and p99-µs.
func ReportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
