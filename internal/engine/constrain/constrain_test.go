package constrain

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// feed feeds text byte by byte and reports whether every prefix was accepted, and whether the
// whole is complete.
func feed(s *Schema, text string) (ok, complete bool) {
	a := s.NewAcceptor()
	for i := 0; i < len(text); i++ {
		if !a.Feed([]byte{text[i]}) {
			return false, false
		}
	}
	return true, a.Complete()
}

func mustCompile(t *testing.T, schema string) *Schema {
	t.Helper()
	s, err := Compile([]byte(schema))
	if err != nil {
		t.Fatalf("Compile(%s): %v", schema, err)
	}
	return s
}

type prefixCase struct {
	in       string
	ok       bool // every prefix accepted
	complete bool
}

func runCases(t *testing.T, s *Schema, cases []prefixCase) {
	t.Helper()
	for _, c := range cases {
		ok, complete := feed(s, c.in)
		if ok != c.ok || complete != c.complete {
			t.Errorf("%q: accepted %v complete %v, want %v %v", c.in, ok, complete, c.ok, c.complete)
		}
	}
}

func TestAnyValuePrefixes(t *testing.T) {
	runCases(t, AnyValue(), []prefixCase{
		{`{`, true, false},
		{`{}`, true, true},
		{` {"a": [1, 2.5e-3, -0, true, false, null, "x\n\u00e9"]}`, true, true},
		{`{"a":`, true, false},
		{`{"a" 1}`, false, false},
		{`{,}`, false, false},
		{`[1,]`, false, false},
		{`[1 2]`, false, false},
		{`[]`, true, true},
		{`[`, true, false},
		{`"abc`, true, false},
		{`"a\q"`, false, false},
		{`"\u12`, true, false},
		{`"\u12g"`, false, false},
		{`"\ud800"`, false, false},
		{`"tab	"`, false, false},
		{"\"\xff\"", false, false},
		{"\"\xc3\xa9\"", true, true},
		{"\"\xc3\"", false, false},
		{"\"\xed\xa0\x80\"", false, false}, // an encoded surrogate
		{"\"\xf0\x9f\x98\x80\"", true, true},
		{`01`, false, false},
		{`0`, true, true},
		{`-`, true, false},
		{`-x`, false, false},
		{`1.`, true, false},
		{`1.e5`, false, false},
		{`1e`, true, false},
		{`1e+`, true, false},
		{`1e+9`, true, true},
		{`tru`, true, false},
		{`true`, true, true},
		{`trux`, false, false},
		{`nul`, true, false},
		{`null `, true, true},
		{`{"a":1,"a":2}`, false, false}, // duplicate key
		{`{"a":1,"b":2}`, true, true},
		{`{"a":1}}`, false, false},
		{`{"a":1} x`, false, false},
		{`            1`, true, true},
		{`             1`, false, false}, // more than MaxWhitespace
		{"[1,\r\n          2]", true, true},
		{"[1,\n\n2]", true, true},
		{"[1,\n\n\n2]", false, false}, // more than two line breaks in a run
		{"{\n  \"a\": {\n    \"b\": [\n      1\n    ]\n  }\n}\n", true, true},
	})
}

func TestAnyObject(t *testing.T) {
	runCases(t, AnyObject(), []prefixCase{
		{`{}`, true, true},
		{`{"x":{"y":[1,{"z":null}]}}`, true, true},
		{`[]`, false, false},
		{`1`, false, false},
		{`"a"`, false, false},
	})
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if ok, complete := feed(AnyValue(), deep); !ok || !complete {
		t.Errorf("depth %d refused", MaxDepth)
	}
	if ok, _ := feed(AnyValue(), strings.Repeat("[", MaxDepth+1)); ok {
		t.Errorf("depth %d accepted", MaxDepth+1)
	}
}

func TestCloneAndTry(t *testing.T) {
	a := AnyObject().NewAcceptor()
	if !a.Feed([]byte(`{"k":`)) {
		t.Fatal("prefix refused")
	}
	b := a.Clone()
	if !b.Feed([]byte(`1}`)) || !b.Closed() {
		t.Fatal("clone did not complete")
	}
	if a.Complete() || a.Closed() {
		t.Fatal("feeding the clone changed the original")
	}
	if a.Feed([]byte(`x`)) {
		t.Fatal("bad byte accepted")
	}
	rem, ok := a.Try([]byte(`"`))
	if !ok || rem != 2 { // `"}`
		t.Fatalf("Try: %d %v, want 2 true", rem, ok)
	}
	if !a.Feed([]byte(`"v"}`)) || !a.Closed() || a.Remaining() != 0 {
		t.Fatal("original did not complete after a refused byte")
	}
}

