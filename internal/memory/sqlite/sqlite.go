// Package sqlite is the embedded memory store: one SQLite file (modernc.org/sqlite, pure Go, FTS5
// built in) in WAL mode with foreign keys on. It implements memory.Store and the optional
// memory.ExactSearcher, memory.TextSearcher, memory.VectorStore, memory.Lister and memory.Statter.
// internal/app opens it at cfg.Home/memory.db.
//
// Tables: sources (one row per file) and chunks (its passages) with provenance; chunks_fts, an FTS5
// table over the analysed terms of each chunk (memory.Terms, stored space-separated and tokenised by
// FTS5's ascii tokenizer so each term stays whole); ngrams, the exact-lookup index of hashed word
// n-grams (hash, chunk) as a WITHOUT ROWID B-tree with no other index (each chunk keeps its hashes in
// chunks.ngrams, so its rows are deleted by key; Check verifies nothing dangles); totals, the corpus
// counts BM25 needs; vectors and embedders, chunk vectors per embedder keyed by text hash (vectors.go);
// and schema_migrations, the applied schema versions. Every source is replaced in one transaction, so a
// crash at any moment leaves either its old or its new version.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/vecindex"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a memory store in one SQLite file. It is safe for concurrent use.
type Store struct {
	// db is the writer: one connection, for every write and transaction (and Check). rdb is the
	// readers' pool, read-only connections that never write (see Open for why the two are apart).
	db, rdb *sql.DB
	path    string
	// k1 and b are the BM25 parameters of SearchText.
	k1, b float64

	// lengths caches chunk lengths in terms for BM25. Chunk ids are never reused (AUTOINCREMENT)
	// and a chunk never changes, so entries stay true; entries of deleted chunks are never asked for.
	mu      sync.Mutex
	lengths map[int64]int32

	// vcache holds the vectors of each embedder in memory for SearchVectors.
	vcache *vecindex.Cache

	// extractor finds each chunk's graph (memory.RuleExtractor when nil; see SetExtractor).
	extractor memory.Extractor
}

// Interface guards.
var (
	_ memory.Store         = (*Store)(nil)
	_ memory.ExactSearcher = (*Store)(nil)
	_ memory.TextSearcher  = (*Store)(nil)
	_ memory.Lister        = (*Store)(nil)
	_ memory.Statter       = (*Store)(nil)
	_ memory.Batcher       = (*Store)(nil)
	_ memory.VectorStore   = (*Store)(nil)
)

// migrations are the schema versions, applied in order; never edit one that has shipped, append.
var migrations = []string{
	// 1: sources, chunks, full text, n-grams.
	`CREATE TABLE sources (
		id          INTEGER PRIMARY KEY,
		path        TEXT NOT NULL UNIQUE,
		title       TEXT NOT NULL,
		meta        TEXT NOT NULL DEFAULT '{}',
		kind        TEXT NOT NULL,
		hash        TEXT NOT NULL,
		size        INTEGER NOT NULL,
		commit_id   TEXT NOT NULL DEFAULT '',
		ingested_at TEXT NOT NULL
	);
	CREATE TABLE chunks (
		id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, so cached lengths stay true
		source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
		seq        INTEGER NOT NULL,
		headings   TEXT NOT NULL DEFAULT '[]',
		start_line INTEGER NOT NULL,
		end_line   INTEGER NOT NULL,
		text       TEXT NOT NULL,
		hash       TEXT NOT NULL,
		nterms     INTEGER NOT NULL,
		ngrams     BLOB NOT NULL,
		UNIQUE (source_id, seq)
	);
	-- A covering index: BM25 reads chunk lengths without touching the wide chunk rows.
	CREATE INDEX chunks_len ON chunks(id, nterms);
	CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, tokenize = 'ascii');
	CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, instance);
	CREATE VIRTUAL TABLE chunks_terms USING fts5vocab(chunks_fts, row);
	CREATE TABLE ngrams (
		hash     INTEGER NOT NULL,
		chunk_id INTEGER NOT NULL,
		PRIMARY KEY (hash, chunk_id)
	) WITHOUT ROWID;
	CREATE TABLE totals (
		id     INTEGER PRIMARY KEY CHECK (id = 1),
		chunks INTEGER NOT NULL,
		terms  INTEGER NOT NULL
	);
	INSERT INTO totals VALUES (1, 0, 0);`,
	// 2: vectors per embedder, keyed by the chunk text's hash (see vectors.go).
	`CREATE INDEX chunks_hash ON chunks(hash);
	CREATE TABLE vectors (
		embedder TEXT NOT NULL,
		hash     TEXT NOT NULL,
		vec      BLOB NOT NULL, -- dim little-endian float32, unit length
		PRIMARY KEY (embedder, hash)
	) WITHOUT ROWID;
	CREATE TABLE embedders (
		name TEXT PRIMARY KEY,
		dim  INTEGER NOT NULL,
		gen  INTEGER NOT NULL -- bumped by every change of the embedder's vectors, so caches reload
	);`,
	// Remembered facts, append-only (facts.go).
	factsMigration,
	// The knowledge graph: entity mentions and relations per chunk (graph.go).
	graphMigration,
}

