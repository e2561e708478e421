package postgres

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

// The knowledge graph, as in the embedded store: mentions (entity key, chunk, name, kind, count) and
// relations (from, to, kind, chunk, weight), one row per chunk that states them, referencing chunks
// ON DELETE CASCADE and written with COPY in the transaction that replaces the source. The entities
// view sums mentions by key.

var _ memory.GraphSearcher = (*Store)(nil)

// graphMigration creates the graph's tables; it is an entry of migrations (never edit it, append).
const graphMigration = `CREATE TABLE mentions (
		key      text NOT NULL,
		chunk_id bigint NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
		name     text NOT NULL,
		kind     text NOT NULL,
		count    integer NOT NULL CHECK (count > 0),
		PRIMARY KEY (key, chunk_id)
	);
	CREATE INDEX mentions_chunk ON mentions(chunk_id);
	CREATE TABLE relations (
		from_key text NOT NULL,
		to_key   text NOT NULL,
		kind     text NOT NULL,
		chunk_id bigint NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
		weight   double precision NOT NULL,
		PRIMARY KEY (from_key, to_key, kind, chunk_id)
	);
	CREATE INDEX relations_to ON relations(to_key);
	CREATE INDEX relations_chunk ON relations(chunk_id);
	CREATE VIEW entities AS SELECT key, count(*) AS chunks, sum(count) AS mentions FROM mentions GROUP BY key;`

// SetExtractor replaces the rule-based extractor (memory.RuleExtractor) that ReplaceBatch runs over
// every chunk before its transaction begins. Call it before the store is used; chunks stored earlier
// keep the graph they were stored with until their source is re-ingested.
func (s *Store) SetExtractor(x memory.Extractor) { s.extractor = x }

// extractGraphs runs the extractor over every chunk of updates, before any transaction.
func (s *Store) extractGraphs(ctx context.Context, updates []memory.Update) ([][]memory.Extraction, error) {
	out := make([][]memory.Extraction, len(updates))
	for i, u := range updates {
		out[i] = make([]memory.Extraction, len(u.Chunks))
		for j, c := range u.Chunks {
			x, err := memory.ExtractGraph(ctx, s.extractor, clean(c.Text))
			if err != nil {
				return nil, fmt.Errorf("memory: extract the graph of %s: %w", u.Source.Path, err)
			}
			out[i][j] = x
		}
	}
	return out, nil
}

// graphRows collects the graph rows of a transaction for COPY.
type graphRows struct {
	mentions, relations [][]any
}

func (g *graphRows) add(chunk int64, x memory.Extraction) {
	for _, m := range x.Mentions {
		g.mentions = append(g.mentions, []any{clean(m.Key), chunk, clean(m.Name), clean(m.Kind), int32(m.Count)})
	}
	for _, r := range x.Relations {
		g.relations = append(g.relations, []any{clean(r.From), clean(r.To), clean(r.Kind), chunk, r.Weight})
	}
}

