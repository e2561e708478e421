package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

var _ memory.FactStore = (*Store)(nil)

// factsMigration creates the remembered facts (memory.FactStore): facts, with terms (the distinct
// analysed term keys, under a GIN index) for full text, and fact_ngrams for exact lookup. A trigger
// refuses every UPDATE, DELETE and TRUNCATE of either table, whoever runs it: facts are append-only
// in the schema, not only in code.
const factsMigration = `CREATE TABLE facts (
		id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		text        text NOT NULL CHECK (text <> ''),
		agent       text NOT NULL CHECK (agent <> ''),
		run         text NOT NULL DEFAULT '',
		source      text NOT NULL CHECK (source <> ''),
		chunk_id    bigint NOT NULL DEFAULT 0, -- a chunk id when recorded; chunks come and go, facts stay
		recorded_at timestamptz NOT NULL,
		valid_from  timestamptz NOT NULL,
		valid_until timestamptz,               -- NULL: no end
		supersedes  bigint UNIQUE REFERENCES facts(id),
		terms       text[] NOT NULL,
		nterms      integer NOT NULL,
		CHECK (valid_until IS NULL OR valid_until > valid_from)
	);
	CREATE INDEX facts_terms ON facts USING gin (terms);
	CREATE TABLE fact_ngrams (
		hash    bigint NOT NULL,
		fact_id bigint NOT NULL REFERENCES facts(id),
		PRIMARY KEY (hash, fact_id)
	);
	CREATE FUNCTION facts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION 'facts are append-only: % on % refused (remember a new fact that supersedes it)', TG_OP, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege';
	END $$;
	CREATE TRIGGER facts_append_only BEFORE UPDATE OR DELETE ON facts
		FOR EACH ROW EXECUTE FUNCTION facts_append_only();
	CREATE TRIGGER facts_no_truncate BEFORE TRUNCATE ON facts
		FOR EACH STATEMENT EXECUTE FUNCTION facts_append_only();
	CREATE TRIGGER fact_ngrams_append_only BEFORE UPDATE OR DELETE ON fact_ngrams
		FOR EACH ROW EXECUTE FUNCTION facts_append_only();
	CREATE TRIGGER fact_ngrams_no_truncate BEFORE TRUNCATE ON fact_ngrams
		FOR EACH STATEMENT EXECUTE FUNCTION facts_append_only();`

const factCols = `f.id, f.text, f.agent, f.run, f.source, f.chunk_id, f.recorded_at, f.valid_from, f.valid_until,
	coalesce(f.supersedes, 0), coalesce((SELECT s.id FROM facts s WHERE s.supersedes = f.id), 0)`

func scanFact(sc pgx.Row) (memory.Fact, error) {
	var f memory.Fact
	var until *time.Time
	if err := sc.Scan(&f.ID, &f.Text, &f.Agent, &f.Run, &f.Source, &f.Chunk, &f.RecordedAt, &f.ValidFrom, &until,
		&f.Supersedes, &f.SupersededBy); err != nil {
		return f, err
	}
	f.RecordedAt, f.ValidFrom = f.RecordedAt.UTC(), f.ValidFrom.UTC()
	if until != nil {
		f.ValidUntil = until.UTC()
	}
	return f, nil
}

// factTermKeys returns the distinct stored term keys of text, and its length in terms.
func factTermKeys(text string) ([]string, int) {
	keys, _, n := termCounts(text)
	return keys, n
}