// Open opens (creating if needed) the store at path and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-131072)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "memory: open %s", path)
	}
	// One writer connection and a pool of read-only ones. With one pool of four connections for
	// everything, FTS5's index was corrupted now and then, and only when connections that had read
	// it (BM25's postings through fts5vocab, or a MATCH) also wrote: memorytest's Atomic test failed
	// 6 runs in 40, as often with readers running only BM25 (6/40, 9/40 with MATCH instead of
	// fts5vocab), never with readers running only exact lookups (0/40), and never with this split
	// (0/80; docs/MEMORY.md). Readers never write (query_only), so they run while a batch is
	// written; writes take turns on the one writer. Code holding a transaction must never use s.db
	// meanwhile (it would wait forever); s.rdb is fine but does not see the transaction's writes.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path, k1: 0.9, b: 0.4, lengths: map[int64]int32{}, vcache: vecindex.NewCache(vecindex.Options{})}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// The readers open after the migration, so the file is in WAL mode and has its tables.
	r := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(1)", "cache_size(-32768)", "temp_store(MEMORY)", "query_only(1)"} {
		r.Add("_pragma", p)
	}
	if s.rdb, err = sql.Open("sqlite", "file:"+path+"?"+r.Encode()); err != nil {
		db.Close()
		return nil, fault.Wrap(err, fault.Internal, "memory: open %s", path)
	}
	s.rdb.SetMaxOpenConns(readers)
	return s, nil
}

