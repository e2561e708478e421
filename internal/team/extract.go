package team

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Extract names how an answer is pulled out of a member's reply before votes are counted.
type Extract string

// The extractors.
const (
	// ExtractNumber takes the number after the last "answer is", "answer:" or "####", else the last
	// number in the reply. "1,234", "$5", "3/4", "-2.5" and "50%" are understood; numbers compare by
	// value ("5.0" = "5", "3/4" = "0.75").
	ExtractNumber Extract = "number"
	// ExtractChoice takes a multiple-choice letter A–E.
	ExtractChoice Extract = "choice"
	// ExtractCode takes the last fenced code block, trailing spaces and surrounding blank lines removed.
	ExtractCode Extract = "code"
	// ExtractExact takes the whole reply, lower-cased, whitespace collapsed, surrounding quotes and
	// trailing punctuation removed.
	ExtractExact Extract = "exact"
)

func (e Extract) valid() bool {
	switch e {
	case ExtractNumber, ExtractChoice, ExtractCode, ExtractExact:
		return true
	}
	return false
}

// ExtractAnswer pulls the answer out of text with extractor e. ok is false when text holds none.
func ExtractAnswer(e Extract, text string) (answer string, ok bool) {
	switch e {
	case ExtractNumber:
		return extractNumber(text)
	case ExtractChoice:
		return extractChoice(text)
	case ExtractCode:
		return extractCode(text)
	case ExtractExact, "":
		s := normaliseExact(text)
		return s, s != ""
	}
	return "", false
}

