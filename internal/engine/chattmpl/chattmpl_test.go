package chattmpl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

func render(t *testing.T, src string, extra map[string]any) (string, error) {
	t.Helper()
	tmpl, err := Parse(src)
	if err != nil {
		return "", err
	}
	return tmpl.Render(Input{Extra: extra, BOSToken: "<s>", EOSToken: "</s>"})
}

// TestExpressions checks Jinja semantics the chat templates rely on; the expected strings are what
// Python's Jinja2 prints for the same template.
func TestExpressions(t *testing.T) {
	vars := map[string]any{
		"d":    json.RawMessage(`{"b": 1, "a": [1, 2.5, "x"], "s": "héllo <b>", "n": null, "t": true}`),
		"xs":   []any{3, 1, 2},
		"msgs": json.RawMessage(`[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]`),
		"s":    "  Hello World  ",
	}
	cases := []struct{ src, want string }{
		// Literals and printing follow Python's str().
		{`{{ none }}|{{ true }}|{{ 1.0 }}|{{ 1e20 }}|{{ [1, 'a', none] }}|{{ {'k': 'v'} }}`, `None|True|1.0|1e+20|[1, 'a', None]|{'k': 'v'}`},
		{`{{ undefined_var }}|{{ d.missing }}|{{ d.missing.deeper }}`, `||`},
		{`{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 'ab' * 3 }}`, `3 -4 1 2 3.5 1024 ababab`},
		{`{{ 'a' ~ 1 ~ none }} {{ 'a' + 'b' }} {{ [1] + [2] }}`, `a1None ab [1, 2]`},
		{`{{ 1 if d.t else 2 }}{{ 'x' if false }}{{ 3 if d.n is none else 4 }}`, `13`},
		{`{{ not 1 == 2 and (1 < 2 or false) }} {{ 'ell' in s }} {{ 'z' not in s }} {{ 'b' in d }} {{ 2 in xs }}`, `True True True True True`},
		// Filters.
		{`{{ s | trim }}|{{ s | upper | trim }}|{{ 'hELLO wORLD' | capitalize }}|{{ 'hELLO wORLD' | title }}`, `Hello World|HELLO WORLD|Hello world|Hello World`},
		{`{{ xs | length }} {{ xs | first }} {{ xs | last }} {{ xs | join(', ') }} {{ xs | sort | list }} {{ xs | reverse | list }}`, `3 3 2 3, 1, 2 [1, 2, 3] [2, 1, 3]`},
		{`{{ d | tojson }}`, `{"b": 1, "a": [1, 2.5, "x"], "s": "héllo <b>", "n": null, "t": true}`},
		{`{{ d.a | tojson(indent=2) }}`, "[\n  1,\n  2.5,\n  \"x\"\n]"},
		{`{{ {} | tojson(indent=4) }}{{ [] | tojson }}{{ 'line\n"q"' | tojson }}`, `{}[]"line\n\"q\""`},
		{`{{ undefined_var | default('dflt') }} {{ '' | default('e', true) }} {{ 0 | default(5) }}`, `dflt e 0`},
		{`{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}`, `b=1;a=[1, 2.5, 'x'];s=héllo <b>;n=None;t=True;`},
		{`{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join }}`, `ac`},
		{`{{ msgs | rejectattr('role', 'equalto', 'user') | list | length }} {{ msgs | selectattr('missing', 'defined') | list }}`, `1 []`},
		{`{{ msgs | map(attribute='role') | unique | list }} {{ ['a','b'] | map('upper') | join }}`, `['user', 'assistant'] AB`},
		{`{{ 'a-b-c' | replace('-', '+') }} {{ '42' | int + 1 }} {{ 3 | string + 'x' }} {{ 'x' | int }} {{ -3 | abs }}`, `a+b+c 43 3x 0 3`},
		{`{{ d.s | safe }} {{ d.s | escape }}`, `héllo <b> héllo &lt;b&gt;`},
		// Tests.
		{`{{ d is mapping }} {{ xs is sequence }} {{ 'x' is string }} {{ 'x' is iterable }} {{ 3 is number }} {{ d.n is none }} {{ d.q is undefined }} {{ d.b is not defined }}`, `True True True True True True True False`},
		{`{{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ 'a' is equalto 'a' }} {{ 1 is in [1] }}`, `True True True True`},
		// Methods.
		{`{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}`, `Hello World|Hello World  |  Hello World|hi`},
		{`{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}`, `True True ['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']`},
		{`{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}{{ 'hi there'.title() }}{{ 'a-b'.replace('-', '') }}{{ '{} and {}'.format(1, 'x') }}`, `HIhiHi Thereab1 and x`},
		{`{{ d.get('b') }} {{ d.get('zz', 'no') }} {{ d.keys() | list }} {{ d['a'][1] }} {{ d.a[-1] }} {{ d.items() | length }}`, `1 no ['b', 'a', 's', 'n', 't'] 2.5 x 5`},
		// Slicing.
		{`{{ xs[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ xs[5] }}|`, `[2, 1, 3] [1, 2] [3, 1] el olleh |`},
		// Loops.
		{`{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}`, `10TrueFalse3 21FalseFalse3 32FalseTrue3 `},
		{`{% for x in xs if x > 1 %}{{ x }}:{{ loop.length }} {% else %}none{% endfor %}`, `3:2 2:2 `},
		{`{% for x in [] %}{{ x }}{% else %}empty{% endfor %}`, `empty`},
		{`{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}`, `3`},
		{`{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }} {% endfor %}`, `-1 3-2 1- `},
		{`{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}`, `012531`},
		// Scoping: a set inside a loop does not leak; a namespace carries state out.
		{`{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}`, `1`},
		{`{% set ns = namespace(n=0, found=false) %}{% for i in xs %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }} {{ ns.found }}`, `6 False`},
		{`{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set blk %}in{{ a }}{% endset %}[{{ blk }}]`, `12[in1]`},
		// Macros.
		{`{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C') }}`, `Hi A! Hi B? Hi C!`},
		{`{% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}body{% endcall %}`, `[body]`},
		{`{% filter upper %}shout{% endfilter %}`, `SHOUT`},
		// Comments, raw, string escapes.
		{`a{# comment #}b{% raw %}{{ not parsed }}{% endraw %}c`, `ab{{ not parsed }}c`},
		{`{{ "tab\there" }}|{{ 'it\'s' }}|{{ "\u00e9" }}`, "tab\there|it's|é"},
		{`{{ bos_token }}{{ eos_token }}`, `<s></s>`},
		{`{{ strftime_now('%d %b %Y') }}`, time.Now().Format("02 Jan 2006")},
		{`{% generation %}gen{% endgeneration %}`, `gen`},
	}
	for _, tc := range cases {
		got, err := render(t, tc.src, vars)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s\n got: %q\nwant: %q", tc.src, got, tc.want)
		}
	}
}

