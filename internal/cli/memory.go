package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/app"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/memory"
)

func init() {
	commands["memory"] = command{summary: "memory: add files and folders, search them, remove them, show stats", run: runMemory}
}

const memoryUsage = `Usage: seance memory COMMAND [flags] [args]

Commands:
  add PATH...     ingest files and folders (Markdown, text, HTML); unchanged files are skipped
  search QUERY    find passages: exact phrases, BM25 and (with --embed) vectors, fused, with a relevance gate
  rm PATH         remove a source, or every source under a folder
  stats           count sources, chunks and index rows
  graph ENTITY    show an entity of the knowledge graph: its neighbours and the passages that mention it
  facts           list the facts agents remembered (--all: expired and superseded ones too)
`

func runMemory(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.Err, memoryUsage)
		return fmt.Errorf("%w: missing memory command", errUsage)
	}
	switch args[0] {
	case "add":
		return runMemoryAdd(ctx, e, args[1:])
	case "search":
		return runMemorySearch(ctx, e, args[1:])
	case "rm":
		return runMemoryRm(ctx, e, args[1:])
	case "facts":
		return runMemoryFacts(ctx, e, args[1:])
	case "stats":
		return runMemoryStats(ctx, e, args[1:])
	case "graph":
		return runMemoryGraph(ctx, e, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(e.Out, memoryUsage)
		return nil
	}
	fmt.Fprint(e.Err, memoryUsage)
	return fmt.Errorf("%w: unknown memory command %q", errUsage, args[0])
}

