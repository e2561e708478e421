package arena

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/seance-dev/seance/internal/arena/dataset"
	"github.com/seance-dev/seance/internal/arena/rating"
	"github.com/seance-dev/seance/internal/chat"
)

// Runs lists the run ids recorded under dir (folders holding a run.json), oldest first.
func Runs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("arena runs: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), MetaFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Standings are the tournament over all recorded runs.
type Standings struct {
	Runs  int `json:"runs"`
	Items int `json:"items"`
	// Accuracy, Elo and BradleyTerry are per contestant, in the board's order (sorted names).
	Contestants  []string          `json:"contestants"`
	Accuracy     []rating.Interval `json:"accuracy"`
	Elo          []rating.Rating   `json:"elo"`
	BradleyTerry []rating.Rating   `json:"bradley_terry"`
	Pairs        []rating.Pair     `json:"pairs"`
}

// Board rates every contestant over all runs under dir: an item is identified by its suite and id,
// and when a contestant answered an item in several runs its latest answer counts. A win is an item
// one got right and the other wrong.
func Board(dir string, o rating.Options) (*Standings, error) {
	ids, err := Runs(dir)
	if err != nil {
		return nil, err
	}
	latest := map[string]Record{}
	for _, id := range ids {
		rs, err := ReadRecords(filepath.Join(dir, id))
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			k := r.Suite + "/" + r.Item + "\x00" + r.Contestant
			if old, ok := latest[k]; !ok || !r.At.Before(old.At) {
				latest[k] = r
			}
		}
	}
	results := make([]rating.Result, 0, len(latest))
	for _, r := range latest {
		results = append(results, rating.Result{Contestant: r.Contestant, Item: r.Suite + "/" + r.Item, Correct: r.Correct})
	}
	b, err := rating.NewBoard(results)
	if err != nil {
		return nil, fmt.Errorf("arena board: %w", err)
	}
	return &Standings{
		Runs: len(ids), Items: len(b.Items), Contestants: b.Contestants,
		Accuracy: b.Accuracy(o.Resamples, o.Seed), Elo: b.Elo(o), BradleyTerry: b.BradleyTerry(o), Pairs: b.Pairwise(),
	}, nil
}

// Transcripts turns the records of the runs ids under dir into dataset transcripts, with the
// provenance run.json holds (models, team and agent file hashes). Errors without an answer are left out.
func Transcripts(dir string, ids []string) ([]dataset.Transcript, error) {
	var out []dataset.Transcript
	for _, id := range ids {
		meta, err := ReadMeta(dir, id)
		if err != nil {
			return nil, err
		}
		refs := map[string]ContestantRef{}
		for _, c := range meta.Contestants {
			refs[c.Name] = c
		}
		rs, err := ReadRecords(filepath.Join(dir, id))
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			t := dataset.Transcript{
				Run: r.Run, Suite: r.Suite, Item: r.Item, Contestant: r.Contestant,
				Prompt:   []chat.Message{{Role: chat.User, Content: r.Prompt}},
				Answer:   r.Answer,
				Verified: r.Verified && r.Error == "", Correct: r.Correct, Agreement: 1,
			}
			if r.Samples > 0 {
				t.Agreement = r.Agreement
			}
			if r.Model != "" {
				t.Models = []string{r.Model}
			}
			ref := refs[r.Contestant]
			if r.Of != "" {
				ref = refs[r.Of]
				if ref.Base != "" {
					t.Models = []string{ref.Base}
				}
			}
			paths := make([]string, 0, len(ref.Files))
			for p := range ref.Files {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				t.Files = append(t.Files, dataset.File{Path: p, SHA: ref.Files[p]})
			}
			out = append(out, t)
		}
	}
	return out, nil
}