// TestWhitespace checks trim_blocks, lstrip_blocks and the '-' and '+' markers as Hugging Face's
// Jinja environment applies them.
func TestWhitespace(t *testing.T) {
	cases := []struct{ src, want string }{
		// trim_blocks removes the newline after a block tag; lstrip_blocks the indentation before it.
		{"{% if true %}\n    yes\n{% endif %}\nafter", "    yes\nafter"},
		{"  {% if true %}\n  x\n  {% endif %}\n", "  x\n"},
		// Indentation after a line the previous tag ended is stripped too.
		{"{% if true %}\n    {% if true %}x{% endif %}\n{% endif %}", "x"},
		{"{% for i in [1, 2] %}\n    {{ i }}\n{% endfor %}", "    1\n    2\n"},
		// Not at the start of a line: kept.
		{"a  {% if true %}b{% endif %}", "a  b"},
		// Expressions are not touched by trim_blocks/lstrip_blocks.
		{"  {{ 1 }}\n{{ 2 }}", "  1\n2"},
		// The '-' markers strip all white space, newlines included.
		{"a  \n  {{- 'b' -}}  \n  c", "abc"},
		{"a\n{%- if true -%}\n  b\n{%- endif -%}\n c", "abc"},
		// '+' keeps what lstrip_blocks / trim_blocks would remove.
		{"  {%+ if true %}x{% endif +%}\ny", "  x\ny"},
		// Comments obey the same rules.
		{"a\n  {# c #}\nb", "a\nb"},
		// CRLF line ends.
		{"{% if true %}\r\nx{% endif %}", "x"},
	}
	for _, tc := range cases {
		got, err := render(t, tc.src, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q\n got: %q\nwant: %q", tc.src, got, tc.want)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		src       string
		line, col int
	}{
		{"{{ 1 + }}", 1, 8},
		{"line one\n{% if x %}\nno end", 3, 7},
		{"{% for x in %}{% endfor %}", 1, 13},
		{"{% unknown %}", 1, 4},
		{"{{ 'unterminated }}", 1, 4},
		{"ok\n  {{ a b }}", 2, 8},
		{"{% endif %}", 1, 4},
		{"{{ (1 }}", 1, 8},
		{"{# never closed", 1, 1},
		{"{{ x | }}", 1, 8},
	}
	for _, tc := range cases {
		_, err := Parse(tc.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", tc.src, err)
			continue
		}
		if fault.CodeOf(err) != fault.Unprocessable {
			t.Errorf("Parse(%q): code %v, want Unprocessable", tc.src, fault.CodeOf(err))
		}
		if se.Line != tc.line || se.Col != tc.col {
			t.Errorf("Parse(%q): error at %d:%d (%v), want %d:%d", tc.src, se.Line, se.Col, se, tc.line, tc.col)
		}
	}
}

func TestRaiseException(t *testing.T) {
	// Mistral v0.3 rejects two user turns in a row.
	tmpl := mustParseFile(t, "mistral-7b-instruct-v0.3.jinja")
	_, err := tmpl.Render(Input{Messages: []chat.Message{
		{Role: chat.User, Content: "a"}, {Role: chat.User, Content: "b"},
	}})
	var ee *ExceptionError
	if !errors.As(err, &ee) || !strings.Contains(ee.Msg, "must alternate") {
		t.Fatalf("err = %v, want the template's alternation exception", err)
	}
	if fault.CodeOf(err) != fault.Invalid {
		t.Errorf("code %v, want Invalid", fault.CodeOf(err))
	}
	// Gemma 2 has no system role.
	_, err = mustParseFile(t, "gemma-2-it.jinja").Render(Input{Messages: llamaCppConversation})
	if !errors.As(err, &ee) || ee.Msg != "System role not supported" {
		t.Errorf("gemma-2 with a system message: %v", err)
	}
	// The same conversation folded renders.
	if _, err := mustParseFile(t, "gemma-2-it.jinja").Render(Input{Messages: foldSystem(llamaCppConversation)}); err != nil {
		t.Errorf("gemma-2 without a system message: %v", err)
	}
}

func TestRuntimeErrors(t *testing.T) {
	cases := []struct{ src, contains string }{
		{"{{ 'a' + 1 }}", "unsupported operand"},
		{"\n  {{ 1 / 0 }}", "2:"},
		{"{{ nope() }}", "undefined"},
		{"{{ 1 | nosuchfilter }}", "unknown filter"},
		{"{{ 1 is nosuchtest }}", "unknown test"},
		{"{% for x in 5 %}{% endfor %}", "not iterable"},
	}
	for _, tc := range cases {
		_, err := render(t, tc.src, nil)
		if err == nil || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%q: err = %v, want one containing %q", tc.src, err, tc.contains)
			continue
		}
		if fault.CodeOf(err) != fault.Unprocessable {
			t.Errorf("%q: code %v", tc.src, fault.CodeOf(err))
		}
	}
}

