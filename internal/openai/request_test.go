package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

func TestDecodeChatRequestErrors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body string
		code       fault.Code
		param      string
	}{
		{"empty body", ``, fault.Invalid, ""},
		{"not an object", `[1,2]`, fault.Invalid, ""},
		{"malformed", `{"model":"m",`, fault.Invalid, ""},
		{"trailing garbage", `{"model":"m",` + msgs + `} x`, fault.Invalid, ""},
		{"missing model", `{` + msgs + `}`, fault.Invalid, "model"},
		{"missing messages", `{"model":"m"}`, fault.Invalid, "messages"},
		{"model wrong type", `{"model":5,` + msgs + `}`, fault.Invalid, "model"},
		{"temperature wrong type", `{"model":"m",` + msgs + `,"temperature":"hot"}`, fault.Invalid, "temperature"},
		{"temperature high", `{"model":"m",` + msgs + `,"temperature":2.5}`, fault.Invalid, "temperature"},
		{"temperature negative", `{"model":"m",` + msgs + `,"temperature":-0.1}`, fault.Invalid, "temperature"},
		{"top_p high", `{"model":"m",` + msgs + `,"top_p":1.01}`, fault.Invalid, "top_p"},
		{"n zero", `{"model":"m",` + msgs + `,"n":0}`, fault.Invalid, "n"},
		{"n too many", `{"model":"m",` + msgs + `,"n":17}`, fault.Invalid, "n"},
		{"n fraction", `{"model":"m",` + msgs + `,"n":1.5}`, fault.Invalid, "n"},
		{"max_tokens zero", `{"model":"m",` + msgs + `,"max_tokens":0}`, fault.Invalid, "max_tokens"},
		{"max_completion_tokens negative", `{"model":"m",` + msgs + `,"max_completion_tokens":-3}`, fault.Invalid, "max_completion_tokens"},
		{"top_logprobs high", `{"model":"m",` + msgs + `,"logprobs":true,"top_logprobs":21}`, fault.Invalid, "top_logprobs"},
		{"top_logprobs without logprobs", `{"model":"m",` + msgs + `,"top_logprobs":2}`, fault.Invalid, "top_logprobs"},
		{"presence_penalty", `{"model":"m",` + msgs + `,"presence_penalty":3}`, fault.Invalid, "presence_penalty"},
		{"frequency_penalty", `{"model":"m",` + msgs + `,"frequency_penalty":-2.1}`, fault.Invalid, "frequency_penalty"},
		{"min_p", `{"model":"m",` + msgs + `,"min_p":1.5}`, fault.Invalid, "min_p"},
		{"top_k", `{"model":"m",` + msgs + `,"top_k":-1}`, fault.Invalid, "top_k"},
		{"repeat_penalty", `{"model":"m",` + msgs + `,"repeat_penalty":0}`, fault.Invalid, "repeat_penalty"},
		{"seed string", `{"model":"m",` + msgs + `,"seed":"x"}`, fault.Invalid, "seed"},
		{"stop number", `{"model":"m",` + msgs + `,"stop":5}`, fault.Invalid, "stop"},
		{"stop array of numbers", `{"model":"m",` + msgs + `,"stop":[1]}`, fault.Invalid, "stop"},
		{"stream string", `{"model":"m",` + msgs + `,"stream":"yes"}`, fault.Invalid, "stream"},
		{"role missing", `{"model":"m","messages":[{"content":"x"}]}`, fault.Invalid, "messages[0].role"},
		{"role unknown", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"robot","content":"x"}]}`, fault.Invalid, "messages[1].role"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, fault.Invalid, "messages.content"},
		{"content missing", `{"model":"m","messages":[{"role":"user"}]}`, fault.Invalid, "messages[0].content"},
		{"image part", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`, fault.Unsupported, "messages[0].content[1]"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA","format":"wav"}}]}]}`, fault.Unsupported, "messages[0].content[0]"},
		{"unknown part", `{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}`, fault.Invalid, "messages[0].content[0].type"},
		{"tool message without id", `{"model":"m","messages":[{"role":"tool","content":"42"}]}`, fault.Invalid, "messages[0].tool_call_id"},
		{"tool calls on user", `{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, fault.Invalid, "messages[0].tool_calls"},
		{"tool type", `{"model":"m",` + msgs + `,"tools":[{"type":"retrieval","function":{"name":"f"}}]}`, fault.Invalid, "tools[0].type"},
		{"tool name", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"a b"}}]}`, fault.Invalid, "tools[0].function.name"},
		{"tool duplicate", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}`, fault.Invalid, "tools[1].function.name"},
		{"tool parameters", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`, fault.Invalid, "tools[0].function.parameters"},
		{"tool_choice unknown", `{"model":"m",` + msgs + `,"tool_choice":"sometimes"}`, fault.Invalid, "tool_choice"},
		{"tool_choice number", `{"model":"m",` + msgs + `,"tool_choice":3}`, fault.Invalid, "tool_choice"},
		{"tool_choice required without tools", `{"model":"m",` + msgs + `,"tool_choice":"required"}`, fault.Invalid, "tool_choice"},
		{"tool_choice names missing tool", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, fault.Invalid, "tool_choice.function.name"},
		{"response_format type", `{"model":"m",` + msgs + `,"response_format":{"type":"xml"}}`, fault.Invalid, "response_format.type"},
		{"json_schema missing", `{"model":"m",` + msgs + `,"response_format":{"type":"json_schema"}}`, fault.Invalid, "response_format.json_schema"},
		{"json_schema name", `{"model":"m",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`, fault.Invalid, "response_format.json_schema.name"},
		{"logit_bias", `{"model":"m",` + msgs + `,"logit_bias":{"50256":-100}}`, fault.Unsupported, "logit_bias"},
		{"audio modality", `{"model":"m",` + msgs + `,"modalities":["text","audio"]}`, fault.Unsupported, "modalities"},
		{"too many stops", `{"model":"m",` + msgs + `,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, fault.Invalid, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeChatRequest(strings.NewReader(tt.body), 1<<20)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", req)
			}
			if got := fault.CodeOf(err); got != tt.code {
				t.Errorf("code = %q, want %q (err: %v)", got, tt.code, err)
			}
			if got := fault.ParamOf(err); got != tt.param {
				t.Errorf("param = %q, want %q (err: %v)", got, tt.param, err)
			}
			if fault.Message(err) == "" || fault.Message(err) == "internal error" {
				t.Errorf("message %q is not helpful", fault.Message(err))
			}
		})
	}
}

func TestDecodeChatRequestTooLarge(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`
	_, err := DecodeChatRequest(strings.NewReader(body), 50)
	if fault.CodeOf(err) != fault.TooLarge {
		t.Fatalf("err = %v, want too_large", err)
	}
	if _, err := DecodeChatRequest(strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("a body of exactly the limit: %v", err)
	}
}

