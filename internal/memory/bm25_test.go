package memory

import (
	"math"
	"testing"
)

func TestBM25Rank(t *testing.T) {
	p := BM25{K1: 0.9, B: 0.4}
	// Two terms over 4 chunks of average length 10: "a" in chunks 1 (tf 2) and 2 (tf 1); "b" in
	// chunk 2 (tf 1).
	postings := [][]Posting{
		{{Chunk: 1, TF: 2, Len: 10}, {Chunk: 2, TF: 1, Len: 20}},
		{{Chunk: 2, TF: 1, Len: 20}},
	}
	got := p.Rank(postings, 4, 10, 10)
	idfA := math.Log(1 + (4-2+0.5)/(2+0.5))
	idfB := math.Log(1 + (4-1+0.5)/(1+0.5))
	term := func(idf, tf, dl float64) float64 { return idf * tf * 1.9 / (tf + 0.9*(0.6+0.4*dl/10)) }
	want := map[int64]Scored{
		1: {1, term(idfA, 2, 10), idfA / (idfA + idfB)},
		2: {2, term(idfA, 1, 20) + term(idfB, 1, 20), 1},
	}
	if len(got) != 2 {
		t.Fatalf("%d results", len(got))
	}
	if got[0].Score < got[1].Score {
		t.Errorf("not best first: %+v", got)
	}
	for _, g := range got {
		w := want[g.Chunk]
		if math.Abs(g.Score-w.Score) > 1e-12 || math.Abs(g.Coverage-w.Coverage) > 1e-12 {
			t.Errorf("chunk %d: %+v, want %+v", g.Chunk, g, w)
		}
	}
	// Ties go to the lower id, and k cuts.
	tie := p.Rank([][]Posting{{{Chunk: 9, TF: 1, Len: 5}, {Chunk: 3, TF: 1, Len: 5}}}, 4, 5, 1)
	if len(tie) != 1 || tie[0].Chunk != 3 {
		t.Errorf("tie: %+v", tie)
	}
	hits := TextHits(got, []Chunk{{ID: 2, Text: "two"}, {ID: 1, Text: "one"}})
	if len(hits) != 2 || hits[0].Chunk.ID != got[0].Chunk || hits[0].Method != "text" {
		t.Errorf("hits %+v", hits)
	}
}

func TestInOrder(t *testing.T) {
	chunks := []Chunk{{ID: 3}, {ID: 1}, {ID: 7}}
	got := InOrder([]int64{7, 5, 1, 3}, chunks)
	if len(got) != 3 || got[0].ID != 7 || got[1].ID != 1 || got[2].ID != 3 {
		t.Fatalf("InOrder: %+v", got)
	}
}
