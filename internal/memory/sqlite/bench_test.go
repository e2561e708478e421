package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
)

// BenchmarkIngest measures ingest throughput (documents per second) of the generated corpus.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	corpus := b.TempDir()
	const files = 300
	writeCorpus(b, corpus, files, 3)
	b.ResetTimer()
	for range b.N {
		s, err := Open(ctx, filepath.Join(b.TempDir(), "memory.db"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := memory.Ingest(ctx, s, []string{corpus}, memory.Options{}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkLookupExact measures exact-lookup latency on a store with over a million n-gram rows,
// reporting p50 and p99.
func BenchmarkLookupExact(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "memory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// Synthetic chunks of random words: 4 n-gram lengths × ~300 distinct positions per chunk.
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
		text := strings.Join(words, " ")
		updates = append(updates, memory.Update{Source: memory.Source{Path: fmt.Sprintf("/bench/%d.txt", i), Title: "t", Kind: "text",
			Hash: fmt.Sprint(i), IngestedAt: time.Now()}, Chunks: []memory.Chunk{{Text: text, StartLine: 1, EndLine: 1}}})
		j := rng.IntN(290)
		phrases = append(phrases, strings.Join(words[j:j+2+rng.IntN(4)], " "))
	}
	if err := s.ReplaceBatch(ctx, updates); err != nil {
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

// BenchmarkSearchText measures BM25 query latency over the generated corpus (2000 files), reporting
// p50 and p99.
func BenchmarkSearchText(b *testing.B) {
	ctx := context.Background()
	corpus := b.TempDir()
	writeCorpus(b, corpus, 2000, 9)
	s, err := Open(ctx, filepath.Join(b.TempDir(), "memory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := memory.Ingest(ctx, s, []string{corpus}, memory.Options{}); err != nil {
		b.Fatal(err)
	}
	queries := []string{"ghost model search", "통제를 잃는 모델", "vector graph commit heading", "serial77-1", "engram index store kernel tensor"}
	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		t0 := time.Now()
		if _, err := s.SearchText(ctx, queries[i%len(queries)], 10); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
