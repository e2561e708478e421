package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

// Vectors are kept per embedder and keyed by the SHA-256 of the chunk text, not by chunk id: a
// changed file's chunks are deleted and inserted anew, and keying by text lets the unchanged ones
// keep their vectors (PruneVectors removes the vectors no chunk uses any more). Each embedder has a
// row in embedders with its dimension and a generation that every change bumps; SearchVectors keeps
// the embedder's vectors in memory, one contiguous []float32, and reloads them when the generation
// it read differs, so a process sees other processes' writes.

// vectorCache is one embedder's vectors in memory.
type vectorCache struct {
	gen    int64
	dim    int
	hashes []string
	data   []float32 // len(hashes)·dim, row i is the vector of hashes[i]
}

// PendingVectors returns up to limit chunks, one per distinct text, that have no vector from
// embedder, lowest id first, and how many distinct texts lack one. Chunks stored without a Hash
// (Ingest always sets it) cannot be keyed and never get a vector.
func (s *Store) PendingVectors(ctx context.Context, embedder string, limit int) ([]memory.Chunk, int, error) {
	const missing = `FROM chunks c WHERE c.hash != '' AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.embedder = ?1 AND v.hash = c.hash)`
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT c.hash) `+missing, embedder).Scan(&total); err != nil {
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
	if embedder == "" || dim <= 0 {
		return fault.Param("embedder", "memory: vectors need an embedder name and a positive dimension")
	}
	for _, v := range vecs {
		if len(v.Vec) != dim {
			return fault.Param("vectors", "memory: a vector of %d values for dimension %d", len(v.Vec), dim)
		}
		if v.Hash == "" {
			return fault.Param("vectors", "memory: a vector without a text hash")
		}
		if !finite(v.Vec) {
			return fault.Param("vectors", "memory: the vector of %s has a NaN or infinite value", v.Hash)
		}
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
		if _, err := st.ExecContext(ctx, embedder, v.Hash, encodeVector(buf)); err != nil {
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

// SearchVectors ranks the embedder's vectors by cosine similarity to query with an exact scan over
// the in-memory copy (split over the available cores, each part keeping a bounded heap of its k best)
// and returns the chunks of the k best texts (every chunk of a text that repeats).
func (s *Store) SearchVectors(ctx context.Context, embedder string, query []float32, k int) ([]memory.Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	c, err := s.vectors(ctx, embedder)
	if err != nil || c == nil {
		return nil, err
	}
	if len(query) != c.dim {
		return nil, fault.Param("query", "memory: a %d-dimensional query for %s's %d-dimensional vectors", len(query), embedder, c.dim)
	}
	if !finite(query) {
		return nil, fault.Param("query", "memory: the query vector has a NaN or infinite value")
	}
	q := slices.Clone(query)
	memory.Normalize(q)
	best := c.topK(q, k)
	if len(best) == 0 {
		return nil, nil
	}
	score := make(map[string]float32, len(best))
	args := make([]any, len(best))
	for i, b := range best {
		h := c.hashes[b.row]
		score[h], args[i] = b.score, h
	}
	ids, err := s.ids(ctx, `SELECT id FROM chunks WHERE hash IN (?`+strings.Repeat(",?", len(args)-1)+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("memory: vector hits: %w", err)
	}
	chunks, err := s.chunks(ctx, ids)
	if err != nil {
		return nil, err
	}
	hits := make([]memory.Hit, len(chunks))
	for i, ch := range chunks {
		hits[i] = memory.Hit{Chunk: ch, Score: float64(score[ch.Hash]), Method: "vector"}
	}
	slices.SortStableFunc(hits, func(a, b memory.Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
}

// vectors returns the embedder's vectors in memory, loading them when the stored generation
// differs from the cached one; nil when the embedder has none.
func (s *Store) vectors(ctx context.Context, embedder string) (*vectorCache, error) {
	var gen int64
	var dim int
	err := s.db.QueryRowContext(ctx, `SELECT gen, dim FROM embedders WHERE name = ?`, embedder).Scan(&gen, &dim)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if c := s.vcache[embedder]; c != nil && c.gen == gen {
		return c, nil
	}
	// The rows and the generation are read in one transaction so they belong together.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT gen, dim FROM embedders WHERE name = ?`, embedder).Scan(&gen, &dim); err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM vectors WHERE embedder = ?`, embedder).Scan(&n); err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	c := &vectorCache{gen: gen, dim: dim, hashes: make([]string, 0, n), data: make([]float32, 0, n*dim)}
	rows, err := tx.QueryContext(ctx, `SELECT hash, vec FROM vectors WHERE embedder = ?`, embedder)
	if err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var blob []byte
		if err := rows.Scan(&h, &blob); err != nil {
			return nil, fmt.Errorf("memory: read vectors: %w", err)
		}
		if len(blob) != 4*dim {
			return nil, fault.New(fault.Unprocessable, "memory: a vector of %s has %d bytes, want %d", embedder, len(blob), 4*dim)
		}
		c.hashes = append(c.hashes, h)
		for i := 0; i < len(blob); i += 4 {
			c.data = append(c.data, math.Float32frombits(binary.LittleEndian.Uint32(blob[i:])))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memory: read vectors: %w", err)
	}
	s.vcache[embedder] = c
	return c, nil
}

// finite reports whether every value of v is a number.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// scored is a row of the cache and its similarity to the query.
type scored struct {
	row   int
	score float32
}

// topK returns the k rows most similar to the unit query q, best first (ties by row).
func (c *vectorCache) topK(q []float32, k int) []scored {
	n := len(c.hashes)
	parts := 1
	if n >= 4096 {
		parts = min(runtime.GOMAXPROCS(0), 8)
	}
	heaps := make([]minHeap, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := minHeap(make([]scored, 0, k))
			for r := lo; r < hi; r++ {
				h.offer(scored{r, tensor.Dot(q, c.data[r*c.dim:(r+1)*c.dim])}, k)
			}
			heaps[p] = h
		}()
	}
	wg.Wait()
	var all []scored
	for _, h := range heaps {
		all = append(all, h...)
	}
	slices.SortFunc(all, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.row - b.row
	})
	return all[:min(k, len(all))]
}

// minHeap keeps the best k scored rows seen, the worst of them at the root.
type minHeap []scored

// less orders by score, then prefers the lower row, so results do not depend on the split.
func (h minHeap) less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].row > h[j].row
}

// offer adds x when the heap holds fewer than k rows or x beats its worst.
func (h *minHeap) offer(x scored, k int) {
	s := *h
	if len(s) < k {
		s = append(s, x)
		for i := len(s) - 1; i > 0; {
			p := (i - 1) / 2
			if !s.less(i, p) {
				break
			}
			s[i], s[p] = s[p], s[i]
			i = p
		}
		*h = s
		return
	}
	if root := s[0]; x.score < root.score || (x.score == root.score && x.row > root.row) {
		return
	}
	s[0] = x
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}