const person = `{"type":"object","properties":{"name":{"type":"string","maxLength":20},
	"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}`

func TestSchemaObject(t *testing.T) {
	s := mustCompile(t, person)
	runCases(t, s, []prefixCase{
		{`{"name":"Ann","age":3}`, true, true},
		{`{"age":3,"name":"Ann"}`, true, true},
		{`{ "age": 3, "name": "Ann" }`, true, true},
		{`{"name":"Ann"}`, false, false},       // age missing
		{`{"name":"Ann",`, true, false},        // another key may follow
		{`{"name":"Ann","name"`, false, false}, // duplicate
		{`{"nam`, true, false},
		{`{"nick`, false, false}, // not listed
		{`{"age":3.5`, false, false},
		{`{"age":"3"`, false, false},
		{`{"name":"abcdefghijabcdefghij"`, true, false},
		{`{"name":"abcdefghijabcdefghijk"`, false, false},
		{`{"name":"\u00e9\u00e9"`, true, false},
		{`{"name":"Ann","age":3,`, false, false}, // no key left
		{`{}`, false, false},
	})
	a := s.NewAcceptor()
	if got := a.Remaining(); got != len(`{"age":0,"name":""}`) {
		t.Errorf("Remaining at start = %d", got)
	}
}

func TestSchemaEnumConst(t *testing.T) {
	s := mustCompile(t, `{"enum":["red","green",1,10,true,null,{"a":1}]}`)
	runCases(t, s, []prefixCase{
		{`"red"`, true, true},
		{`"re`, true, false},
		{`"blue"`, false, false},
		{`1`, true, true},
		{`10`, true, true},
		{`100`, false, false},
		{`true`, true, true},
		{`false`, false, false},
		{`null`, true, true},
		{`{"a":1}`, true, true},
		{`[10]`, false, false},
	})
	s = mustCompile(t, `{"type":"array","items":{"const":"x"},"maxItems":2}`)
	runCases(t, s, []prefixCase{
		{`["x","x"]`, true, true},
		{`["x","x",`, false, false},
		{`["y"]`, false, false},
	})
	// Enum members that break sibling keywords are dropped.
	s = mustCompile(t, `{"type":"string","enum":["a",1,"bb"],"maxLength":1}`)
	runCases(t, s, []prefixCase{
		{`"a"`, true, true},
		{`"bb"`, false, false},
		{`1`, false, false},
	})
}

func TestSchemaArrays(t *testing.T) {
	s := mustCompile(t, `{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":3}`)
	runCases(t, s, []prefixCase{
		{`[1,2]`, true, true},
		{`[1,2.5,3]`, true, true},
		{`[1]`, false, false},
		{`[]`, false, false},
		{`[1,2,3,`, false, false},
		{`["a"`, false, false},
	})
}

func TestSchemaIntegerBounds(t *testing.T) {
	runCases(t, mustCompile(t, `{"type":"integer","minimum":1,"maximum":5}`), []prefixCase{
		{`1`, true, true},
		{`5`, true, true},
		{`0`, false, false},
		{`6`, false, false},
		{`12`, false, false},
		{`-`, false, false},
		{`3 `, true, true},
	})
	runCases(t, mustCompile(t, `{"type":"integer","exclusiveMinimum":-20,"exclusiveMaximum":150}`), []prefixCase{
		{`-19`, true, true},
		{`-20`, false, false},
		{`-2`, true, true},
		{`-200`, false, false},
		{`149`, true, true},
		{`150`, false, false},
		{`15`, true, true},
		{`0`, true, true},
	})
	// 100..250: "1" and "2" may begin a number in range but are not in range themselves.
	s := mustCompile(t, `{"type":"array","items":{"type":"integer","minimum":100,"maximum":250}}`)
	runCases(t, s, []prefixCase{
		{`[100,250]`, true, true},
		{`[1`, true, false},
		{`[1]`, false, false},
		{`[3`, false, false},
		{`[26`, false, false},
		{`[099]`, false, false},
	})
	a := s.NewAcceptor()
	a.Feed([]byte(`[2`))
	if got := a.Remaining(); got != 3 { // "00]"
		t.Errorf("Remaining after [2 = %d, want 3", got)
	}
	// Draft 4 flags, fractional bounds, and a schema with no integer in range.
	runCases(t, mustCompile(t, `{"type":"integer","minimum":0.5,"maximum":3,"exclusiveMaximum":true}`), []prefixCase{
		{`1`, true, true},
		{`2`, true, true},
		{`3`, false, false},
		{`0`, false, false},
	})
	if _, err := Compile([]byte(`{"type":"integer","minimum":1.2,"maximum":1.8}`)); err == nil {
		t.Error("bounds without an integer between them accepted")
	}
	runCases(t, mustCompile(t, `{"type":["integer","null"],"minimum":1.2,"maximum":1.8}`), []prefixCase{
		{`null`, true, true},
		{`1`, false, false},
	})
}

