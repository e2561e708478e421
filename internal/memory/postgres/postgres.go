// Package postgres is the memory store over PostgreSQL (github.com/jackc/pgx/v5), for a memory that
// outgrows one machine. It implements memory.Store and the same optional capabilities as the embedded
// store (memory.ExactSearcher, memory.TextSearcher, memory.Lister, memory.Statter, memory.Batcher,
// memory.VectorStore: vectors in bytea, searched in process through memory/vecindex, see vectors.go),
// with the same analysis (memory.Terms, memory.NGramHashes), so both stores rank alike. internal/app
// opens it when the configuration says memory.store: postgres.
//
// Tables, in the schema the connection's search_path names first (or Options.Schema): sources and
// chunks with provenance; chunks.tsv, a tsvector of each chunk's distinct analysed terms with a GIN
// index (PostgreSQL's own full text: `tsv @@ 'term'::tsquery` works in psql, and the store reads it to
// delete a chunk's postings by key); postings (term, chunk, tf, chunk length), a B-tree whose
// index-only scans give BM25 everything it needs in one statement; ngrams (hash, chunk), the exact
// lookup index under a B-tree on the hash (each chunk keeps its hashes in chunks.ngrams, so its rows
// are deleted by key); totals, the corpus counts for BM25; and schema_migrations. Every replacement
// is one transaction, so a crash leaves either the old or the new version of a source.
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/vecindex"
)

// Store is a memory store in a PostgreSQL schema. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	name string // the DSN without its password, for messages and Path
	// k1 and b are the BM25 parameters of SearchText.
	k1, b float64
	// extractor finds each chunk's graph (memory.RuleExtractor when nil; see SetExtractor).
	extractor memory.Extractor
	// vcache holds the vectors of each embedder in memory for SearchVectors (vectors.go).
	vcache *vecindex.Cache
}

// Interface guards.
var (
	_ memory.Store         = (*Store)(nil)
	_ memory.ExactSearcher = (*Store)(nil)
	_ memory.TextSearcher  = (*Store)(nil)
	_ memory.Lister        = (*Store)(nil)
	_ memory.Statter       = (*Store)(nil)
	_ memory.Batcher       = (*Store)(nil)
)

// Options configure Open.
type Options struct {
	// Schema, when set, is created if missing and put first on every connection's search_path, so
	// that several stores (or parallel tests) can share one database.
	Schema string
	// MaxConns bounds the connection pool (default 4).
	MaxConns int32
}

// migrations are the schema versions, applied in order; never edit one that has shipped, append.
var migrations = []string{
	// 1: sources, chunks, full text, postings, n-grams, totals.
	`CREATE TABLE sources (
		id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		path        text NOT NULL UNIQUE,
		title       text NOT NULL,
		meta        text NOT NULL DEFAULT '{}',
		kind        text NOT NULL,
		hash        text NOT NULL,
		size        bigint NOT NULL,
		commit_id   text NOT NULL DEFAULT '',
		ingested_at timestamptz NOT NULL
	);
	CREATE TABLE chunks (
		id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		source_id  bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
		seq        integer NOT NULL,
		headings   text NOT NULL DEFAULT '[]',
		start_line integer NOT NULL,
		end_line   integer NOT NULL,
		text       text NOT NULL,
		hash       text NOT NULL,
		nterms     integer NOT NULL,
		tsv        tsvector NOT NULL,
		ngrams     bigint[] NOT NULL,
		UNIQUE (source_id, seq)
	);
	CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
	CREATE TABLE postings (
		term     text NOT NULL,
		chunk_id bigint NOT NULL,
		tf       integer NOT NULL,
		dl       integer NOT NULL,
		PRIMARY KEY (term, chunk_id) INCLUDE (tf, dl)
	);
	CREATE TABLE ngrams (
		hash     bigint NOT NULL,
		chunk_id bigint NOT NULL,
		PRIMARY KEY (hash, chunk_id)
	);
	CREATE TABLE totals (
		id     integer PRIMARY KEY CHECK (id = 1),
		chunks bigint NOT NULL,
		terms  bigint NOT NULL
	);
	INSERT INTO totals VALUES (1, 0, 0);`,
	// Remembered facts, append-only (facts.go).
	factsMigration,
	// The knowledge graph: entity mentions and relations per chunk (graph.go).
	graphMigration,
	// Vectors per embedder, keyed by the chunk text's hash (vectors.go).
	vectorsMigration,
}

