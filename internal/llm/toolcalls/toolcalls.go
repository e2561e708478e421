// Package toolcalls repairs tool calls that small models write as text instead of structured calls.
//
// A model that was offered tools but whose server did not turn its output into structured tool calls
// (an older llama.cpp without the model's tool-call grammar, a chat template the server does not know,
// a model that ignores its template) leaves the call in the message text. Parse recognises the common
// shapes of such text and returns the calls:
//
//   - pythonic lists:        [get_weather(city="Paris", days=3), other(x=1)]
//   - bare pythonic calls:   get_weather(city='Paris')
//   - Hermes/Qwen tags:      <tool_call>{"name": "f", "arguments": {...}}</tool_call> (several allowed)
//   - Qwen3-Coder tags:      <tool_call><function=f><parameter=x>1</parameter></function></tool_call>
//   - Llama 3.1 functions:   <function=f>{"x": 1}</function>
//   - Llama python tag:      <|python_tag|>{"name": "f", "parameters": {...}} or <|python_tag|>f.call(x=1)
//   - Mistral:               [TOOL_CALLS][{"name": "f", "arguments": {...}}] and [TOOL_CALLS]f[ARGS]{...}
//   - bare JSON:             {"name": "f", "arguments"|"parameters": {...}}, or an array of such objects
//
// Only calls of offered tools are accepted: text naming any other function is left as text. Parse is a
// pure function over strings; the backends in internal/llm call it, and it imports only chat.
package toolcalls

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/seance-dev/seance/internal/chat"
)

// Parse finds tool calls written as text. It returns the calls (with generated IDs call_0, call_1, ...
// in order), the text that remains once the calls are removed (trimmed of surrounding space), and
// whether any call was found. When ok is false, calls is nil and rest is text unchanged.
//
// Every call must name one of tools and carry a JSON object of arguments; otherwise nothing is
// accepted, so prose that merely mentions a tag or looks like code is left alone.
func Parse(text string, tools []chat.ToolSpec) (calls []chat.ToolCall, rest string, ok bool) {
	if len(tools) == 0 || strings.TrimSpace(text) == "" {
		return nil, text, false
	}
	offered := make(map[string]chat.ToolSpec, len(tools))
	for _, t := range tools {
		offered[t.Name] = t
	}
	raw, rest, found := parseTagged(text, offered)
	if !found {
		raw, found = parseWhole(text, offered)
		rest = ""
	}
	if !found || len(raw) == 0 {
		return nil, text, false
	}
	calls = make([]chat.ToolCall, 0, len(raw))
	for i, r := range raw {
		args, good := normaliseArgs(r.args)
		if _, known := offered[r.name]; !known || !good {
			return nil, text, false
		}
		calls = append(calls, chat.ToolCall{ID: "call_" + strconv.Itoa(i), Name: r.name, Arguments: args})
	}
	return calls, strings.TrimSpace(rest), true
}

// rawCall is a call as found in the text, before validation.
type rawCall struct {
	name string
	args string // JSON text; validated and compacted by normaliseArgs
}

// normaliseArgs returns args as compact JSON object text. Empty arguments become {}; a JSON string
// that itself holds an object (double-encoded arguments) is unwrapped.
func normaliseArgs(args string) (string, bool) {
	args = strings.TrimSpace(args)
	if args == "" || args == "null" {
		return "{}", true
	}
	if args[0] == '"' {
		var inner string
		if err := json.Unmarshal([]byte(args), &inner); err != nil {
			return "", false
		}
		args = strings.TrimSpace(inner)
		if args == "" {
			return "{}", true
		}
	}
	if args[0] != '{' || !json.Valid([]byte(args)) {
		return "", false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(args)); err != nil {
		return "", false
	}
	return buf.String(), true
}

// marker is a tag that introduces tool calls somewhere in the text.
type marker struct {
	tag string
	// parse reads the calls after the tag; it returns how many bytes of s it consumed.
	parse func(s string, offered map[string]chat.ToolSpec) ([]rawCall, int, bool)
}

var markers = []marker{
	{"<tool_call>", parseToolCallTag},
	{"<function=", parseFunctionTag},
	{"<|python_tag|>", parsePythonTag},
	{"[TOOL_CALLS]", parseMistral},
}

// parseTagged collects the calls of every marker in text. found is false when no marker occurs or
// when one is malformed (then the whole text is left alone).
func parseTagged(text string, offered map[string]chat.ToolSpec) ([]rawCall, string, bool) {
	var calls []rawCall
	var rest strings.Builder
	s := text
	for {
		idx, m := -1, marker{}
		for _, cand := range markers {
			if i := strings.Index(s, cand.tag); i >= 0 && (idx < 0 || i < idx) {
				idx, m = i, cand
			}
		}
		if idx < 0 {
			rest.WriteString(s)
			break
		}
		rest.WriteString(s[:idx])
		s = s[idx+len(m.tag):]
		cs, n, ok := m.parse(s, offered)
		if !ok || n < 0 || n > len(s) {
			return nil, text, false
		}
		calls = append(calls, cs...)
		s = s[n:]
	}
	if len(calls) == 0 {
		return nil, text, false
	}
	return calls, rest.String(), true
}

