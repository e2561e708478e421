package cli

import (
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/team"
)

func TestLiveViewIndentsNestedTeams(t *testing.T) {
	ch := make(chan team.Event, 8)
	ch <- team.Event{Kind: team.RunStarted, Team: "outer", Pattern: team.MoA}
	ch <- team.Event{Kind: team.MemberStarted, Member: "voters", Role: "proposer"}
	ch <- team.Event{Kind: team.Nested, Member: "voters", Step: 1,
		Nested: &team.Event{Kind: team.MemberFinished, Member: "s1", Role: "sample", Text: "answer is 3",
			Usage: &team.Usage{CompletionTokens: 3}}}
	ch <- team.Event{Kind: team.Nested, Member: "voters", Step: 1,
		Nested: &team.Event{Kind: team.Nested, Nested: &team.Event{Kind: team.RunFinished}}}
	ch <- team.Event{Kind: team.Nested, Member: "voters", Nested: &team.Event{Kind: team.MemberDelta, Text: "x"}}
	ch <- team.Event{Kind: team.RunFinished}
	close(ch)
	var b strings.Builder
	live(&b, ch)
	want := "▶ outer · moa\n" +
		"  … voters (proposer)\n" +
		"  │   ✓ s1 (sample) · 3 tokens · answer is 3\n" +
		"  │   │ ■ done\n" +
		"■ done\n"
	if b.String() != want {
		t.Fatalf("live view:\n%s\nwant:\n%s", b.String(), want)
	}
}
