package postgres

import (
	"context"
	"testing"

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
	emb, vec := memorytest.TwoHandles(t, a, b)
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