var (
	// answerMarker finds where a stated final answer begins.
	answerMarker = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(?:answer\s*(?:is|:|=)|####)`) })
	// numberRE matches a number: an optional sign and currency, digits with optional thousands
	// separators, decimals, and an optional "/denominator" or "%".
	numberRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(-)?\$?(-)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*/\s*(\d+(?:\.\d+)?))?(%)?`)
	})
)

func extractNumber(text string) (string, bool) {
	if locs := answerMarker().FindAllStringIndex(text, -1); len(locs) > 0 {
		if n, ok := firstNumber(text[locs[len(locs)-1][1]:]); ok {
			return n, true
		}
	}
	all := numberRE().FindAllStringSubmatchIndex(text, -1)
	for i := len(all) - 1; i >= 0; i-- {
		if n, ok := parseNumber(text, all[i]); ok {
			return n, true
		}
	}
	return "", false
}

func firstNumber(s string) (string, bool) {
	for _, loc := range numberRE().FindAllStringSubmatchIndex(s, -1) {
		if n, ok := parseNumber(s, loc); ok {
			return n, true
		}
	}
	return "", false
}

// parseNumber turns one numberRE match into a canonical decimal string.
func parseNumber(s string, loc []int) (string, bool) {
	group := func(i int) string {
		if loc[2*i] < 0 {
			return ""
		}
		return s[loc[2*i]:loc[2*i+1]]
	}
	// A digit or letter glued to the front (x2, v1) is not a number of its own.
	if start := loc[0]; start > 0 {
		prev := rune(s[start-1])
		if unicode.IsLetter(prev) || prev == '_' || prev == '.' {
			return "", false
		}
	}
	neg := group(1) != "" || group(2) != ""
	v, err := strconv.ParseFloat(strings.ReplaceAll(group(3), ",", "")+group(4), 64)
	if err != nil {
		return "", false
	}
	if d := group(5); d != "" {
		den, err := strconv.ParseFloat(d, 64)
		if err != nil || den == 0 {
			return "", false
		}
		v /= den
	}
	if neg {
		v = -v
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "", false
	}
	// Round away binary noise so 1/3 from two replies compares equal.
	return strconv.FormatFloat(v, 'g', 12, 64), true
}

var (
	choiceParen  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\(([A-E])\)`) })
	choiceLine   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*([A-E])(?:[).:]|\s*$)`) })
	choiceMarker = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:answer|option|choice)\s*(?:is|:|=)?\s*(?:option\s*)?\(?([A-E])\b`)
	})
	choiceWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b([A-E])\b`) })
)

func extractChoice(text string) (string, bool) {
	if m := choiceMarker().FindAllStringSubmatch(text, -1); len(m) > 0 {
		// Only upper-case letters count after a marker ("answer is a dog" is not A); the marker itself
		// is case-insensitive, so check the letter.
		for i := len(m) - 1; i >= 0; i-- {
			if l := m[i][1]; l == strings.ToUpper(l) {
				return l, true
			}
		}
	}
	if m := choiceParen().FindAllStringSubmatch(text, -1); len(m) > 0 {
		return m[len(m)-1][1], true
	}
	if m := choiceLine().FindAllStringSubmatch(text, -1); len(m) > 0 {
		return m[len(m)-1][1], true
	}
	// A reply that is nothing but one letter (and punctuation).
	if t := strings.Trim(strings.TrimSpace(text), ".)( "); len(t) == 1 && choiceWord().MatchString(t) {
		return t, true
	}
	return "", false
}

var fenceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("(?s)```[^\n`]*\n(.*?)```") })

func extractCode(text string) (string, bool) {
	m := fenceRE().FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		return "", false
	}
	lines := strings.Split(m[len(m)-1][1], "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	code := strings.Trim(strings.Join(lines, "\n"), "\n")
	return code, code != ""
}

func normaliseExact(text string) string {
	s := strings.ToLower(strings.Join(strings.Fields(text), " "))
	for {
		t := strings.TrimRight(s, ".!?;, ")
		t = strings.Trim(t, "\"'`*“”‘’ ")
		if t == s {
			return s
		}
		s = t
	}
}

// Ballot is one sample's contribution to a vote.
type Ballot struct {
	// Index orders ballots (the sample number); ties break toward the lower index.
	Index  int
	Member string
	// Text is the member's reply; an empty Text with Failed set is a failed sample.
	Text   string
	Failed bool
	// Weight is the ballot's weight (1 when 0).
	Weight float64
}

// Tally is the outcome of a vote.
type Tally struct {
	Extract Extract `json:"extract"`
	// Answer is the winning extracted answer ("" when no ballot held one).
	Answer string `json:"answer"`
	// Winner is the Index of the ballot whose reply stands for the answer (the first with it); -1 if none.
	Winner int `json:"winner"`
	// Entries are the distinct answers, best first.
	Entries []TallyEntry `json:"entries"`
	// Votes counts ballots that held an answer; Abstained those that failed or held none.
	Votes     int `json:"votes"`
	Abstained int `json:"abstained"`
	// Agreement is the winner's share of the valid weight (0..1).
	Agreement float64 `json:"agreement"`
	// Tie is set when the winner was decided by the tie-break rule.
	Tie bool `json:"tie,omitempty"`
}

// TallyEntry is one distinct answer and its support.
type TallyEntry struct {
	Answer  string   `json:"answer"`
	Votes   int      `json:"votes"`
	Weight  float64  `json:"weight"`
	First   int      `json:"first"`
	Members []string `json:"members"`
}

// Count tallies ballots under extractor e. The winner is the answer with the greatest total weight;
// ties break, in order, toward more ballots, then toward the answer that appears first in ballot
// order (lowest Index) — so the outcome never depends on which member finished first.
func Count(e Extract, ballots []Ballot) Tally {
	t := Tally{Extract: e, Winner: -1}
	byAnswer := map[string]*TallyEntry{}
	var total float64
	for _, b := range ballots {
		if b.Failed {
			t.Abstained++
			continue
		}
		a, ok := ExtractAnswer(e, b.Text)
		if !ok {
			t.Abstained++
			continue
		}
		w := b.Weight
		if w == 0 {
			w = 1
		}
		t.Votes++
		total += w
		en := byAnswer[a]
		if en == nil {
			en = &TallyEntry{Answer: a, First: b.Index}
			byAnswer[a] = en
		}
		en.Votes++
		en.Weight += w
		en.First = min(en.First, b.Index)
		en.Members = append(en.Members, b.Member)
	}
	for _, en := range byAnswer {
		t.Entries = append(t.Entries, *en)
	}
	sort.Slice(t.Entries, func(i, j int) bool { return better(t.Entries[i], t.Entries[j]) })
	if len(t.Entries) == 0 {
		return t
	}
	w := t.Entries[0]
	t.Answer, t.Winner = w.Answer, w.First
	if total > 0 {
		t.Agreement = w.Weight / total
	}
	if len(t.Entries) > 1 && t.Entries[1].Weight == w.Weight {
		t.Tie = true
	}
	return t
}

func better(a, b TallyEntry) bool {
	if a.Weight != b.Weight {
		return a.Weight > b.Weight
	}
	if a.Votes != b.Votes {
		return a.Votes > b.Votes
	}
	return a.First < b.First
}
