package memorytest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/testenv"
)

// extractorSetter is a store whose graph extractor can be replaced and whose graph can be rebuilt
// (both stores can).
type extractorSetter interface {
	SetExtractor(memory.Extractor)
	RebuildGraph(ctx context.Context) (int, error)
}

// noGraph extracts nothing, like a store made before the graph existed.
type noGraph struct{}

func (noGraph) Extract(context.Context, string) (memory.Extraction, error) {
	return memory.Extraction{}, nil
}

// testGraph checks the knowledge graph: entities, relations and mentions are stored with their
// chunks, found by key, replaced and removed with their source, never duplicated by a re-ingest,
// replaced atomically, kept consistent against a misbehaving extractor, and used by Search without
// letting unrelated questions through the gate.
func testGraph(t *testing.T, s full) {
	ctx := context.Background()
	g, ok := s.(memory.GraphSearcher)
	if !ok {
		t.Fatalf("%T is not a memory.GraphSearcher", s)
	}
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "ghosts.md"), "# Ghosts\n\nAndrej Karpathy trains an LLM on the Tiny Shakespeare corpus. "+
		"Karpathy says the LLM is a ghost.\n\n## 통제\n\n**보상 해킹**은 통제의 문제이다. 보상 해킹을 막으려면 통제가 필요하다.\n")
	WriteFile(t, filepath.Join(dir, "other.md"), "# Other\n\nThe Tiny Shakespeare corpus is small. Then Karpathy wrote nanoGPT.\n")
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	check(t, s)

	ents, err := g.Entities(ctx, []string{"llm", "nosuchentity", "karpathy", "andrej karpathy", "보상 해킹", "통제"})
	if err != nil {
		t.Fatal(err)
	}
	chunks := map[string]int{}
	var keys []string
	for _, e := range ents {
		keys = append(keys, e.Key)
		chunks[e.Key] = e.Chunks
		if e.Name == "" || e.Kind == "" {
			t.Errorf("entity without a name or kind: %+v", e)
		}
	}
	if want := []string{"llm", "karpathy", "andrej karpathy", "보상 해킹", "통제"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("Entities = %q, want %q (in the order asked, the unknown one left out)", keys, want)
	}
	if chunks["karpathy"] != 2 || chunks["llm"] != 1 {
		t.Errorf("chunks mentioning: karpathy %d (want 2), llm %d (want 1)", chunks["karpathy"], chunks["llm"])
	}

	edges, err := g.Edges(ctx, []string{"andrej karpathy"}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !hasEdge(edges, "andrej karpathy", "llm", memory.RelCooccurs) {
		t.Errorf("no co-occurrence of andrej karpathy and llm among %+v", edges)
	}
	for i := 1; i < len(edges); i++ {
		if edges[i].Weight > edges[i-1].Weight {
			t.Errorf("edges not heaviest first: %+v", edges)
		}
	}
	if edges, err := g.Edges(ctx, []string{"llm"}, 1); err != nil || len(edges) != 1 {
		t.Errorf("Edges with perKey 1: %+v %v", edges, err)
	}
	edges, err = g.Edges(ctx, []string{"tiny shakespeare"}, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edges {
		if e.Kind == memory.RelCooccurs && e.From+e.To == "karpathytiny shakespeare" && e.Chunks != 2 {
			t.Errorf("karpathy and tiny shakespeare co-occur in 2 chunks, edge says %d", e.Chunks)
		}
	}
	if !hasEdge(edges, "tiny shakespeare", "karpathy", memory.RelCooccurs) {
		t.Errorf("no co-occurrence of karpathy and tiny shakespeare among %+v", edges)
	}

	hits, err := g.MentionHits(ctx, map[string]float64{"karpathy": 1, "llm": 1, "absent": 5}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ChunkIDs(graphHits(hits)); !reflect.DeepEqual(got, []string{"ghosts.md:Ghosts", "other.md:Other"}) {
		t.Errorf("MentionHits = %q, want the chunk mentioning both first", got)
	}
	if len(hits) > 0 && (!reflect.DeepEqual(hits[0].Keys, []string{"karpathy", "llm"}) || hits[0].Method != "graph" || hits[0].Chunk.Source == "") {
		t.Errorf("first mention hit: keys %q, method %q, source %q", hits[0].Keys, hits[0].Method, hits[0].Chunk.Source)
	}

	// An unchanged re-ingest duplicates nothing; a changed file replaces its graph.
	if rep, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil || rep.Unchanged != 2 {
		t.Fatalf("re-ingest: %+v %v", rep, err)
	}
	again, err := g.Edges(ctx, []string{"tiny shakespeare"}, 50)
	if err != nil || !reflect.DeepEqual(again, edges) {
		t.Errorf("edges changed by an unchanged re-ingest:\n%+v\n%+v (%v)", again, edges, err)
	}
	// Replacing a source with the same text keeps the counts too.
	src, err := s.Source(ctx, filepath.Join(dir, "other.md"))
	if err != nil {
		t.Fatal(err)
	}
	same := []memory.Chunk{{Text: "The Tiny Shakespeare corpus is small. Then Karpathy wrote nanoGPT.", StartLine: 3, EndLine: 3}}
	for range 2 {
		if err := s.Replace(ctx, src, same); err != nil {
			t.Fatal(err)
		}
	}
	if ents, err := g.Entities(ctx, []string{"karpathy"}); err != nil || len(ents) != 1 || ents[0].Chunks != 2 {
		t.Errorf("after replacing a source twice: %+v %v", ents, err)
	}
	WriteFile(t, filepath.Join(dir, "other.md"), "# Other\n\nSomething about Grace Hopper and COBOL instead.\n")
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	check(t, s)
	ents, err = g.Entities(ctx, []string{"nanogpt", "grace hopper", "cobol", "karpathy"})
	if err != nil {
		t.Fatal(err)
	}
	if got := entityKeys(ents); !reflect.DeepEqual(got, []string{"grace hopper", "cobol", "karpathy"}) || ents[2].Chunks != 1 {
		t.Errorf("after the change: %+v", ents)
	}

	// Removing the source removes its graph.
	if n, err := s.RemoveSource(ctx, filepath.Join(dir, "ghosts.md")); err != nil || n != 1 {
		t.Fatalf("RemoveSource: %d %v", n, err)
	}
	check(t, s)
	if ents, err := g.Entities(ctx, []string{"karpathy", "llm", "보상 해킹"}); err != nil || len(ents) != 0 {
		t.Errorf("entities of a removed source: %+v %v", ents, err)
	}
	if edges, err := g.Edges(ctx, []string{"karpathy", "llm"}, 10); err != nil || len(edges) != 0 {
		t.Errorf("edges of a removed source: %+v %v", edges, err)
	}
	if hits, err := g.MentionHits(ctx, map[string]float64{"karpathy": 1}, 10); err != nil || len(hits) != 0 {
		t.Errorf("mentions of a removed source: %q %v", ChunkIDs(graphHits(hits)), err)
	}
}

// testGraphAtomic replaces a source between two versions that mention different entities while
// readers ask for both: one statement never sees both versions.
func testGraphAtomic(t *testing.T, s full) {
	ctx := context.Background()
	g, ok := s.(memory.GraphSearcher)
	if !ok {
		t.Fatalf("%T is not a memory.GraphSearcher", s)
	}
	version := func(name string) []memory.Chunk {
		var cs []memory.Chunk
		for i := range 4 {
			cs = append(cs, memory.Chunk{Text: fmt.Sprintf("Part %d: Project %s ships with %s Engine.", i, name, name), StartLine: i + 1, EndLine: i + 1})
		}
		return cs
	}
	src := memory.Source{Path: "/graph/atomic.txt", Title: "atomic", Kind: "text", IngestedAt: time.Now()}
	replaceWhileReading(t, s, src, [2]string{"Alpha", "Beta"}, version, 20, func() error {
		ents, err := g.Entities(ctx, []string{"project alpha", "project beta"})
		switch {
		case err != nil:
			return err
		case len(ents) > 1:
			return fmt.Errorf("a reader saw both versions' entities: %+v", ents)
		case len(ents) == 1 && ents[0].Chunks != 4:
			return fmt.Errorf("a reader saw %d chunks mentioning %s, want 4", ents[0].Chunks, ents[0].Key)
		}
		return nil
	})
	check(t, s)
	if ents, err := g.Entities(ctx, []string{"project alpha", "project beta"}); err != nil || len(entityKeys(ents)) != 1 || ents[0].Key != "project beta" {
		t.Fatalf("after the replacements: %+v %v", ents, err)
	}
}

// badExtractor returns what a careless model might: empty, duplicate and oversized keys, relations
// to entities it never mentioned, a self-loop and a NaN weight; or fails.
type badExtractor struct{ fail bool }

func (b badExtractor) Extract(_ context.Context, text string) (memory.Extraction, error) {
	if b.fail {
		return memory.Extraction{}, errors.New("model unavailable")
	}
	return memory.Extraction{
		Mentions: []memory.Mention{
			{Key: "", Name: "empty"}, {Key: "widget", Name: "Widget", Kind: memory.KindName, Count: 0},
			{Key: "widget", Name: "widget", Count: 2}, {Key: strings.Repeat("k", 300)}, {Key: "gadget", Name: "bad\x00name"},
		},
		Relations: []memory.Relation{
			{From: "widget", To: "ghost", Kind: memory.RelIsA, Weight: 1}, {From: "widget", To: "widget", Kind: memory.RelOf, Weight: 1},
			{From: "widget", To: "gadget", Kind: memory.RelCooccurs, Weight: 1}, {From: "gadget", To: "widget", Kind: memory.RelCooccurs, Weight: 2},
			{From: "gadget", To: "widget", Kind: memory.RelOf, Weight: 0},
		},
	}, nil
}

// testGraphExtractor plugs in extractors that misbehave: the store stays consistent, keeps what is
// sound, and a failing extractor fails the replacement without storing anything.
func testGraphExtractor(t *testing.T, s full) {
	ctx := context.Background()
	g, ok := s.(memory.GraphSearcher)
	xs, ok2 := s.(extractorSetter)
	if !ok || !ok2 {
		t.Fatalf("%T is not a memory.GraphSearcher with SetExtractor", s)
	}
	xs.SetExtractor(badExtractor{})
	src := memory.Source{Path: "/graph/bad.txt", Title: "bad", Kind: "text", Hash: "1", IngestedAt: time.Now()}
	if err := s.Replace(ctx, src, []memory.Chunk{{Text: "anything", StartLine: 1, EndLine: 1}}); err != nil {
		t.Fatal(err)
	}
	check(t, s)
	ents, err := g.Entities(ctx, []string{"widget", "gadget", "ghost", strings.Repeat("k", 300)})
	if err != nil {
		t.Fatal(err)
	}
	if got := entityKeys(ents); !reflect.DeepEqual(got, []string{"widget", "gadget"}) || ents[1].Name != "gadget" {
		t.Errorf("entities from a careless extractor: %+v", ents)
	}
	edges, err := g.Edges(ctx, []string{"widget"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(edges) != 2 || !hasEdge(edges, "gadget", "widget", memory.RelCooccurs) || edges[0].Weight != 3 {
		t.Errorf("edges from a careless extractor: %+v", edges)
	}
	xs.SetExtractor(badExtractor{fail: true})
	src.Path, src.Hash = "/graph/fails.txt", "2"
	if err := s.Replace(ctx, src, []memory.Chunk{{Text: "never stored", StartLine: 1, EndLine: 1}}); err == nil || !strings.Contains(err.Error(), "model unavailable") {
		t.Fatalf("a failing extractor: %v", err)
	}
	if _, err := s.Source(ctx, "/graph/fails.txt"); !errors.Is(err, memory.ErrNotFound) {
		t.Errorf("a source whose extraction failed was stored: %v", err)
	}
	// A store without a graph (made before it existed) gets one from RebuildGraph.
	xs.SetExtractor(noGraph{})
	src.Path, src.Hash = "/graph/old.txt", "3"
	if err := s.Replace(ctx, src, []memory.Chunk{{Text: "Grace Hopper wrote COBOL.", StartLine: 1, EndLine: 1}, {Text: "COBOL lives on.", StartLine: 2, EndLine: 2}}); err != nil {
		t.Fatal(err)
	}
	if ents, err := g.Entities(ctx, []string{"cobol"}); err != nil || len(ents) != 0 {
		t.Fatalf("without a graph: %+v %v", ents, err)
	}
	xs.SetExtractor(nil)
	n, err := xs.RebuildGraph(ctx)
	if err != nil || n != 3 {
		t.Fatalf("RebuildGraph: %d %v, want the 3 chunks", n, err)
	}
	check(t, s)
	if ents, err := g.Entities(ctx, []string{"cobol", "grace hopper", "widget"}); err != nil || len(ents) != 2 || ents[0].Chunks != 2 {
		t.Errorf("after RebuildGraph: %+v %v (the rule extractor finds no widget in \"anything\")", ents, err)
	}
	if n, err := xs.RebuildGraph(ctx); err != nil || n != 3 {
		t.Errorf("second RebuildGraph: %d %v", n, err)
	}
	if ents, err := g.Entities(ctx, []string{"cobol"}); err != nil || len(ents) != 1 || ents[0].Chunks != 2 {
		t.Errorf("a second RebuildGraph duplicated rows: %+v %v", ents, err)
	}
	check(t, s)
}

// testGraphSearch runs Search with the graph list on the Korean seeds: the graph finds the passage
// about a name, questions about things the essays never mention still return nothing, and the graph
// alone ranks a named entity's passage first.
func testGraphSearch(t *testing.T, s full) {
	ctx := context.Background()
	g, ok := s.(memory.GraphSearcher)
	if !ok {
		t.Fatalf("%T is not a memory.GraphSearcher", s)
	}
	if _, err := memory.Ingest(ctx, s, []string{testenv.Shared(t, "corpus", "seeds")}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ query, want string }{
		{"Richard Sutton의 에세이", "Sutton"},
		{"Gemini-Claw와 rm -rf", "Gemini-Claw"},
		{"탈로스 신화", "탈로스"},
	} {
		hits, err := memory.SearchGraph(ctx, g, tt.query, memory.GraphOptions{K: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || !strings.Contains(hits[0].Chunk.Text, tt.want) || hits[0].Method != "graph" || hits[0].Coverage <= 0 {
			t.Errorf("SearchGraph(%q): top hit does not mention %q: %q", tt.query, tt.want, ChunkIDs(hits))
		}
		fused, err := memory.Search(ctx, s, tt.query, memory.SearchOptions{K: 3, GraphWeight: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(fused) == 0 || !strings.Contains(fused[0].Chunk.Text, tt.want) {
			t.Errorf("Search(%q) with the graph: top hit does not mention %q: %q", tt.query, tt.want, ChunkIDs(fused))
		}
	}
	for _, q := range []string{"패션 모델의 런웨이 워킹 연습 방법", "축구 경기에서 오프사이드 규칙의 역사", "the history of the Roman empire and its model emperors", "바나나 우유 레시피와 설탕"} {
		for _, walk := range []string{memory.WalkNone, memory.WalkNeighbours, memory.WalkPPR} {
			hits, err := memory.Search(ctx, s, q, memory.SearchOptions{GraphWeight: 1, GraphWalk: walk})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 0 {
				t.Errorf("Search(%q) with the graph (%s) passed the gate: %q (coverage %.2f)", q, walk, ChunkIDs(hits), hits[0].Coverage)
			}
		}
	}
	if hits, err := memory.SearchGraph(ctx, g, "quantum chromodynamics", memory.GraphOptions{}); err != nil || len(hits) != 0 {
		t.Errorf("SearchGraph of unknown entities: %q %v", ChunkIDs(hits), err)
	}
	if _, err := memory.SearchGraph(ctx, g, "Sutton", memory.GraphOptions{Walk: "sideways"}); err == nil {
		t.Error("SearchGraph with an unknown walk: no error")
	}
}

func hasEdge(edges []memory.Edge, a, b, kind string) bool {
	for _, e := range edges {
		if e.Kind == kind && (e.From == a && e.To == b || e.From == b && e.To == a) {
			return true
		}
	}
	return false
}

func graphHits(hs []memory.GraphHit) []memory.Hit {
	out := make([]memory.Hit, len(hs))
	for i, h := range hs {
		out[i] = h.Hit
	}
	return out
}

func entityKeys(es []memory.Entity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

// runGraph runs the graph tests; Run calls it.
func runGraph(t *testing.T, get func(t *testing.T) full) {
	t.Run("Graph", func(t *testing.T) { t.Parallel(); testGraph(t, get(t)) })
	t.Run("GraphAtomic", func(t *testing.T) { t.Parallel(); testGraphAtomic(t, get(t)) })
	t.Run("GraphExtractor", func(t *testing.T) { t.Parallel(); testGraphExtractor(t, get(t)) })
	t.Run("GraphSearch", func(t *testing.T) { t.Parallel(); testGraphSearch(t, get(t)) })
}
