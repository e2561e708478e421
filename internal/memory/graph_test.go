package memory

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEntityKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"The Bitter Lesson", "bitter lesson"},
		{"GPT-4", "gpt 4"},
		{"Karpathy가", "karpathy"},
		{"통제를", "통제"},
		{"보상 해킹이", "보상 해킹"},
		{"ＭｏＥ", "moe"},
		{"Mixture of Experts", "mixture of experts"},
		{"  ", ""},
	} {
		if got := EntityKey(tt.in); got != tt.want {
			t.Errorf("EntityKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// mentions returns the extraction's mentions as "key/kind×count", sorted.
func mentions(x Extraction) map[string]string {
	out := map[string]string{}
	for _, m := range x.Mentions {
		out[m.Key] = fmt.Sprintf("%s×%d", m.Kind, m.Count)
	}
	return out
}

func hasRelation(x Extraction, from, to, kind string) bool {
	for _, r := range x.Relations {
		if r.From == from && r.To == to && r.Kind == kind {
			return true
		}
	}
	return false
}

func TestExtractRules(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		want       map[string]string // key → kind×count that must be present
		absent     []string          // keys that must not be
		rels       [][3]string       // from, to, kind
	}{
		{
			name: "English names and acronyms",
			text: "Andrej Karpathy trained GPT-4 class models with MoE layers. Karpathy says the Mixture of Experts is a trick. " +
				"However, the results were mixed. Patients and patients alike. See https://example.com/Some/PATH for IL-6.",
			want:   map[string]string{"andrej karpathy": "name×1", "karpathy": "name×1", "gpt 4": "acronym×1", "moe": "acronym×1", "mixture of experts": "name×1", "il 6": "acronym×1"},
			absent: []string{"however", "patients", "some", "path", "https", "example com"},
			rels:   [][3]string{{"mixture of experts", "trick", RelIsA}},
		},
		{
			name:   "marked terms",
			text:   "Use `rm -rf` with care; the **reward hacking** problem and the \"Bitter Lesson\" essay. The trick, the trick.",
			want:   map[string]string{"rm rf": "code×1", "reward hacking": "term×1", "bitter lesson": "quote×1", "trick": "noun×2"},
			absent: []string{"care"},
		},
		{
			name: "Korean nouns, compounds and patterns",
			text: "## 통제\n\n보상 해킹은 통제의 문제이다. 우리는 보상 해킹을 막으려고 통제를 강화합니다. Karpathy가 말했습니다. 탈로스의 신화는 오래되었다. 탈로스는 안드로이드이다.",
			want: map[string]string{"통제": "noun×3", "보상 해킹": "noun×2", "해킹": "noun×2", "karpathy": "name×1", "탈로스": "noun×2"},
			// 우리 is a pronoun, 강화합니다 a verb, 말했습니다 a verb.
			absent: []string{"우리", "강화합니", "말했습니", "강화", "karpathy가"},
			rels:   [][3]string{{"문제", "통제", RelOf}, {"탈로스", "안드로이드", RelIsA}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := ExtractRules(tt.text)
			got := mentions(x)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("mention %q = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%q should not be an entity (all: %v)", k, got)
				}
			}
			for _, r := range tt.rels {
				if _, ok := got[r[0]]; !ok {
					got[r[0]] = "" // the pattern needs both ends; say which is missing
				}
				if !hasRelation(x, r[0], r[1], r[2]) {
					t.Errorf("no relation %s -%s-> %s among %+v", r[0], r[2], r[1], x.Relations)
				}
			}
			checkExtraction(t, x)
		})
	}
}

