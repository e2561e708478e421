package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/vecindex"
)

// Vectors are kept per embedder and keyed by the SHA-256 of the chunk text, not by chunk id: a
// changed file's chunks are deleted and inserted anew, and keying by text lets the unchanged ones
// keep their vectors (PruneVectors removes the vectors no chunk uses any more). Each embedder has a
// row in embedders with its dimension and a generation that every change bumps; SearchVectors keeps
// the embedder's vectors in memory (a vecindex.Cache: one contiguous []float32, and an IVF index
// above a size) and reloads them when the generation it read differs, so a process sees other
// processes' writes.

// PendingVectors returns up to limit chunks, one per distinct text, that have no vector from
// embedder, lowest id first, and how many distinct texts lack one. Chunks stored without a Hash
// (Ingest always sets it) cannot be keyed and never get a vector.
func (s *Store) PendingVectors(ctx context.Context, embedder string, limit int) ([]memory.Chunk, int, error) {
	const missing = `FROM chunks c WHERE c.hash != '' AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.embedder = ?1 AND v.hash = c.hash)`
	var total int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(DISTINCT c.hash) `+missing, embedder).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("memory: count pending vectors: %w", err)
	}
	if total == 0 || limit <= 0 {
		return nil, total, nil
	}
	ids, err := s.ids(ctx, `SELECT min(c.id) `+missing+` GROUP BY c.hash ORDER BY 1 LIMIT ?2`, embedder, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("memory: pending vectors: %w", err)
	}
	chunks, err := s.chunks(ctx, ids)
	return chunks, total, err
}

// PutVectors stores unit-length copies of vecs for embedder in one transaction.
func (s *Store) PutVectors(ctx context.Context, embedder string, dim int, vecs []memory.Vector) error {
	if err := vecindex.CheckPut(embedder, dim, vecs); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("memory: put vectors: %w", err)
	}
	defer tx.Rollback()
	var have int
	switch err := tx.QueryRowContext(ctx, `SELECT dim FROM embedders WHERE name = ?`, embedder).Scan(&have); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO embedders (name, dim, gen) VALUES (?, ?, 1)`, embedder, dim); err != nil {
			return fmt.Errorf("memory: put vectors: %w", err)
		}
	case err != nil:
		return fmt.Errorf("memory: put vectors: %w", err)
	case have != dim:
		return fault.New(fault.Invalid, "memory: embedder %s has %d-dimensional vectors, not %d", embedder, have, dim)
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE embedders SET gen = gen + 1 WHERE name = ?`, embedder); err != nil {
			return fmt.Errorf("memory: put vectors: %w", err)
		}
	}
	st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO vectors (embedder, hash, vec) VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("memory: put vectors: %w", err)
	}
	defer st.Close()
	buf := make([]float32, dim)
	for _, v := range vecs {
		copy(buf, v.Vec)
		memory.Normalize(buf)
		if _, err := st.ExecContext(ctx, embedder, v.Hash, vecindex.Encode(buf)); err != nil {
			return fmt.Errorf("memory: put vectors: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("memory: put vectors: %w", err)
	}
	return nil
}

// PruneVectors deletes the vectors whose text hash no chunk has.
func (s *Store) PruneVectors(ctx context.Context) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("memory: prune vectors: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM vectors WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = vectors.hash)`)
	if err != nil {
		return 0, fmt.Errorf("memory: prune vectors: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE embedders SET gen = gen + 1`); err != nil {
			return 0, fmt.Errorf("memory: prune vectors: %w", err)
		}
	}
	return int(n), tx.Commit()
}

// SearchVectors ranks the embedder's vectors by cosine similarity to query over the in-memory copy
// (vecindex: an exact scan split over the cores, or the IVF index above its threshold; see
// SetVectorOptions) and returns the chunks of the k best texts (every chunk of a text that repeats).
func (s *Store) SearchVectors(ctx context.Context, embedder string, query []float32, k int) ([]memory.Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	ix, err := s.vectors(ctx, embedder)
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
	args := make([]any, 0, len(score))
	for h := range score {
		args = append(args, h)
	}
	ids, err := s.ids(ctx, `SELECT id FROM chunks WHERE hash IN (?`+strings.Repeat(",?", len(args)-1)+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("memory: vector hits: %w", err)
	}
	chunks, err := s.chunks(ctx, ids)
	if err != nil {
		return nil, err
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
	err := s.rdb.QueryRowContext(ctx, `SELECT gen FROM embedders WHERE name = ?`, embedder).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	return s.vcache.Get(ctx, embedder, gen, func(ctx context.Context) (*vecindex.Set, int64, error) {
		return s.loadVectors(ctx, embedder)
	})
}

// loadVectors reads the embedder's vectors and their generation in one transaction, so that they
// belong together.
func (s *Store) loadVectors(ctx context.Context, embedder string) (*vecindex.Set, int64, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
	}
	defer tx.Rollback()
	var gen int64
	var dim, n int
	if err := tx.QueryRowContext(ctx, `SELECT gen, dim, (SELECT count(*) FROM vectors WHERE embedder = ?1)
		FROM embedders WHERE name = ?1`, embedder).Scan(&gen, &dim, &n); err != nil {
		return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
	}
	set := vecindex.NewSet(dim, n)
	rows, err := tx.QueryContext(ctx, `SELECT hash, vec FROM vectors WHERE embedder = ?`, embedder)
	if err != nil {
		return nil, 0, fmt.Errorf("memory: read vectors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var blob []byte
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
}
