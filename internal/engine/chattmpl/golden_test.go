package chattmpl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

// goldenCase renders one real model template for one input and compares with a golden file.
//
// Where a golden is marked published, its text was copied from a rendering published elsewhere
// (llama.cpp's test-chat-template.cpp, transformers.js tests, ms-swift documentation, a Llama 3.1
// tokenizer unit test, a Gemma 3 write-up) and never produced by this package; -update must not be
// used on those. The others were written with -update and checked by hand against the template.
type goldenCase struct {
	name      string // golden file testdata/<name>.golden
	template  string // testdata/<template>
	in        Input
	published bool
}

var weatherTool = chat.ToolSpec{
	Name:        "realtime_aqi",
	Description: "天气预报。获取实时空气质量。当前空气质量，PM2.5，PM10信息",
	Parameters:  json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string", "description": "城市名，例如：上海"}}, "required": ["city"]}`),
}

func goldenCases() []goldenCase {
	simple := []chat.Message{
		{Role: chat.User, Content: "Hello"},
		{Role: chat.Assistant, Content: "Hi!"},
		{Role: chat.User, Content: "How are you?"},
	}
	july26 := time.Date(2024, 7, 26, 10, 0, 0, 0, time.UTC)
	llama31Tools := json.RawMessage(`[{"type": "function", "function": {"name": "get_current_temperature", "description": "Get the current temperature at a location.", "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "The location to get the temperature for, in the format \"City, Country\""}}, "required": ["location"]}, "return": {"type": "number", "description": "The current temperature at the specified location in the specified units, as a float."}}}]`)
	toolConversation := []chat.Message{
		{Role: chat.System, Content: "You are a helpful assistant."},
		{Role: chat.User, Content: "What is the weather in Paris?"},
		{Role: chat.Assistant, ToolCalls: []chat.ToolCall{{ID: "call00001", Name: "realtime_aqi", Arguments: `{"city": "Paris"}`}}},
		{Role: chat.Tool, ToolCallID: "call00001", Content: `{"aqi": 42}`},
		{Role: chat.Assistant, Content: "The AQI in Paris is 42."},
		{Role: chat.User, Content: "Thanks!"},
	}
	return []goldenCase{
		{name: "qwen2.5-instruct.basic", template: "qwen2.5-instruct.jinja", published: true,
			in: Input{Messages: llamaCppConversation, AddGenerationPrompt: true}},
		{name: "qwen2.5-instruct.tools", template: "qwen2.5-instruct.jinja", published: true,
			in: Input{
				Tools: []chat.ToolSpec{weatherTool},
				Messages: []chat.Message{
					{Role: chat.User, Content: "北京和上海今天的天气情况"},
					{Role: chat.Assistant, ToolCalls: []chat.ToolCall{
						{ID: "a", Name: "realtime_aqi", Arguments: `{"city": "北京"}`},
						{ID: "b", Name: "realtime_aqi", Arguments: `{"city": "上海"}`},
					}},
					{Role: chat.Tool, ToolCallID: "a", Content: `{"city": "北京", "aqi": "10", "unit": "celsius"}`},
					{Role: chat.Tool, ToolCallID: "b", Content: `{"city": "上海", "aqi": "72", "unit": "fahrenheit"}`},
					{Role: chat.Assistant, Content: "根据天气预报工具，北京今天的空气质量指数为10，属于良好水平；上海今天的空气质量指数为72，属于轻度污染水平。"},
				},
			}},
		{name: "smollm2-instruct.basic", template: "smollm2-instruct.jinja", published: true,
			in: Input{Messages: llamaCppConversation, AddGenerationPrompt: true}},
		{name: "smollm2-instruct.nosystem", template: "smollm2-instruct.jinja",
			in: Input{Messages: simple, AddGenerationPrompt: true}},
		{name: "llama-3.1-instruct.basic", template: "llama-3.1-instruct.jinja", published: true,
			in: Input{Messages: simple, AddGenerationPrompt: true, BOSToken: "<|begin_of_text|>"}},
		{name: "llama-3.1-instruct.tools", template: "llama-3.1-instruct.jinja", published: true,
			in: Input{
				Messages: []chat.Message{
					{Role: chat.System, Content: "You are a bot that responds to weather queries."},
					{Role: chat.User, Content: "Hey, what's the temperature in Paris right now?"},
				},
				BOSToken: "<|begin_of_text|>",
				// Through Extra, because the published tool has a "return" schema chat.ToolSpec lacks.
				Extra: map[string]any{"tools": llama31Tools},
			}},
		{name: "llama-3.1-instruct.toolcall", template: "llama-3.1-instruct.jinja",
			in: Input{Messages: toolConversation, Tools: []chat.ToolSpec{weatherTool}, AddGenerationPrompt: true, BOSToken: "<|begin_of_text|>"}},
		{name: "llama-3.2-instruct.basic", template: "llama-3.2-instruct.jinja", published: true,
			in: Input{Messages: simple, AddGenerationPrompt: true, BOSToken: "<|begin_of_text|>", Now: july26}},
		{name: "mistral-7b-instruct-v0.3.basic", template: "mistral-7b-instruct-v0.3.jinja", published: true,
			in: Input{Messages: llamaCppConversation, AddGenerationPrompt: true, EOSToken: "</s>"}},
		{name: "mistral-7b-instruct-v0.3.tools", template: "mistral-7b-instruct-v0.3.jinja",
			in: Input{Messages: []chat.Message{
				{Role: chat.User, Content: "What is the weather in Paris?"},
				{Role: chat.Assistant, ToolCalls: []chat.ToolCall{{ID: "abcdef123", Name: "realtime_aqi", Arguments: `{"city": "Paris"}`}}},
				{Role: chat.Tool, ToolCallID: "abcdef123", Content: `{"aqi": 42}`},
				{Role: chat.Assistant, Content: "The AQI in Paris is 42."},
				{Role: chat.User, Content: "Thanks!"},
			}, Tools: []chat.ToolSpec{weatherTool}, BOSToken: "<s>", EOSToken: "</s>"}},
		{name: "gemma-2-it.basic", template: "gemma-2-it.jinja", published: true,
			in: Input{Messages: foldSystem(llamaCppConversation), AddGenerationPrompt: true, BOSToken: "<bos>"}},
		{name: "gemma-3-it.system", template: "gemma-3-it.jinja", published: true,
			in: Input{Messages: []chat.Message{
				{Role: chat.System, Content: "너는 친절한 AI야"},
				{Role: chat.User, Content: "안녕"},
			}, AddGenerationPrompt: true, BOSToken: "<bos>"}},
		{name: "gemma-3-it.basic", template: "gemma-3-it.jinja",
			in: Input{Messages: llamaCppConversation, AddGenerationPrompt: true, BOSToken: "<bos>"}},
		{name: "qwen3.thinking-off", template: "qwen3.jinja",
			in: Input{Messages: []chat.Message{
				{Role: chat.System, Content: "You are a helpful assistant"},
				{Role: chat.User, Content: "Hello"},
				{Role: chat.Assistant, Content: "<think>\nI should greet.\n</think>\n\nHi there"},
				{Role: chat.User, Content: "Who are you"},
			}, AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": false}}},
		{name: "qwen3.toolcall", template: "qwen3.jinja",
			in: Input{Messages: append(toolConversation[:5:5], chat.Message{Role: chat.Assistant, Content: "<think>\nDone.\n</think>\n\nAnything else?"}),
				Tools: []chat.ToolSpec{weatherTool}}},
		{name: "phi-3.5-mini-instruct.basic", template: "phi-3.5-mini-instruct.jinja",
			in: Input{Messages: llamaCppConversation, AddGenerationPrompt: true, EOSToken: "<|endoftext|>"}},
	}
}

func TestGoldens(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			tmpl := mustParseFile(t, gc.template)
			got, err := tmpl.Render(gc.in)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			path := filepath.Join("testdata", gc.name+".golden")
			if *update && !gc.published {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("rendering differs from %s\n got: %q\nwant: %q", path, got, want)
			}
		})
	}
}

func TestChatMLFallback(t *testing.T) {
	got, err := ChatML().Render(Input{Messages: llamaCppConversation, AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "chatml.basic.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func BenchmarkRenderQwen25(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "qwen2.5-instruct.jinja"))
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := Parse(string(src))
	if err != nil {
		b.Fatal(err)
	}
	in := goldenCases()[1].in // tools, tool calls and tool results
	for b.Loop() {
		if _, err := tmpl.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLlama31(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "llama-3.1-instruct.jinja"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(string(src)); err != nil {
			b.Fatal(err)
		}
	}
}
