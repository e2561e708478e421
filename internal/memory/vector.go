package memory

import (
	"context"
	"fmt"
	"math"

	"github.com/seance-dev/seance/internal/fault"
)

// Embedder turns texts into vectors: USE-lite in-process, a backend's /v1/embeddings, or the
// embedded engine (adapters live in memory/embed). Implementations must be safe for concurrent use.
type Embedder interface {
	// Embed returns one vector of Dim() values per text, in order. It honours ctx between batches
	// at least.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Dim is the length of every vector.
	Dim() int
	// Name identifies the model (and its version) that makes the vectors: stores keep vectors per
	// name, so vectors of different embedders are never compared.
	Name() string
}

// Vector is one stored embedding: the vector of the chunk text whose SHA-256 is Hash (Chunk.Hash).
// Vectors are keyed by text rather than by chunk, so a chunk that is unchanged when its file is
// re-ingested (or that repeats in another file) keeps its vector without a new model call.
type Vector struct {
	Hash string
	Vec  []float32
}

// VectorStore is a Store that keeps chunk vectors per embedder and ranks them by cosine similarity.
type VectorStore interface {
	// PendingVectors returns up to limit chunks (one per distinct text) that have no vector from
	// the embedder named embedder, and how many distinct texts lack one in all. Chunks without a
	// Hash are never pending.
	PendingVectors(ctx context.Context, embedder string, limit int) ([]Chunk, int, error)
	// PutVectors stores vectors for the embedder, normalised to unit length (a zero vector is
	// stored as is), replacing vectors of the same hashes. Every vector must have length dim, and
	// dim must equal that of the vectors the embedder already has.
	PutVectors(ctx context.Context, embedder string, dim int, vecs []Vector) error
	// SearchVectors returns up to k chunks whose vectors have the highest cosine similarity to
	// query, best first, with the cosine as Score and Method "vector" (an exact scan). An embedder
	// without vectors returns no hits.
	SearchVectors(ctx context.Context, embedder string, query []float32, k int) ([]Hit, error)
	// PruneVectors deletes the vectors whose text no chunk has any more and returns how many.
	PruneVectors(ctx context.Context) (int, error)
}

// EmbedOptions tune EmbedPending. The zero value is usable.
type EmbedOptions struct {
	// Batch is how many texts go to the embedder per call (32 when 0).
	Batch int
	// Progress, when set, is called after each stored batch with the texts embedded so far and
	// the total that was pending at the start.
	Progress func(done, total int)
}

// EmbedPending computes the missing vectors of store's chunks with emb, in batches, each stored
// before the next is computed (so an interrupted run keeps what it did), then prunes vectors no
// chunk uses. It returns how many texts it embedded.
func EmbedPending(ctx context.Context, store Store, emb Embedder, opts EmbedOptions) (int, error) {
	vs, ok := store.(VectorStore)
	if !ok {
		return 0, fault.New(fault.Unsupported, "memory: the store cannot keep vectors")
	}
	if opts.Batch <= 0 {
		opts.Batch = 32
	}
	name, dim := emb.Name(), emb.Dim()
	done, total := 0, -1
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		chunks, left, err := vs.PendingVectors(ctx, name, opts.Batch)
		if err != nil {
			return done, err
		}
		if total < 0 {
			total = left
		}
		if len(chunks) == 0 {
			break
		}
		texts := make([]string, len(chunks))
		for i, c := range chunks {
			// A text returned again after its vector was stored would loop forever.
			if seen[c.Hash] {
				return done, fault.New(fault.Internal, "memory: the store still lists text %s as lacking a vector", c.Hash)
			}
			seen[c.Hash] = true
			texts[i] = EmbedText(c)
		}
		vecs, err := emb.Embed(ctx, texts)
		if err != nil {
			return done, fmt.Errorf("memory: embed with %s: %w", name, err)
		}
		if len(vecs) != len(chunks) {
			return done, fault.New(fault.Upstream, "memory: embedder %s returned %d vectors for %d texts", name, len(vecs), len(chunks))
		}
		put := make([]Vector, len(chunks))
		for i, c := range chunks {
			if len(vecs[i]) != dim {
				return done, fault.New(fault.Upstream, "memory: embedder %s returned %d dimensions, want %d", name, len(vecs[i]), dim)
			}
			put[i] = Vector{Hash: c.Hash, Vec: vecs[i]}
		}
		if err := vs.PutVectors(ctx, name, dim, put); err != nil {
			return done, err
		}
		done += len(chunks)
		if opts.Progress != nil {
			opts.Progress(done, max(total, done))
		}
	}
	if _, err := vs.PruneVectors(ctx); err != nil {
		return done, err
	}
	return done, nil
}

// EmbedText is the text of a chunk that is embedded: its Text alone (which begins with the heading
// when the chunk starts at one), so that a vector depends on nothing but the text its Hash names.
func EmbedText(c Chunk) string {
	return c.Text
}

// Normalize scales v to unit length in place; a zero vector stays zero.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
