package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/seance-dev/seance/internal/memory"
)

// The knowledge graph (schema version 3): mentions (entity key, chunk, name, kind, count) and
// relations (from, to, kind, chunk, weight), one row per chunk that states them, so that a chunk's
// graph goes with it: both tables reference chunks ON DELETE CASCADE, and ReplaceBatch writes the
// new rows in the transaction that replaces the source. The entities view sums mentions by key.

var _ memory.GraphSearcher = (*Store)(nil)

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
			x, err := memory.ExtractGraph(ctx, s.extractor, c.Text)
			if err != nil {
				return nil, fmt.Errorf("memory: extract the graph of %s: %w", u.Source.Path, err)
			}
			out[i][j] = x
		}
	}
	return out, nil
}

// graphWriter inserts the graph rows of the chunks of one transaction.
type graphWriter struct {
	mention, relation *sql.Stmt
}

func newGraphWriter(ctx context.Context, tx *sql.Tx) (*graphWriter, error) {
	m, err := tx.PrepareContext(ctx, `INSERT INTO mentions (key, chunk_id, name, kind, count) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("memory: prepare: %w", err)
	}
	r, err := tx.PrepareContext(ctx, `INSERT INTO relations (from_key, to_key, kind, chunk_id, weight) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("memory: prepare: %w", err)
	}
	return &graphWriter{m, r}, nil
}

func (w *graphWriter) add(ctx context.Context, chunk int64, x memory.Extraction) error {
	for _, m := range x.Mentions {
		if _, err := w.mention.ExecContext(ctx, m.Key, chunk, m.Name, m.Kind, m.Count); err != nil {
			return fmt.Errorf("memory: store the graph: %w", err)
		}
	}
	for _, r := range x.Relations {
		if _, err := w.relation.ExecContext(ctx, r.From, r.To, r.Kind, chunk, r.Weight); err != nil {
			return fmt.Errorf("memory: store the graph: %w", err)
		}
	}
	return nil
}

func (w *graphWriter) close() {
	w.mention.Close()
	w.relation.Close()
}

// graphChecks are Check's queries for the graph: every row has its chunk (foreign keys enforce it;
// this also covers a store opened with them off), and every relation's ends are mentioned by the
// chunk that states it.
var graphChecks = []struct{ what, q string }{
	{"mentions without a chunk", `SELECT count(*) FROM mentions m WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = m.chunk_id)`},
	{"relations without a chunk", `SELECT count(*) FROM relations r WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.chunk_id)`},
	{"relations whose ends their chunk does not mention", `SELECT count(*) FROM relations r
		WHERE NOT EXISTS (SELECT 1 FROM mentions m WHERE m.key = r.from_key AND m.chunk_id = r.chunk_id)
		OR NOT EXISTS (SELECT 1 FROM mentions m WHERE m.key = r.to_key AND m.chunk_id = r.chunk_id)`},
}

