package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
)

// BenchmarkIngest measures ingest throughput (documents per second) of the generated corpus, as the
// embedded store's BenchmarkIngest does.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	corpus := b.TempDir()
	const files = 300
	memorytest.WriteCorpus(b, corpus, files, 3)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, _ := openSchema(b)
		b.StartTimer()
		if _, err := memory.Ingest(ctx, s, []string{corpus}, memory.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkLookupExact measures exact-lookup latency on a store with over a million n-gram rows,
// reporting p50 and p99 (the bar: p99 under 1 ms).
func BenchmarkLookupExact(b *testing.B) {
	ctx := context.Background()
	s, _ := openSchema(b)
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
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE ngrams`); err != nil {
		b.Fatal(err)
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
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(st.NGrams), "ngrams")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