// parseToolCallTag reads the body of <tool_call>…</tool_call>: a JSON call object (or an array of them)
// or a Qwen3-Coder <function=…> block. The closing tag may be missing.
func parseToolCallTag(s string, offered map[string]chat.ToolSpec) ([]rawCall, int, bool) {
	i := skipSpace(s, 0)
	var calls []rawCall
	switch {
	case strings.HasPrefix(s[i:], "<function="):
		cs, n, ok := parseFunctionTag(s[i+len("<function="):], offered)
		if !ok {
			return nil, 0, false
		}
		calls, i = cs, i+len("<function=")+n
	default:
		raw, n, ok := decodeJSONPrefix(s[i:])
		if !ok {
			return nil, 0, false
		}
		cs, ok := callsFromJSON(raw)
		if !ok {
			return nil, 0, false
		}
		calls, i = cs, i+n
	}
	i = skipSpace(s, i)
	if strings.HasPrefix(s[i:], "</tool_call>") {
		i += len("</tool_call>")
	}
	return calls, i, true
}

// parseFunctionTag reads name>{json}</function> (Llama 3.1) or
// name><parameter=k>v</parameter>…</function> (Qwen3-Coder). The closing tag may be missing.
func parseFunctionTag(s string, _ map[string]chat.ToolSpec) ([]rawCall, int, bool) {
	end := strings.IndexByte(s, '>')
	if end <= 0 {
		return nil, 0, false
	}
	name := strings.TrimSpace(s[:end])
	if !validName(name) {
		return nil, 0, false
	}
	i := skipSpace(s, end+1)
	var args string
	if strings.HasPrefix(s[i:], "<parameter=") {
		obj, n, ok := parseParameterTags(s[i:])
		if !ok {
			return nil, 0, false
		}
		args, i = obj, i+n
	} else {
		raw, n, ok := decodeJSONPrefix(s[i:])
		if !ok {
			return nil, 0, false
		}
		args, i = string(raw), i+n
	}
	i = skipSpace(s, i)
	if strings.HasPrefix(s[i:], "</function>") {
		i += len("</function>")
	}
	return []rawCall{{name: name, args: args}}, i, true
}

// parseParameterTags reads <parameter=k>v</parameter> elements into a JSON object. A value that is
// valid JSON (a number, true, an object) keeps its type; anything else is a string.
func parseParameterTags(s string) (string, int, bool) {
	var obj objectBuilder
	i := 0
	for {
		i = skipSpace(s, i)
		if !strings.HasPrefix(s[i:], "<parameter=") {
			break
		}
		i += len("<parameter=")
		end := strings.IndexByte(s[i:], '>')
		if end <= 0 {
			return "", 0, false
		}
		key := strings.TrimSpace(s[i : i+end])
		i += end + 1
		closeAt := strings.Index(s[i:], "</parameter>")
		if closeAt < 0 {
			return "", 0, false
		}
		val := strings.Trim(s[i:i+closeAt], "\n")
		i += closeAt + len("</parameter>")
		trimmed := strings.TrimSpace(val)
		if trimmed != "" && json.Valid([]byte(trimmed)) {
			obj.addRaw(key, trimmed)
		} else {
			obj.addString(key, val)
		}
	}
	return obj.String(), i, true
}

// parsePythonTag reads what follows <|python_tag|> up to an end-of-message token or the end of the
// text: JSON call objects separated by ';' or newlines, or pythonic calls (name(...) or name.call(...)).
func parsePythonTag(s string, offered map[string]chat.ToolSpec) ([]rawCall, int, bool) {
	end, stop := len(s), len(s)
	for _, tok := range []string{"<|eom_id|>", "<|eot_id|>"} {
		if i := strings.Index(s, tok); i >= 0 && i < end {
			end, stop = i, i+len(tok)
		}
	}
	body := strings.TrimSpace(s[:end])
	var calls []rawCall
	for body != "" {
		if body[0] == '{' || body[0] == '[' {
			raw, n, ok := decodeJSONPrefix(body)
			if ok {
				cs, ok := callsFromJSON(raw)
				if !ok {
					return nil, 0, false
				}
				calls = append(calls, cs...)
				body = strings.TrimLeft(body[n:], " \t\r\n;")
				continue
			}
		}
		p := pyParser{s: body, offered: offered}
		if body[0] == '[' {
			cs, ok := p.callList()
			if !ok {
				return nil, 0, false
			}
			calls = append(calls, cs...)
		} else {
			c, ok := p.call()
			if !ok {
				return nil, 0, false
			}
			calls = append(calls, c)
		}
		body = strings.TrimLeft(body[p.i:], " \t\r\n;,")
	}
	return calls, stop, len(calls) > 0
}

