package llmtest

import (
	"reflect"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
)

func TestRecorderReassemblesToolCalls(t *testing.T) {
	var r Recorder
	for _, d := range []chat.Delta{
		{Content: "Hel"},
		{Content: "lo", ToolCalls: []chat.ToolCallDelta{{Index: 1, ID: "b", Name: "two", Arguments: `{"x"`}}},
		{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "a", Name: "one", Arguments: "{}"}, {Index: 1, Arguments: `:1}`}}},
	} {
		if err := r.Stream(d); err != nil {
			t.Fatal(err)
		}
	}
	want := []chat.ToolCall{{ID: "a", Name: "one", Arguments: "{}"}, {ID: "b", Name: "two", Arguments: `{"x":1}`}}
	if r.Content() != "Hello" || !reflect.DeepEqual(r.ToolCalls(), want) || len(r.Deltas()) != 3 {
		t.Fatalf("content %q calls %+v", r.Content(), r.ToolCalls())
	}
}
