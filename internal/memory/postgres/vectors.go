package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/vecindex"
)

// Vectors, as in the embedded store: per embedder, keyed by the SHA-256 of the chunk text (so a
// re-ingested file's unchanged chunks keep theirs), stored as little-endian float32 bytea of unit
// length. embedders holds each embedder's dimension and a generation that every change of its
// vectors bumps; SearchVectors keeps the vectors in memory (vecindex: an exact scan, an IVF index
// above a size) and reloads them when the generation differs, so a process sees other processes'
// writes. pgvector is not used: the search runs in this process, like the embedded store's.

// vectorsMigration adds the vector tables and the index of chunks by text hash.
const vectorsMigration = `CREATE INDEX chunks_hash ON chunks (hash);
	CREATE TABLE embedders (
		name text PRIMARY KEY,
		dim  integer NOT NULL CHECK (dim > 0),
		gen  bigint NOT NULL -- bumped by every change of the embedder's vectors, so caches reload
	);
	CREATE TABLE vectors (
		embedder text NOT NULL REFERENCES embedders(name),
		hash     text NOT NULL,
		vec      bytea NOT NULL, -- dim little-endian float32, unit length
		PRIMARY KEY (embedder, hash)
	);`

var _ memory.VectorStore = (*Store)(nil)

// PendingVectors returns up to limit chunks, one per distinct text (its lowest id), that have no
// vector from embedder, and how many distinct texts lack one. Chunks without a Hash never do.
func (s *Store) PendingVectors(ctx context.Context, embedder string, limit int) ([]memory.Chunk, int, error) {
	const missing = `FROM chunks c WHERE c.hash <> '' AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.embedder = $1 AND v.hash = c.hash)`
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, fault.Wrap(err, fault.Upstream, "memory: pending vectors")
	}
	defer tx.Rollback(ctx)
	var total int
	if err := tx.QueryRow(ctx, `SELECT count(DISTINCT c.hash) `+missing, embedder).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("memory: count pending vectors: %w", err)
	}
	if total == 0 || limit <= 0 {
		return nil, total, nil
	}
	chunks, err := queryChunks(ctx, tx, chunkSelect+` JOIN (SELECT min(c.id) AS id `+missing+` GROUP BY c.hash
		ORDER BY 1 LIMIT $2) p ON p.id = c.id ORDER BY c.id`, embedder, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("memory: pending vectors: %w", err)
	}
	return chunks, total, nil
}