// parseMistral reads what follows [TOOL_CALLS]: a JSON array (or object) of calls, or the newer
// name[ARGS]{…} form (optionally name[CALL_ID]id[ARGS]{…}), repeated.
func parseMistral(s string, _ map[string]chat.ToolSpec) ([]rawCall, int, bool) {
	i := skipSpace(s, 0)
	if i < len(s) && (s[i] == '[' || s[i] == '{') {
		raw, n, ok := decodeJSONPrefix(s[i:])
		if !ok {
			return nil, 0, false
		}
		calls, ok := callsFromJSON(raw)
		return calls, i + n, ok
	}
	var calls []rawCall
	for {
		a := strings.Index(s[i:], "[ARGS]")
		if a <= 0 {
			break
		}
		name := strings.TrimSpace(s[i : i+a])
		if c := strings.Index(name, "[CALL_ID]"); c >= 0 {
			name = strings.TrimSpace(name[:c])
		}
		if !validName(name) {
			return nil, 0, false
		}
		j := skipSpace(s, i+a+len("[ARGS]"))
		raw, n, ok := decodeJSONPrefix(s[j:])
		if !ok {
			return nil, 0, false
		}
		calls = append(calls, rawCall{name: name, args: string(raw)})
		i = skipSpace(s, j+n)
		if strings.HasPrefix(s[i:], "[TOOL_CALLS]") {
			i = skipSpace(s, i+len("[TOOL_CALLS]"))
		}
	}
	return calls, i, len(calls) > 0
}

// parseWhole tries the forms that must make up the whole text: bare JSON call objects or arrays, and
// pythonic calls, optionally inside one Markdown code fence.
func parseWhole(text string, offered map[string]chat.ToolSpec) ([]rawCall, bool) {
	s := stripFence(strings.TrimSpace(text))
	if s == "" {
		return nil, false
	}
	if s[0] == '{' || s[0] == '[' {
		if raw, n, ok := decodeJSONPrefix(s); ok && strings.TrimSpace(s[n:]) == "" {
			return callsFromJSON(raw)
		}
	}
	p := pyParser{s: s, offered: offered}
	var calls []rawCall
	if s[0] == '[' {
		cs, ok := p.callList()
		if !ok {
			return nil, false
		}
		calls = cs
	} else {
		for {
			c, ok := p.call()
			if !ok {
				return nil, false
			}
			calls = append(calls, c)
			p.skipSpace()
			if p.i < len(p.s) && (p.s[p.i] == ',' || p.s[p.i] == ';') {
				p.i++
			}
			p.skipSpace()
			if p.i >= len(p.s) {
				break
			}
		}
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, false
	}
	return calls, true
}

// stripFence removes one Markdown code fence around s (```json, ```python, ```tool_code, ...).
func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	body := s[3 : len(s)-3]
	nl := strings.IndexByte(body, '\n')
	if nl < 0 {
		return strings.TrimSpace(body)
	}
	if lang := strings.TrimSpace(body[:nl]); lang == "" || validName(lang) {
		body = body[nl+1:]
	}
	return strings.TrimSpace(body)
}

// decodeJSONPrefix decodes the one JSON value at the start of s and returns it with the number of
// bytes it took.
func decodeJSONPrefix(s string) (json.RawMessage, int, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, 0, false
	}
	return raw, int(dec.InputOffset()), true
}

// jsonCall is the JSON shape models use for one call, in its common spellings.
type jsonCall struct {
	Name       string          `json:"name"`
	Arguments  json.RawMessage `json:"arguments"`
	Parameters json.RawMessage `json:"parameters"`
	Args       json.RawMessage `json:"args"`
	Function   *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// callsFromJSON reads one call object or an array of call objects.
func callsFromJSON(raw json.RawMessage) ([]rawCall, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	var objs []jsonCall
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &objs); err != nil || len(objs) == 0 {
			return nil, false
		}
	} else {
		var one jsonCall
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, false
		}
		objs = []jsonCall{one}
	}
	calls := make([]rawCall, 0, len(objs))
	for _, o := range objs {
		name, args := o.Name, o.Arguments
		if o.Function != nil && name == "" {
			name, args = o.Function.Name, o.Function.Arguments
		}
		if args == nil {
			args = o.Parameters
		}
		if args == nil {
			args = o.Args
		}
		if name == "" {
			return nil, false
		}
		calls = append(calls, rawCall{name: name, args: string(args)})
	}
	return calls, true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// validName reports whether s can be a function name: letters, digits, '_', '-' and '.', not
// starting with a digit.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// objectBuilder writes a JSON object key by key, keeping the order of insertion.
type objectBuilder struct {
	buf bytes.Buffer
	n   int
}

func (o *objectBuilder) key(k string) {
	if o.n == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	o.n++
	o.buf.Write(appendJSONString(nil, k))
	o.buf.WriteByte(':')
}

func (o *objectBuilder) addRaw(k, v string) {
	o.key(k)
	o.buf.WriteString(v)
}

func (o *objectBuilder) addString(k, v string) {
	o.key(k)
	o.buf.Write(appendJSONString(nil, v))
}

// String returns the object's JSON text.
func (o *objectBuilder) String() string {
	if o.n == 0 {
		return "{}"
	}
	return o.buf.String() + "}"
}

// appendJSONString appends s as a JSON string without HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		// Encoding a Go string cannot fail; keep the output valid regardless.
		return append(dst, `""`...)
	}
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}
