package toolcalls

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
)

var testTools = []chat.ToolSpec{
	{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}`)},
	{Name: "other"},
	{Name: "brave_search", Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}}}`)},
}

// call is a compact expectation: name and arguments; IDs are checked separately.
type call struct{ name, args string }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []call
		rest string
	}{
		{
			name: "pythonic list",
			text: `[get_weather(city="Paris", days=3), other(x=1)]`,
			want: []call{{"get_weather", `{"city":"Paris","days":3}`}, {"other", `{"x":1}`}},
		},
		{
			name: "pythonic literals",
			text: `[other(s='it\'s "q"', u="caf\u00e9\n", t=True, f=False, n=None, l=[1, 2.5, -3], d={'a': (1, 2), "b": {'c': None}}, e=1e3, h=0x10, big=1_000)]`,
			want: []call{{"other", `{"s":"it's \"q\"","u":"café\n","t":true,"f":false,"n":null,"l":[1,2.5,-3],"d":{"a":[1,2],"b":{"c":null}},"e":1e3,"h":16,"big":1000}`}},
		},
		{
			name: "pythonic raw and triple-quoted strings",
			text: `[other(p=r"C:\new", doc="""line1
line2""")]`,
			want: []call{{"other", `{"p":"C:\\new","doc":"line1\nline2"}`}},
		},
		{
			name: "pythonic positional arguments follow schema order",
			text: `get_weather("Paris", 2)`,
			want: []call{{"get_weather", `{"city":"Paris","days":2}`}},
		},
		{
			name: "bare pythonic calls in a code fence",
			text: "```python\nget_weather(city='Oslo')\nother()\n```",
			want: []call{{"get_weather", `{"city":"Oslo"}`}, {"other", `{}`}},
		},
		{
			name: "hermes tool_call tags, several, with prose",
			text: "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>{\"name\": \"other\", \"arguments\": {}}</tool_call>",
			want: []call{{"get_weather", `{"city":"Paris"}`}, {"other", `{}`}},
			rest: "Let me check.",
		},
		{
			name: "tool_call tag without closing tag and string arguments",
			text: `<tool_call>{"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}`,
			want: []call{{"get_weather", `{"city":"Rome"}`}},
		},
		{
			name: "qwen3 coder parameter tags",
			text: "<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n<parameter=days>\n4\n</parameter>\n</function>\n</tool_call>",
			want: []call{{"get_weather", `{"city":"New York","days":4}`}},
		},
		{
			name: "llama 3.1 function tag",
			text: `<function=get_weather>{"city": "Lima"}</function>`,
			want: []call{{"get_weather", `{"city":"Lima"}`}},
		},
		{
			name: "python tag json",
			text: `<|python_tag|>{"name": "get_weather", "parameters": {"city": "Kyiv"}}<|eom_id|>`,
			want: []call{{"get_weather", `{"city":"Kyiv"}`}},
		},
		{
			name: "python tag several json separated by semicolons",
			text: `<|python_tag|>{"name": "get_weather", "parameters": {"city": "A"}}; {"name": "other", "parameters": {}}`,
			want: []call{{"get_weather", `{"city":"A"}`}, {"other", `{}`}},
		},
		{
			name: "python tag builtin call form",
			text: `<|python_tag|>brave_search.call(query="weather in Paris")<|eom_id|>`,
			want: []call{{"brave_search", `{"query":"weather in Paris"}`}},
		},
		{
			name: "mistral json array",
			text: `[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Bern"}}, {"name": "other", "arguments": {"x": [1]}}]`,
			want: []call{{"get_weather", `{"city":"Bern"}`}, {"other", `{"x":[1]}`}},
		},
		{
			name: "mistral v11 args form",
			text: `[TOOL_CALLS]get_weather[ARGS]{"city": "Nice"}[TOOL_CALLS]other[CALL_ID]abc123[ARGS]{}`,
			want: []call{{"get_weather", `{"city":"Nice"}`}, {"other", `{}`}},
		},
		{
			name: "bare json object with parameters",
			text: ` {"name": "get_weather", "parameters": {"city": "Paris", "days": 1}} `,
			want: []call{{"get_weather", `{"city":"Paris","days":1}`}},
		},
		{
			name: "bare json array in fence",
			text: "```json\n[{\"name\": \"other\", \"arguments\": {\"k\": \"<b>&\"}}]\n```",
			want: []call{{"other", `{"k":"<b>&"}`}},
		},
		{
			name: "openai-shaped function object",
			text: `{"type": "function", "function": {"name": "other", "arguments": "{\"a\":1}"}}`,
			want: []call{{"other", `{"a":1}`}},
		},
		{
			name: "missing arguments become an empty object",
			text: `{"name": "other"}`,
			want: []call{{"other", `{}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, rest, ok := Parse(tt.text, testTools)
			if !ok {
				t.Fatalf("Parse(%q) found no calls", tt.text)
			}
			var got []call
			for i, c := range calls {
				got = append(got, call{c.Name, c.Arguments})
				if want := "call_" + string(rune('0'+i)); c.ID != want {
					t.Errorf("call %d ID = %q, want %q", i, c.ID, want)
				}
				if !json.Valid([]byte(c.Arguments)) {
					t.Errorf("call %d arguments %q are not valid JSON", i, c.Arguments)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("calls = %v, want %v", got, tt.want)
			}
			if rest != tt.rest {
				t.Errorf("rest = %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, text string }{
		{"plain prose", "The weather in Paris is sunny."},
		{"prose with parentheses", "Call me (maybe) tomorrow."},
		{"unknown tool pythonic", `[delete_all(force=True)]`},
		{"unknown tool json", `{"name": "rm_rf", "arguments": {}}`},
		{"one unknown among known", `<tool_call>{"name":"other","arguments":{}}</tool_call><tool_call>{"name":"nope","arguments":{}}</tool_call>`},
		{"json that is not a call", `{"city": "Paris"}`},
		{"arguments not an object", `{"name": "other", "arguments": [1, 2]}`},
		{"broken tool_call json", `<tool_call>{"name": "other", "arguments": {</tool_call>`},
		{"unterminated python string", `[other(x="abc)]`},
		{"text after pythonic list", `[other(x=1)] and then some`},
		{"too many positional arguments", `get_weather("a", 1, 2)`},
		{"empty", "   "},
		{"json code example in prose", "Here is JSON: {\"name\": \"other\", \"arguments\": {}} as you asked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, rest, ok := Parse(tt.text, testTools)
			if ok || calls != nil {
				t.Fatalf("Parse(%q) = %v, true; want no calls", tt.text, calls)
			}
			if rest != tt.text {
				t.Errorf("rest = %q, want the text unchanged", rest)
			}
		})
	}
}

func TestParseNoTools(t *testing.T) {
	if _, _, ok := Parse(`[get_weather(city="Paris")]`, nil); ok {
		t.Fatal("Parse accepted a call when no tools were offered")
	}
}

func TestParameterOrder(t *testing.T) {
	got := parameterOrder(json.RawMessage(`{"type":"object","required":["b"],"properties":{"z":{"type":"string","enum":["x"]},"a":{},"m":{"properties":{"inner":{}}}}}`))
	if want := []string{"z", "a", "m"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("parameterOrder = %v, want %v", got, want)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts is well formed.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`[get_weather(city="Paris", days=3), other(x=1)]`,
		`<tool_call>{"name":"other","arguments":{"a":[1,{"b":null}]}}</tool_call>`,
		`<function=get_weather>{"city":"x"}</function>`,
		`<|python_tag|>brave_search.call(query='q')`,
		`[TOOL_CALLS][{"name":"other","arguments":{}}]`,
		`[TOOL_CALLS]other[ARGS]{"a":1}`,
		`{"name":"other","parameters":{"x":"\u00e9"}}`,
		`other(d={1: {2, 3}}, s=b'\x41', t=(1,), n=-1.5e-3)`,
		"<tool_call><function=other><parameter=a>1</parameter></function></tool_call>",
		"```\nother()\n```",
		`[other(x=[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]])]`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	names := map[string]bool{}
	for _, tl := range testTools {
		names[tl.Name] = true
	}
	f.Fuzz(func(t *testing.T, text string) {
		calls, rest, ok := Parse(text, testTools)
		if !ok {
			if calls != nil || rest != text {
				t.Fatalf("rejected parse changed output: %v %q", calls, rest)
			}
			return
		}
		if len(calls) == 0 {
			t.Fatal("ok with no calls")
		}
		for _, c := range calls {
			if !names[c.Name] {
				t.Fatalf("accepted unoffered tool %q", c.Name)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(c.Arguments), &obj); err != nil || !strings.HasPrefix(c.Arguments, "{") {
				t.Fatalf("arguments %q are not a JSON object: %v", c.Arguments, err)
			}
		}
	})
}

func TestSafePrefix(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"Hello there", 11},
		{"", 0},
		{"  ", 0},
		{"[", 0},
		{"[get_wea", 0},
		{"[get_weather(city=", 0},
		{"[see the docs](http://x)", 24},
		{"{", 0},
		{"<tool", 0},
		{"<b>bold</b>", 11},
		{"get_w", 0},
		{"get_weather(", 0},
		{"get_weather is a tool", 21},
		{"getting there", 13},
		{"Sure.\n<tool_call>{", 6},
		{"Sure.\n<tool_", 6},
		{"Sure. [TOOL_CALLS][", 6},
		{"a < b", 5},
		{"x <|python", 2},
		{"```python\nget_weather(", 0},
		{"```python\nprint(1)\n```", 22},
	}
	for _, tt := range tests {
		if got := SafePrefix(tt.text, testTools); got != tt.want {
			t.Errorf("SafePrefix(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
	if got := SafePrefix("[get_weather(", nil); got != 13 {
		t.Errorf("SafePrefix without tools = %d, want everything", got)
	}
}

func TestTagIndex(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"plain", 5},
		{"a<tool_call>b", 1},
		{"a<function=f>", 1},
		{"ab [TOOL_CALLS]", 3},
		{"x<|python_tag|>", 1},
		{"ends with <tool_c", 10},
		{"ends with [TOOL", 10},
		{"ends with <", 10},
		{"<b> is bold", 11},
	}
	for _, tt := range tests {
		if got := TagIndex(tt.s); got != tt.want {
			t.Errorf("TagIndex(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
