package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

// graphJSON is the --json output of memory graph.
type graphJSON struct {
	Entity     entityJSON      `json:"entity"`
	Neighbours []neighbourJSON `json:"neighbours"`
	Chunks     []mentionJSON   `json:"chunks"`
}

type entityJSON struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Chunks int    `json:"chunks"`
}

type neighbourJSON struct {
	Key string `json:"key"`
	// Relation is the edge's kind; Outgoing says whether the entity is its From end ("X is_a Y").
	Relation string  `json:"relation"`
	Outgoing bool    `json:"outgoing"`
	Weight   float64 `json:"weight"`
	Chunks   int     `json:"chunks"`
}

type mentionJSON struct {
	Source    string   `json:"source"`
	Title     string   `json:"title"`
	Headings  []string `json:"headings"`
	StartLine int      `json:"start_line"`
	EndLine   int      `json:"end_line"`
	Text      string   `json:"text"`
	Score     float64  `json:"score"`
}

func runMemoryGraph(ctx context.Context, e *env, args []string) error {
	fs := e.memoryFlagSet("graph", "ENTITY", "Show an entity of the memory's knowledge graph: its neighbours and the passages that mention it.")
	asJSON := fs.Bool("json", false, "print JSON")
	n := fs.Int("n", 20, "number of neighbours")
	k := fs.Int("k", 5, "number of passages")
	rebuild := fs.Bool("rebuild", false, "re-extract the graph of every stored passage (for a store made before the graph existed), then show ENTITY if given")
	words, err := parse(fs, args)
	if err != nil {
		return err
	}
	name := strings.Join(words, " ")
	if *rebuild {
		if err := rebuildGraph(ctx, e); err != nil || len(words) == 0 {
			return err
		}
	}
	key := memory.EntityKey(name)
	if key == "" {
		return fmt.Errorf("%w: memory graph needs an ENTITY", errUsage)
	}
	if *n < 0 || *k < 0 {
		return fmt.Errorf("%w: -n and -k must not be negative", errUsage)
	}
	_, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	g, ok := store.(memory.GraphSearcher)
	if !ok {
		return fault.New(fault.Unsupported, "memory: the store %s keeps no knowledge graph", store.Path())
	}
	ents, err := g.Entities(ctx, []string{key})
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return fault.New(fault.NotFound, "memory: no entity %q in the graph%s", key, suggest(ctx, g, name))
	}
	ent := ents[0]
	edges, err := g.Edges(ctx, []string{key}, *n)
	if err != nil {
		return err
	}
	hits, err := g.MentionHits(ctx, map[string]float64{key: 1}, *k)
	if err != nil {
		return err
	}
	out := graphJSON{Entity: entityJSON(ent), Neighbours: []neighbourJSON{}, Chunks: []mentionJSON{}}
	for _, ed := range edges {
		nb := neighbourJSON{Key: ed.To, Relation: ed.Kind, Outgoing: true, Weight: ed.Weight, Chunks: ed.Chunks}
		if ed.To == key {
			nb.Key, nb.Outgoing = ed.From, false
		}
		out.Neighbours = append(out.Neighbours, nb)
	}
	for _, h := range hits {
		c := h.Chunk
		heads := c.Headings
		if heads == nil {
			heads = []string{}
		}
		out.Chunks = append(out.Chunks, mentionJSON{c.Source, c.Title, heads, c.StartLine, c.EndLine, c.Text, h.Score})
	}
	if *asJSON {
		return printJSON(e.Out, out)
	}
	fmt.Fprintf(e.Out, "%s (%s, key %q): mentioned by %s\n", ent.Name, ent.Kind, ent.Key, passages(ent.Chunks))
	if len(out.Neighbours) > 0 {
		fmt.Fprintln(e.Out, "\nneighbours:")
		for _, nb := range out.Neighbours {
			rel := nb.Relation
			switch {
			case nb.Relation == memory.RelCooccurs:
				rel = "appears with"
			case nb.Outgoing:
				rel = strings.ReplaceAll(nb.Relation, "_", " ")
			default:
				rel = "← " + strings.ReplaceAll(nb.Relation, "_", " ")
			}
			fmt.Fprintf(e.Out, "  %-14s %s weight %g in %s\n", rel, padWidth(nb.Key, 30), nb.Weight, passages(nb.Chunks))
		}
	}
	fmt.Fprintln(e.Out, "\npassages:")
	for i, c := range out.Chunks {
		fmt.Fprintf(e.Out, "%d. %s:%d-%d", i+1, c.Source, c.StartLine, c.EndLine)
		if len(c.Headings) > 0 {
			fmt.Fprintf(e.Out, "  § %s", strings.Join(c.Headings, " › "))
		}
		fmt.Fprintf(e.Out, "\n   %s\n", snippet(c.Text, 240))
	}
	return nil
}

func passages(n int) string {
	if n == 1 {
		return "1 passage"
	}
	return fmt.Sprintf("%d passages", n)
}

// rebuildGraph re-extracts the graph of the whole store.
func rebuildGraph(ctx context.Context, e *env) error {
	_, store, done, err := e.openMemory(ctx)
	if err != nil {
		return err
	}
	defer done()
	r, ok := store.(interface {
		RebuildGraph(ctx context.Context) (int, error)
	})
	if !ok {
		return fault.New(fault.Unsupported, "memory: the store %s cannot rebuild its knowledge graph", store.Path())
	}
	n, err := r.RebuildGraph(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Err, "re-extracted the graph of %d passages\n", n)
	return nil
}

// suggest names the known entities among the words of name, for a not-found message.
func suggest(ctx context.Context, g memory.GraphSearcher, name string) string {
	cands, _ := memory.QueryEntities(name)
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.Key
	}
	ents, err := g.Entities(ctx, keys)
	if err != nil || len(ents) == 0 {
		return ""
	}
	var names []string
	for _, e := range ents[:min(5, len(ents))] {
		names = append(names, fmt.Sprintf("%q", e.Key))
	}
	return "; known: " + strings.Join(names, ", ")
}

// padWidth pads s with spaces to n terminal columns, counting East Asian wide characters (Hangul,
// CJK ideographs, kana, full-width forms) as two, so Korean keys line up with Latin ones.
func padWidth(s string, n int) string {
	w := 0
	for _, r := range s {
		w++
		if wide(r) {
			w++
		}
	}
	if w >= n {
		return s
	}
	return s + strings.Repeat(" ", n-w)
}

func wide(r rune) bool {
	return (r >= 0x1100 && r <= 0x115f) || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) ||
		(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) ||
		(r >= 0xffe0 && r <= 0xffe6) || (r >= 0x20000 && r <= 0x3fffd)
}