// readers is the size of the read-only pool.
const readers = 4

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.rdb.Close(), s.db.Close()) }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fault.Wrap(err, fault.Unprocessable, "memory: %s is not a usable SQLite store", s.path)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("memory: migrate %s: %w", s.path, err)
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("memory: migrate %s: %w", s.path, err)
	}
	if have > len(migrations) {
		return fault.New(fault.Unprocessable, "memory: %s has schema version %d, newer than this seance (%d)", s.path, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("memory: migrate %s to version %d: %w", s.path, v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?)`, v, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("memory: migrate %s: %w", s.path, err)
		}
	}
	return tx.Commit()
}

// Version returns the store's schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

const sourceCols = `path, title, meta, kind, hash, size, commit_id, ingested_at`

func scanSource(sc interface{ Scan(...any) error }) (memory.Source, error) {
	var src memory.Source
	var meta, at string
	if err := sc.Scan(&src.Path, &src.Title, &meta, &src.Kind, &src.Hash, &src.Size, &src.Commit, &at); err != nil {
		return src, err
	}
	if err := json.Unmarshal([]byte(meta), &src.Meta); err != nil {
		return src, fmt.Errorf("source %s: bad meta: %w", src.Path, err)
	}
	src.IngestedAt, _ = time.Parse(time.RFC3339Nano, at)
	return src, nil
}

// Source returns the stored source with path.
func (s *Store) Source(ctx context.Context, path string) (memory.Source, error) {
	src, err := scanSource(s.rdb.QueryRowContext(ctx, `SELECT `+sourceCols+` FROM sources WHERE path = ?`, path))
	if errors.Is(err, sql.ErrNoRows) {
		return src, fmt.Errorf("source %s: %w", path, memory.ErrNotFound)
	}
	if err != nil {
		return src, fmt.Errorf("memory: read source %s: %w", path, err)
	}
	return src, nil
}

// Sources returns every stored source, ordered by path.
func (s *Store) Sources(ctx context.Context) ([]memory.Source, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+sourceCols+` FROM sources ORDER BY path`)
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

// Replace stores src and its chunks in one transaction, replacing the earlier version of src.Path.
func (s *Store) Replace(ctx context.Context, src memory.Source, chunks []memory.Chunk) error {
	return s.ReplaceBatch(ctx, []memory.Update{{Source: src, Chunks: chunks}})
}

// ReplaceBatch applies many replacements in one transaction: all of them or, after a crash, none.
// Batching matters for speed because the n-gram index is keyed by hash, so every transaction
// rewrites pages all over it.
func (s *Store) ReplaceBatch(ctx context.Context, updates []memory.Update) error {
	if len(updates) == 0 {
		return nil
	}
	graphs, err := s.extractGraphs(ctx, updates)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("memory: begin: %w", err)
	}
	defer tx.Rollback()
	insChunk, err := tx.PrepareContext(ctx, `INSERT INTO chunks (source_id, seq, headings, start_line, end_line, text, hash, nterms, ngrams)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	if err != nil {
		return fmt.Errorf("memory: prepare: %w", err)
	}
	defer insChunk.Close()
	insFTS, err := tx.PrepareContext(ctx, `INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)`)
	if err != nil {
		return fmt.Errorf("memory: prepare: %w", err)
	}
	defer insFTS.Close()
	ng := &ngramWriter{tx: tx}
	defer ng.close()
	gw, err := newGraphWriter(ctx, tx)
	if err != nil {
		return err
	}
	defer gw.close()
	var nChunks, nTerms int64
	for ui, u := range updates {
		src := u.Source
		meta := src.Meta
		if meta == nil {
			meta = map[string]string{}
		}
		metaJSON, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("memory: encode meta: %w", err)
		}
		var id int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE path = ?`, src.Path).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.QueryRowContext(ctx, `INSERT INTO sources (`+sourceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				src.Path, src.Title, string(metaJSON), src.Kind, src.Hash, src.Size, src.Commit,
				src.IngestedAt.UTC().Format(time.RFC3339Nano)).Scan(&id)
			if err != nil {
				return fmt.Errorf("memory: insert source: %w", err)
			}
		case err != nil:
			return fmt.Errorf("memory: find source: %w", err)
		default:
			if err := ng.flush(ctx); err != nil {
				return err
			}
			if err := deleteChunks(ctx, tx, id); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE sources SET title = ?, meta = ?, kind = ?, hash = ?, size = ?, commit_id = ?,
				ingested_at = ? WHERE id = ?`, src.Title, string(metaJSON), src.Kind, src.Hash, src.Size, src.Commit,
				src.IngestedAt.UTC().Format(time.RFC3339Nano), id)
			if err != nil {
				return fmt.Errorf("memory: update source: %w", err)
			}
		}
		for i, c := range u.Chunks {
			heads, _ := json.Marshal(nonNil(c.Headings))
			terms := memory.Terms(c.Text)
			hashes := memory.NGramHashes(c.Text)
			var cid int64
			if err := insChunk.QueryRowContext(ctx, id, i, string(heads), c.StartLine, c.EndLine, c.Text, c.Hash,
				len(terms), encodeHashes(hashes)).Scan(&cid); err != nil {
				return fmt.Errorf("memory: insert chunk: %w", err)
			}
			if _, err := insFTS.ExecContext(ctx, cid, strings.Join(terms, " ")); err != nil {
				return fmt.Errorf("memory: index chunk: %w", err)
			}
			if err := ng.add(ctx, cid, hashes); err != nil {
				return err
			}
			if err := gw.add(ctx, cid, graphs[ui][i]); err != nil {
				return err
			}
			nChunks++
			nTerms += int64(len(terms))
		}
	}
	if err := ng.flush(ctx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE totals SET chunks = chunks + ?, terms = terms + ? WHERE id = 1`, nChunks, nTerms); err != nil {
		return fmt.Errorf("memory: update totals: %w", err)
	}
	if err := tx.Commit(); err != nil {
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

// encodeHashes packs n-gram hashes as little-endian uint64s.
func encodeHashes(hs []uint64) []byte {
	b := make([]byte, 0, 8*len(hs))
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return b
}

// ngramWriter buffers the n-gram rows of a transaction and inserts them sorted by key, so that the
// B-tree is written in order, many rows per statement.
type ngramWriter struct {
	tx   *sql.Tx
	rows [][2]int64 // hash, chunk
	stmt *sql.Stmt  // inserts ngramRows rows
}

const (
	ngramRows   = 256     // rows per INSERT statement
	ngramBuffer = 1 << 18 // rows buffered before a flush
)

func (w *ngramWriter) add(ctx context.Context, chunk int64, hashes []uint64) error {
	for _, h := range hashes {
		w.rows = append(w.rows, [2]int64{int64(h), chunk})
	}
	if len(w.rows) >= ngramBuffer {
		return w.flush(ctx)
	}
	return nil
}

func (w *ngramWriter) flush(ctx context.Context) error {
	if len(w.rows) == 0 {
		return nil
	}
	slices.SortFunc(w.rows, func(a, b [2]int64) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	insert := func(rows [][2]int64) error {
		args := make([]any, 0, 2*len(rows))
		for _, r := range rows {
			args = append(args, r[0], r[1])
		}
		q := `INSERT OR IGNORE INTO ngrams (hash, chunk_id) VALUES (?,?)` + strings.Repeat(",(?,?)", len(rows)-1)
		var err error
		if len(rows) == ngramRows {
			if w.stmt == nil {
				if w.stmt, err = w.tx.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			_, err = w.stmt.ExecContext(ctx, args...)
		} else {
			_, err = w.tx.ExecContext(ctx, q, args...)
		}
		return err
	}
	for rows := w.rows; len(rows) > 0; {
		n := min(len(rows), ngramRows)
		if err := insert(rows[:n]); err != nil {
			return fmt.Errorf("memory: index n-grams: %w", err)
		}
		rows = rows[n:]
	}
	w.rows = w.rows[:0]
	return nil
}

func (w *ngramWriter) close() {
	if w.stmt != nil {
		w.stmt.Close()
	}
}

// deleteChunks removes a source's chunks and their index rows, and updates the totals.
func deleteChunks(ctx context.Context, tx *sql.Tx, source int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, ngrams FROM chunks WHERE source_id = ?`, source)
	if err != nil {
		return fmt.Errorf("memory: delete chunks: %w", err)
	}
	var keys [][2]int64
	for rows.Next() {
		var id int64
		var blob []byte
		if err := rows.Scan(&id, &blob); err != nil {
			rows.Close()
			return fmt.Errorf("memory: delete chunks: %w", err)
		}
		for i := 0; i+8 <= len(blob); i += 8 {
			keys = append(keys, [2]int64{int64(binary.LittleEndian.Uint64(blob[i:])), id})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("memory: delete chunks: %w", err)
	}
	if len(keys) > 0 {
		del, err := tx.PrepareContext(ctx, `DELETE FROM ngrams WHERE hash = ? AND chunk_id = ?`)
		if err != nil {
			return fmt.Errorf("memory: delete n-grams: %w", err)
		}
		defer del.Close()
		for _, k := range keys {
			if _, err := del.ExecContext(ctx, k[0], k[1]); err != nil {
				return fmt.Errorf("memory: delete n-grams: %w", err)
			}
		}
	}
	for _, q := range []string{
		`UPDATE totals SET chunks = chunks - (SELECT count(*) FROM chunks WHERE source_id = ?1),
			terms = terms - (SELECT coalesce(sum(nterms), 0) FROM chunks WHERE source_id = ?1) WHERE id = 1`,
		`DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE source_id = ?1)`,
		`DELETE FROM chunks WHERE source_id = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, source); err != nil {
			return fmt.Errorf("memory: delete chunks: %w", err)
		}
	}
	return nil
}

// RemoveSource removes the source at path, or every source under path when it names a folder.
func (s *Store) RemoveSource(ctx context.Context, path string) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("memory: begin: %w", err)
	}
	defer tx.Rollback()
	prefix := strings.TrimSuffix(path, "/") + "/"
	rows, err := tx.QueryContext(ctx, `SELECT id FROM sources WHERE path = ? OR substr(path, 1, length(?2)) = ?2`, path, prefix)
	if err != nil {
		return 0, fmt.Errorf("memory: find sources: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("memory: find sources: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("memory: find sources: %w", err)
	}
	for _, id := range ids {
		if err := deleteChunks(ctx, tx, id); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sources WHERE id = ?`, id); err != nil {
			return 0, fmt.Errorf("memory: delete source: %w", err)
		}
	}
	return len(ids), tx.Commit()
}