func TestToChat(t *testing.T) {
	body := `{
	  "model": "tiny",
	  "messages": [
	    {"role": "developer", "content": "be brief"},
	    {"role": "user", "content": [{"type": "text", "text": "weather in "}, {"type": "text", "text": "Paris?"}], "name": "ann"},
	    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
	    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
	  ],
	  "tools": [{"type": "function", "function": {"name": "weather", "description": "look it up", "parameters": {"type": "object"}}}],
	  "tool_choice": {"type": "function", "function": {"name": "weather"}},
	  "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
	  "n": 3, "seed": 7, "temperature": 0.5, "top_p": 0.9, "max_tokens": 10, "max_completion_tokens": 20,
	  "stop": "END", "logprobs": true, "top_logprobs": 2, "presence_penalty": 0.1, "frequency_penalty": 0.2,
	  "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1, "stream": true, "stream_options": {"include_usage": true},
	  "user": "u1", "metadata": {"x": "y"}, "store": false, "an_unknown_field": [1, 2, 3],
	  "seance": {"truncate_prompt": true}
	}`
	wire, err := DecodeChatRequest(strings.NewReader(body), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	req, n, stream, includeUsage, err := ToChat(wire)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || !stream || !includeUsage {
		t.Errorf("n, stream, includeUsage = %d, %v, %v; want 3, true, true", n, stream, includeUsage)
	}
	f := func(x float64) *float64 { return &x }
	i := func(x int) *int { return &x }
	seed := int64(7)
	want := &chat.Request{
		Model: "tiny",
		Messages: []chat.Message{
			{Role: chat.System, Content: "be brief"},
			{Role: chat.User, Content: "weather in Paris?", Name: "ann"},
			{Role: chat.Assistant, ToolCalls: []chat.ToolCall{{ID: "call_1", Name: "weather", Arguments: `{"city":"Paris"}`}}},
			{Role: chat.Tool, Content: "sunny", ToolCallID: "call_1"},
		},
		Tools:      []chat.ToolSpec{{Name: "weather", Description: "look it up", Parameters: json.RawMessage(`{"type": "object"}`)}},
		ToolChoice: chat.ToolChoice{Mode: chat.ToolChoiceFunction, Name: "weather"},
		Format:     chat.ResponseFormat{Type: chat.FormatJSONSchema, Name: "out", Schema: json.RawMessage(`{"type": "object"}`), Strict: true},
		Sampling: chat.Sampling{Temperature: f(0.5), TopP: f(0.9), TopK: i(40), MinP: f(0.05), RepeatPenalty: f(1.1),
			PresencePenalty: f(0.1), FrequencyPenalty: f(0.2), Seed: &seed},
		MaxTokens:      20,
		Stop:           []string{"END"},
		Logprobs:       true,
		TopLogprobs:    2,
		TruncatePrompt: true,
	}
	if !reflect.DeepEqual(req, want) {
		gj, _ := json.MarshalIndent(req, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("ToChat:\n got %s\nwant %s", gj, wj)
	}
}

func TestToChatDefaults(t *testing.T) {
	wire, err := DecodeChatRequest(strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true},"stop":["", "x"],"tool_choice":"none"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	req, n, stream, includeUsage, err := ToChat(wire)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || stream || includeUsage {
		t.Errorf("n, stream, includeUsage = %d, %v, %v; want 1, false, false", n, stream, includeUsage)
	}
	if req.Sampling != (chat.Sampling{}) || req.MaxTokens != 0 || req.Logprobs {
		t.Errorf("unset parameters were set: %+v", req)
	}
	if !reflect.DeepEqual(req.Stop, []string{"x"}) {
		t.Errorf("stop = %q, want the empty sequence dropped", req.Stop)
	}
	if req.ToolChoice.Mode != chat.ToolChoiceNone {
		t.Errorf("tool choice = %+v", req.ToolChoice)
	}
}

func TestToChatValidates(t *testing.T) {
	temp := 3.0
	_, _, _, _, err := ToChat(&ChatRequest{Model: "m", Messages: []Message{{Role: "user", Content: TextContent("x")}}, Temperature: &temp})
	if fault.ParamOf(err) != "temperature" {
		t.Fatalf("err = %v, want a temperature error", err)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	// A decoded request marshals back to JSON that decodes to the same request.
	body := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"assistant","content":"b"}],
	  "tool_choice":"auto","tools":[{"type":"function","function":{"name":"f"}}],"stop":["x","y"],"n":2}`
	a, err := DecodeChatRequest(strings.NewReader(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeChatRequest(strings.NewReader(string(out)), 0)
	if err != nil {
		t.Fatalf("re-decode %s: %v", out, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip changed the request:\n%+v\n%+v", a, b)
	}
}

func TestDecodeEmbeddingRequest(t *testing.T) {
	tests := []struct {
		body  string
		input []string
		code  fault.Code
		param string
	}{
		{body: `{"model":"e","input":"hello"}`, input: []string{"hello"}},
		{body: `{"model":"e","input":["a","b"],"encoding_format":"base64"}`, input: []string{"a", "b"}},
		{body: `{"model":"e","input":[1,2,3]}`, code: fault.Unsupported, param: "input"},
		{body: `{"model":"e","input":[[1,2],[3]]}`, code: fault.Unsupported, param: "input"},
		{body: `{"model":"e","input":[]}`, code: fault.Invalid, param: "input"},
		{body: `{"model":"e","input":[""]}`, code: fault.Invalid, param: "input"},
		{body: `{"model":"e","input":5}`, code: fault.Invalid, param: "input"},
		{body: `{"model":"e","input":"x","encoding_format":"int8"}`, code: fault.Invalid, param: "encoding_format"},
		{body: `{"model":"e","input":"x","dimensions":8}`, code: fault.Unsupported, param: "dimensions"},
		{body: `{"input":"x"}`, code: fault.Invalid, param: "model"},
	}
	for _, tt := range tests {
		req, err := DecodeEmbeddingRequest(strings.NewReader(tt.body), 1<<10)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.body, err)
			} else if !reflect.DeepEqual([]string(req.Input), tt.input) {
				t.Errorf("%s: input = %q", tt.body, req.Input)
			}
			continue
		}
		if fault.CodeOf(err) != tt.code || fault.ParamOf(err) != tt.param {
			t.Errorf("%s: err = %v (code %q, param %q), want %q/%q", tt.body, err, fault.CodeOf(err), fault.ParamOf(err), tt.code, tt.param)
		}
	}
}

func TestFromEmbeddingsBase64(t *testing.T) {
	resp, err := FromEmbeddings("e", [][]float32{{1, -2.5}}, 3, "base64")
	if err != nil {
		t.Fatal(err)
	}
	// 1.0 = 0x3f800000, -2.5 = 0xc0200000, little-endian.
	if got, want := string(resp.Data[0].Embedding), `"AACAPwAAIMA="`; got != want {
		t.Errorf("base64 = %s, want %s", got, want)
	}
	if _, err := FromEmbeddings("e", [][]float32{{float32(nan())}}, 1, "float"); fault.CodeOf(err) != fault.Internal {
		t.Errorf("NaN: err = %v, want internal", err)
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestDecodeNeverUnclassified(t *testing.T) {
	// Every failure is a *fault.Error, never a raw decoder error.
	for _, body := range []string{`{`, `nul`, `{"model":"m","messages":[{"role":"user","content":{"a":1}}]}`, `{"messages":{}}`, "\x00"} {
		_, err := DecodeChatRequest(strings.NewReader(body), 0)
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Errorf("%q: err %v is not a *fault.Error", body, err)
		}
	}
}
