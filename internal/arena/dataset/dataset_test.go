package dataset

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/team"
)

func prompt(q string) []chat.Message {
	return []chat.Message{{Role: chat.System, Content: "Answer briefly."}, {Role: chat.User, Content: q}}
}

func tr(q, answer string, verified, correct bool) Transcript {
	return Transcript{
		Run: "run-1", Suite: "gsm8k/dev", Item: q, Contestant: "team/vote", Models: []string{"qwen"},
		Prompt: prompt(q), Answer: answer, Verified: verified, Correct: correct, Agreement: 1,
		Files: []File{{Path: "teams/vote.yaml", SHA: "abc"}, {Path: "agents/solver.md", SHA: "def"}},
	}
}

func TestExportSFT(t *testing.T) {
	ts := []Transcript{
		tr("1+1?", "2", true, true),
		tr("1+1?", "  2 ", true, true), // duplicate after white space
		tr("1+1?", "3", true, false),   // wrong: never SFT
		tr("2+2?", "4", false, false),  // unverified: refused by default
		tr("3+3?", "6", true, true),
	}
	recs, rep := ExportSFT(ts, Filter{})
	if len(recs) != 2 || rep.Written != 2 || rep.Duplicates != 1 || rep.Skipped[SkipWrong] != 1 || rep.Skipped[SkipUnverified] != 1 {
		t.Fatalf("records %d, report %+v", len(recs), rep)
	}
	if !strings.Contains(rep.String(), "refused 1 unverified") {
		t.Errorf("the report does not say it refused unverified transcripts: %s", rep)
	}
	r := recs[0]
	if !r.Verified || len(r.Messages) != 3 || r.Messages[2] != (Message{Role: "assistant", Content: "2"}) || r.Messages[1].Content != "1+1?" {
		t.Errorf("record %+v", r)
	}
	p := r.Provenance
	if p.Run != "run-1" || p.Contestant != "team/vote" || len(p.Models) != 1 || p.FilesHash == "" || !p.Correct {
		t.Errorf("provenance %+v", p)
	}

	recs, rep = ExportSFT(ts, Filter{AllowUnverified: true})
	if len(recs) != 3 || recs[1].Verified || recs[1].Messages[2].Content != "4" {
		t.Fatalf("with unverified allowed: %+v", recs)
	}
	if !strings.Contains(rep.String(), "1 records are unverified") {
		t.Errorf("the report does not warn about unverified records: %s", rep)
	}
}

func TestFilters(t *testing.T) {
	a := tr("q1", "a", true, true)
	a.Agreement = 0.4
	b := tr("q2", "b", true, true)
	b.Agreement = 0.9
	b.Approved = true
	c := tr("q3", "c", true, true)
	recs, rep := ExportSFT([]Transcript{a, b, c}, Filter{MinAgreement: 0.5})
	if len(recs) != 2 || rep.Skipped[SkipAgreement] != 1 {
		t.Errorf("min agreement: %d records, %+v", len(recs), rep)
	}
	recs, rep = ExportSFT([]Transcript{a, b, c}, Filter{RequireApproval: true})
	if len(recs) != 1 || recs[0].Messages[2].Content != "b" || rep.Skipped[SkipUnapproved] != 2 {
		t.Errorf("approval: %+v, %+v", recs, rep)
	}
}

func TestExportDPO(t *testing.T) {
	ts := []Transcript{
		tr("q1", "right", true, true),
		tr("q1", "wrong one", true, false),
		tr("q1", "wrong two", true, false),
		tr("q1", "wrong  two", true, false), // duplicate
		tr("q1", "unchecked", false, false),
		tr("q2", "right", true, true), // no wrong answer: no pair
	}
	pairs, rep := ExportDPO(ts, Filter{})
	if len(pairs) != 2 || rep.Duplicates != 1 || rep.Skipped[SkipUnverified] != 1 || rep.Skipped[SkipNoPartner] != 1 {
		t.Fatalf("pairs %d, report %+v", len(pairs), rep)
	}
	for _, p := range pairs {
		if p.Chosen[0].Content != "right" || !strings.HasPrefix(p.Rejected[0].Content, "wrong") || !p.Verified {
			t.Errorf("pair %+v", p)
		}
		if p.Prompt[1].Content != "q1" || !p.Provenance.Chosen.Correct || p.Provenance.Rejected.Correct {
			t.Errorf("pair prompt or provenance %+v", p)
		}
	}
	if pairs[0].Rejected[0].Content == pairs[1].Rejected[0].Content {
		t.Error("both pairs reject the same answer")
	}
	pairs, _ = ExportDPO(ts, Filter{MaxPairs: 1})
	if len(pairs) != 1 {
		t.Errorf("MaxPairs 1 gave %d pairs", len(pairs))
	}
}

func TestFilesHash(t *testing.T) {
	x := FilesHash([]File{{"a", "1"}, {"b", "2"}})
	if x == "" || x != FilesHash([]File{{"b", "2"}, {"a", "1"}}) {
		t.Error("FilesHash depends on order or is empty")
	}
	if x == FilesHash([]File{{"a", "1"}, {"b", "3"}}) {
		t.Error("FilesHash ignores a changed file")
	}
	if FilesHash(nil) != "" {
		t.Error("FilesHash of no files is not empty")
	}
}

func TestFromResultAndJSONL(t *testing.T) {
	r := &team.Result{
		Run: "r9", Team: "vote3", Source: "teams/vote3.yaml", SHA: "t1",
		Members: []team.MemberRef{{Name: "a", Model: "m1", Source: "agents/a.md", SHA: "s1"}, {Name: "b", Model: "m1", Source: "agents/b.md", SHA: "s2"}},
		Input:   prompt("7*6?"), Answer: "42", Tally: &team.Tally{Agreement: 2.0 / 3},
	}
	tr := FromResult(r)
	if tr.Run != "r9" || tr.Contestant != "vote3" || len(tr.Files) != 3 || len(tr.Models) != 1 || tr.Agreement != 2.0/3 || tr.Verified {
		t.Fatalf("FromResult = %+v", tr)
	}
	tr.Verified, tr.Correct = true, true
	recs, _ := ExportSFT([]Transcript{tr}, Filter{})
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &back); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	if back["verified"] != true {
		t.Errorf("record lacks verified=true: %s", buf.String())
	}
	prov, _ := back["provenance"].(map[string]any)
	if prov["run"] != "r9" || prov["files_hash"] == "" {
		t.Errorf("provenance on the wire: %v", prov)
	}
}
