package tool

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/policy"
)

func TestSchemaValidate(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(`{"type":"object","properties":{
		"path":{"type":"string","minLength":1,"maxLength":5},
		"n":{"type":"integer","minimum":1,"maximum":10},
		"x":{"type":"number"},
		"mode":{"type":"string","enum":["a","b"]},
		"argv":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2},
		"opt":{"type":["string","null"]},
		"obj":{"type":"object","additionalProperties":{"type":"boolean"}}},
		"required":["path"],"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		doc, err string
	}{
		{`{"path":"a"}`, ""},
		{`{"path":"a","n":3,"x":1.5,"mode":"b","argv":["ls"],"opt":null,"obj":{"k":true}}`, ""},
		{`{"path":"a","x":2}`, ""},
		{`{"path":"a","n":2.0}`, "args.n: want integer, got number"}, // as Go decodes it into an int
		{`{}`, "args.path: required"},
		{`{"path":""}`, "args.path: want at least 1 characters"},
		{`{"path":"abcdef"}`, "args.path: want at most 5 characters"},
		{`{"path":"가나다라마"}`, ""},
		{`{"path":7}`, "args.path: want string, got integer"},
		{`{"path":"a","n":2.5}`, "args.n: want integer, got number"},
		{`{"path":"a","n":0}`, "args.n: want at least 1"},
		{`{"path":"a","n":11}`, "args.n: want at most 10"},
		{`{"path":"a","mode":"c"}`, `args.mode: want one of "a", "b"`},
		{`{"path":"a","argv":[]}`, "args.argv: want at least 1 items"},
		{`{"path":"a","argv":["a","b","c"]}`, "args.argv: want at most 2 items"},
		{`{"path":"a","argv":["a",1]}`, "args.argv[1]: want string, got integer"},
		{`{"path":"a","opt":1}`, "args.opt: want string or null, got integer"},
		{`{"path":"a","obj":{"k":"yes"}}`, "args.obj.k: want boolean, got string"},
		{`{"path":"a","extra":1}`, `args: unknown property "extra"`},
		{`[1]`, "args: want object, got array"},
		{`{"path":"a"} {}`, "more than one JSON value"},
		{`{"path":`, "not valid JSON"},
	}
	for _, c := range cases {
		err := s.Validate(json.RawMessage(c.doc))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.doc, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.doc, err, c.err)
		}
	}
	deep := strings.Repeat(`{"obj":`, 100) + "{}" + strings.Repeat("}", 100)
	loose, _ := CompileSchema(json.RawMessage(`{"type":"object","additionalProperties":{"type":"object","additionalProperties":{}}}`))
	_ = loose.Validate(json.RawMessage(deep)) // must not crash
}

func TestCompileSchemaRefusesUnknownKeywords(t *testing.T) {
	for _, doc := range []string{
		`{"type":"object","pattern":"^a"}`,
		`{"type":"thing"}`,
		`{"type":"object","properties":{"a":{"type":"string","format":"uri"}}}`,
		`{"type":"object","enum":[]}`,
		`{"type":"object","required":["a"],"additionalProperties":false}`,
		`[]`,
	} {
		if _, err := CompileSchema(json.RawMessage(doc)); err == nil {
			t.Errorf("%s compiled", doc)
		}
	}
}

// fake is a tool whose behaviour the test sets.
type fake struct {
	name   string
	schema string
}

func (f fake) Spec() chat.ToolSpec {
	return chat.ToolSpec{Name: f.name, Parameters: json.RawMessage(f.schema)}
}
func (f fake) Plan(json.RawMessage) (policy.Call, error) { return policy.Call{}, nil }
func (f fake) Call(context.Context, Env, json.RawMessage) (Result, error) {
	return Result{Content: "ok"}, nil
}

func TestRegistry(t *testing.T) {
	r, err := NewRegistry(fake{"b", `{"type":"object"}`}, fake{"a", ""})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Errorf("names %s", got)
	}
	if err := r.Add(fake{"a", ""}); err == nil {
		t.Error("a duplicate name was accepted")
	}
	if err := r.Add(fake{"bad name", ""}); err == nil {
		t.Error("an invalid name was accepted")
	}
	if err := r.Add(fake{"c", `{"type":"object","format":"x"}`}); err == nil {
		t.Error("an uncompilable schema was accepted")
	}
	if _, err := r.Specs([]string{"a", "zzz"}); err == nil {
		t.Error("an unknown tool was specified")
	}
	specs, err := r.Specs([]string{"b", "a", "b"})
	if err != nil || len(specs) != 2 || specs[0].Name != "a" {
		t.Errorf("specs %+v %v", specs, err)
	}
}

func TestNewRuntimeNeedsEverything(t *testing.T) {
	if _, err := NewRuntime(Options{}); err == nil {
		t.Error("a runtime without registry, workspace, policy and audit was built")
	}
}

func TestAuditArgsShortenLongStrings(t *testing.T) {
	long := strings.Repeat("é", 600)
	got := auditArgs(json.RawMessage(`{"path":"a<b>.txt","content":"` + long + `","n":1.50}`))
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	c := m["content"].(string)
	if !strings.Contains(c, "1200 bytes, sha256 ") || len(c) > 300 {
		t.Errorf("content kept as %q", c)
	}
	if m["path"] != "a<b>.txt" || !strings.Contains(string(got), `"n":1.50`) || strings.Contains(string(got), `\u003c`) {
		t.Errorf("args %s", got)
	}
}

func TestClip(t *testing.T) {
	s := strings.Repeat("가", 10) // 3 bytes each
	got := clip(s, 10)
	if !strings.HasPrefix(got, "가가가\n") || !strings.Contains(got, "21 more bytes") {
		t.Errorf("clip %q", got)
	}
	if clip("short", 10) != "short" {
		t.Error("short strings are changed")
	}
}
