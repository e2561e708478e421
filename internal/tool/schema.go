package tool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Schema is a compiled JSON Schema of the subset tools use: type (one name or a list), properties,
// required, additionalProperties (false or a schema), enum, items, minItems/maxItems,
// minLength/maxLength, minimum/maximum. Annotations (description, title, default, examples,
// $schema) are accepted and ignored; any other keyword is a compile error, so a tool cannot declare a
// constraint that would silently go unchecked.
type Schema struct {
	types      []string
	props      map[string]*Schema
	required   []string
	additional *Schema // nil: any extra property; see closed
	closed     bool    // additionalProperties: false
	enum       []json.RawMessage
	items      *Schema
	minItems   *int
	maxItems   *int
	minLength  *int
	maxLength  *int
	minimum    *float64
	maximum    *float64
}

var knownTypes = []string{"object", "array", "string", "integer", "number", "boolean", "null"}

// CompileSchema compiles a JSON Schema document. An empty document accepts any object.
func CompileSchema(doc json.RawMessage) (*Schema, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return &Schema{types: []string{"object"}}, nil
	}
	return compile(doc, "schema")
}

func compile(doc json.RawMessage, at string) (*Schema, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object: %v", at, err)
	}
	s := &Schema{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		var err error
		switch k {
		case "description", "title", "default", "examples", "$schema":
		case "type":
			var one string
			if json.Unmarshal(v, &one) == nil {
				s.types = []string{one}
			} else if err = json.Unmarshal(v, &s.types); err != nil {
				return nil, fmt.Errorf("%s.type: want a name or a list of names", at)
			}
			for _, t := range s.types {
				if !slices.Contains(knownTypes, t) {
					return nil, fmt.Errorf("%s.type: unknown type %q", at, t)
				}
			}
		case "properties":
			var props map[string]json.RawMessage
			if err = json.Unmarshal(v, &props); err != nil {
				return nil, fmt.Errorf("%s.properties: want an object", at)
			}
			s.props = make(map[string]*Schema, len(props))
			for name, p := range props {
				if s.props[name], err = compile(p, at+".properties."+name); err != nil {
					return nil, err
				}
			}
		case "required":
			if err = json.Unmarshal(v, &s.required); err != nil {
				return nil, fmt.Errorf("%s.required: want a list of names", at)
			}
		case "additionalProperties":
			var b bool
			if json.Unmarshal(v, &b) == nil {
				s.closed = !b
			} else if s.additional, err = compile(v, at+".additionalProperties"); err != nil {
				return nil, err
			}
		case "enum":
			if err = json.Unmarshal(v, &s.enum); err != nil || len(s.enum) == 0 {
				return nil, fmt.Errorf("%s.enum: want a non-empty list", at)
			}
			for i, e := range s.enum {
				s.enum[i] = canonical(e)
			}
		case "items":
			if s.items, err = compile(v, at+".items"); err != nil {
				return nil, err
			}
		case "minItems", "maxItems", "minLength", "maxLength":
			var n int
			if err = json.Unmarshal(v, &n); err != nil || n < 0 {
				return nil, fmt.Errorf("%s.%s: want a non-negative integer", at, k)
			}
			switch k {
			case "minItems":
				s.minItems = &n
			case "maxItems":
				s.maxItems = &n
			case "minLength":
				s.minLength = &n
			case "maxLength":
				s.maxLength = &n
			}
		case "minimum", "maximum":
			var f float64
			if err = json.Unmarshal(v, &f); err != nil {
				return nil, fmt.Errorf("%s.%s: want a number", at, k)
			}
			if k == "minimum" {
				s.minimum = &f
			} else {
				s.maximum = &f
			}
		default:
			return nil, fmt.Errorf("%s: keyword %q is not supported by the tool schema validator", at, k)
		}
	}
	for _, r := range s.required {
		if _, ok := s.props[r]; !ok && s.closed {
			return nil, fmt.Errorf("%s.required: %q is not a declared property", at, r)
		}
	}
	return s, nil
}

// canonical re-encodes a JSON value so that equal values compare equal as bytes (numbers as written,
// objects with sorted keys).
func canonical(v json.RawMessage) json.RawMessage {
	var x any
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if d.Decode(&x) != nil {
		return v
	}
	b, err := json.Marshal(x)
	if err != nil {
		return v
	}
	return b
}

// Validate checks a JSON document against the schema and returns the first problem found, naming
// its place ("args.path: want a string").
func (s *Schema) Validate(doc json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("args: not valid JSON: %v", err)
	}
	if d.More() {
		return fmt.Errorf("args: more than one JSON value")
	}
	return s.check(v, "args", 0)
}

// maxDepth bounds nesting so that hostile arguments cannot exhaust the stack.
const maxDepth = 64

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		// 2.0 and 1e3 stay numbers: encoding/json would not decode them into an int field.
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (s *Schema) check(v any, at string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: nested too deeply", at)
	}
	t := typeOf(v)
	if len(s.types) > 0 {
		ok := slices.Contains(s.types, t) || (t == "integer" && slices.Contains(s.types, "number"))
		if !ok {
			return fmt.Errorf("%s: want %s, got %s", at, strings.Join(s.types, " or "), t)
		}
	}
	if len(s.enum) > 0 {
		b, err := json.Marshal(v)
		if err != nil || !slices.ContainsFunc(s.enum, func(e json.RawMessage) bool { return bytes.Equal(e, b) }) {
			allowed := make([]string, len(s.enum))
			for i, e := range s.enum {
				allowed[i] = string(e)
			}
			return fmt.Errorf("%s: want one of %s", at, strings.Join(allowed, ", "))
		}
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if s.minLength != nil && n < *s.minLength {
			return fmt.Errorf("%s: want at least %d characters", at, *s.minLength)
		}
		if s.maxLength != nil && n > *s.maxLength {
			return fmt.Errorf("%s: want at most %d characters", at, *s.maxLength)
		}
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return fmt.Errorf("%s: number out of range", at)
		}
		if s.minimum != nil && f < *s.minimum {
			return fmt.Errorf("%s: want at least %v", at, *s.minimum)
		}
		if s.maximum != nil && f > *s.maximum {
			return fmt.Errorf("%s: want at most %v", at, *s.maximum)
		}
	case []any:
		if s.minItems != nil && len(x) < *s.minItems {
			return fmt.Errorf("%s: want at least %d items", at, *s.minItems)
		}
		if s.maxItems != nil && len(x) > *s.maxItems {
			return fmt.Errorf("%s: want at most %d items", at, *s.maxItems)
		}
		if s.items != nil {
			for i, e := range x {
				if err := s.items.check(e, fmt.Sprintf("%s[%d]", at, i), depth+1); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		for _, r := range s.required {
			if _, ok := x[r]; !ok {
				return fmt.Errorf("%s.%s: required", at, r)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := s.props[k]
			switch {
			case ok:
			case s.closed:
				return fmt.Errorf("%s: unknown property %q", at, k)
			case s.additional != nil:
				p = s.additional
			default:
				continue
			}
			if err := p.check(x[k], at+"."+k, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