// memoryFlagSet returns the FlagSet of a memory subcommand.
func (e *env) memoryFlagSet(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("seance memory "+name, flag.ContinueOnError)
	fs.SetOutput(e.Err)
	fs.Usage = func() {
		fmt.Fprintf(e.Err, "Usage: seance memory %s [flags] %s\n\n%s\n\nFlags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

func runMemoryAdd(ctx context.Context, e *env, args []string) error {
	fs := e.memoryFlagSet("add", "PATH...", "Ingest files and folders into the memory store.")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	chunk := fs.Int("chunk", memory.DefaultChunkRunes, "target chunk size in `runes`")
	maxBytes := fs.Int64("max-bytes", memory.DefaultMaxFileBytes, "skip files larger than this many `bytes`")
	embedWith := fs.String("embed", "", "also compute chunk vectors with this embedder: a USE-lite `folder` or an embedding model's name")
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("%w: memory add needs at least one PATH", errUsage)
	}
	a, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	opts := a.MemoryIngestOptions()
	opts.ChunkRunes, opts.MaxFileBytes = *chunk, *maxBytes
	opts.Progress = progressPrinter(e.Err, isTerminal(e.Err))
	if *embedWith != "" {
		if opts.Embedder, err = a.MemoryEmbedder(ctx, *embedWith); err != nil {
			return err
		}
		opts.EmbedProgress = func(done, total int) { fmt.Fprintf(e.Err, "[%d/%d] vectors\n", done, total) }
	}
	start := time.Now()
	rep, err := memory.Ingest(ctx, store, paths, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		type skip struct {
			Path   string `json:"path"`
			Reason string `json:"reason"`
		}
		out := struct {
			Added     int     `json:"added"`
			Updated   int     `json:"updated"`
			Unchanged int     `json:"unchanged"`
			Chunks    int     `json:"chunks"`
			Embedded  int     `json:"embedded"`
			Skipped   []skip  `json:"skipped"`
			Seconds   float64 `json:"seconds"`
		}{rep.Added, rep.Updated, rep.Unchanged, rep.Chunks, rep.Embedded, []skip{}, time.Since(start).Seconds()}
		for _, s := range rep.Skipped {
			out.Skipped = append(out.Skipped, skip{s.Path, s.Reason})
		}
		return printJSON(e.Out, out)
	}
	fmt.Fprintf(e.Out, "%d added, %d updated, %d unchanged, %d skipped; %d chunks stored, %d embedded in %.1fs\n",
		rep.Added, rep.Updated, rep.Unchanged, len(rep.Skipped), rep.Chunks, rep.Embedded, time.Since(start).Seconds())
	return nil
}

// progressPrinter reports ingest progress on w: a line rewritten in place on a terminal, otherwise
// a line every 500 files; skipped files are always listed with their reason.
func progressPrinter(w io.Writer, terminal bool) func(memory.Progress) {
	return func(p memory.Progress) {
		if p.Action == memory.Skipped {
			if terminal {
				fmt.Fprint(w, "\r\033[K")
			}
			fmt.Fprintf(w, "skipped %s: %s\n", p.Path, p.Reason)
		}
		switch {
		case terminal:
			fmt.Fprintf(w, "\r\033[K[%d/%d] %s %s", p.Done, p.Total, p.Action, filepath.Base(p.Path))
			if p.Done == p.Total {
				fmt.Fprintln(w)
			}
		case p.Done%500 == 0 || p.Done == p.Total:
			fmt.Fprintf(w, "[%d/%d] files\n", p.Done, p.Total)
		}
	}
}

func runMemorySearch(ctx context.Context, e *env, args []string) error {
	fs := e.memoryFlagSet("search", "QUERY", "Search the memory store.")
	asJSON := fs.Bool("json", false, "print JSON")
	k := fs.Int("k", 5, "number of passages")
	minCov := fs.Float64("min-coverage", memory.DefaultMinCoverage, "relevance gate: share of the query a passage must cover (negative: off)")
	minCos := fs.Float64("min-cosine", memory.DefaultMinCosine, "relevance gate of vector hits: cosine to the query (negative: off)")
	embedWith := fs.String("embed", "", "add vector search with this embedder (the one given to 'memory add --embed')")
	words, err := parse(fs, args)
	if err != nil {
		return err
	}
	query := strings.Join(words, " ")
	if strings.TrimSpace(query) == "" {
		return fmt.Errorf("%w: memory search needs a QUERY", errUsage)
	}
	if *k <= 0 {
		return fmt.Errorf("%w: -k must be positive", errUsage)
	}
	a, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	sopts := memory.SearchOptions{K: *k, MinCoverage: *minCov, MinCosine: *minCos}
	if *embedWith != "" {
		if sopts.Embedder, err = a.MemoryEmbedder(ctx, *embedWith); err != nil {
			return err
		}
	}
	hits, err := memory.Search(ctx, store, query, sopts)
	if err != nil {
		return err
	}
	if *asJSON {
		type hitJSON struct {
			Source     string    `json:"source"`
			Title      string    `json:"title"`
			Headings   []string  `json:"headings"`
			StartLine  int       `json:"start_line"`
			EndLine    int       `json:"end_line"`
			Text       string    `json:"text"`
			Hash       string    `json:"hash"`
			Commit     string    `json:"commit,omitempty"`
			IngestedAt time.Time `json:"ingested_at"`
			Score      float64   `json:"score"`
			Coverage   float64   `json:"coverage"`
		}
		out := make([]hitJSON, 0, len(hits))
		for _, h := range hits {
			c := h.Chunk
			heads := c.Headings
			if heads == nil {
				heads = []string{}
			}
			out = append(out, hitJSON{c.Source, c.Title, heads, c.StartLine, c.EndLine, c.Text, c.Hash, c.Commit,
				c.IngestedAt, h.Score, h.Coverage})
		}
		return printJSON(e.Out, out)
	}
	if len(hits) == 0 {
		fmt.Fprintln(e.Out, "no relevant passages")
		return nil
	}
	for i, h := range hits {
		c := h.Chunk
		fmt.Fprintf(e.Out, "%d. %s:%d-%d", i+1, c.Source, c.StartLine, c.EndLine)
		if len(c.Headings) > 0 {
			fmt.Fprintf(e.Out, "  § %s", strings.Join(c.Headings, " › "))
		}
		fmt.Fprintf(e.Out, "  (coverage %.2f)\n   %s\n", h.Coverage, snippet(c.Text, 240))
	}
	return nil
}

// snippet returns text on one line, cut to at most n runes.
func snippet(text string, n int) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func runMemoryRm(ctx context.Context, e *env, args []string) error {
	fs := e.memoryFlagSet("rm", "PATH", "Remove a source, or every source under a folder, from the memory store.")
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("%w: memory rm needs a PATH", errUsage)
	}
	_, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	total := 0
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("memory rm %s: %w", p, err)
		}
		n, err := store.RemoveSource(ctx, abs)
		if err != nil {
			return err
		}
		total += n
	}
	fmt.Fprintf(e.Out, "%d sources removed\n", total)
	return nil
}

func runMemoryStats(ctx context.Context, e *env, args []string) error {
	fs := e.memoryFlagSet("stats", "", "Count the memory store's sources, chunks and index rows.")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	_, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	st, err := store.Stats(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Out, struct {
			Path    string `json:"path"`
			Sources int64  `json:"sources"`
			Chunks  int64  `json:"chunks"`
			NGrams  int64  `json:"ngrams"`
			Terms   int64  `json:"terms"`
			Bytes   int64  `json:"bytes"`
		}{store.Path(), st.Sources, st.Chunks, st.NGrams, st.Terms, st.Bytes})
	}
	fmt.Fprintf(e.Out, "store    %s\nsources  %d\nchunks   %d\nn-grams  %d\nterms    %d\nsize     %s\n",
		store.Path(), st.Sources, st.Chunks, st.NGrams, st.Terms, human(st.Bytes, "B"))
	return nil
}

// openMemory builds the App and opens its memory store; done closes both.
func (e *env) openMemory(ctx context.Context) (*app.App, app.MemoryStore, func(), error) {
	a, err := e.app(config.Flags{})
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := a.OpenMemory(ctx)
	if err != nil {
		a.Close()
		return nil, nil, nil, err
	}
	return a, store, func() { store.Close(); a.Close() }, nil
}
