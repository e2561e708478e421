package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/seance-dev/seance/internal/memory"
)

// maxExactCandidates bounds the chunks read to verify a phrase.
const maxExactCandidates = 256

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// LookupExact returns up to k chunks containing the normalised phrase, exactly as the embedded store
// does: a phrase of at most memory.MaxNGram words is one B-tree lookup, with hits in chunk order and
// score 1; a longer one intersects the lookups of its overlapping n-grams and verifies the phrase in
// the candidates, ranked by occurrences.
func (s *Store) LookupExact(ctx context.Context, phrase string, k int) ([]memory.Hit, error) {
	words, hashes := memory.PhraseHashes(phrase)
	if len(hashes) == 0 || k <= 0 {
		return nil, nil
	}
	// Each path is one statement, hence one snapshot and one round trip.
	if len(words) <= memory.MaxNGram {
		chunks, err := queryChunks(ctx, s.pool, chunkSelect+` JOIN (SELECT chunk_id FROM ngrams WHERE hash = $1
			ORDER BY chunk_id LIMIT $2) n ON n.chunk_id = c.id ORDER BY c.id`, int64(hashes[0]), k)
		if err != nil {
			return nil, fmt.Errorf("memory: exact lookup: %w", err)
		}
		hits := make([]memory.Hit, len(chunks))
		for i, c := range chunks {
			hits[i] = memory.Hit{Chunk: c, Score: 1, Coverage: 1, Method: "exact"}
		}
		return hits, nil
	}
	hashes = memory.SpreadHashes(hashes)
	parts := make([]string, len(hashes))
	args := make([]any, len(hashes))
	for i, h := range hashes {
		parts[i] = fmt.Sprintf(`SELECT chunk_id FROM ngrams WHERE hash = $%d`, i+1)
		args[i] = int64(h)
	}
	q := chunkSelect + ` JOIN (SELECT chunk_id FROM (` + strings.Join(parts, " INTERSECT ") +
		fmt.Sprintf(`) x ORDER BY chunk_id LIMIT %d) n ON n.chunk_id = c.id ORDER BY c.id`, maxExactCandidates)
	chunks, err := queryChunks(ctx, s.pool, q, args...)
	if err != nil {
		return nil, fmt.Errorf("memory: exact lookup: %w", err)
	}
	var hits []memory.Hit
	for _, c := range chunks {
		if n := memory.CountPhrase(memory.Words(c.Text), words); n > 0 {
			hits = append(hits, memory.Hit{Chunk: c, Score: float64(n), Coverage: 1, Method: "exact"})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Chunk.ID < hits[j].Chunk.ID
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
}

// readTx begins a read-only transaction with one snapshot, so a search never mixes two versions of
// the store (the embedded store cannot promise that for its scores).
func (s *Store) readTx(ctx context.Context) (pgx.Tx, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("memory: begin read: %w", err)
	}
	return tx, nil
}

func queryIDs(ctx context.Context, q querier, sql string, args ...any) ([]int64, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// chunkSelect reads chunks with their sources' provenance, for queryChunks.
const chunkSelect = `SELECT c.id, c.seq, c.headings, c.start_line, c.end_line, c.text, c.hash,
	s.path, s.title, s.commit_id, s.ingested_at
	FROM chunks c JOIN sources s ON s.id = c.source_id`

// queryChunks runs a query that starts with chunkSelect and returns its chunks in row order.
func queryChunks(ctx context.Context, q querier, sql string, args ...any) ([]memory.Chunk, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []memory.Chunk
	for rows.Next() {
		var c memory.Chunk
		var heads string
		if err := rows.Scan(&c.ID, &c.Seq, &heads, &c.StartLine, &c.EndLine, &c.Text, &c.Hash,
			&c.Source, &c.Title, &c.Commit, &c.IngestedAt); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(heads), &c.Headings)
		c.IngestedAt = c.IngestedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// readChunks loads chunks by id, in the order of ids (missing ids are left out).
func readChunks(ctx context.Context, q querier, ids []int64) ([]memory.Chunk, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	chunks, err := queryChunks(ctx, q, chunkSelect+` WHERE c.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("memory: read chunks: %w", err)
	}
	return memory.InOrder(ids, chunks), nil
}

// SearchText ranks chunks by BM25 (k1 = 0.9, b = 0.4) over the analysed query terms, computed here
// exactly as the embedded store computes it, from one index range of the postings table per term
// (term, chunk, tf and the chunk's length, all in the index) and the totals, read in one snapshot.
// Coverage is the idf-weighted share of the query terms a chunk contains.
func (s *Store) SearchText(ctx context.Context, query string, k int) ([]memory.Hit, error) {
	terms := memory.QueryTerms(query)
	if len(terms) == 0 || k <= 0 {
		return nil, nil
	}
	keys := make([]string, len(terms))
	index := make(map[string]int, len(terms))
	for i, t := range terms {
		keys[i] = termKey(clean(t))
		index[keys[i]] = i
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	var n, total float64
	if err := tx.QueryRow(ctx, `SELECT chunks, terms FROM totals WHERE id = 1`).Scan(&n, &total); err != nil {
		return nil, fmt.Errorf("memory: read totals: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	avgdl := total / n
	postings := make([][]memory.Posting, len(terms))
	rows, err := tx.Query(ctx, `SELECT term, chunk_id, tf, dl FROM postings WHERE term = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("memory: postings: %w", err)
	}
	for rows.Next() {
		var term string
		var p memory.Posting
		var tf, dl int32
		if err := rows.Scan(&term, &p.Chunk, &tf, &dl); err != nil {
			rows.Close()
			return nil, fmt.Errorf("memory: postings: %w", err)
		}
		p.TF, p.Len = float64(tf), float64(dl)
		i := index[term]
		postings[i] = append(postings[i], p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memory: postings: %w", err)
	}
	distinct := postings[:0]
	for i, ps := range postings {
		if index[keys[i]] == i { // a repeated query term counts once, as in the embedded store's rows query
			distinct = append(distinct, ps)
		}
	}
	ranked := memory.BM25{K1: s.k1, B: s.b}.Rank(distinct, n, avgdl, k)
	chunks, err := readChunks(ctx, tx, memory.ChunkIDs(ranked))
	if err != nil {
		return nil, err
	}
	return memory.TextHits(ranked, chunks), nil
}

// searchTSRank ranks chunks with PostgreSQL's own ts_rank over the tsvector and its GIN index, for
// comparison in tests.
func (s *Store) searchTSRank(ctx context.Context, query string, k int) ([]int64, error) {
	terms := memory.QueryTerms(query)
	if len(terms) == 0 {
		return nil, nil
	}
	keys := make([]string, len(terms))
	for i, t := range terms {
		keys[i] = termKey(clean(t))
	}
	return queryIDs(ctx, s.pool, `SELECT id FROM chunks, (SELECT string_agg(quote_literal(t), ' | ')::tsquery AS q FROM unnest($1::text[]) t) q
		WHERE tsv @@ q.q ORDER BY ts_rank(tsv, q.q) DESC, id LIMIT $2`, keys, k)
}
