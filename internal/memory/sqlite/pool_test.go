package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
)

// TestPoolStress replaces a source over and over while readers run exact lookups and BM25 (which
// reads the FTS5 index through fts5vocab) on the read pool, then checks the store, FTS5's index
// included; twenty rounds (four under the race detector), each on a new store. With one pool of four connections for reads and
// writes, one such round (memorytest's Atomic test) corrupted the FTS5 index in about one run of
// seven (docs/MEMORY.md), so this test fails almost surely if the bug returns.
func TestPoolStress(t *testing.T) {
	if testing.Short() {
		t.Skip("a stress test")
	}
	ctx := context.Background()
	rounds := 20
	if raceEnabled {
		rounds = 4 // the race detector slows SQLite twentyfold; it is here for Go-side races
	}
	for round := range rounds {
		s := openTemp(t)
		version := func(v string) []memory.Chunk {
			var cs []memory.Chunk
			for i := range 8 {
				cs = append(cs, memory.Chunk{Text: fmt.Sprintf("shared marker phrase %s part%d", v, i), StartLine: i + 1, EndLine: i + 1})
			}
			return cs
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		errs := make(chan error, 3)
		wg.Go(func() {
			defer close(done)
			for i := range 30 {
				v := []string{"alpha", "beta"}[i%2]
				src := memory.Source{Path: "/stress/doc.txt", Title: "doc", Kind: "text", Hash: v, IngestedAt: time.Now()}
				if err := s.Replace(ctx, src, version(v)); err != nil {
					errs <- err
					return
				}
			}
		})
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := s.LookupExact(ctx, "shared marker phrase", 20); err != nil {
						errs <- err
						return
					}
					if _, err := s.SearchText(ctx, "shared marker phrase", 20); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := s.Check(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		s.Close()
	}
}
