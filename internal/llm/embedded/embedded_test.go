package embedded

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

// scripted streams fixed pieces of text, as the engine would.
type scripted []string

func (s scripted) Chat(_ context.Context, _ *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	var all string
	for _, p := range s {
		all += p
		if stream != nil {
			if err := stream(chat.Delta{Content: p}); err != nil {
				return nil, err
			}
		}
	}
	return &chat.Response{Message: chat.Message{Role: chat.Assistant, Content: all}, FinishReason: chat.FinishStop}, nil
}

var weather = []chat.ToolSpec{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}

func TestToolCallWrittenAsText(t *testing.T) {
	for _, c := range []struct {
		name   string
		pieces []string
	}{
		{"hermes", []string{"<tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"}},
		{"pythonic", []string{"[get_weather(", "city='Paris')]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, streaming := range []bool{false, true} {
				var content strings.Builder
				var deltas []chat.ToolCallDelta
				var stream chat.StreamFunc
				if streaming {
					stream = func(d chat.Delta) error {
						content.WriteString(d.Content)
						deltas = append(deltas, d.ToolCalls...)
						return nil
					}
				}
				resp, err := withToolCalls(context.Background(), scripted(c.pieces), &chat.Request{Tools: weather}, stream)
				if err != nil {
					t.Fatal(err)
				}
				if resp.FinishReason != chat.FinishToolCalls || len(resp.Message.ToolCalls) != 1 {
					t.Fatalf("finish %s, calls %+v", resp.FinishReason, resp.Message.ToolCalls)
				}
				call := resp.Message.ToolCalls[0]
				var args map[string]string
				if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil || call.Name != "get_weather" || args["city"] != "Paris" {
					t.Errorf("call %+v (%v)", call, err)
				}
				if resp.Message.Content != "" {
					t.Errorf("content %q, want none", resp.Message.Content)
				}
				if streaming {
					if content.Len() != 0 {
						t.Errorf("the tool call leaked into the streamed text: %q", content.String())
					}
					if len(deltas) != 1 || deltas[0].Name != "get_weather" || deltas[0].ID != call.ID {
						t.Errorf("streamed tool-call deltas %+v", deltas)
					}
				}
			}
		})
	}
}

func TestProseStreamsThrough(t *testing.T) {
	pieces := []string{"The weather ", "in Paris is ", "mild today."}
	var got []string
	resp, err := withToolCalls(context.Background(), scripted(pieces), &chat.Request{Tools: weather}, func(d chat.Delta) error {
		got = append(got, d.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "") != "The weather in Paris is mild today." || resp.Message.Content != strings.Join(got, "") {
		t.Errorf("streamed %q, content %q", got, resp.Message.Content)
	}
	if len(got) < 2 {
		t.Errorf("prose was held back until the end: %q", got)
	}
	if resp.FinishReason != chat.FinishStop || len(resp.Message.ToolCalls) != 0 {
		t.Errorf("finish %s calls %v", resp.FinishReason, resp.Message.ToolCalls)
	}
}

func TestRequiredToolNotCalled(t *testing.T) {
	_, err := withToolCalls(context.Background(), scripted{"I will not call anything."},
		&chat.Request{Tools: weather, ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceRequired}}, nil)
	if fault.CodeOf(err) != fault.Unprocessable {
		t.Errorf("err = %v", err)
	}
}