// copy writes the rows, sorted by key so the B-trees are written in order.
func (g *graphRows) copy(ctx context.Context, tx pgx.Tx) error {
	sort.Slice(g.mentions, func(i, j int) bool {
		a, b := g.mentions[i], g.mentions[j]
		if a[0].(string) != b[0].(string) {
			return a[0].(string) < b[0].(string)
		}
		return a[1].(int64) < b[1].(int64)
	})
	sort.Slice(g.relations, func(i, j int) bool {
		a, b := g.relations[i], g.relations[j]
		for k := range 3 {
			if a[k].(string) != b[k].(string) {
				return a[k].(string) < b[k].(string)
			}
		}
		return a[3].(int64) < b[3].(int64)
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"mentions"}, []string{"key", "chunk_id", "name", "kind", "count"}, pgx.CopyFromRows(g.mentions)); err != nil {
		return fmt.Errorf("memory: store the graph: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"relations"}, []string{"from_key", "to_key", "kind", "chunk_id", "weight"}, pgx.CopyFromRows(g.relations)); err != nil {
		return fmt.Errorf("memory: store the graph: %w", err)
	}
	return nil
}

// graphChecks are Check's queries for the graph: every row has its chunk, and every relation's ends
// are mentioned by the chunk that states it.
var graphChecks = []struct{ what, q string }{
	{"mentions without a chunk", `SELECT count(*) FROM mentions m WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = m.chunk_id)`},
	{"relations without a chunk", `SELECT count(*) FROM relations r WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.chunk_id)`},
	{"relations whose ends their chunk does not mention", `SELECT count(*) FROM relations r
		WHERE NOT EXISTS (SELECT 1 FROM mentions m WHERE m.key = r.from_key AND m.chunk_id = r.chunk_id)
		OR NOT EXISTS (SELECT 1 FROM mentions m WHERE m.key = r.to_key AND m.chunk_id = r.chunk_id)`},
}

// Entities returns the stored entities among keys, in the order of keys.
func (s *Store) Entities(ctx context.Context, keys []string) ([]memory.Entity, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key, kind, min(name), count(*) FROM mentions WHERE key = ANY($1) GROUP BY key, kind`, cleanAll(keys))
	if err != nil {
		return nil, fmt.Errorf("memory: read entities: %w", err)
	}
	defer rows.Close()
	found := map[string]*memory.Entity{}
	for rows.Next() {
		var e memory.Entity
		var n int64
		if err := rows.Scan(&e.Key, &e.Kind, &e.Name, &n); err != nil {
			return nil, fmt.Errorf("memory: read entities: %w", err)
		}
		e.Chunks = int(n)
		if f := found[e.Key]; f != nil {
			f.Chunks += e.Chunks // a chunk mentions a key once, with one kind
			if memory.KindRank(e.Kind) < memory.KindRank(f.Kind) {
				f.Kind, f.Name = e.Kind, e.Name
			}
			continue
		}
		found[e.Key] = &e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memory: read entities: %w", err)
	}
	var out []memory.Entity
	for _, k := range keys {
		if e := found[clean(k)]; e != nil {
			out = append(out, *e)
			delete(found, clean(k))
		}
	}
	return out, nil
}

func cleanAll(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = clean(k)
	}
	return out
}

// Edges returns up to perKey of the heaviest relations touching each of keys, in one statement.
func (s *Store) Edges(ctx context.Context, keys []string, perKey int) ([]memory.Edge, error) {
	if perKey <= 0 || len(keys) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT e.from_key, e.to_key, e.kind, e.w, e.n FROM unnest($1::text[]) AS q(key)
		CROSS JOIN LATERAL (
			SELECT * FROM (
				SELECT from_key, to_key, kind, sum(weight) AS w, count(*) AS n FROM relations WHERE from_key = q.key GROUP BY from_key, to_key, kind
				UNION ALL
				SELECT from_key, to_key, kind, sum(weight), count(*) FROM relations WHERE to_key = q.key GROUP BY from_key, to_key, kind
			) u ORDER BY w DESC, from_key COLLATE "C", to_key COLLATE "C", kind COLLATE "C" LIMIT $2
		) e`, cleanAll(keys), perKey)
	if err != nil {
		return nil, fmt.Errorf("memory: read relations: %w", err)
	}
	defer rows.Close()
	var out []memory.Edge
	for rows.Next() {
		var e memory.Edge
		var n int64
		if err := rows.Scan(&e.From, &e.To, &e.Kind, &e.Weight, &n); err != nil {
			return nil, fmt.Errorf("memory: read relations: %w", err)
		}
		e.Chunks = int(n)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memory: read relations: %w", err)
	}
	memory.SortEdges(out)
	return out, nil
}