// in returns "?,?,…" for n parameters.
func in(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// Entities returns the stored entities among keys, in the order of keys.
func (s *Store) Entities(ctx context.Context, keys []string) ([]memory.Entity, error) {
	found := map[string]*memory.Entity{}
	for start := 0; start < len(keys); start += 500 {
		part := keys[start:min(len(keys), start+500)]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		rows, err := s.rdb.QueryContext(ctx, `SELECT key, kind, min(name), count(*) FROM mentions WHERE key IN (`+in(len(part))+`)
			GROUP BY key, kind`, args...)
		if err != nil {
			return nil, fmt.Errorf("memory: read entities: %w", err)
		}
		for rows.Next() {
			var e memory.Entity
			if err := rows.Scan(&e.Key, &e.Kind, &e.Name, &e.Chunks); err != nil {
				rows.Close()
				return nil, fmt.Errorf("memory: read entities: %w", err)
			}
			mergeEntity(found, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("memory: read entities: %w", err)
		}
	}
	return orderEntities(keys, found), nil
}

// mergeEntity adds one (key, kind) group to found, keeping the strongest kind's name.
func mergeEntity(found map[string]*memory.Entity, e memory.Entity) {
	f := found[e.Key]
	if f == nil {
		found[e.Key] = &e
		return
	}
	f.Chunks += e.Chunks // a chunk mentions a key once, with one kind
	if memory.KindRank(e.Kind) < memory.KindRank(f.Kind) {
		f.Kind, f.Name = e.Kind, e.Name
	}
}

func orderEntities(keys []string, found map[string]*memory.Entity) []memory.Entity {
	var out []memory.Entity
	for _, k := range keys {
		if e := found[k]; e != nil {
			out = append(out, *e)
			delete(found, k)
		}
	}
	return out
}

// Edges returns up to perKey of the heaviest relations touching each of keys.
func (s *Store) Edges(ctx context.Context, keys []string, perKey int) ([]memory.Edge, error) {
	if perKey <= 0 {
		return nil, nil
	}
	seen := map[[3]string]bool{}
	var out []memory.Edge
	for _, k := range keys {
		rows, err := s.rdb.QueryContext(ctx, `SELECT from_key, to_key, kind, sum(weight) AS w, count(*) FROM relations WHERE from_key = ?1
			GROUP BY to_key, kind
			UNION ALL
			SELECT from_key, to_key, kind, sum(weight) AS w, count(*) FROM relations WHERE to_key = ?1 GROUP BY from_key, kind
			ORDER BY w DESC, 1, 2, 3 LIMIT ?2`, k, perKey)
		if err != nil {
			return nil, fmt.Errorf("memory: read relations: %w", err)
		}
		for rows.Next() {
			var e memory.Edge
			if err := rows.Scan(&e.From, &e.To, &e.Kind, &e.Weight, &e.Chunks); err != nil {
				rows.Close()
				return nil, fmt.Errorf("memory: read relations: %w", err)
			}
			if id := [3]string{e.From, e.To, e.Kind}; !seen[id] {
				seen[id] = true
				out = append(out, e)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("memory: read relations: %w", err)
		}
	}
	memory.SortEdges(out)
	return out, nil
}

// MentionHits returns up to k chunks mentioning the weighted entities, ranked by memory.RankMentions.
func (s *Store) MentionHits(ctx context.Context, weights map[string]float64, k int) ([]memory.GraphHit, error) {
	return memory.MentionHits(weights, k, func(keys []string) ([]memory.MentionRow, error) {
		var rows []memory.MentionRow
		for start := 0; start < len(keys); start += 500 {
			part := keys[start:min(len(keys), start+500)]
			args := make([]any, len(part))
			for i, key := range part {
				args[i] = key
			}
			rs, err := s.rdb.QueryContext(ctx, `SELECT key, chunk_id, count FROM mentions WHERE key IN (`+in(len(part))+`)`, args...)
			if err != nil {
				return nil, fmt.Errorf("memory: read mentions: %w", err)
			}
			for rs.Next() {
				var r memory.MentionRow
				if err := rs.Scan(&r.Key, &r.Chunk, &r.Count); err != nil {
					rs.Close()
					return nil, fmt.Errorf("memory: read mentions: %w", err)
				}
				rows = append(rows, r)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return nil, fmt.Errorf("memory: read mentions: %w", err)
			}
		}
		return rows, nil
	}, func(ids []int64) ([]memory.Chunk, error) { return s.chunks(ctx, ids) })
}

// graphMigration creates the graph's tables; it is an entry of migrations (never edit it, append).
const graphMigration = `CREATE TABLE mentions (
		key      TEXT NOT NULL,
		chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
		name     TEXT NOT NULL,
		kind     TEXT NOT NULL,
		count    INTEGER NOT NULL CHECK (count > 0),
		PRIMARY KEY (key, chunk_id)
	) WITHOUT ROWID;
	CREATE INDEX mentions_chunk ON mentions(chunk_id);
	CREATE TABLE relations (
		from_key TEXT NOT NULL,
		to_key   TEXT NOT NULL,
		kind     TEXT NOT NULL,
		chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
		weight   REAL NOT NULL,
		PRIMARY KEY (from_key, to_key, kind, chunk_id)
	) WITHOUT ROWID;
	CREATE INDEX relations_to ON relations(to_key);
	CREATE INDEX relations_chunk ON relations(chunk_id);
	CREATE VIEW entities AS SELECT key, count(*) AS chunks, sum(count) AS mentions FROM mentions GROUP BY key;`

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
		type page struct {
			id   int64
			text string
		}
		var chunks []page
		rows, err := s.rdb.QueryContext(ctx, `SELECT id, text FROM chunks WHERE id > ? ORDER BY id LIMIT ?`, after, rebuildPage)
		if err != nil {
			return done, fmt.Errorf("memory: rebuild the graph: %w", err)
		}
		for rows.Next() {
			var p page
			if err := rows.Scan(&p.id, &p.text); err != nil {
				rows.Close()
				return done, fmt.Errorf("memory: rebuild the graph: %w", err)
			}
			chunks = append(chunks, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, fmt.Errorf("memory: rebuild the graph: %w", err)
		}
		if len(chunks) == 0 {
			return done, nil
		}
		xs := make([]memory.Extraction, len(chunks))
		for i, c := range chunks {
			if xs[i], err = memory.ExtractGraph(ctx, s.extractor, c.text); err != nil {
				return done, fmt.Errorf("memory: rebuild the graph: %w", err)
			}
		}
		n, err := s.replaceGraphs(ctx, func(i int) (int64, memory.Extraction) { return chunks[i].id, xs[i] }, len(chunks))
		if err != nil {
			return done, err
		}
		done += n
		after = chunks[len(chunks)-1].id
	}
}

// replaceGraphs replaces the graph rows of n chunks in one transaction, skipping chunks that no
// longer exist, and returns how many it replaced.
func (s *Store) replaceGraphs(ctx context.Context, chunk func(i int) (int64, memory.Extraction), n int) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("memory: begin: %w", err)
	}
	defer tx.Rollback()
	gw, err := newGraphWriter(ctx, tx)
	if err != nil {
		return 0, err
	}
	defer gw.close()
	done := 0
	for i := range n {
		id, x := chunk(i)
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM chunks WHERE id = ?`, id).Scan(&one); err != nil {
			return 0, fmt.Errorf("memory: rebuild the graph: %w", err)
		}
		if one == 0 {
			continue
		}
		for _, q := range []string{`DELETE FROM mentions WHERE chunk_id = ?`, `DELETE FROM relations WHERE chunk_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return 0, fmt.Errorf("memory: rebuild the graph: %w", err)
			}
		}
		if err := gw.add(ctx, id, x); err != nil {
			return 0, err
		}
		done++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("memory: commit: %w", err)
	}
	return done, nil
}
