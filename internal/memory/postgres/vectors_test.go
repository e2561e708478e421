package postgres

import (
	"context"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
)

// TestVectorsTwoHandles checks that a store sees vectors another handle (another process, say)
// wrote after it had cached the embedder's vectors, and that Check and the load refuse a stored
// vector of the wrong length.
func TestVectorsTwoHandles(t *testing.T) {
	ctx := context.Background()
	a, schema := openSchema(t)
	b, err := Open(ctx, testDSN(t), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	emb := &memorytest.BagEmbedder{N: 32}
	src := memory.Source{Path: "/v/a.txt", Title: "a", Kind: "text", Hash: "h"}
	if err := a.Replace(ctx, src, []memory.Chunk{{Text: "apples and pears", Hash: "h1", StartLine: 1, EndLine: 1},
		{Text: "trains and rivers", Hash: "h2", StartLine: 2, EndLine: 2}}); err != nil {
		t.Fatal(err)
	}
	vec := func(text string) []float32 { v, _ := emb.Embed(ctx, []string{text}); return v[0] }
	if err := a.PutVectors(ctx, emb.Name(), 32, []memory.Vector{{Hash: "h1", Vec: vec("apples and pears")}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := b.SearchVectors(ctx, emb.Name(), vec("trains and rivers"), 5); err != nil || len(hits) != 1 {
		t.Fatalf("before: %d hits, %v", len(hits), err)
	}
	if err := a.PutVectors(ctx, emb.Name(), 32, []memory.Vector{{Hash: "h2", Vec: vec("trains and rivers")}}); err != nil {
		t.Fatal(err)
	}
	hits, err := b.SearchVectors(ctx, emb.Name(), vec("trains and rivers"), 5)
	if err != nil || len(hits) != 2 || hits[0].Chunk.Hash != "h2" {
		t.Fatalf("after the other handle's put: %d hits, %v", len(hits), err)
	}
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// A vector of the wrong length (only a broken writer could store one) fails Check and the load.
	if _, err := a.pool.Exec(ctx, `UPDATE vectors SET vec = '\x00'::bytea WHERE hash = 'h1'`); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ctx); err == nil {
		t.Error("Check passed a vector of the wrong length")
	}
	if err := a.PutVectors(ctx, emb.Name(), 32, nil); err != nil { // bumps the generation
		t.Fatal(err)
	}
	if _, err := b.SearchVectors(ctx, emb.Name(), vec("apples"), 5); err == nil {
		t.Error("a vector of the wrong length was loaded")
	}
}