// MentionHits returns up to k chunks mentioning the weighted entities, ranked by memory.RankMentions.
// The mentions and the chunks are read in one read-only transaction, so they agree.
func (s *Store) MentionHits(ctx context.Context, weights map[string]float64, k int) ([]memory.GraphHit, error) {
	var tx pgx.Tx
	defer func() {
		if tx != nil {
			tx.Rollback(ctx)
		}
	}()
	return memory.MentionHits(weights, k, func(keys []string) ([]memory.MentionRow, error) {
		var err error
		if tx, err = s.readTx(ctx); err != nil {
			return nil, err
		}
		rs, err := tx.Query(ctx, `SELECT key, chunk_id, count FROM mentions WHERE key = ANY($1)`, cleanAll(keys))
		if err != nil {
			return nil, fmt.Errorf("memory: read mentions: %w", err)
		}
		defer rs.Close()
		var rows []memory.MentionRow
		for rs.Next() {
			var r memory.MentionRow
			var n int32
			if err := rs.Scan(&r.Key, &r.Chunk, &n); err != nil {
				return nil, fmt.Errorf("memory: read mentions: %w", err)
			}
			r.Count = int(n)
			rows = append(rows, r)
		}
		if err := rs.Err(); err != nil {
			return nil, fmt.Errorf("memory: read mentions: %w", err)
		}
		return rows, nil
	}, func(ids []int64) ([]memory.Chunk, error) { return readChunks(ctx, tx, ids) })
}

// rebuildPage is how many chunks RebuildGraph re-extracts per transaction.
const rebuildPage = 256

// RebuildGraph re-extracts the graph of every stored chunk (a store made before the graph existed
// has none, and re-ingesting unchanged files skips them), a page of chunks per transaction, each
// chunk's rows replaced at once. It returns how many chunks it did. Chunks replaced meanwhile are
// skipped (their new version has its graph).
func (s *Store) RebuildGraph(ctx context.Context) (int, error) {
	var after int64
	done := 0
	for {
		rows, err := s.pool.Query(ctx, `SELECT id, text FROM chunks WHERE id > $1 ORDER BY id LIMIT $2`, after, rebuildPage)
		if err != nil {
			return done, fmt.Errorf("memory: rebuild the graph: %w", err)
		}
		type page struct {
			id   int64
			text string
		}
		chunks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (page, error) {
			var p page
			err := r.Scan(&p.id, &p.text)
			return p, err
		})
		if err != nil {
			return done, fmt.Errorf("memory: rebuild the graph: %w", err)
		}
		if len(chunks) == 0 {
			return done, nil
		}
		var graph graphRows
		ids := make([]int64, len(chunks))
		for i, c := range chunks {
			x, err := memory.ExtractGraph(ctx, s.extractor, c.text)
			if err != nil {
				return done, fmt.Errorf("memory: rebuild the graph: %w", err)
			}
			ids[i] = c.id
			graph.add(c.id, x)
		}
		n, err := s.replaceGraphs(ctx, ids, &graph)
		if err != nil {
			return done, err
		}
		done += n
		after = chunks[len(chunks)-1].id
	}
}

// replaceGraphs replaces the graph rows of the chunks ids in one transaction, skipping chunks that no
// longer exist (their rows are left out of graph), and returns how many it replaced.
func (s *Store) replaceGraphs(ctx context.Context, ids []int64, graph *graphRows) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fault.Wrap(err, fault.Upstream, "memory: begin")
	}
	defer tx.Rollback(ctx)
	// Lock the chunks that still exist, so that a concurrent replacement waits or has finished.
	rows, err := tx.Query(ctx, `SELECT id FROM chunks WHERE id = ANY($1) FOR SHARE`, ids)
	if err != nil {
		return 0, fmt.Errorf("memory: rebuild the graph: %w", err)
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("memory: rebuild the graph: %w", err)
	}
	exists := map[int64]bool{}
	for _, id := range live {
		exists[id] = true
	}
	keep := func(rows [][]any, col int) [][]any {
		out := rows[:0]
		for _, r := range rows {
			if exists[r[col].(int64)] {
				out = append(out, r)
			}
		}
		return out
	}
	graph.mentions, graph.relations = keep(graph.mentions, 1), keep(graph.relations, 3)
	for _, q := range []string{`DELETE FROM mentions WHERE chunk_id = ANY($1)`, `DELETE FROM relations WHERE chunk_id = ANY($1)`} {
		if _, err := tx.Exec(ctx, q, live); err != nil {
			return 0, fmt.Errorf("memory: rebuild the graph: %w", err)
		}
	}
	if err := graph.copy(ctx, tx); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("memory: commit: %w", err)
	}
	return len(live), nil
}