func TestSchemaStringsAndTypes(t *testing.T) {
	s := mustCompile(t, `{"type":["string","null"],"minLength":2}`)
	runCases(t, s, []prefixCase{
		{`"ab"`, true, true},
		{`"a"`, false, false},
		{`null`, true, true},
		{`1`, false, false},
		{`"\n\t"`, true, true},
	})
	runCases(t, mustCompile(t, `{"type":"integer"}`), []prefixCase{
		{`-12`, true, true},
		{`1.5`, false, false},
		{`1e3`, false, false},
	})
	runCases(t, mustCompile(t, `{"type":"boolean"}`), []prefixCase{
		{`false`, true, true},
		{`"false"`, false, false},
	})
}

func TestSchemaAnyOfAndRefs(t *testing.T) {
	s := mustCompile(t, `{
		"$defs": {
			"cat": {"type":"object","properties":{"kind":{"const":"cat"},"lives":{"type":"integer"}},"required":["kind","lives"],"additionalProperties":false},
			"dog": {"type":"object","properties":{"kind":{"const":"dog"},"good":{"type":"boolean"}},"required":["kind","good"],"additionalProperties":false}
		},
		"type":"object",
		"properties":{"pets":{"type":"array","items":{"anyOf":[{"$ref":"#/$defs/cat"},{"$ref":"#/$defs/dog"},{"type":"null"}]}}},
		"required":["pets"],"additionalProperties":false}`)
	runCases(t, s, []prefixCase{
		{`{"pets":[{"kind":"cat","lives":9},{"kind":"dog","good":true},null]}`, true, true},
		{`{"pets":[{"kind":"cat","good":true}]}`, false, false},
		{`{"pets":[{"kind":"dog","lives":9}]}`, false, false},
		{`{"pets":[{"kind":"cat","lives":9,"kind":"cat"}]}`, false, false},
		{`{"pets":[]}`, true, true},
	})
	// A recursive tree through "#".
	tree := mustCompile(t, `{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#"}}},"required":["v"],"additionalProperties":false}`)
	runCases(t, tree, []prefixCase{
		{`{"v":1,"kids":[{"v":2},{"v":3,"kids":[]}]}`, true, true},
		{`{"v":1,"kids":[{}]}`, false, false},
	})
}

func TestSchemaAdditionalProperties(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string"}}`)
	runCases(t, s, []prefixCase{
		{`{"a":1,"b":"x"}`, true, true},
		{`{"b":1}`, false, false},
		{`{"a":"x"}`, false, false},
		{`{"\u0061":1}`, true, true}, // an escaped key is still the listed property
		{`{"\u0061":"x"}`, false, false},
		{`{"b":"x","b":"y"}`, false, false},
	})
	// Required but unlisted: the additionalProperties schema applies.
	s = mustCompile(t, `{"type":"object","required":["z"]}`)
	runCases(t, s, []prefixCase{
		{`{"z":[1]}`, true, true},
		{`{}`, false, false},
	})
}

