package memory

import (
	"context"
	"reflect"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

func hit(id int64, cov float64) Hit { return Hit{Chunk: Chunk{ID: id}, Coverage: cov} }

func ids(hits []Hit) []int64 {
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.Chunk.ID
	}
	return out
}

func TestFuse(t *testing.T) {
	exact := []Hit{hit(3, 1), hit(9, 1)}
	text := []Hit{hit(1, 0.9), hit(3, 0.8), hit(5, 0.6), hit(7, 0.1)}
	got := Fuse([][]Hit{exact, text}, SearchOptions{K: 10})
	// 3 is in both lists; 7 fails the gate (coverage 0.1 < 0.3).
	if want := []int64{3, 1, 9, 5}; !reflect.DeepEqual(ids(got), want) {
		t.Errorf("fused %v, want %v", ids(got), want)
	}
	if got[0].Method != "fused" || got[0].Score <= got[1].Score || got[0].Coverage != 1 {
		t.Errorf("top hit %+v", got[0])
	}
	if got := Fuse([][]Hit{text}, SearchOptions{K: 2}); !reflect.DeepEqual(ids(got), []int64{1, 3}) {
		t.Errorf("k=2: %v", ids(got))
	}
	// Only weak hits: nothing rather than junk.
	if got := Fuse([][]Hit{{hit(1, 0.2), hit(2, 0.05)}}, SearchOptions{}); len(got) != 0 {
		t.Errorf("weak hits passed the gate: %v", ids(got))
	}
	// A negative gate disables it.
	if got := Fuse([][]Hit{{hit(1, 0.2)}}, SearchOptions{MinCoverage: -1}); len(got) != 1 {
		t.Errorf("disabled gate: %v", ids(got))
	}
}

func TestExactPhrases(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`what did he say about "summoning ghosts" in the video`, []string{"summoning ghosts"}},
		{"how does GPT-4 compare with MoE models in general use", []string{"GPT-4", "MoE"}},
		{"Andrej Karpathy", []string{"Andrej Karpathy"}},
		{"set max_tokens to 100 please now", []string{"max_tokens", "100"}},
		{"a long question without names at all here", nil},
		{"ghosts", nil},
		{"GPT-4", []string{"GPT-4"}},
		{"“유령을 소환”이라는 표현", []string{"유령을 소환", "“유령을 소환”이라는 표현"}},
	}
	for _, tt := range tests {
		if got := ExactPhrases(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExactPhrases(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// searchStore is a Store with scripted retrievers.
type searchStore struct {
	*mapStore
	exact func(phrase string) []Hit
	text  func(query string) []Hit
}

func (s searchStore) LookupExact(_ context.Context, phrase string, k int) ([]Hit, error) {
	return s.exact(phrase), nil
}

func (s searchStore) SearchText(_ context.Context, query string, k int) ([]Hit, error) {
	return s.text(query), nil
}

func TestSearch(t *testing.T) {
	var phrases []string
	st := searchStore{newMapStore(),
		func(p string) []Hit { phrases = append(phrases, p); return []Hit{hit(42, 1)} },
		func(string) []Hit { return []Hit{hit(1, 0.5), hit(42, 0.9)} }}
	got, err := Search(context.Background(), st, `the "exact words" here and there too`, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(got), []int64{42, 1}) || !reflect.DeepEqual(phrases, []string{"exact words"}) {
		t.Errorf("hits %v, phrases %q", ids(got), phrases)
	}
	if _, err := Search(context.Background(), st, "  ", SearchOptions{}); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("empty query: %v", err)
	}
	if _, err := Search(context.Background(), newMapStore(), "q", SearchOptions{}); fault.CodeOf(err) != fault.Unsupported {
		t.Errorf("store without search: %v", err)
	}
}