// Remember appends a fact with its n-gram rows in one transaction.
func (s *Store) Remember(ctx context.Context, f memory.Fact) (memory.Fact, error) {
	f, err := memory.PrepareFact(f, time.Now())
	if err != nil {
		return f, err
	}
	// PrepareFact refuses control characters, so the text holds no NUL; clean guards the rest.
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return f, fault.Wrap(err, fault.Upstream, "memory: begin")
	}
	defer tx.Rollback(ctx)
	if f.Supersedes != 0 {
		// FOR UPDATE serialises two corrections of one fact. The check for an earlier correction is
		// a statement of its own, after the lock: under READ COMMITTED a statement sees what was
		// committed when it began, so a check inside the locking statement would miss the correction
		// that the lock waited for (and the UNIQUE constraint would refuse the insert instead).
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM facts WHERE id = $1 FOR UPDATE`, f.Supersedes).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return f, fault.Param("supersedes", "fact: no fact #%d to supersede", f.Supersedes)
		case err != nil:
			return f, fmt.Errorf("memory: remember: %w", err)
		}
		var by int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM facts WHERE supersedes = $1`, f.Supersedes).Scan(&by); err != nil {
			return f, fmt.Errorf("memory: remember: %w", err)
		}
		if by != 0 {
			return f, fault.Param("supersedes", "fact: #%d is already superseded by #%d; supersede #%d instead", f.Supersedes, by, by)
		}
	}
	if f.Chunk != 0 {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM chunks WHERE id = $1`, f.Chunk).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return f, fault.Param("chunk", "fact: no chunk %d in the memory", f.Chunk)
		} else if err != nil {
			return f, fmt.Errorf("memory: remember: %w", err)
		}
	}
	keys, n := factTermKeys(f.Text)
	var until *time.Time
	if !f.ValidUntil.IsZero() {
		until = &f.ValidUntil
	}
	var sup *int64
	if f.Supersedes != 0 {
		sup = &f.Supersedes
	}
	err = tx.QueryRow(ctx, `INSERT INTO facts (text, agent, run, source, chunk_id, recorded_at, valid_from, valid_until,
		supersedes, terms, nterms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		clean(f.Text), clean(f.Agent), clean(f.Run), clean(f.Source), f.Chunk, f.RecordedAt, f.ValidFrom, until, sup,
		keys, n).Scan(&f.ID)
	if err != nil {
		return f, fmt.Errorf("memory: remember: %w", err)
	}
	hashes := memory.NGramHashes(f.Text)
	signed := make([]int64, len(hashes))
	for i, h := range hashes {
		signed[i] = int64(h)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO fact_ngrams (hash, fact_id) SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING`,
		signed, f.ID); err != nil {
		return f, fmt.Errorf("memory: index fact: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return f, fmt.Errorf("memory: commit: %w", err)
	}
	return f, nil
}

// Fact returns the fact with id.
func (s *Store) Fact(ctx context.Context, id int64) (memory.Fact, error) {
	f, err := scanFact(s.pool.QueryRow(ctx, `SELECT `+factCols+` FROM facts f WHERE f.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := s.pool.Query(ctx, q, args...)
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

// LookupFacts finds the facts containing phrase through fact_ngrams, as the embedded store does.
func (s *Store) LookupFacts(ctx context.Context, phrase string, filter memory.FactFilter) ([]memory.Hit, error) {
	_, hashes := memory.PhraseHashes(phrase)
	if len(hashes) == 0 {
		return nil, nil
	}
	hashes = memory.SpreadHashes(hashes)
	parts := make([]string, len(hashes))
	args := make([]any, len(hashes))
	for i, h := range hashes {
		parts[i] = fmt.Sprintf(`SELECT fact_id FROM fact_ngrams WHERE hash = $%d`, i+1)
		args[i] = int64(h)
	}
	facts, err := s.queryFacts(ctx, `SELECT `+factCols+` FROM facts f WHERE f.id IN (`+strings.Join(parts, " INTERSECT ")+`) ORDER BY f.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("memory: exact lookup of facts: %w", err)
	}
	return memory.FactPhraseHits(phrase, facts, filter), nil
}

// SearchFacts ranks facts by BM25: the GIN index on facts.terms finds every fact holding a query
// term, and memory.FactTextHits scores them.
func (s *Store) SearchFacts(ctx context.Context, query string, filter memory.FactFilter) ([]memory.Hit, error) {
	terms := memory.QueryTerms(query)
	if len(terms) == 0 {
		return nil, nil
	}
	keys := make([]string, len(terms))
	for i, t := range terms {
		keys[i] = termKey(clean(t))
	}
	facts, err := s.queryFacts(ctx, `SELECT `+factCols+` FROM facts f WHERE f.terms && $1::text[] ORDER BY f.id`, keys)
	if err != nil {
		return nil, fmt.Errorf("memory: search facts: %w", err)
	}
	if len(facts) == 0 {
		return nil, nil
	}
	var n, total int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(nterms), 0) FROM facts`).Scan(&n, &total); err != nil {
		return nil, fmt.Errorf("memory: search facts: %w", err)
	}
	return memory.FactTextHits(query, facts, n, total, filter), nil
}
