package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

var _ memory.FactStore = (*Store)(nil)

// factsMigration creates the remembered facts (memory.FactStore): facts, their full-text rows
// (facts_fts, analysed like chunks_fts) and their exact-lookup n-grams (fact_ngrams). Triggers make
// facts and fact_ngrams append-only in the schema itself: an UPDATE or DELETE of a row is refused,
// whoever runs it. (FTS5 tables take no triggers; facts_fts is written only by Remember.)
const factsMigration = `CREATE TABLE facts (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		text        TEXT NOT NULL CHECK (length(text) > 0),
		agent       TEXT NOT NULL CHECK (length(agent) > 0),
		run         TEXT NOT NULL DEFAULT '',
		source      TEXT NOT NULL CHECK (length(source) > 0),
		chunk_id    INTEGER NOT NULL DEFAULT 0, -- a chunk id when recorded; chunks come and go, facts stay
		recorded_at TEXT NOT NULL,
		valid_from  TEXT NOT NULL,
		valid_until TEXT,                        -- NULL: no end
		supersedes  INTEGER UNIQUE REFERENCES facts(id),
		nterms      INTEGER NOT NULL,
		CHECK (valid_until IS NULL OR valid_until > valid_from)
	);
	CREATE VIRTUAL TABLE facts_fts USING fts5(terms, tokenize = 'ascii');
	CREATE TABLE fact_ngrams (
		hash    INTEGER NOT NULL,
		fact_id INTEGER NOT NULL REFERENCES facts(id),
		PRIMARY KEY (hash, fact_id)
	) WITHOUT ROWID;
	CREATE TRIGGER facts_no_update BEFORE UPDATE ON facts
		BEGIN SELECT RAISE(ABORT, 'facts are append-only: remember a new fact that supersedes this one'); END;
	CREATE TRIGGER facts_no_delete BEFORE DELETE ON facts
		BEGIN SELECT RAISE(ABORT, 'facts are append-only: a fact is never deleted'); END;
	CREATE TRIGGER fact_ngrams_no_update BEFORE UPDATE ON fact_ngrams
		BEGIN SELECT RAISE(ABORT, 'facts are append-only'); END;
	CREATE TRIGGER fact_ngrams_no_delete BEFORE DELETE ON fact_ngrams
		BEGIN SELECT RAISE(ABORT, 'facts are append-only'); END;`

// factTime is how fact times are stored: fixed width in UTC, so that text order is time order.
const factTime = "2006-01-02T15:04:05.000000Z"

func fmtFactTime(t time.Time) string { return t.UTC().Format(factTime) }

const factCols = `f.id, f.text, f.agent, f.run, f.source, f.chunk_id, f.recorded_at, f.valid_from, f.valid_until,
	coalesce(f.supersedes, 0), coalesce((SELECT s.id FROM facts s WHERE s.supersedes = f.id), 0)`

func scanFact(sc interface{ Scan(...any) error }) (memory.Fact, error) {
	var f memory.Fact
	var rec, from string
	var until sql.NullString
	if err := sc.Scan(&f.ID, &f.Text, &f.Agent, &f.Run, &f.Source, &f.Chunk, &rec, &from, &until,
		&f.Supersedes, &f.SupersededBy); err != nil {
		return f, err
	}
	var err error
	if f.RecordedAt, err = time.Parse(factTime, rec); err != nil {
		return f, fmt.Errorf("fact %d: recorded_at: %w", f.ID, err)
	}
	if f.ValidFrom, err = time.Parse(factTime, from); err != nil {
		return f, fmt.Errorf("fact %d: valid_from: %w", f.ID, err)
	}
	if until.Valid {
		if f.ValidUntil, err = time.Parse(factTime, until.String); err != nil {
			return f, fmt.Errorf("fact %d: valid_until: %w", f.ID, err)
		}
	}
	return f, nil
}