func TestSchemaErrors(t *testing.T) {
	for _, c := range []struct{ schema, keyword string }{
		{`{"type":"string","format":"date-time"}`, "format"},
		{`{"type":"string","pattern":"^a"}`, "pattern"},
		{`{"type":"object","properties":{"n":{"type":"number","minimum":0}}}`, "minimum"},
		{`{"maximum":3}`, "maximum"},
		{`{"type":"integer","multipleOf":3}`, "multipleOf"},
		{`{"oneOf":[{"type":"string"}]}`, "oneOf"},
		{`{"allOf":[{"type":"string"}]}`, "allOf"},
		{`{"type":"strin"}`, "type"},
		{`{"$ref":"http://example.com/x"}`, "$ref"},
		{`{"$ref":"#/$defs/missing"}`, "$ref"},
		{`{"type":"object","required":["x"],"additionalProperties":false}`, "required"},
		{`{"enum":[]}`, "enum"},
		{`{"type":"string","enum":[1]}`, "enum"},
		{`{"type":"string","minLength":3,"maxLength":2}`, "minLength"},
		{`{"type":"array","items":[{"type":"string"}]}`, "items"},
		{`{"anyOf":[{"type":"string"}],"type":"string"}`, "anyOf"},
	} {
		_, err := Compile([]byte(c.schema))
		var se *SchemaError
		if !errors.As(err, &se) || se.Keyword != c.keyword {
			t.Errorf("Compile(%s) = %v, want a SchemaError about %q", c.schema, err, c.keyword)
			continue
		}
		if !strings.Contains(err.Error(), c.keyword) {
			t.Errorf("error %q does not name %q", err, c.keyword)
		}
	}
	// Unsatisfiable recursion.
	if _, err := Compile([]byte(`{"type":"object","properties":{"x":{"$ref":"#"}},"required":["x"]}`)); err == nil {
		t.Error("infinitely nested schema accepted")
	}
	if _, err := Compile([]byte(`{"$ref":"#"}`)); err == nil {
		t.Error("a reference cycle was accepted")
	}
	if _, err := Compile([]byte(`{`)); err == nil {
		t.Error("malformed JSON accepted")
	}
}

// randomValue builds a random JSON-able value.
func randomValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(8); {
	case depth > 3 || k == 0:
		return r.Float64()*2e6 - 1e6
	case k == 1:
		return r.IntN(1000) - 500
	case k == 2:
		return r.IntN(2) == 0
	case k == 3:
		return nil
	case k == 4:
		return randomString(r)
	case k == 5:
		xs := make([]any, r.IntN(4))
		for i := range xs {
			xs[i] = randomValue(r, depth+1)
		}
		return xs
	default:
		m := map[string]any{}
		for range r.IntN(4) {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	}
}

func randomString(r *rand.Rand) string {
	runes := []rune("aZ0 \"\\/\n\t\u00e9\u4e2d\U0001F600<>&\u2028\x01")
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

// TestMarshalledValuesAccepted checks that every prefix of random json.Marshal output (compact and
// indented) is accepted and the whole is complete.
func TestMarshalledValuesAccepted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		v := randomValue(r, 0)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		ok, complete := feed(AnyValue(), string(b))
		if !ok || !complete {
			t.Fatalf("value %d %s: accepted %v complete %v", i, b, ok, complete)
		}
		ind, _ := json.MarshalIndent(v, "", "  ") // at most 4 levels: within MaxWhitespace
		if ok, complete := feed(AnyValue(), string(ind)); !ok || !complete {
			t.Fatalf("indented %s: accepted %v complete %v", ind, ok, complete)
		}
	}
}

// FuzzAcceptor checks the acceptor against encoding/json: a complete input is valid JSON, and
// an accepted input never contains a refused prefix.
func FuzzAcceptor(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"x\u00e9"`, `-0.5e+3`, `[true,false]`, "\"\xe2\x82\xac\"", `{"a":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a := AnyValue().NewAcceptor()
		for i := 0; i < len(in); i++ {
			if !a.Feed([]byte{in[i]}) {
				return
			}
			if a.Complete() && !json.Valid([]byte(in[:i+1])) {
				t.Fatalf("%q reported complete but json.Valid is false", in[:i+1])
			}
		}
		b := AnyValue().NewAcceptor()
		if !b.Feed([]byte(in)) {
			t.Fatalf("%q accepted byte by byte but not at once", in)
		}
	})
}