// Stats counts the store's sources, chunks, n-gram rows and distinct terms.
func (s *Store) Stats(ctx context.Context) (memory.Stats, error) {
	var st memory.Stats
	var pages, size int64
	err := s.rdb.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sources), (SELECT chunks FROM totals),
		(SELECT count(*) FROM ngrams), (SELECT count(*) FROM chunks_terms),
		(SELECT page_count FROM pragma_page_count()), (SELECT page_size FROM pragma_page_size())`).
		Scan(&st.Sources, &st.Chunks, &st.NGrams, &st.Terms, &pages, &size)
	if err != nil {
		return st, fmt.Errorf("memory: stats: %w", err)
	}
	st.Bytes = pages * size
	return st, nil
}

// Check verifies the store's consistency: SQLite's integrity and foreign-key checks, FTS5's own
// integrity check, every chunk has its source and exactly one full-text row (and no full-text row
// lacks a chunk), every n-gram row has its chunk, the totals match the chunks, and every vector
// belongs to a known embedder and has its length. (Vectors no chunk uses are not an inconsistency:
// PruneVectors removes them.)
func (s *Store) Check(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("memory: integrity_check: %q %v", res, err)
	}
	rows, err := s.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("memory: foreign_key_check: %w", err)
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return errors.New("memory: foreign_key_check found violations")
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')`); err != nil {
		return fmt.Errorf("memory: fts integrity-check: %w", err)
	}
	checks := []struct{ what, q string }{
		{"chunks without a source", `SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.id = c.source_id)`},
		{"chunks without a full-text row", `SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunks_fts f WHERE f.rowid = c.id)`},
		{"full-text rows without a chunk", `SELECT count(*) FROM chunks_fts f WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = f.rowid)`},
		{"n-grams without a chunk", `SELECT count(*) FROM ngrams n WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = n.chunk_id)`},
		{"vectors of an unknown embedder", `SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM embedders e WHERE e.name = v.embedder)`},
		{"vectors of the wrong length", `SELECT count(*) FROM vectors v JOIN embedders e ON e.name = v.embedder WHERE length(v.vec) != 4 * e.dim`},
		{"totals that differ from the chunks", `SELECT count(*) FROM totals t WHERE t.chunks != (SELECT count(*) FROM chunks)
			OR t.terms != (SELECT coalesce(sum(nterms), 0) FROM chunks)`},
	}
	for _, c := range append(checks, graphChecks...) {
		var n int64
		if err := s.db.QueryRowContext(ctx, c.q).Scan(&n); err != nil {
			return fmt.Errorf("memory: check %s: %w", c.what, err)
		}
		if n != 0 {
			return fmt.Errorf("memory: %d %s", n, c.what)
		}
	}
	return nil
}
