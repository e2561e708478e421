package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
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
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "memory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	memorytest.BenchLookupExact(b, s, nil)
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
	memorytest.ReportLatency(b, lat)
}
