package memorytest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/memory"
)

// testFacts checks remembered facts (memory.FactStore): validation, provenance, supersession,
// validity, exact and full-text lookup, their place in memory.Search, and concurrent appends.
func testFacts(t *testing.T, s full) {
	fs, ok := s.(memory.FactStore)
	if !ok {
		t.Fatalf("%T does not keep remembered facts (memory.FactStore)", s)
	}
	ctx := context.Background()

	// Refused facts, each with fault.Invalid naming the field.
	huge := strings.Repeat("word ", memory.MaxFactBytes/5+1)
	for _, tt := range []struct {
		name  string
		f     memory.Fact
		param string
	}{
		{"empty", memory.Fact{Text: "  ", Agent: "a", Source: "s"}, "text"},
		{"huge", memory.Fact{Text: huge, Agent: "a", Source: "s"}, "text"},
		{"invalid UTF-8", memory.Fact{Text: "bad \xff\xfe bytes", Agent: "a", Source: "s"}, "text"},
		{"NUL", memory.Fact{Text: "nul \x00 inside", Agent: "a", Source: "s"}, "text"},
		{"punctuation only", memory.Fact{Text: "?!…", Agent: "a", Source: "s"}, "text"},
		{"no source", memory.Fact{Text: "a fact", Agent: "a"}, "source"},
		{"no agent", memory.Fact{Text: "a fact", Source: "s"}, "agent"},
		{"source with a newline", memory.Fact{Text: "a fact", Agent: "a", Source: "x\ny"}, "source"},
		{"ends before it starts", memory.Fact{Text: "a fact", Agent: "a", Source: "s",
			ValidFrom: time.Now(), ValidUntil: time.Now().Add(-time.Hour)}, "valid_until"},
		{"supersedes nothing", memory.Fact{Text: "a fact", Agent: "a", Source: "s", Supersedes: 999999}, "supersedes"},
		{"cites no chunk", memory.Fact{Text: "a fact", Agent: "a", Source: "s", Chunk: 999999}, "chunk"},
	} {
		_, err := fs.Remember(ctx, tt.f)
		if fault.CodeOf(err) != fault.Invalid || fault.ParamOf(err) != tt.param {
			t.Errorf("%s: Remember = %v (code %s, param %q), want invalid %s", tt.name, err, fault.CodeOf(err), fault.ParamOf(err), tt.param)
		}
	}
	if all, err := fs.Facts(ctx, memory.FactFilter{All: true}); err != nil || len(all) != 0 {
		t.Fatalf("refused facts were stored: %+v %v", all, err)
	}

	// A passage the facts can cite.
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "launch.md"), "# Launch\n\nThe Ghost Coin launch moved to the Seoul office.\n")
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.LookupExact(ctx, "Seoul office", 1)
	if err != nil || len(ch) != 1 {
		t.Fatalf("the passage: %v %v", ch, err)
	}

	before := time.Now().Add(-time.Second)
	f1, err := fs.Remember(ctx, memory.Fact{Text: " The launch review meets on Thursday at 10:00 in room Orca. ",
		Agent: "planner", Run: "run-1", Source: "launch.md:3", Chunk: ch[0].Chunk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if f1.ID <= 0 || f1.Text != "The launch review meets on Thursday at 10:00 in room Orca." || f1.RecordedAt.Before(before) ||
		!f1.ValidFrom.Equal(f1.RecordedAt) || !f1.ValidUntil.IsZero() || f1.Chunk != ch[0].Chunk.ID {
		t.Fatalf("remembered %+v", f1)
	}
	got, err := fs.Fact(ctx, f1.ID)
	if err != nil || !sameFact(got, f1) {
		t.Fatalf("Fact(%d) = %+v, %v; want %+v", f1.ID, got, err, f1)
	}
	if _, err := fs.Fact(ctx, f1.ID+1000); !errors.Is(err, memory.ErrNotFound) {
		t.Errorf("a missing fact: %v", err)
	}

	// A correction supersedes; the earlier fact stays, marked.
	f2, err := fs.Remember(ctx, memory.Fact{Text: "The launch review moved to Friday at 10:00 in room Orca.",
		Agent: "planner", Run: "run-2", Source: "https://calendar.example/launch", Supersedes: f1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if f2.ID <= f1.ID || f2.Supersedes != f1.ID {
		t.Fatalf("correction %+v", f2)
	}
	old, err := fs.Fact(ctx, f1.ID)
	if err != nil || old.SupersededBy != f2.ID || old.Text != f1.Text || old.Current(time.Now()) ||
		old.Status(time.Now()) != fmt.Sprintf("superseded by #%d", f2.ID) {
		t.Fatalf("the superseded fact: %+v %v", old, err)
	}
	_, err = fs.Remember(ctx, memory.Fact{Text: "A second correction of the first.", Agent: "x", Source: "s", Supersedes: f1.ID})
	if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), fmt.Sprintf("supersede #%d instead", f2.ID)) {
		t.Errorf("superseding a superseded fact: %v", err)
	}

	// An expired fact and one not valid yet.
	f3, err := fs.Remember(ctx, memory.Fact{Text: "The staging server password rotates every Monday.",
		Agent: "ops", Source: "runbook.md:12", ValidFrom: time.Now().Add(-48 * time.Hour), ValidUntil: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f4, err := fs.Remember(ctx, memory.Fact{Text: "보상 해킹 대책 회의는 다음 달부터 매주 열린다.",
		Agent: "ops", Source: "회의록.md", ValidFrom: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if st := f3.Status(time.Now()); !strings.HasPrefix(st, "expired ") {
		t.Errorf("f3 status %q", st)
	}
	ids := func(fs []memory.Fact) []int64 {
		var out []int64
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	cur, err := fs.Facts(ctx, memory.FactFilter{})
	if err != nil || fmt.Sprint(ids(cur)) != fmt.Sprint([]int64{f2.ID}) {
		t.Errorf("current facts %v %v, want [%d]", ids(cur), err, f2.ID)
	}
	all, err := fs.Facts(ctx, memory.FactFilter{All: true})
	if err != nil || fmt.Sprint(ids(all)) != fmt.Sprint([]int64{f1.ID, f2.ID, f3.ID, f4.ID}) {
		t.Errorf("all facts %v %v", ids(all), err)
	}
	if last, err := fs.Facts(ctx, memory.FactFilter{All: true, Limit: 2}); err != nil || fmt.Sprint(ids(last)) != fmt.Sprint([]int64{f3.ID, f4.ID}) {
		t.Errorf("the last two facts %v %v", ids(last), err)
	}
	// Judged at another time, other facts are current.
	if then, err := fs.Facts(ctx, memory.FactFilter{At: time.Now().Add(-2 * time.Hour)}); err != nil || !containsID(ids(then), f3.ID) {
		t.Errorf("facts current two hours ago %v %v", ids(then), err)
	}
	if later, err := fs.Facts(ctx, memory.FactFilter{At: time.Now().Add(48 * time.Hour)}); err != nil || !containsID(ids(later), f4.ID) {
		t.Errorf("facts current in two days %v %v", ids(later), err)
	}

	// Exact lookup and full text, current facts unless All.
	for _, tt := range []struct {
		phrase string
		filter memory.FactFilter
		want   []int64
	}{
		{"room Orca", memory.FactFilter{}, []int64{f2.ID}},
		{"room Orca", memory.FactFilter{All: true}, []int64{f1.ID, f2.ID}},
		{"meets on Thursday at 10:00 in room", memory.FactFilter{All: true}, []int64{f1.ID}},
		{"Orca room", memory.FactFilter{All: true}, nil},
		{"password rotates", memory.FactFilter{}, nil},
		{"password rotates", memory.FactFilter{All: true}, []int64{f3.ID}},
		{"보상 해킹", memory.FactFilter{All: true}, []int64{f4.ID}},
		{"", memory.FactFilter{All: true}, nil},
	} {
		hits, err := fs.LookupFacts(ctx, tt.phrase, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := factIDs(hits); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("LookupFacts(%q, all %v) = %v, want %v", tt.phrase, tt.filter.All, got, tt.want)
		}
		for _, h := range hits {
			if h.Method != "exact" || h.Coverage != 1 || h.Fact == nil || h.Chunk.Text != h.Fact.Text {
				t.Errorf("exact fact hit %+v", h)
			}
		}
	}
	hits, err := fs.SearchFacts(ctx, "when does the launch review meet", memory.FactFilter{All: true})
	if err != nil || len(hits) != 2 || hits[0].Method != "text" || hits[0].Coverage <= 0 {
		t.Fatalf("SearchFacts: %v %v", factIDs(hits), err)
	}
	if hits, err := fs.SearchFacts(ctx, "회의는 언제", memory.FactFilter{All: true}); err != nil || fmt.Sprint(factIDs(hits)) != fmt.Sprint([]int64{f4.ID}) {
		t.Errorf("Korean SearchFacts: %v %v", factIDs(hits), err)
	}
	if hits, err := fs.SearchFacts(ctx, "password", memory.FactFilter{}); err != nil || len(hits) != 0 {
		t.Errorf("an expired fact was searched: %v %v", factIDs(hits), err)
	}

	// memory.Search returns facts among passages, with their provenance.
	res, err := memory.Search(ctx, s, "launch review room Orca", memory.SearchOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	var fact *memory.Hit
	for i := range res {
		if res[i].Fact != nil {
			if fact != nil {
				t.Errorf("Search returned two facts: %v", factIDs(res))
			}
			fact = &res[i]
		}
	}
	if fact == nil || fact.Method != "fact" || fact.Fact.ID != f2.ID || fact.Fact.Agent != "planner" || fact.Fact.Run != "run-2" ||
		fact.Fact.Source != "https://calendar.example/launch" || fact.Chunk.Source != fmt.Sprintf("fact #%d", f2.ID) {
		t.Fatalf("Search: the fact hit %+v among %q", fact, ChunkIDs(res))
	}
	res, err = memory.Search(ctx, s, `"password rotates"`, memory.SearchOptions{K: 5})
	if err != nil || len(res) != 0 {
		t.Errorf("Search found an expired fact: %+v %v", res, err)
	}
	res, err = memory.Search(ctx, s, `"password rotates"`, memory.SearchOptions{K: 5, IncludeExpired: true})
	if err != nil || len(res) != 1 || res[0].Fact == nil || res[0].Fact.ID != f3.ID || !res[0].Fact.Expired(time.Now()) {
		t.Errorf("Search with expired facts: %+v %v", res, err)
	}

	// Re-ingesting the cited file leaves the fact and its provenance alone.
	WriteFile(t, filepath.Join(dir, "launch.md"), "# Launch\n\nThe launch moved again.\n")
	if _, err := memory.Ingest(ctx, s, []string{dir}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveSource(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if got, err := fs.Fact(ctx, f1.ID); err != nil || !sameFact(got, old) {
		t.Errorf("the fact after its source went: %+v %v", got, err)
	}
	check(t, s)

	// Concurrent appends get distinct ids, and of two corrections of one fact exactly one wins.
	var wg sync.WaitGroup
	const n = 8
	got2 := make([]memory.Fact, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := memory.Fact{Text: fmt.Sprintf("Concurrent fact number %d.", i), Agent: fmt.Sprintf("agent%d", i), Source: "test"}
			if i < 2 {
				f.Supersedes = f2.ID
			}
			got2[i], errs[i] = fs.Remember(ctx, f)
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	wins := 0
	for i := range n {
		if i < 2 {
			if errs[i] == nil {
				wins++
			} else if fault.CodeOf(errs[i]) != fault.Invalid {
				t.Errorf("a losing correction: %v", errs[i])
			}
		} else if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if errs[i] == nil {
			if seen[got2[i].ID] {
				t.Errorf("id %d given twice", got2[i].ID)
			}
			seen[got2[i].ID] = true
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent corrections of fact #%d succeeded, want 1", wins, f2.ID)
	}
}

// sameFact compares facts, times by instant.
func sameFact(a, b memory.Fact) bool {
	return a.ID == b.ID && a.Text == b.Text && a.Agent == b.Agent && a.Run == b.Run && a.Source == b.Source &&
		a.Chunk == b.Chunk && a.RecordedAt.Equal(b.RecordedAt) && a.ValidFrom.Equal(b.ValidFrom) &&
		a.ValidUntil.Equal(b.ValidUntil) && a.Supersedes == b.Supersedes && a.SupersededBy == b.SupersededBy
}

func factIDs(hits []memory.Hit) []int64 {
	var out []int64
	for _, h := range hits {
		if h.Fact != nil {
			out = append(out, h.Fact.ID)
		}
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
