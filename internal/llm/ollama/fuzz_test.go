package ollama

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm/llmtest"
)

// FuzzReadReply feeds arbitrary bytes to the NDJSON reader: no panics, and an accepted reply matches
// what was streamed.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte(`{"message":{"role":"assistant","content":"hi"},"done":false}` + "\n" + `{"done":true,"eval_count":1}` + "\n"))
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"name":"get_weather","arguments":{"a":[1]}}}]},"done":true}`))
	f.Add([]byte(`{"error":"boom"}`))
	f.Add([]byte(`{"message":{"content":"[get_weather(city='x')]"},"done":true}`))
	c, err := New(Options{Model: "m", NumCtx: 1})
	if err != nil {
		f.Fatal(err)
	}
	req := &chat.Request{Tools: []chat.ToolSpec{{Name: "get_weather"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec llmtest.Recorder
		resp, err := c.readReply(context.Background(), bytes.NewReader(data), req, rec.Stream, time.Now())
		if err != nil {
			return
		}
		if len(resp.Message.ToolCalls) == 0 && rec.Content() != resp.Message.Content {
			t.Fatalf("streamed %q but replied %q", rec.Content(), resp.Message.Content)
		}
	})
}
