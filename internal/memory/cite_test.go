package memory

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/testenv"
)

func TestSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Dr. Smith went home. He slept [1]. Then he woke. [2] Done",
			[]string{"Dr. Smith went home.", "He slept [1].", "Then he woke. [2]", "Done"}},
		{"Pi is about 3.14. Version 1.2.3 is out! Is it? Yes.",
			[]string{"Pi is about 3.14.", "Version 1.2.3 is out!", "Is it?", "Yes."}},
		{"J. R. R. Tolkien wrote it, e.g. in 1937. Next.", []string{"J. R. R. Tolkien wrote it, e.g. in 1937.", "Next."}},
		{`He said "stop." Then he left.`, []string{`He said "stop."`, "Then he left."}},
		{"It rains.[1][2] It pours [3].", []string{"It rains.[1][2]", "It pours [3]."}},
		{"# Heading\n- first item [1]\n- second item\n  continues here [2]\n\nA paragraph\nwrapped over lines.",
			[]string{"Heading", "first item [1]", "second item continues here [2]", "A paragraph wrapped over lines."}},
		{"1. One thing. Two things.\n2) Three", []string{"One thing.", "Two things.", "Three"}},
		{"우리는 통제를 잃어가고 있습니다! 유튜브에서 영상을 봤습니다. 다음",
			[]string{"우리는 통제를 잃어가고 있습니다!", "유튜브에서 영상을 봤습니다.", "다음"}},
		{"人工知能です。研究します。", []string{"人工知能です。", "研究します。"}},
		{"| a | b |\n|---|---|\n| 1 | 2 |", []string{"a | b", "1 | 2"}},
		{"", nil},
		{"  \n\n ", nil},
	}
	for _, tt := range tests {
		if got := Sentences(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Sentences(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCitations(t *testing.T) {
	tests := []struct {
		in    string
		cites []int
		bad   []string
		rest  string
	}{
		{"A [1].", []int{1}, nil, "A  ."},
		{"A [2][3] and [3].", []int{2, 3}, nil, "A    and  ."},
		{"A [1, 3; 4].", []int{1, 3, 4}, nil, "A  ."},
		{"A [2-4] [^5].", []int{2, 3, 4, 5}, nil, "A    ."},
		{"A [4-2] [1-1000] [99999999999999999999].", nil, []string{"[4-2]", "[1-1000]", "[99999999999999999999]"}, "A      ."},
		{"No markers [a] [] [1.5].", nil, nil, "No markers [a] [] [1.5]."},
	}
	for _, tt := range tests {
		cites, bad, rest := parseCitations(tt.in)
		if !reflect.DeepEqual(cites, tt.cites) || !reflect.DeepEqual(bad, tt.bad) || rest != tt.rest {
			t.Errorf("parseCitations(%q) = %v, %q, %q; want %v, %q, %q", tt.in, cites, bad, rest, tt.cites, tt.bad, tt.rest)
		}
	}
}

var citeSources = []string{
	"The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres tall and was the tallest structure in the world until 1930.",
	"Mount Everest is the highest mountain on Earth, at 8,849 metres above sea level, on the border of Nepal and China.",
}

type citeCase struct {
	name    string
	answer  string
	verdict Verdict
	reason  string // a substring of the reason
}

func runCiteCases(t *testing.T, sources []string, cases []citeCase) {
	t.Helper()
	for _, tc := range cases {
		r := CheckCitations(tc.answer, sources, CheckOptions{})
		if len(r.Sentences) != 1 {
			t.Errorf("%s: %d sentences, want 1: %+v", tc.name, len(r.Sentences), r.Sentences)
			continue
		}
		s := r.Sentences[0]
		if s.Verdict != tc.verdict || !strings.Contains(s.Reason, tc.reason) {
			t.Errorf("%s: %q → %s (%q, score %.2f), want %s with %q", tc.name, tc.answer, s.Verdict, s.Reason, s.Score, tc.verdict, tc.reason)
		}
		if s.Supported != (s.Verdict == Supported) {
			t.Errorf("%s: Supported %v with verdict %s", tc.name, s.Supported, s.Verdict)
		}
		if s.Score < 0 || s.Score > 1 {
			t.Errorf("%s: score %v outside [0, 1]", tc.name, s.Score)
		}
	}
}

func TestCheckCitations(t *testing.T) {
	runCiteCases(t, citeSources, []citeCase{
		{"copied", "The Eiffel Tower was completed in 1889 for the World's Fair in Paris [1].", Supported, "word for word"},
		{"copied, marker after the period", "It is 330 metres tall. [1]", Supported, "word for word"},
		{"paraphrase", "Completed in 1889, the Eiffel Tower is 330 metres tall [1].", Supported, "% of its words"},
		{"two sources combined", "The Eiffel Tower is 330 metres tall, while Mount Everest is 8,849 metres above sea level [1][2].", Supported, ""},
		{"two sources, list form", "The Eiffel Tower is 330 metres tall, while Mount Everest is 8,849 metres above sea level [1, 2].", Supported, ""},
		{"range form", "The Eiffel Tower is 330 metres tall, while Mount Everest is 8,849 metres above sea level [1-2].", Supported, ""},
		{"the wrong source", "The Eiffel Tower was completed in 1889 for the World's Fair in Paris [2].", Unsupported, "not in source [2]"},
		{"a source that says something else", "The Eiffel Tower is the highest mountain on Earth [2].", Unsupported, "eiffel, tower not in source [2]"},
		{"a changed number", "The Eiffel Tower was completed in 1901 for the World's Fair in Paris [1].", Unsupported, "1901 not in source [1]"},
		{"a changed name", "The Eiffel Tower was completed in 1889 for the World's Fair in Rome [1].", Unsupported, "rome not in source [1]"},
		{"only one of two sources supports", "Mount Everest is on the border of Nepal and China [1].", Unsupported, "nepal, china not in source [1]"},
		{"an unrelated sentence", "Bananas are rich in potassium and grow in tropical climates [1].", Unsupported, "only 0%"},
		{"an unrelated name", "Bananas from Ecuador are rich in potassium [1].", Unsupported, "ecuador not in source [1]"},
		{"a fabricated quote", `The source says the tower was "painted gold every single year" [1].`, Unsupported, `quotation "painted gold every single year"`},
		{"a real quote", `The source calls it "the tallest structure in the world" until 1930 [1].`, Supported, ""},
		{"out of range", "The Eiffel Tower was completed in 1889 for the World's Fair in Paris [3].", BadCitation, "cites [3] but there are 2 sources"},
		{"zero", "The Eiffel Tower was completed in 1889 [0].", BadCitation, "cites [0]"},
		{"one good one bad", "The Eiffel Tower was completed in 1889 [1][7].", BadCitation, "[7]"},
		{"an unreadable number", "The Eiffel Tower was completed in 1889 [123456789012345678901234].", BadCitation, "[123456789012345678901234]"},
		{"a reversed range", "The Eiffel Tower was completed in 1889 [2-1].", BadCitation, "[2-1]"},
		{"markers only", "[1]", Unsupported, "nothing but citation markers"},
		{"uncited claim", "The Eiffel Tower was completed in 1889 for the World's Fair.", Uncited, "without a citation"},
		{"uncited short claim with a number", "It opened in 1889.", Uncited, ""},
		{"connective", "Here is what I found:", NoClaim, "no factual content"},
		{"short", "In short, yes.", NoClaim, ""},
		{"praise", "That's a great question!", NoClaim, ""},
		{"a short claim", "It is painted gold.", Uncited, ""},
		{"question", "Would you like to know more about the history of the tower?", NoClaim, "a question"},
		{"decline", "The sources do not contain the date on which the tower was painted.", NoClaim, "do not answer"},
	})
}

// TestCheckCitationsKorean uses a passage of the Korean seed corpus as the source: particles and
// endings that differ between the answer and the source must not defeat the check.
func TestCheckCitationsKorean(t *testing.T) {
	data, err := os.ReadFile(testenv.Shared(t, "corpus", "seeds", "000_6951204db945611d.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "먼저 뇌의 용량")
	end := strings.Index(text, "데이터 학습 방식도")
	if start < 0 || end < start {
		t.Fatalf("the seed essay has changed: the passage about the brain's capacity is not found")
	}
	sources := []string{text[start:end], citeSources[0]}
	runCiteCases(t, sources, []citeCase{
		{"copied", "인간의 뇌가 100T(100조) 시냅스 규모라는 점을 고려하면, 어쩌면 우리에게도 정말 그 정도의 거대 모델이 필요할지도 모릅니다 [1].", Supported, "word for word"},
		{"other particles", "인간의 뇌는 100T 시냅스 규모입니다 [1].", Supported, "% of its words"},
		{"paraphrase with particles", "사실 파악은 검색이나 벡터 DB에 맡기고 모델은 사고만 담당하게 할 수 있습니다 [1].", Supported, ""},
		{"a changed number", "인간의 뇌는 500T 시냅스 규모입니다 [1].", Unsupported, "500t not in source [1]"},
		{"a source that says something else", "인간의 뇌는 100T 시냅스 규모입니다 [2].", Unsupported, "not in source [2]"},
		{"an unrelated claim", "한국의 수도는 서울이며 인구는 천만 명에 가깝습니다 [1].", Unsupported, "only"},
		{"a fabricated quote", "글쓴이는 「모델은 클수록 항상 좋다」라고 말합니다 [1].", Unsupported, "quotation"},
		{"out of range", "인간의 뇌는 100T 시냅스 규모입니다 [5].", BadCitation, "[5]"},
		{"uncited claim", "인간의 뇌는 백조 개의 시냅스를 가지고 있다고 합니다.", Uncited, ""},
		{"connective", "네, 맞습니다.", NoClaim, ""},
		{"decline", "그 내용은 출처에 없습니다.", NoClaim, "do not answer"},
	})
}

func TestCheckReport(t *testing.T) {
	answer := "Here is what I found. The Eiffel Tower was completed in 1889 [1]. It is 330 metres tall [3]. " +
		"Mount Everest is 9,000 metres high [2]. It is the most visited monument in the world."
	r := CheckCitations(answer, citeSources, CheckOptions{})
	var verdicts []Verdict
	for _, s := range r.Sentences {
		verdicts = append(verdicts, s.Verdict)
	}
	want := []Verdict{NoClaim, Supported, BadCitation, Unsupported, Uncited}
	if !reflect.DeepEqual(verdicts, want) {
		t.Fatalf("verdicts %v, want %v (%+v)", verdicts, want, r.Sentences)
	}
	if r.Claims != 4 || r.Supported != 1 || r.BadCitations != 1 || r.Unsupported != 1 || r.Uncited != 1 || r.OK() {
		t.Errorf("summary %+v, OK %v", r, r.OK())
	}
	if f := r.Flagged(); len(f) != 3 || f[0].Verdict != BadCitation {
		t.Errorf("Flagged() = %+v", f)
	}
	good := CheckCitations("The Eiffel Tower was completed in 1889 [1]. That is all.", citeSources, CheckOptions{})
	if !good.OK() || good.Claims != 1 || len(good.Flagged()) != 0 {
		t.Errorf("a good answer: %+v", good)
	}
	if r := CheckCitations("", citeSources, CheckOptions{}); len(r.Sentences) != 0 || !r.OK() {
		t.Errorf("empty answer: %+v", r)
	}
	// Without sources every citation is out of range.
	if r := CheckCitations("The tower was completed in 1889 [1].", nil, CheckOptions{}); r.BadCitations != 1 {
		t.Errorf("no sources: %+v", r)
	}
}

func TestCheckOptions(t *testing.T) {
	answer := "Completed in 1889, the Eiffel Tower is 330 metres tall [1]."
	loose := CheckCitations(answer, citeSources, CheckOptions{})
	if loose.Supported != 1 {
		t.Fatalf("default threshold: %+v", loose.Sentences)
	}
	strict := CheckCitations(answer, citeSources, CheckOptions{MinSupport: 0.99})
	if strict.Unsupported != 1 || strict.Sentences[0].Score != loose.Sentences[0].Score {
		t.Errorf("threshold 0.99: %+v", strict.Sentences)
	}
	claim := "The tower is tall."
	if r := CheckCitations(claim, citeSources, CheckOptions{}); r.Sentences[0].Verdict != Uncited {
		t.Errorf("%q with the default claim size: %+v", claim, r.Sentences)
	}
	if r := CheckCitations(claim, citeSources, CheckOptions{MinClaimWords: 3}); r.Sentences[0].Verdict != NoClaim {
		t.Errorf("%q with MinClaimWords 3: %+v", claim, r.Sentences)
	}
}

func FuzzCheckCitations(f *testing.F) {
	f.Add("The Eiffel Tower was completed in 1889 [1]. It is tall [2][9].", "tower 1889")
	f.Add("인간의 뇌는 100T 시냅스 규모입니다 [1-3]. 「인용」 [^2]", "뇌가 100T")
	f.Add("\"unclosed [1, [2-] [-1] [1;;2] …。！", "")
	f.Fuzz(func(t *testing.T, answer, source string) {
		r := CheckCitations(answer, []string{source, source + " more"}, CheckOptions{})
		n := 0
		for _, s := range r.Sentences {
			if s.Supported != (s.Verdict == Supported) || s.Score < 0 || s.Score > 1 || s.Reason == "" {
				t.Fatalf("bad sentence check %+v", s)
			}
			if s.Verdict != NoClaim {
				n++
			}
		}
		if n != r.Claims || r.Supported+r.Unsupported+r.BadCitations+r.Uncited != r.Claims {
			t.Fatalf("summary does not add up: %+v", r)
		}
	})
}
