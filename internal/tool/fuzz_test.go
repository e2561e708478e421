package tool

import (
	"encoding/json"
	"testing"
)

// FuzzValidate feeds model-produced argument text to the validator: it must never panic, and what
// it accepts must be a JSON object Go can decode.
func FuzzValidate(f *testing.F) {
	s, err := CompileSchema(json.RawMessage(`{"type":"object","properties":{
		"path":{"type":"string","maxLength":8},"n":{"type":"integer","minimum":0},
		"argv":{"type":"array","items":{"type":"string"}},"mode":{"enum":["a",1,null]}},
		"required":["path"],"additionalProperties":false}`))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{`{"path":"a"}`, `{"path":"a","n":1,"argv":["x"],"mode":1}`, `{"path":`, `[]`, `{"path":"a","n":1e400}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if s.Validate(json.RawMessage(doc)) != nil {
			return
		}
		var v struct {
			Path string   `json:"path"`
			N    int64    `json:"n"`
			Argv []string `json:"argv"`
			Mode any      `json:"mode"`
		}
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("accepted %q but Go cannot decode it: %v", doc, err)
		}
	})
}