// Open connects to the PostgreSQL database at dsn (a URL or key=value string, as libpq takes) and
// applies pending migrations. Connection failures are fault.Upstream; a database whose schema is
// newer than this seance is fault.Unprocessable.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: never echo it.
		return nil, fault.New(fault.Invalid, "memory: the PostgreSQL connection string is not valid")
	}
	name := redact(cfg)
	cfg.MaxConns = 4
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fault.Wrap(err, fault.Upstream, "memory: connect to %s", name)
	}
	s := &Store{pool: pool, name: name, k1: 0.9, b: 0.4, vcache: vecindex.NewCache(vecindex.Options{})}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fault.Wrap(err, fault.Upstream, "memory: connect to %s", name)
	}
	if opts.Schema != "" {
		if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{opts.Schema}.Sanitize()); err != nil {
			pool.Close()
			return nil, fault.Wrap(err, fault.Upstream, "memory: create schema %s on %s", opts.Schema, name)
		}
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// redact returns the connection's address without its password.
func redact(cfg *pgxpool.Config) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), Path: "/" + cfg.ConnConfig.Database}
	if cfg.ConnConfig.User != "" {
		u.User = url.User(cfg.ConnConfig.User)
	}
	return u.String()
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Path names the database, without its password.
func (s *Store) Path() string { return s.name }

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fault.Wrap(err, fault.Upstream, "memory: migrate %s", s.name)
	}
	defer tx.Rollback(ctx)
	// One migrator per schema at a time: the lock also covers creating schema_migrations.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('seance memory ' || current_schema()))`); err != nil {
		return fmt.Errorf("memory: migrate %s: %w", s.name, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
		return fault.Wrap(err, fault.Unprocessable, "memory: %s is not a usable store", s.name)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("memory: migrate %s: %w", s.name, err)
	}
	if have > len(migrations) {
		return fault.New(fault.Unprocessable, "memory: %s has schema version %d, newer than this seance (%d)", s.name, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("memory: migrate %s to version %d: %w", s.name, v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, now())`, v); err != nil {
			return fmt.Errorf("memory: migrate %s: %w", s.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("memory: migrate %s: %w", s.name, err)
	}
	return nil
}

// Version returns the store's schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

const sourceCols = `path, title, meta, kind, hash, size, commit_id, ingested_at`

func scanSource(sc pgx.Row) (memory.Source, error) {
	var src memory.Source
	var meta string
	if err := sc.Scan(&src.Path, &src.Title, &meta, &src.Kind, &src.Hash, &src.Size, &src.Commit, &src.IngestedAt); err != nil {
		return src, err
	}
	if err := json.Unmarshal([]byte(meta), &src.Meta); err != nil {
		return src, fmt.Errorf("source %s: bad meta: %w", src.Path, err)
	}
	src.IngestedAt = src.IngestedAt.UTC()
	return src, nil
}

// Source returns the stored source with path.
func (s *Store) Source(ctx context.Context, path string) (memory.Source, error) {
	src, err := scanSource(s.pool.QueryRow(ctx, `SELECT `+sourceCols+` FROM sources WHERE path = $1`, clean(path)))
	if errors.Is(err, pgx.ErrNoRows) {
		return src, fmt.Errorf("source %s: %w", path, memory.ErrNotFound)
	}
	if err != nil {
		return src, fmt.Errorf("memory: read source %s: %w", path, err)
	}
	return src, nil
}

// Sources returns every stored source, ordered by path.
func (s *Store) Sources(ctx context.Context) ([]memory.Source, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sourceCols+` FROM sources ORDER BY path COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("memory: list sources: %w", err)
	}
	defer rows.Close()
	var out []memory.Source
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, fmt.Errorf("memory: list sources: %w", err)
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

// clean makes s storable in a PostgreSQL text column, which holds neither NUL nor invalid UTF-8:
// each is replaced by U+FFFD. Ingested files are valid UTF-8 already; a NUL past the first 8 KiB
// (where binary detection looks) is the case this exists for. A chunk's Hash stays the original's.
func clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// maxTermBytes bounds the length of a term as stored: longer terms (a base64 blob, say) are keyed by
// their hash, at indexing and at query time alike, because a B-tree key and a tsvector lexeme have
// size limits.
const maxTermBytes = 200

// termKey returns the key a term is stored under.
func termKey(t string) string {
	if len(t) <= maxTermBytes {
		return t
	}
	h := sha256.Sum256([]byte(t))
	return "#" + hex.EncodeToString(h[:16])
}

// termCounts returns a chunk's distinct term keys, sorted, with their frequencies, and its length.
func termCounts(text string) (keys []string, tf []int32, n int) {
	terms := memory.Terms(text)
	counts := make(map[string]int32, len(terms))
	for _, t := range terms {
		counts[termKey(clean(t))]++
	}
	keys = make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tf = make([]int32, len(keys))
	for i, k := range keys {
		tf[i] = counts[k]
	}
	return keys, tf, len(terms)
}

// Replace stores src and its chunks in one transaction, replacing the earlier version of src.Path.
func (s *Store) Replace(ctx context.Context, src memory.Source, chunks []memory.Chunk) error {
	return s.ReplaceBatch(ctx, []memory.Update{{Source: src, Chunks: chunks}})
}

// ReplaceBatch applies many replacements in one transaction: all of them or, after a crash, none.
// Index rows are written with COPY, sorted by key.
func (s *Store) ReplaceBatch(ctx context.Context, updates []memory.Update) error {
	if len(updates) == 0 {
		return nil
	}
	graphs, err := s.extractGraphs(ctx, updates)
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fault.Wrap(err, fault.Upstream, "memory: begin")
	}
	defer tx.Rollback(ctx)
	var postings, ngrams [][]any
	var graph graphRows
	var nChunks, nTerms int64
	for ui, u := range updates {
		src := u.Source
		src.Path = clean(src.Path)
		meta := src.Meta
		if meta == nil {
			meta = map[string]string{}
		}
		metaJSON, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("memory: encode meta: %w", err)
		}
		var id int64
		var existed bool
		// Lock the source's row (or create it) so concurrent replacements of one path serialise.
		err = tx.QueryRow(ctx, `INSERT INTO sources (`+sourceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (path) DO UPDATE SET title = EXCLUDED.title, meta = EXCLUDED.meta, kind = EXCLUDED.kind,
				hash = EXCLUDED.hash, size = EXCLUDED.size, commit_id = EXCLUDED.commit_id, ingested_at = EXCLUDED.ingested_at
			RETURNING id, xmax::text <> '0'`,
			src.Path, clean(src.Title), string(metaJSON), clean(src.Kind), clean(src.Hash), src.Size, clean(src.Commit),
			src.IngestedAt.UTC()).Scan(&id, &existed)
		if err != nil {
			return fmt.Errorf("memory: store source %s: %w", src.Path, err)
		}
		if existed {
			if err := deleteChunks(ctx, tx, id); err != nil {
				return err
			}
		}
		// The chunks' rows go in one pipelined round trip; their ids come back in order.
		batch := &pgx.Batch{}
		type pending struct {
			keys []string
			tfs  []int32
			n    int
			ngrm []int64
		}
		rows := make([]pending, len(u.Chunks))
		for i, c := range u.Chunks {
			heads, _ := json.Marshal(nonNil(c.Headings))
			keys, tfs, n := termCounts(c.Text)
			hashes := memory.NGramHashes(c.Text)
			signed := make([]int64, len(hashes))
			for j, h := range hashes {
				signed[j] = int64(h)
			}
			rows[i] = pending{keys, tfs, n, signed}
			batch.Queue(`INSERT INTO chunks (source_id, seq, headings, start_line, end_line, text, hash, nterms, tsv, ngrams)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, array_to_tsvector($9::text[]), $10) RETURNING id`,
				id, i, clean(string(heads)), c.StartLine, c.EndLine, clean(c.Text), clean(c.Hash), n, keys, signed)
		}
		if len(rows) > 0 {
			br := tx.SendBatch(ctx, batch)
			for i, r := range rows {
				var cid int64
				if err := br.QueryRow().Scan(&cid); err != nil {
					br.Close()
					return fmt.Errorf("memory: insert chunk %d of %s: %w", i, src.Path, err)
				}
				for j, k := range r.keys {
					postings = append(postings, []any{k, cid, r.tfs[j], int32(r.n)})
				}
				for _, h := range r.ngrm {
					ngrams = append(ngrams, []any{h, cid})
				}
				graph.add(cid, graphs[ui][i])
				nChunks++
				nTerms += int64(r.n)
			}
			if err := br.Close(); err != nil {
				return fmt.Errorf("memory: insert chunks of %s: %w", src.Path, err)
			}
		}
	}
	sort.Slice(postings, func(i, j int) bool {
		a, b := postings[i], postings[j]
		if a[0].(string) != b[0].(string) {
			return a[0].(string) < b[0].(string)
		}
		return a[1].(int64) < b[1].(int64)
	})
	sort.Slice(ngrams, func(i, j int) bool {
		a, b := ngrams[i], ngrams[j]
		if a[0].(int64) != b[0].(int64) {
			return a[0].(int64) < b[0].(int64)
		}
		return a[1].(int64) < b[1].(int64)
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"postings"}, []string{"term", "chunk_id", "tf", "dl"}, pgx.CopyFromRows(postings)); err != nil {
		return fmt.Errorf("memory: index terms: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ngrams"}, []string{"hash", "chunk_id"}, pgx.CopyFromRows(ngrams)); err != nil {
		return fmt.Errorf("memory: index n-grams: %w", err)
	}
	if err := graph.copy(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE totals SET chunks = chunks + $1, terms = terms + $2 WHERE id = 1`, nChunks, nTerms); err != nil {
		return fmt.Errorf("memory: update totals: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("memory: commit: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deleteChunks removes a source's chunks and their index rows (found by key through each chunk's
// tsvector and n-gram array), and updates the totals.
func deleteChunks(ctx context.Context, tx pgx.Tx, source int64) error {
	for _, q := range []string{
		`DELETE FROM postings p USING (SELECT id, unnest(tsvector_to_array(tsv)) AS term FROM chunks WHERE source_id = $1) d
			WHERE p.term = d.term AND p.chunk_id = d.id`,
		`DELETE FROM ngrams n USING (SELECT id, unnest(ngrams) AS hash FROM chunks WHERE source_id = $1) d
			WHERE n.hash = d.hash AND n.chunk_id = d.id`,
		`UPDATE totals SET chunks = chunks - (SELECT count(*) FROM chunks WHERE source_id = $1),
			terms = terms - (SELECT coalesce(sum(nterms), 0) FROM chunks WHERE source_id = $1) WHERE id = 1`,
		`DELETE FROM chunks WHERE source_id = $1`,
	} {
		if _, err := tx.Exec(ctx, q, source); err != nil {
			return fmt.Errorf("memory: delete chunks: %w", err)
		}
	}
	return nil
}

// RemoveSource removes the source at path, or every source under path when it names a folder.
func (s *Store) RemoveSource(ctx context.Context, path string) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fault.Wrap(err, fault.Upstream, "memory: begin")
	}
	defer tx.Rollback(ctx)
	path = clean(path)
	prefix := strings.TrimSuffix(path, "/") + "/"
	rows, err := tx.Query(ctx, `SELECT id FROM sources WHERE path = $1 OR left(path, length($2)) = $2 ORDER BY id FOR UPDATE`, path, prefix)
	if err != nil {
		return 0, fmt.Errorf("memory: find sources: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("memory: find sources: %w", err)
	}
	for _, id := range ids {
		if err := deleteChunks(ctx, tx, id); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sources WHERE id = $1`, id); err != nil {
			return 0, fmt.Errorf("memory: delete source: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("memory: commit: %w", err)
	}
	return len(ids), nil
}

// Stats counts the store's sources, chunks, n-gram rows and distinct terms, and the size of its
// tables and indexes.
func (s *Store) Stats(ctx context.Context) (memory.Stats, error) {
	var st memory.Stats
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sources), (SELECT chunks FROM totals),
		(SELECT count(*) FROM ngrams), (SELECT count(DISTINCT term) FROM postings),
		(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
			WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND c.relkind = 'r'
			AND c.relname IN ('sources', 'chunks', 'postings', 'ngrams', 'totals', 'schema_migrations', 'vectors', 'embedders'))`).
		Scan(&st.Sources, &st.Chunks, &st.NGrams, &st.Terms, &st.Bytes)
	if err != nil {
		return st, fmt.Errorf("memory: stats: %w", err)
	}
	return st, nil
}

// Check verifies the store's consistency: every chunk's postings and n-gram rows match its tsvector
// and n-gram array, nothing dangles, and the totals match the chunks.
func (s *Store) Check(ctx context.Context) error {
	checks := []struct{ what, q string }{
		{"postings without a chunk", `SELECT count(*) FROM postings p WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = p.chunk_id)`},
		{"n-grams without a chunk", `SELECT count(*) FROM ngrams n WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = n.chunk_id)`},
		// Equal counts, unique keys and every expected row present: the sets are equal.
		{"postings that differ from the chunks' tsvectors", `SELECT abs((SELECT count(*) FROM postings) -
			(SELECT coalesce(sum(length(tsv)), 0) FROM chunks)) + (SELECT count(*) FROM
			(SELECT id, unnest(tsvector_to_array(tsv)) AS term FROM chunks) d
			WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.term = d.term AND p.chunk_id = d.id))`},
		{"postings with a wrong length", `SELECT count(*) FROM postings p JOIN chunks c ON c.id = p.chunk_id WHERE p.dl != c.nterms`},
		{"n-gram rows that differ from the chunks' arrays", `SELECT abs((SELECT count(*) FROM ngrams) -
			(SELECT coalesce(sum(cardinality(ngrams)), 0) FROM chunks)) + (SELECT count(*) FROM
			(SELECT id, unnest(ngrams) AS hash FROM chunks) d
			WHERE NOT EXISTS (SELECT 1 FROM ngrams n WHERE n.hash = d.hash AND n.chunk_id = d.id))`},
		{"totals that differ from the chunks", `SELECT count(*) FROM totals t WHERE t.chunks != (SELECT count(*) FROM chunks)
			OR t.terms != (SELECT coalesce(sum(nterms), 0) FROM chunks)`},
		{"vectors of the wrong length", checkVectors},
	}
	for _, c := range append(checks, graphChecks...) {
		var n int64
		if err := s.pool.QueryRow(ctx, c.q).Scan(&n); err != nil {
			return fmt.Errorf("memory: check %s: %w", c.what, err)
		}
		if n != 0 {
			return fmt.Errorf("memory: %d %s", n, c.what)
		}
	}
	return nil
}