func TestLimits(t *testing.T) {
	cases := []string{
		"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
		"{% set s = 'x' * 4000000 %}{{ s }}{{ s }}{{ s }}",
		"{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
		"{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"{{ range(100000000) | length }}",
		"{% set ns = namespace(s='x' * 8000000) %}{% for i in range(100000) %}{% set ns.s = ns.s[1:] ~ 'x' %}{% endfor %}",
		"{% set s = 'x' * 8000000 %}{% for i in range(100000) %}{{ s | length }}{{ s.strip() | length }}{% endfor %}",
		"{% for c in 'x' * 8000000 %}{% endfor %}",
	}
	for _, src := range cases {
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			_, err := render(t, src, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !errors.Is(err, errLimit) {
				t.Errorf("%q: err = %v, want a limit error", src, err)
			}
			t.Logf("%s: %v after %v", src[:min(len(src), 40)], err, time.Since(start))
		case <-time.After(60 * time.Second): // a hang guard, not a speed claim
			t.Fatalf("%q: still running after 60s", src)
		}
	}
}

func TestMessageShape(t *testing.T) {
	in := Input{
		Messages: []chat.Message{
			{Role: chat.Assistant, ToolCalls: []chat.ToolCall{
				{ID: "c1", Name: "f", Arguments: `{"z": 1, "a": [true, null]}`},
				{ID: "c2", Name: "g", Arguments: `not json`},
				{ID: "c3", Name: "h"},
			}},
			{Role: chat.Tool, Content: "result", ToolCallID: "c1", Name: "f"},
			{Role: chat.User, Content: "plain"},
		},
		Tools: []chat.ToolSpec{{Name: "f", Description: "does f"}},
	}
	src := `{{ messages | tojson }}|{{ tools | tojson }}|{{ 'tool_calls' in messages[2] }}{{ messages[2].name is defined }}`
	got, err := mustParse(t, src).Render(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"role": "assistant", "content": "", "tool_calls": [` +
		`{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"z": 1, "a": [true, null]}}}, ` +
		`{"id": "c2", "type": "function", "function": {"name": "g", "arguments": "not json"}}, ` +
		`{"id": "c3", "type": "function", "function": {"name": "h", "arguments": {}}}]}, ` +
		`{"role": "tool", "content": "result", "name": "f", "tool_call_id": "c1"}, ` +
		`{"role": "user", "content": "plain"}]|` +
		`[{"type": "function", "function": {"name": "f", "description": "does f", "parameters": {"type": "object", "properties": {}}}}]|FalseFalse`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Without tools, tools is none (defined), as in Hugging Face's apply_chat_template.
	got, err = mustParse(t, `{{ tools is defined }} {{ tools is none }} {{ add_generation_prompt }}`).Render(Input{})
	if err != nil || got != "True True False" {
		t.Errorf("tools without tools: %q %v", got, err)
	}
	// Extra variables override defaults and reach the template.
	got, err = mustParse(t, `{{ enable_thinking }} {{ date_string }}`).Render(Input{Extra: map[string]any{"enable_thinking": false, "date_string": "1 Jan 2025"}})
	if err != nil || got != "False 1 Jan 2025" {
		t.Errorf("extra: %q %v", got, err)
	}
}

func TestStrftime(t *testing.T) {
	now := time.Date(2025, 3, 7, 14, 5, 9, 0, time.UTC)
	got := strftime(now, "%d %b %Y|%-d %B %y|%H:%M:%S %p %I|%A %a %j|%Y-%m-%d|100%%|%Q")
	want := "07 Mar 2025|7 March 25|14:05:09 PM 02|Friday Fri 066|2025-03-07|100%|%Q"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Llama 3.2 uses strftime_now for its date line.
	out, err := mustParseFile(t, "llama-3.2-instruct.jinja").Render(Input{Messages: []chat.Message{{Role: chat.User, Content: "hi"}}, Now: now})
	if err != nil || !strings.Contains(out, "Today Date: 07 Mar 2025\n") {
		t.Errorf("llama 3.2 date: %v\n%s", err, out)
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.1: "0.1", 1e16: "1e+16", 1e15: "1000000000000000.0", 1.5e-5: "1.5e-05", 0.0001: "0.0001", -2.5: "-2.5", 123456.789: "123456.789",
	} {
		if got := pyFloat(f, false); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestConcurrentRender(t *testing.T) {
	tmpl := mustParseFile(t, "qwen2.5-instruct.jinja")
	want, err := tmpl.Render(Input{Messages: llamaCppConversation})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			got, err := tmpl.Render(Input{Messages: llamaCppConversation})
			if err != nil || got != want {
				errs <- "concurrent render differs"
				return
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
