package chattmpl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

// FuzzParseRender parses and renders arbitrary templates: neither may panic or run unbounded.
func FuzzParseRender(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jinja"))
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err == nil {
			f.Add(string(src))
		}
	}
	for _, s := range []string{
		"{{ x }}", "{% for a, b in d.items() if a %}{{ loop.index }}{% else %}-{% endfor %}",
		"{%- set ns = namespace(a=1) -%}{% set ns.a = ns.a + 1 %}{{ ns.a }}",
		"{{ 'a'[::-1] }}{{ [1,2,3][1:] }}{{ {'a': {'b': 1}} }}",
		"{% macro m(x, y=2) %}{{ x ~ y }}{% endmacro %}{{ m(1) }}{% call m(3) %}c{% endcall %}",
		"{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(', ') }}",
		"{# c #}{% raw %}{{{% endraw %}{{ 1 if true else 2 }}{{ x is not none }}",
		"{{ tools | tojson(indent=2) }}{{ '%s' | format(1) }}{{ '{}'.format(2) }}",
	} {
		f.Add(s)
	}
	in := Input{
		Messages: []chat.Message{
			{Role: chat.System, Content: "sys"},
			{Role: chat.User, Content: "hello"},
			{Role: chat.Assistant, Content: "", ToolCalls: []chat.ToolCall{{ID: "abcdefghi", Name: "f", Arguments: `{"a": [1, {"b": null}]}`}}},
			{Role: chat.Tool, Content: "42", ToolCallID: "abcdefghi"},
			{Role: chat.User, Content: "again"},
		},
		Tools:               []chat.ToolSpec{{Name: "f", Description: "d", Parameters: []byte(`{"type":"object"}`)}},
		AddGenerationPrompt: true,
		BOSToken:            "<s>",
		EOSToken:            "</s>",
		Now:                 time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			if tmpl != nil {
				t.Fatal("Parse returned a template and an error")
			}
			return
		}
		out, err := tmpl.Render(in)
		if err == nil && len(out) > maxOutput {
			t.Fatalf("output of %d bytes exceeds the limit", len(out))
		}
		if err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatal("empty error message")
		}
	})
}
