package memory

import (
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// TestFuseKeepsFactsApartFromChunks checks that a fact and a chunk with the same id are two hits,
// and that the fact comes out of fusion as Method "fact".
func TestFuseKeepsFactsApartFromChunks(t *testing.T) {
	f := Fact{ID: 1, Text: "a remembered fact", Agent: "a", Source: "s"}
	chunk := Hit{Chunk: Chunk{ID: 1}, Coverage: 1, Method: "text"}
	fact := FactHit(f, 1, 1, "text")
	out := Fuse([][]Hit{{chunk, fact}}, SearchOptions{K: 5})
	if len(out) != 2 || out[0].Fact != nil || out[1].Fact == nil || out[1].Method != "fact" || out[0].Method != "fused" {
		t.Fatalf("fused %+v", out)
	}
	if fact.Chunk.Source != "fact #1" || fact.Chunk.Text != f.Text || fact.Chunk.ID != 0 {
		t.Errorf("the fact's stand-in chunk %+v", fact.Chunk)
	}
}

func TestPrepareFact(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("KST", 9*3600))
	f, err := PrepareFact(Fact{ID: 9, SupersededBy: 3, Text: "\tline one\nline two ", Agent: " a ", Source: "s"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != 0 || f.SupersededBy != 0 || f.Text != "line one\nline two" || f.Agent != "a" ||
		f.RecordedAt != now.UTC().Truncate(time.Microsecond) || f.ValidFrom != f.RecordedAt || f.RecordedAt.Location() != time.UTC {
		t.Errorf("prepared %+v", f)
	}
	if !f.Current(now) || f.Current(now.Add(-time.Second)) {
		t.Errorf("current at %v: %v; a second before: %v", now, f.Current(now), f.Current(now.Add(-time.Second)))
	}
	f.ValidUntil = now.Add(time.Hour)
	if f.Expired(now) || !f.Expired(now.Add(time.Hour)) || f.Status(now.Add(2*time.Hour)) != "expired 2026-03-03T21:06:07Z" {
		t.Errorf("validity: %v %v %q", f.Expired(now), f.Expired(now.Add(time.Hour)), f.Status(now.Add(2*time.Hour)))
	}
	if _, err := PrepareFact(Fact{Text: "x", Agent: "a", Source: "s", ValidUntil: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, now); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("a time past 9999: %v", err)
	}
	if _, err := PrepareFact(Fact{Text: "x", Agent: "a", Source: "s", Supersedes: -1}, now); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("a negative id: %v", err)
	}
}
