package httpapi

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixIDs makes the server's ids and times reproducible: ids count up from 1 per prefix.
func fixIDs(s *Server) {
	counts := map[string]int{}
	s.newID = func(prefix string) string {
		counts[prefix]++
		return fmt.Sprintf("%s%04d", prefix, counts[prefix])
	}
	s.now = func() time.Time { return time.Unix(1700000000, 0) }
}

// bySeed plays the content turn (with logprobs) for even seeds and the tool turn for odd ones.
func bySeed() llm.Model {
	content := contentTurn()
	for i := range content.deltas {
		tok := content.deltas[i].Content
		content.deltas[i].Logprobs = []chat.TokenLogprob{{Token: tok, Logprob: -0.25 * float64(i+1),
			Top: []chat.TopLogprob{{Token: tok, Logprob: -0.25 * float64(i+1)}, {Token: "x", Logprob: -3}}}}
		content.resp.Logprobs = append(content.resp.Logprobs, content.deltas[i].Logprobs...)
	}
	tools := toolTurn()
	return &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		if req.Sampling.Seed != nil && *req.Sampling.Seed%2 == 1 {
			return scripted(tools, nil, nil)(ctx, req, stream)
		}
		return scripted(content, nil, nil)(ctx, req, stream)
	}}
}

func TestStreamGolden(t *testing.T) {
	tests := []struct{ name, body string }{
		{"stream_n2_usage", `{"model":"tiny","stream":true,"stream_options":{"include_usage":true},"n":2,"seed":0,
			"logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"Tell a story or call a tool."}]}`},
		{"stream_tools", `{"model":"tiny","stream":true,"seed":1,"messages":[{"role":"user","content":"Weather?"}]}`},
		{"nonstream_n2", `{"model":"tiny","n":2,"seed":0,"logprobs":true,"top_logprobs":2,
			"messages":[{"role":"user","content":"Tell a story or call a tool."}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := newTestServer(t, Options{}, map[string]llm.Model{"tiny": bySeed()})
			fixIDs(s)
			resp := post(t, ts.URL+"/v1/chat/completions", tt.body)
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			got = append([]byte(fmt.Sprintf("status: %d\ncontent-type: %s\ncache-control: %s\n\n",
				resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))), got...)
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s (run with -update if the change is intended)\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
