package llmtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

func TestScripted(t *testing.T) {
	boom := errors.New("boom")
	m := NewScripted(
		Turn{Reply: chat.Response{Message: chat.Message{Content: "Hello there friend"}}},
		Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}}},
			Check: func(r *chat.Request) error {
				if len(r.Tools) == 0 {
					return errors.New("no tools")
				}
				return nil
			}},
		Turn{Err: boom},
	)
	var parts []string
	resp, err := m.Chat(context.Background(), &chat.Request{}, func(d chat.Delta) error {
		parts = append(parts, d.Content)
		return nil
	})
	if err != nil || resp.Message.Content != "Hello there friend" || strings.Join(parts, "") != resp.Message.Content || len(parts) != 3 ||
		resp.Message.Role != chat.Assistant || resp.FinishReason != chat.FinishStop {
		t.Fatalf("turn 1: %+v %v parts %q", resp, err, parts)
	}
	if _, err := m.Chat(context.Background(), &chat.Request{}, nil); fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("turn 2 without tools: err = %v, want the check to fail", err)
	}
	if _, err := m.Chat(context.Background(), &chat.Request{}, nil); !errors.Is(err, boom) {
		t.Fatalf("turn 3: err = %v", err)
	}
	if _, err := m.Chat(context.Background(), &chat.Request{}, nil); fault.CodeOf(err) != fault.Internal {
		t.Fatalf("past the script: err = %v", err)
	}
	if len(m.Requests()) != 4 {
		t.Errorf("recorded %d requests", len(m.Requests()))
	}
	m2 := NewScripted(Turn{Reply: chat.Response{Message: chat.Message{ToolCalls: []chat.ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}}}})
	resp, err = m2.Chat(context.Background(), &chat.Request{}, nil)
	if err != nil || resp.FinishReason != chat.FinishToolCalls {
		t.Fatalf("tool turn: %+v %v", resp, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewScripted(Turn{}).Chat(ctx, &chat.Request{}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: err = %v", err)
	}
}
