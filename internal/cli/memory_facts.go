package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/seance-dev/seance/internal/memory"
)

// runMemoryFacts lists remembered facts: by default those current now, with --all also the expired,
// superseded and not yet valid ones, each marked.
func runMemoryFacts(ctx context.Context, e *env, args []string) error {
	fs := e.memoryFlagSet("facts", "", "List the facts agents remembered (append-only; corrections supersede, nothing is deleted).")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "also list expired, superseded and not yet valid facts")
	limit := fs.Int("n", 0, "list only the newest `N` facts (0: all)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: memory facts takes no arguments", errUsage)
	}
	if *limit < 0 {
		return fmt.Errorf("%w: -n must not be negative", errUsage)
	}
	_, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	now := time.Now()
	facts, err := store.Facts(ctx, memory.FactFilter{All: *all, At: now, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		type factJSON struct {
			ID           int64      `json:"id"`
			Text         string     `json:"text"`
			Agent        string     `json:"agent"`
			Run          string     `json:"run,omitempty"`
			Source       string     `json:"source"`
			Chunk        int64      `json:"chunk,omitempty"`
			RecordedAt   time.Time  `json:"recorded_at"`
			ValidFrom    time.Time  `json:"valid_from"`
			ValidUntil   *time.Time `json:"valid_until,omitempty"`
			Supersedes   int64      `json:"supersedes,omitempty"`
			SupersededBy int64      `json:"superseded_by,omitempty"`
			Status       string     `json:"status"`
		}
		out := make([]factJSON, 0, len(facts))
		for _, f := range facts {
			j := factJSON{f.ID, f.Text, f.Agent, f.Run, f.Source, f.Chunk, f.RecordedAt, f.ValidFrom, nil, f.Supersedes,
				f.SupersededBy, f.Status(now)}
			if !f.ValidUntil.IsZero() {
				until := f.ValidUntil
				j.ValidUntil = &until
			}
			out = append(out, j)
		}
		return printJSON(e.Out, out)
	}
	if len(facts) == 0 {
		if *all {
			fmt.Fprintln(e.Out, "no remembered facts")
		} else {
			fmt.Fprintln(e.Out, "no current facts (--all lists expired and superseded ones too)")
		}
		return nil
	}
	for _, f := range facts {
		fmt.Fprintf(e.Out, "#%d  %s  %s", f.ID, f.RecordedAt.UTC().Format(time.RFC3339), f.Agent)
		if f.Run != "" {
			fmt.Fprintf(e.Out, " (run %s)", f.Run)
		}
		if st := f.Status(now); st != "current" {
			fmt.Fprintf(e.Out, "  [%s]", st)
		}
		fmt.Fprintf(e.Out, "\n    %s\n    source: %s", snippet(f.Text, 400), f.Source)
		if f.Chunk != 0 {
			fmt.Fprintf(e.Out, " · chunk %d", f.Chunk)
		}
		if !f.ValidUntil.IsZero() {
			fmt.Fprintf(e.Out, " · valid until %s", f.ValidUntil.UTC().Format(time.RFC3339))
		}
		if f.Supersedes != 0 {
			fmt.Fprintf(e.Out, " · corrects #%d", f.Supersedes)
		}
		fmt.Fprintln(e.Out)
	}
	return nil
}