// PutVectors stores unit-length copies of vecs for embedder in one transaction, bumping its
// generation; the embedder's row is locked meanwhile, so concurrent puts serialise.
func (s *Store) PutVectors(ctx context.Context, embedder string, dim int, vecs []memory.Vector) error {
	if err := vecindex.CheckPut(embedder, dim, vecs); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fault.Wrap(err, fault.Upstream, "memory: put vectors")
	}
	defer tx.Rollback(ctx)
	embedder = clean(embedder)
	var have int
	if err := tx.QueryRow(ctx, `INSERT INTO embedders (name, dim, gen) VALUES ($1, $2, 1)
		ON CONFLICT (name) DO UPDATE SET gen = embedders.gen + 1 RETURNING dim`, embedder, dim).Scan(&have); err != nil {
		return fmt.Errorf("memory: put vectors: %w", err)
	}
	if have != dim {
		return fault.New(fault.Invalid, "memory: embedder %s has %d-dimensional vectors, not %d", embedder, have, dim)
	}
	// One statement for the batch: the rows arrive as two arrays and replace those of the same
	// hashes. A hash given twice keeps its last vector, as in the embedded store (an upsert may not
	// name one key twice).
	at := make(map[string]int, len(vecs))
	var hashes []string
	var blobs [][]byte
	buf := make([]float32, dim)
	for _, v := range vecs {
		copy(buf, v.Vec)
		memory.Normalize(buf)
		h := clean(v.Hash)
		if i, ok := at[h]; ok {
			blobs[i] = vecindex.Encode(buf)
			continue
		}
		at[h] = len(hashes)
		hashes, blobs = append(hashes, h), append(blobs, vecindex.Encode(buf))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO vectors (embedder, hash, vec)
		SELECT $1, h, v FROM unnest($2::text[], $3::bytea[]) AS u(h, v)
		ON CONFLICT (embedder, hash) DO UPDATE SET vec = EXCLUDED.vec`, embedder, hashes, blobs); err != nil {
		return fmt.Errorf("memory: put vectors: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("memory: put vectors: %w", err)
	}
	return nil
}

// PruneVectors deletes the vectors whose text hash no chunk has and bumps the generation of each
// embedder that lost one.
func (s *Store) PruneVectors(ctx context.Context) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fault.Wrap(err, fault.Upstream, "memory: prune vectors")
	}
	defer tx.Rollback(ctx)
	var n int
	err = tx.QueryRow(ctx, `WITH gone AS (
			DELETE FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = v.hash) RETURNING embedder
		), bumped AS (
			UPDATE embedders e SET gen = gen + 1 WHERE e.name IN (SELECT embedder FROM gone)
		)
		SELECT count(*) FROM gone`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("memory: prune vectors: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("memory: prune vectors: %w", err)
	}
	return n, nil
}

// SearchVectors ranks the embedder's vectors by cosine similarity to query over the in-memory copy
// (an exact scan, or the IVF index above its threshold; see SetVectorOptions) and returns the chunks
// of the k best texts (every chunk of a text that repeats).
func (s *Store) SearchVectors(ctx context.Context, embedder string, query []float32, k int) ([]memory.Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	ix, err := s.vectors(ctx, clean(embedder))
	if err != nil || ix == nil {
		return nil, err
	}
	q, err := vecindex.Query(query, ix.Dim(), embedder)
	if err != nil {
		return nil, err
	}
	best := ix.Search(q, k)
	if len(best) == 0 {
		return nil, nil
	}
	score := vecindex.Scores(best)
	hashes := make([]string, 0, len(score))
	for h := range score {
		hashes = append(hashes, h)
	}
	chunks, err := queryChunks(ctx, s.pool, chunkSelect+` WHERE c.hash = ANY($1) ORDER BY c.id`, hashes)
	if err != nil {
		return nil, fmt.Errorf("memory: vector hits: %w", err)
	}
	return vecindex.Hits(chunks, score, k), nil
}

// SetVectorOptions chooses how SearchVectors searches from now on (exact scan or IVF, and the
// index's parameters); the zero value is the default.
func (s *Store) SetVectorOptions(opts vecindex.Options) { s.vcache.SetOptions(opts) }

// vectors returns the embedder's vectors in memory, loading them when the stored generation
// differs from the cached one; nil when the embedder has none.
func (s *Store) vectors(ctx context.Context, embedder string) (*vecindex.Index, error) {
	var gen int64
	err := s.pool.QueryRow(ctx, `SELECT gen FROM embedders WHERE name = $1`, embedder).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	return s.vcache.Get(ctx, embedder, gen, func(ctx context.Context) (*vecindex.Set, int64, error) {
		// The rows and the generation come from one snapshot so they belong together.
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, 0, fault.Wrap(err, fault.Upstream, "memory: read vectors")
		}
		defer tx.Rollback(ctx)
		var dim, n int
		if err := tx.QueryRow(ctx, `SELECT gen, dim, (SELECT count(*) FROM vectors WHERE embedder = $1)
			FROM embedders WHERE name = $1`, embedder).Scan(&gen, &dim, &n); err != nil {
			return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
		}
		set := vecindex.NewSet(dim, n)
		rows, err := tx.Query(ctx, `SELECT hash, vec FROM vectors WHERE embedder = $1`, embedder)
		if err != nil {
			return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
		}
		defer rows.Close()
		var h string
		var blob []byte
		for rows.Next() {
			if err := rows.Scan(&h, &blob); err != nil {
				return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
			}
			if err := set.AddEncoded(h, blob); err != nil {
				return nil, 0, err
			}
		}
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
		}
		return set, gen, nil
	})
}

// checkVectors counts vectors of the wrong length (the foreign key keeps every vector's embedder).
const checkVectors = `SELECT count(*) FROM vectors v JOIN embedders e ON e.name = v.embedder WHERE length(v.vec) <> 4 * e.dim`