// checkExtraction checks the invariants the stores rely on.
func checkExtraction(t testing.TB, x Extraction) {
	t.Helper()
	keys := map[string]bool{}
	if len(x.Mentions) > maxMentions {
		t.Errorf("%d mentions, more than %d", len(x.Mentions), maxMentions)
	}
	for _, m := range x.Mentions {
		if m.Key == "" || keys[m.Key] || m.Count < 1 || m.Name == "" || !utf8.ValidString(m.Key) || KindRank(m.Kind) > 5 {
			t.Errorf("bad mention %+v", m)
		}
		keys[m.Key] = true
	}
	seen := map[[3]string]bool{}
	for _, r := range x.Relations {
		id := [3]string{r.From, r.To, r.Kind}
		if !keys[r.From] || !keys[r.To] || r.From == r.To || seen[id] || r.Weight <= 0 || r.Kind == RelCooccurs && r.From > r.To {
			t.Errorf("bad relation %+v", r)
		}
		seen[id] = true
	}
}

func TestExtractCooccurrence(t *testing.T) {
	x := ExtractRules("Alan Turing met Grace Hopper. Much later, Ada Lovelace.\n")
	want := map[[2]string]float64{{"alan turing", "grace hopper"}: 2, {"ada lovelace", "alan turing"}: 1, {"ada lovelace", "grace hopper"}: 1}
	got := map[[2]string]float64{}
	for _, r := range x.Relations {
		if r.Kind == RelCooccurs {
			got[[2]string{r.From, r.To}] = r.Weight
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("co-occurrences %v, want %v (2 within a sentence)", got, want)
	}
	// A long chunk links only its strongest entities pairwise.
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "Item%d Alpha%c meets. ", i, 'A'+i%26)
	}
	x = ExtractRules(b.String())
	checkExtraction(t, x)
	co := 0
	for _, r := range x.Relations {
		if r.Kind == RelCooccurs {
			co++
		}
	}
	if len(x.Mentions) != maxMentions || co != maxCooccur*(maxCooccur-1)/2 {
		t.Errorf("%d mentions and %d co-occurrences, want %d and %d", len(x.Mentions), co, maxMentions, maxCooccur*(maxCooccur-1)/2)
	}
}

