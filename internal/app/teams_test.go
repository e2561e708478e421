package app

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// writeHome adds short agents and a small vote team to the app's home: stories260K's context is only
// 128 tokens, too small for the built-in examples' system prompts.
func writeHome(t *testing.T, a *App) {
	t.Helper()
	if _, err := a.InitHome(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := a.Config().Home
	files := map[string]string{
		"agents/teller.md": "---\nname: teller\ndescription: tells stories\nmodel: default\ntemperature: 1.0\nmax_tokens: 12\n---\n",
		"teams/tellers.yaml": "name: tellers\ndescription: three tellers vote\npattern: vote\nmembers: [teller]\n" +
			"params:\n  samples: 3\n  extract: exact\n  seed: 7\nbudget:\n  tokens: 2000\n",
	}
	for rel, data := range files {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestServeTeam(t *testing.T) {
	a, client, base := startApp(t, "", nil)
	writeHome(t, a)
	ctx := context.Background()

	list, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range list.Data {
		found = found || m.ID == "tellers"
	}
	if !found {
		t.Fatalf("team not listed in /v1/models")
	}

	params := sdk.ChatCompletionNewParams{
		Model:    "tellers",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("Once upon a time")},
	}
	var header http.Header
	resp, err := client.Chat.Completions.New(ctx, params, option.WithResponseInto(new(*http.Response)), option.WithMiddleware(
		func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			res, err := next(r)
			if res != nil {
				header = res.Header
			}
			return res, err
		}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content == "" {
		t.Errorf("empty team answer")
	}
	// Usage sums the three members: three prompts and up to 3×12 completion tokens.
	if resp.Usage.PromptTokens < 3*5 || resp.Usage.CompletionTokens < 3 {
		t.Errorf("usage %+v does not sum the members", resp.Usage)
	}
	runID := header.Get("X-Seance-Run")
	if runID == "" {
		t.Fatalf("no run header in %v", header)
	}

	// The run's events, after the fact: kept for late subscribers.
	res, err := http.Get(base + "runs/" + runID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("events: %s", res.Status)
	}
	kinds := map[string]int{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || line == "[DONE]" {
			continue
		}
		var ev struct {
			Kind string `json:"kind"`
			Run  string `json:"run"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Run != runID {
			t.Errorf("event of run %q in the stream of %q", ev.Run, runID)
		}
		kinds[ev.Kind]++
	}
	if kinds["run_started"] != 1 || kinds["member_finished"] != 3 || kinds["vote_tally"] != 1 || kinds["run_finished"] != 1 {
		t.Errorf("events %v", kinds)
	}

	// The transcript is committed to the home.
	h, err := a.Home()
	if err != nil {
		t.Fatal(err)
	}
	runs, err := h.ListRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != runID || runs[0].Hashes["teams/tellers.yaml"] == "" {
		t.Fatalf("runs %+v", runs)
	}
	saved, err := h.ShowRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Commit == "" || !strings.Contains(string(saved.Transcript), `"calls"`) {
		t.Errorf("transcript not committed or empty: commit %q, %d bytes", saved.Commit, len(saved.Transcript))
	}

	// Streamed, the final stage arrives as ordinary chunks with summed usage.
	params.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc sdk.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content == "" || acc.Usage.PromptTokens < 15 {
		t.Errorf("streamed team answer %q usage %+v", acc.Choices[0].Message.Content, acc.Usage)
	}
	// Unknown run ids are 404.
	res2, err := http.Get(base + "runs/nope/events")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 404 {
		t.Errorf("unknown run: %s", res2.Status)
	}
}
