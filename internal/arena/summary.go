package arena

import (
	"regexp"
	"sort"
	"time"

	"github.com/seance-dev/seance/internal/arena/rating"
)

// Score is one contestant's result over a run's items.
type Score struct {
	Contestant string `json:"contestant"`
	// Of is set on a compute-matched baseline: the team it stands against.
	Of      string `json:"of,omitempty"`
	Team    bool   `json:"team,omitempty"`
	Items   int    `json:"items"`
	Correct int    `json:"correct"`
	Errors  int    `json:"errors"`
	// Accuracy counts errors as wrong; its interval is a seeded percentile bootstrap (95%).
	Accuracy rating.Interval `json:"accuracy"`
	// Means per item.
	PromptTokens     float64       `json:"prompt_tokens_per_item"`
	CompletionTokens float64       `json:"completion_tokens_per_item"`
	FLOPs            float64       `json:"flops_per_item"`
	Wall             time.Duration `json:"wall_ns_per_item"`
	// Samples is a baseline's mean number of samples per item.
	Samples float64 `json:"samples_per_item,omitempty"`
	// ErrorKinds says why answers failed: the most frequent kinds first, at most maxErrorKinds.
	ErrorKinds []ErrorKind `json:"error_kinds,omitempty"`
}

// ErrorKind is one kind of a contestant's failures: errors whose texts are the same but for their
// numbers ("the prompt has 249 tokens …", "… 336 tokens …") are one kind.
type ErrorKind struct {
	Count int `json:"count"`
	// Example is the first such error's text.
	Example string `json:"example"`
}

// maxErrorKinds bounds the kinds of errors a score lists.
const maxErrorKinds = 3

// errorKinds groups errors by their text with digit runs blanked, most frequent first (ties in order
// of first appearance).
func errorKinds(errs []string) []ErrorKind {
	var kinds []ErrorKind
	index := map[string]int{}
	for _, e := range errs {
		k := digits.ReplaceAllString(e, "#")
		if i, ok := index[k]; ok {
			kinds[i].Count++
			continue
		}
		index[k] = len(kinds)
		kinds = append(kinds, ErrorKind{Count: 1, Example: e})
	}
	sort.SliceStable(kinds, func(i, j int) bool { return kinds[i].Count > kinds[j].Count })
	if len(kinds) > maxErrorKinds {
		kinds = kinds[:maxErrorKinds]
	}
	return kinds
}

var digits = regexp.MustCompile(`[0-9]+`)

// Match compares a team with its base model's self-consistency vote at the same generated tokens.
type Match struct {
	Team     string `json:"team"`
	Baseline string `json:"baseline"`
	// TeamWins counts items the team got right and the baseline wrong; BaselineWins the reverse.
	TeamWins     int `json:"team_wins"`
	BaselineWins int `json:"baseline_wins"`
	Ties         int `json:"ties"`
	// Difference is the team's accuracy minus the baseline's over the items both answered, with a
	// paired bootstrap 95% interval.
	Difference rating.Interval `json:"difference"`
}

// Summary is a run's result per contestant. JSON tags: it is committed as summary.json.
type Summary struct {
	Run      string    `json:"run"`
	Suite    string    `json:"suite"`
	Items    int       `json:"items"`
	Seed     uint64    `json:"seed"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Scores   []Score   `json:"scores"`
	Matches  []Match   `json:"matches,omitempty"`
}

// Summarize scores the records of a run (contestants in the order of meta, then baselines).
func Summarize(meta Meta, records []Record, finished time.Time) Summary {
	s := Summary{Run: meta.ID, Suite: meta.Suite, Seed: meta.Seed, Started: meta.Started, Finished: finished.UTC()}
	by := map[string][]Record{}
	items := map[string]bool{}
	for _, r := range records {
		by[r.Contestant] = append(by[r.Contestant], r)
		items[r.Item] = true
	}
	s.Items = len(items)
	var order []string
	teams := map[string]bool{}
	for _, c := range meta.Contestants {
		order = append(order, c.Name)
		teams[c.Name] = c.Team
	}
	var extra []string
	for name := range by {
		if !contains(order, name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)
	for i, name := range order {
		rs := by[name]
		if len(rs) == 0 {
			continue
		}
		sc := Score{Contestant: name, Team: teams[name], Items: len(rs)}
		correct := make([]bool, len(rs))
		var wall time.Duration
		var errs []string
		for k, r := range rs {
			correct[k] = r.Correct
			if r.Correct {
				sc.Correct++
			}
			if r.Error != "" {
				sc.Errors++
				errs = append(errs, r.Error)
			}
			if r.Of != "" {
				sc.Of = r.Of
			}
			sc.PromptTokens += float64(r.PromptTokens)
			sc.CompletionTokens += float64(r.CompletionTokens)
			sc.FLOPs += r.FLOPs
			sc.Samples += float64(r.Samples)
			wall += r.Wall
		}
		n := float64(len(rs))
		sc.PromptTokens /= n
		sc.CompletionTokens /= n
		sc.FLOPs /= n
		sc.Samples /= n
		sc.Wall = wall / time.Duration(len(rs))
		sc.ErrorKinds = errorKinds(errs)
		sc.Accuracy = rating.Accuracy(correct, 0, meta.Seed+uint64(i))
		s.Scores = append(s.Scores, sc)
	}
	for _, sc := range s.Scores {
		if sc.Of == "" {
			continue
		}
		s.Matches = append(s.Matches, match(sc.Of, sc.Contestant, by[sc.Of], by[sc.Contestant], meta.Seed))
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// match compares a team's records with its baseline's, item by item.
func match(teamName, baseline string, tr, br []Record, seed uint64) Match {
	m := Match{Team: teamName, Baseline: baseline}
	got := map[string]bool{}
	for _, r := range br {
		got[r.Item] = r.Correct
	}
	var diffs []float64
	for _, r := range tr {
		b, ok := got[r.Item]
		if !ok {
			continue
		}
		switch {
		case r.Correct && !b:
			m.TeamWins++
			diffs = append(diffs, 1)
		case b && !r.Correct:
			m.BaselineWins++
			diffs = append(diffs, -1)
		default:
			m.Ties++
			diffs = append(diffs, 0)
		}
	}
	m.Difference = rating.MeanInterval(diffs, 0, seed)
	return m
}