func TestQueryEntities(t *testing.T) {
	cands, content := QueryEntities("Richard Sutton의 Bitter Lesson과 the compute")
	var keys []string
	for _, c := range cands {
		keys = append(keys, c.Key)
	}
	for _, want := range []string{"richard", "richard sutton", "sutton", "bitter lesson", "compute", "sutton bitter lesson"} {
		if !contains(keys, want) {
			t.Errorf("QueryEntities: no %q in %q", want, keys)
		}
	}
	for _, bad := range []string{"the", "the compute", "의"} {
		if contains(keys, bad) {
			t.Errorf("QueryEntities: %q should not be a candidate (%q)", bad, keys)
		}
	}
	if content != 5 {
		t.Errorf("content words = %d, want 5", content)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestRankMentions(t *testing.T) {
	rows := []MentionRow{{"a", 1, 1}, {"b", 1, 1}, {"a", 2, 3}, {"c", 3, 5}, {"z", 4, 1}}
	got := RankMentions(rows, map[string]float64{"a": 1, "b": 1, "c": -1}, 10)
	want := []RankedChunk{{2, 1 + math.Log(3), []string{"a"}}, {1, 2, []string{"a", "b"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RankMentions = %+v, want %+v", got, want)
	}
	if got := RankMentions(rows, map[string]float64{"a": 1}, 1); len(got) != 1 || got[0].Chunk != 2 {
		t.Errorf("RankMentions with k 1 = %+v", got)
	}
}

// fakeGraph is an in-memory GraphSearcher over hand-written mentions and relations.
type fakeGraph struct {
	mentions  []MentionRow
	relations []Relation
	chunks    map[int64]string
}

func (f *fakeGraph) Entities(_ context.Context, keys []string) ([]Entity, error) {
	var out []Entity
	for _, k := range keys {
		n := 0
		for _, m := range f.mentions {
			if m.Key == k {
				n++
			}
		}
		if n > 0 {
			out = append(out, Entity{Key: k, Name: k, Kind: KindName, Chunks: n})
		}
	}
	return out, nil
}

func (f *fakeGraph) Edges(_ context.Context, keys []string, perKey int) ([]Edge, error) {
	seen := map[[3]string]bool{}
	var out []Edge
	for _, k := range keys {
		var es []Edge
		for _, r := range f.relations {
			if (r.From == k || r.To == k) && !seen[[3]string{r.From, r.To, r.Kind}] {
				es = append(es, Edge{From: r.From, To: r.To, Kind: r.Kind, Weight: r.Weight, Chunks: 1})
			}
		}
		SortEdges(es)
		for _, e := range es[:min(perKey, len(es))] {
			seen[[3]string{e.From, e.To, e.Kind}] = true
			out = append(out, e)
		}
	}
	SortEdges(out)
	return out, nil
}

func (f *fakeGraph) MentionHits(_ context.Context, weights map[string]float64, k int) ([]GraphHit, error) {
	var out []GraphHit
	for _, r := range RankMentions(f.mentions, weights, k) {
		out = append(out, GraphHit{Hit: Hit{Chunk: Chunk{ID: r.Chunk, Text: f.chunks[r.Chunk]}, Score: r.Score, Method: "graph"}, Keys: r.Keys})
	}
	return out, nil
}

func TestSearchGraphWalks(t *testing.T) {
	// turing is linked to enigma, enigma to bletchley; chunk 1 mentions turing, 2 enigma, 3
	// bletchley, 4 an unrelated entity.
	g := &fakeGraph{
		mentions: []MentionRow{{"turing", 1, 1}, {"enigma", 2, 1}, {"bletchley", 3, 1}, {"cobol", 4, 1}},
		relations: []Relation{
			{From: "enigma", To: "turing", Kind: RelCooccurs, Weight: 2},
			{From: "bletchley", To: "enigma", Kind: RelCooccurs, Weight: 1},
		},
		chunks: map[int64]string{1: "one", 2: "two", 3: "three", 4: "four"},
	}
	ids := func(hits []Hit) []int64 {
		var out []int64
		for _, h := range hits {
			out = append(out, h.Chunk.ID)
		}
		return out
	}
	ctx := context.Background()
	for _, tt := range []struct {
		walk string
		want []int64
	}{
		{WalkNone, []int64{1}},
		{WalkNeighbours, []int64{1, 2}},
		{WalkPPR, []int64{1, 2, 3}},
	} {
		hits, err := SearchGraph(ctx, g, "what did Turing do", GraphOptions{Walk: tt.walk})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(hits); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("walk %s: chunks %v, want %v", tt.walk, got, tt.want)
		}
		// Only the chunk that mentions the query's entity covers the query: "turing" of
		// "what did turing do" (what, did and do are common words).
		if hits[0].Coverage != 1 || len(hits) > 1 && hits[1].Coverage != 0 {
			t.Errorf("walk %s: coverages %v", tt.walk, hits)
		}
	}
	if hits, err := SearchGraph(ctx, g, "nothing known here", GraphOptions{}); err != nil || hits != nil {
		t.Errorf("unknown entities: %v %v", hits, err)
	}
}

func TestGraphInSearch(t *testing.T) {
	// withGraph blends into the last list the graph hits another list found or that cover enough of
	// the query.
	g := &graphStore{fakeGraph: fakeGraph{
		mentions:  []MentionRow{{"turing", 1, 1}, {"enigma", 2, 1}},
		relations: []Relation{{From: "enigma", To: "turing", Kind: RelCooccurs, Weight: 1}},
		chunks:    map[int64]string{1: "one", 2: "two"},
	}}
	ctx := context.Background()
	opts := SearchOptions{MinCoverage: 0.25, GraphWalk: WalkNeighbours, GraphWeight: 1}
	exact := []Hit{{Chunk: Chunk{ID: 9}, Coverage: 1, Method: "exact"}}
	lists, err := withGraph(ctx, g, "Turing machines", opts, [][]Hit{exact, nil})
	if err != nil || len(lists) != 2 || len(lists[1]) != 1 || lists[1][0].Chunk.ID != 1 || lists[1][0].Method != "graph" || !reflect.DeepEqual(lists[0], exact) {
		t.Fatalf("lists %+v %v: want the exact list, then chunk 1 alone (chunk 2 covers nothing and no list has it)", lists, err)
	}
	text := []Hit{{Chunk: Chunk{ID: 5}, Score: 8, Coverage: 1, Method: "text"}, {Chunk: Chunk{ID: 2}, Score: 6, Coverage: 0.5, Method: "text"}}
	lists, _ = withGraph(ctx, g, "Turing machines", opts, [][]Hit{text})
	var ids []int64
	for _, h := range lists[0] {
		ids = append(ids, h.Chunk.ID)
	}
	// Chunk 2 (0.75 + its graph score 1) overtakes chunk 5 (1); chunk 1, the graph's other best
	// (1), ties with chunk 5 and comes first by id.
	if !reflect.DeepEqual(ids, []int64{2, 1, 5}) || lists[0][0].Method != "text" || lists[0][0].Coverage != 0.5 {
		t.Errorf("blended list %+v", lists[0])
	}
	for _, o := range []SearchOptions{{GraphWeight: -1}, {GraphWeight: 0}} {
		if DefaultGraphWeight > 0 && o.GraphWeight == 0 {
			continue
		}
		if lists, _ := withGraph(ctx, g, "Turing machines", o, [][]Hit{text}); !reflect.DeepEqual(lists, [][]Hit{text}) {
			t.Errorf("weight %v: the graph is not left out: %+v", o.GraphWeight, lists)
		}
	}
}

func TestBlendGraph(t *testing.T) {
	text := []Hit{{Chunk: Chunk{ID: 1}, Score: 10, Method: "text"}, {Chunk: Chunk{ID: 2}, Score: 9, Method: "text"}}
	graph := []Hit{{Chunk: Chunk{ID: 2}, Score: 4, Method: "graph"}, {Chunk: Chunk{ID: 3}, Score: 2, Method: "graph"}}
	got := BlendGraph(text, graph, 0.5)
	want := []Hit{
		{Chunk: Chunk{ID: 2}, Score: 0.9 + 0.5, Method: "text"},
		{Chunk: Chunk{ID: 1}, Score: 1, Method: "text"},
		{Chunk: Chunk{ID: 3}, Score: 0.25, Method: "graph"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BlendGraph = %+v, want %+v", got, want)
	}
	if got := BlendGraph(nil, graph, 0.5); len(got) != 2 || got[0].Chunk.ID != 2 {
		t.Errorf("BlendGraph without text = %+v", got)
	}
}

// graphStore is a Store that only has a graph.
type graphStore struct{ fakeGraph }

func (*graphStore) Source(context.Context, string) (Source, error)    { return Source{}, ErrNotFound }
func (*graphStore) Replace(context.Context, Source, []Chunk) error    { return nil }
func (*graphStore) RemoveSource(context.Context, string) (int, error) { return 0, nil }
func (*graphStore) Close() error                                      { return nil }

func FuzzExtractRules(f *testing.F) {
	for _, s := range []string{
		"Andrej Karpathy는 LLM이다. `rm -rf` **보상 해킹** \"Bitter Lesson\"",
		"# 통제\n\n통제를 통제의 통제가 X of Y is a Z",
		"*", "**", "``", "\"\"", "Ａ Ｂ", "\x00\xff", "e.g. i.e. U.S.A. C++ F# .NET",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		x := ExtractRules(text)
		checkExtraction(t, x)
		y, err := ExtractGraph(context.Background(), nil, text)
		if err != nil {
			t.Fatal(err)
		}
		checkExtraction(t, y)
		for _, m := range y.Mentions {
			if len(m.Key) > maxKeyBytes {
				t.Errorf("key of %d bytes", len(m.Key))
			}
		}
		sort.Slice(x.Mentions, func(i, j int) bool { return x.Mentions[i].Key < x.Mentions[j].Key })
	})
}
