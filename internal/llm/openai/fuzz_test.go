package openai

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm/llmtest"
)

// FuzzReadStream feeds arbitrary bytes to the event-stream reader and chunk accumulator: it must not
// panic, and a reply it accepts must be consistent with what it streamed.
func FuzzReadStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"x\"}}]}}]}\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":{\"y\":1}}}]}}]}\n\n"))
	f.Add([]byte(": c\nevent: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<tool_call>{\\\"name\\\":\\\"get_weather\\\"}\"}}]}\ndata: {}\n"))
	c, err := New(Options{BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		f.Fatal(err)
	}
	req := &chat.Request{Tools: []chat.ToolSpec{weatherTool}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec llmtest.Recorder
		resp, err := c.readStream(context.Background(), bytes.NewReader(data), req, rec.Stream, time.Now())
		if err != nil {
			return
		}
		if resp.Message.Role != chat.Assistant {
			t.Fatalf("role = %q", resp.Message.Role)
		}
		if len(resp.Message.ToolCalls) == 0 && rec.Content() != resp.Message.Content {
			t.Fatalf("streamed %q but replied %q", rec.Content(), resp.Message.Content)
		}
	})
}
