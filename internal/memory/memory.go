// Package memory is seance's memory: facts kept outside the model, with their provenance. It owns the
// domain types (sources, chunks, hits), ingestion of files and folders (Markdown, plain text, HTML),
// chunking, the text normalisation shared by exact lookup and full-text search, and the fusion of
// retrieval results. Storage lives in packages underneath (memory/sqlite, later memory/postgres) that
// implement Store; internal/app builds a store and the CLI and tools use it through this package.
//
// A Store has a small required interface; retrieval methods are optional capabilities discovered by
// type assertion (ExactSearcher, TextSearcher, VectorStore, GraphSearcher), the way
// database/sql/driver does it, so a new kind of index never widens the contract of the others.
package memory

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) by Store.Source when no source has the path.
var ErrNotFound = errors.New("memory: not found")

// Source is one ingested file.
type Source struct {
	// Path is the absolute, cleaned path of the file; it is the source's key.
	Path string
	// Title comes from front matter, the HTML <title>, the first top heading, or the file name.
	Title string
	// Meta holds the scalar fields of Markdown front matter (lists joined with ", ").
	Meta map[string]string
	// Kind is "markdown", "text" or "html".
	Kind string
	// Hash is the hex SHA-256 of the file's bytes; an unchanged hash means re-ingest is skipped.
	Hash string
	// Size is the file's length in bytes.
	Size int64
	// Commit is the last git commit that touched the file, or "" outside a repository.
	Commit string
	// IngestedAt is when the source was (re)ingested.
	IngestedAt time.Time
}

// Chunk is a passage of a source, the unit of retrieval.
type Chunk struct {
	// ID is assigned by the store; it is zero before the chunk is stored.
	ID int64
	// Source is the path of the source the chunk belongs to.
	Source string
	// Seq is the chunk's position in its source, from 0.
	Seq int
	// Title is the source's title.
	Title string
	// Headings is the path of headings above the chunk, outermost first.
	Headings []string
	// StartLine and EndLine are the 1-based, inclusive line range in the source file.
	StartLine, EndLine int
	// Text is the chunk's text as it appears in the source (HTML with its tags removed).
	Text string
	// Hash is the hex SHA-256 of Text.
	Hash string
	// Commit and IngestedAt repeat the source's, so a hit carries its whole provenance.
	Commit     string
	IngestedAt time.Time
}

// Hit is a chunk found by a search, with how it was found.
type Hit struct {
	Chunk Chunk
	// Score is the method's own score (BM25, phrase occurrences, or the fused RRF score); scores of
	// different methods are not comparable.
	Score float64
	// Coverage is the share of the query's information (idf-weighted terms) that the chunk contains,
	// in [0, 1]; exact hits have coverage 1. The relevance gate uses it.
	Coverage float64
	// Method names the retriever that produced the hit: "exact", "text", "vector", or "fused"; a
	// remembered fact out of Search has "fact".
	Method string
	// Fact is set when the hit is a remembered fact rather than a passage (see FactHit); Chunk then
	// stands in for it.
	Fact *Fact
}

// Stats summarises a store.
type Stats struct {
	Sources int64
	Chunks  int64
	// NGrams is the number of rows of the exact-lookup index.
	NGrams int64
	// Terms is the number of distinct full-text terms.
	Terms int64
	// Bytes is the store's size on disk, when known.
	Bytes int64
}

// Store keeps sources and their chunks. Implementations must be safe for concurrent use.
//
// Replace is atomic: after a crash, either the old version of the source (or none) or the new one
// with all its chunks and index rows is stored, never a mix.
type Store interface {
	// Source returns the stored source with path, or an error wrapping ErrNotFound.
	Source(ctx context.Context, path string) (Source, error)
	// Replace stores src and its chunks, replacing any earlier version of src.Path and its index
	// entries, in one transaction. Chunk IDs and Source fields are assigned by the store.
	Replace(ctx context.Context, src Source, chunks []Chunk) error
	// RemoveSource removes the source at path, or every source under path when it is a folder, and
	// returns how many sources were removed (0 is not an error).
	RemoveSource(ctx context.Context, path string) (int, error)
	// Close releases the store.
	Close() error
}

// ExactSearcher is a Store that can find chunks containing a phrase exactly (after normalisation),
// through the hashed word n-gram index.
type ExactSearcher interface {
	// LookupExact returns up to k chunks that contain the normalised phrase, found through the
	// n-gram index (every n-gram of the phrase must be present). Hits have Coverage 1; their order
	// is the store's (by occurrences where it counts them). A phrase that normalises to no words
	// returns no hits.
	LookupExact(ctx context.Context, phrase string, k int) ([]Hit, error)
}

// TextSearcher is a Store with ranked full-text search (BM25).
type TextSearcher interface {
	// SearchText returns up to k chunks ranked by BM25 over the analysed query terms (see Terms),
	// each with its Coverage.
	SearchText(ctx context.Context, query string, k int) ([]Hit, error)
}

// Lister is a Store that can list its sources.
type Lister interface {
	// Sources returns the stored sources ordered by path.
	Sources(ctx context.Context) ([]Source, error)
}

// Statter is a Store that can summarise itself.
type Statter interface {
	Stats(ctx context.Context) (Stats, error)
}

// Update is one source with its chunks, for Batcher.
type Update struct {
	Source Source
	Chunks []Chunk
}

// Batcher is a Store that can apply many replacements in one transaction, which makes ingesting many
// small files much faster. The batch is atomic as a whole.
type Batcher interface {
	ReplaceBatch(ctx context.Context, updates []Update) error
}