// TestNoDeadEnds walks randomly through accepted bytes and then completes greedily with bytes that
// lower Remaining: every accepted prefix must be completable that way, within Remaining bytes, to
// a valid document.
func TestNoDeadEnds(t *testing.T) {
	schemas := []string{
		person,
		`{}`,
		`{"type":"object"}`,
		`{"type":"array","items":{"type":"string","minLength":3,"maxLength":5},"minItems":2,"maxItems":4}`,
		`{"anyOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false},
			{"type":"object","properties":{"ab":{"enum":["x","xy",12,1]}},"required":["ab"],"additionalProperties":false},
			{"type":["number","boolean"]}]}`,
		`{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#"}}},"required":["v"]}`,
		`{"type":"array","items":{"type":"integer","minimum":-250,"maximum":-100},"minItems":1}`,
		`{"type":"array","items":{"type":"integer","minimum":17,"maximum":4000}}`,
	}
	alphabet := []byte("{}[]\",:01-.e+aAbxyz \\u\n\t\xc3\xa9truefalsn")
	r := rand.New(rand.NewPCG(7, 8))
	for _, src := range schemas {
		s := mustCompile(t, src)
		for walk := range 200 {
			a := s.NewAcceptor()
			var out []byte
			for range r.IntN(40) {
				b := alphabet[r.IntN(len(alphabet))]
				if a.Feed([]byte{b}) {
					out = append(out, b)
				}
			}
			budget := a.Remaining()
			for steps := 0; !a.Complete(); steps++ {
				if steps > budget {
					t.Fatalf("%s walk %d: %q not completed within Remaining %d", src, walk, out, budget)
				}
				cur := a.Remaining()
				found := false
				for c := 0; c < 256 && !found; c++ {
					if rem, ok := a.Try([]byte{byte(c)}); ok && rem < cur {
						a.Feed([]byte{byte(c)})
						out = append(out, byte(c))
						found = true
					}
				}
				if !found {
					t.Fatalf("%s walk %d: dead end after %q (Remaining %d)", src, walk, out, cur)
				}
			}
			if !json.Valid(out) {
				t.Fatalf("%s walk %d: completed %q is not valid JSON", src, walk, out)
			}
		}
	}
}

// FuzzCompile compiles arbitrary schemas; whatever compiles must let a greedy completion reach a
// complete, valid document from a few random accepted bytes.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{person, `{}`, `{"enum":[1,"a",null]}`, `{"anyOf":[{"type":"integer"},{"type":"array","items":{"$ref":"#"}}]}`,
		`{"type":"object","properties":{"a":{"type":"string","minLength":2}},"required":["a"]}`, `{"format":"x"}`,
		`{"type":"integer","minimum":-30,"exclusiveMaximum":7}`} {
		f.Add(s, uint64(1))
	}
	alphabet := []byte("{}[]\",:01-.ea \\u\ntruefalsn")
	f.Fuzz(func(t *testing.T, schema string, seed uint64) {
		s, err := Compile([]byte(schema))
		if err != nil {
			return
		}
		r := rand.New(rand.NewPCG(seed, seed))
		a := s.NewAcceptor()
		var out []byte
		for range r.IntN(20) {
			if b := alphabet[r.IntN(len(alphabet))]; a.Feed([]byte{b}) {
				out = append(out, b)
			}
		}
		budget := a.Remaining()
		if budget > 2000 {
			return
		}
		for steps := 0; !a.Complete(); steps++ {
			if steps > budget {
				t.Fatalf("%q not completed within %d bytes", out, budget)
			}
			cur, found := a.Remaining(), false
			for c := 0; c < 256 && !found; c++ {
				if rem, ok := a.Try([]byte{byte(c)}); ok && rem < cur {
					a.Feed([]byte{byte(c)})
					out = append(out, byte(c))
					found = true
				}
			}
			if !found {
				t.Fatalf("dead end after %q", out)
			}
		}
		if !json.Valid(out) {
			t.Fatalf("%q is not valid JSON", out)
		}
	})
}

// TestSchemaAnyOfCycles checks that anyOf alternatives leading back to themselves neither loop nor
// change what is accepted.
func TestSchemaAnyOfCycles(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"anyOf":[{"$ref":"#/properties/a"},{"anyOf":[{"type":"null"},{"$ref":"#/$defs/b"}]}]}},
		"$defs":{"b":{"anyOf":[{"type":"integer"},{"$ref":"#/properties/a"}]}}}`)
	runCases(t, s, []prefixCase{
		{`{"a":null}`, true, true},
		{`{"a":12}`, true, true},
		{`{"a":"x"}`, false, false},
	})
	if _, err := Compile([]byte(`{"anyOf":[{"$ref":"#"}]}`)); err == nil {
		t.Error("an anyOf that is only itself was accepted")
	}
}