// Remember appends a fact with its full-text and n-gram rows in one transaction.
func (s *Store) Remember(ctx context.Context, f memory.Fact) (memory.Fact, error) {
	f, err := memory.PrepareFact(f, time.Now())
	if err != nil {
		return f, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return f, fmt.Errorf("memory: begin: %w", err)
	}
	defer tx.Rollback()
	if f.Supersedes != 0 {
		var by int64
		err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT s.id FROM facts s WHERE s.supersedes = f.id), 0)
			FROM facts f WHERE f.id = ?`, f.Supersedes).Scan(&by)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return f, fault.Param("supersedes", "fact: no fact #%d to supersede", f.Supersedes)
		case err != nil:
			return f, fmt.Errorf("memory: remember: %w", err)
		case by != 0:
			return f, fault.Param("supersedes", "fact: #%d is already superseded by #%d; supersede #%d instead", f.Supersedes, by, by)
		}
	}
	if f.Chunk != 0 {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM chunks WHERE id = ?`, f.Chunk).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return f, fault.Param("chunk", "fact: no chunk %d in the memory", f.Chunk)
		} else if err != nil {
			return f, fmt.Errorf("memory: remember: %w", err)
		}
	}
	terms := memory.Terms(f.Text)
	var until, sup any
	if !f.ValidUntil.IsZero() {
		until = fmtFactTime(f.ValidUntil)
	}
	if f.Supersedes != 0 {
		sup = f.Supersedes
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO facts (text, agent, run, source, chunk_id, recorded_at, valid_from, valid_until,
		supersedes, nterms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		f.Text, f.Agent, f.Run, f.Source, f.Chunk, fmtFactTime(f.RecordedAt), fmtFactTime(f.ValidFrom), until, sup,
		len(terms)).Scan(&f.ID)
	if err != nil {
		return f, fmt.Errorf("memory: remember: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO facts_fts (rowid, terms) VALUES (?, ?)`, f.ID, strings.Join(terms, " ")); err != nil {
		return f, fmt.Errorf("memory: index fact: %w", err)
	}
	for _, h := range memory.NGramHashes(f.Text) {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO fact_ngrams (hash, fact_id) VALUES (?, ?)`, int64(h), f.ID); err != nil {
			return f, fmt.Errorf("memory: index fact: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return f, fmt.Errorf("memory: commit: %w", err)
	}
	return f, nil
}

// Fact returns the fact with id.
func (s *Store) Fact(ctx context.Context, id int64) (memory.Fact, error) {
	f, err := scanFact(s.rdb.QueryRowContext(ctx, `SELECT `+factCols+` FROM facts f WHERE f.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("fact #%d: %w", id, memory.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("memory: read fact #%d: %w", id, err)
	}
	return f, nil
}

// Facts returns the facts filter selects, oldest first.
func (s *Store) Facts(ctx context.Context, filter memory.FactFilter) ([]memory.Fact, error) {
	all, err := s.queryFacts(ctx, `SELECT `+factCols+` FROM facts f ORDER BY f.id`)
	if err != nil {
		return nil, err
	}
	return filter.Select(all), nil
}

func (s *Store) queryFacts(ctx context.Context, q string, args ...any) ([]memory.Fact, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("memory: read facts: %w", err)
	}
	defer rows.Close()
	var out []memory.Fact
	for rows.Next() {
		f, err := scanFact(rows)
		if err != nil {
			return nil, fmt.Errorf("memory: read facts: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memory: read facts: %w", err)
	}
	return out, nil
}

// factsByID reads facts by id.
func (s *Store) factsByID(ctx context.Context, ids []int64) ([]memory.Fact, error) {
	var out []memory.Fact
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(len(ids), start+500)]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		fs, err := s.queryFacts(ctx, `SELECT `+factCols+` FROM facts f WHERE f.id IN (?`+strings.Repeat(",?", len(part)-1)+`) ORDER BY f.id`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// LookupFacts finds the facts containing phrase through fact_ngrams: the facts holding every n-gram
// of the phrase (memory.SpreadHashes of them) are read and checked for the phrase.
func (s *Store) LookupFacts(ctx context.Context, phrase string, filter memory.FactFilter) ([]memory.Hit, error) {
	_, hashes := memory.PhraseHashes(phrase)
	if len(hashes) == 0 {
		return nil, nil
	}
	hashes = memory.SpreadHashes(hashes)
	parts := make([]string, len(hashes))
	args := make([]any, len(hashes))
	for i, h := range hashes {
		parts[i] = `SELECT fact_id FROM fact_ngrams WHERE hash = ?`
		args[i] = int64(h)
	}
	ids, err := s.ids(ctx, strings.Join(parts, " INTERSECT "), args...)
	if err != nil {
		return nil, fmt.Errorf("memory: exact lookup of facts: %w", err)
	}
	facts, err := s.factsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	return memory.FactPhraseHits(phrase, facts, filter), nil
}

// SearchFacts ranks facts by BM25: facts_fts finds every fact holding a query term, and
// memory.FactTextHits scores them.
func (s *Store) SearchFacts(ctx context.Context, query string, filter memory.FactFilter) ([]memory.Hit, error) {
	terms := memory.QueryTerms(query)
	if len(terms) == 0 {
		return nil, nil
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	ids, err := s.ids(ctx, `SELECT rowid FROM facts_fts WHERE facts_fts MATCH ?`, strings.Join(quoted, " OR "))
	if err != nil {
		return nil, fmt.Errorf("memory: search facts: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var n, total int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(nterms), 0) FROM facts`).Scan(&n, &total); err != nil {
		return nil, fmt.Errorf("memory: search facts: %w", err)
	}
	facts, err := s.factsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	return memory.FactTextHits(query, facts, n, total, filter), nil
}
