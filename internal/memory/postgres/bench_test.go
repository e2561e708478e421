package postgres

import (
	"context"
	"testing"

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
	s, _ := openSchema(b)
	memorytest.BenchLookupExact(b, s, func() error {
		_, err := s.pool.Exec(context.Background(), `VACUUM ANALYZE ngrams`)
		return err
	})
}
