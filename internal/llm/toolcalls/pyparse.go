package toolcalls

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
)

// maxDepth bounds the nesting of Python literals, so hostile input cannot exhaust the stack.
const maxDepth = 64

// pyParser reads Python call expressions with literal arguments and converts them to JSON.
type pyParser struct {
	s       string
	i       int
	depth   int
	offered map[string]chat.ToolSpec
}

func (p *pyParser) skipSpace() { p.i = skipSpace(p.s, p.i) }

func (p *pyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// callList reads [call, call, ...].
func (p *pyParser) callList() ([]rawCall, bool) {
	p.skipSpace()
	if p.peek() != '[' {
		return nil, false
	}
	p.i++
	var calls []rawCall
	for {
		p.skipSpace()
		if p.peek() == ']' {
			p.i++
			return calls, len(calls) > 0
		}
		c, ok := p.call()
		if !ok {
			return nil, false
		}
		calls = append(calls, c)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
		default:
			return nil, false
		}
	}
}

// call reads name(arg, key=value, ...). A trailing ".call" on the name (Llama's built-in tool form)
// is dropped. Positional arguments are named after the tool's parameters in schema order.
func (p *pyParser) call() (rawCall, bool) {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	name := strings.TrimSuffix(p.s[start:p.i], ".call")
	if !validName(name) {
		return rawCall{}, false
	}
	p.skipSpace()
	if p.peek() != '(' {
		return rawCall{}, false
	}
	p.i++
	var obj objectBuilder
	var order []string
	positional := 0
	for {
		p.skipSpace()
		if p.peek() == ')' {
			p.i++
			break
		}
		key, isKeyword := p.keyword()
		if !isKeyword {
			if order == nil {
				order = parameterOrder(p.offered[name].Parameters)
			}
			if positional >= len(order) {
				return rawCall{}, false
			}
			key = order[positional]
			positional++
		}
		v, _, ok := p.value(nil)
		if !ok {
			return rawCall{}, false
		}
		obj.addRaw(key, string(v))
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
		default:
			return rawCall{}, false
		}
	}
	return rawCall{name: name, args: obj.String()}, true
}

// keyword reads "ident =" (not "==") and returns ident; otherwise it leaves the position unchanged.
func (p *pyParser) keyword() (string, bool) {
	save := p.i
	start := p.i
	for p.i < len(p.s) && isIdentByte(p.s[p.i], p.i == start) {
		p.i++
	}
	key := p.s[start:p.i]
	p.skipSpace()
	if key != "" && p.peek() == '=' && (p.i+1 >= len(p.s) || p.s[p.i+1] != '=') {
		p.i++
		return key, true
	}
	p.i = save
	return "", false
}

// value appends the JSON form of the Python literal at the position to dst. For strings it also
// returns the decoded text (used for dict keys).
func (p *pyParser) value(dst []byte) ([]byte, string, bool) {
	p.skipSpace()
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth || p.i >= len(p.s) {
		return nil, "", false
	}
	c := p.s[p.i]
	switch {
	case c == '"' || c == '\'':
		s, ok := p.str(false)
		if !ok {
			return nil, "", false
		}
		return appendJSONString(dst, s), s, true
	case (c == 'r' || c == 'R' || c == 'u' || c == 'U' || c == 'b' || c == 'B' || c == 'f' || c == 'F') &&
		p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\''):
		p.i++
		s, ok := p.str(c == 'r' || c == 'R')
		if !ok {
			return nil, "", false
		}
		return appendJSONString(dst, s), s, true
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number(dst)
	case c == '[' || c == '(':
		closer := byte(']')
		if c == '(' {
			closer = ')'
		}
		p.i++
		return p.sequence(dst, closer)
	case c == '{':
		p.i++
		return p.dict(dst)
	}
	// A bare word: Python constants, JSON constants, or an unquoted word models sometimes write.
	start := p.i
	for p.i < len(p.s) && isIdentByte(p.s[p.i], p.i == start) {
		p.i++
	}
	word := p.s[start:p.i]
	switch word {
	case "":
		return nil, "", false
	case "True", "true":
		return append(dst, "true"...), word, true
	case "False", "false":
		return append(dst, "false"...), word, true
	case "None", "null":
		return append(dst, "null"...), word, true
	}
	return appendJSONString(dst, word), word, true
}

// sequence reads the items of a list or tuple up to closer.
func (p *pyParser) sequence(dst []byte, closer byte) ([]byte, string, bool) {
	dst = append(dst, '[')
	n := 0
	for {
		p.skipSpace()
		if p.peek() == closer {
			p.i++
			return append(dst, ']'), "", true
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		dst, _, ok = p.value(dst)
		if !ok {
			return nil, "", false
		}
		n++
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case closer:
		default:
			return nil, "", false
		}
	}
}

// dict reads {key: value, ...}; a set {a, b} becomes an array. Non-string keys become their text.
func (p *pyParser) dict(dst []byte) ([]byte, string, bool) {
	var obj objectBuilder
	var set []byte
	isSet := false
	for {
		p.skipSpace()
		if p.peek() == '}' {
			p.i++
			if isSet {
				return append(append(dst, '['), append(set, ']')...), "", true
			}
			return append(dst, obj.String()...), "", true
		}
		kv, ks, ok := p.value(nil)
		if !ok {
			return nil, "", false
		}
		if ks == "" && len(kv) > 0 && kv[0] != '"' {
			ks = string(kv)
		}
		p.skipSpace()
		if p.peek() == ':' && !isSet {
			p.i++
			v, _, ok := p.value(nil)
			if !ok {
				return nil, "", false
			}
			obj.addRaw(ks, string(v))
		} else if obj.n == 0 {
			isSet = true
			if len(set) > 0 {
				set = append(set, ',')
			}
			set = append(set, kv...)
		} else {
			return nil, "", false
		}
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
		default:
			return nil, "", false
		}
	}
}

// number reads a Python int or float (with underscores, hex/octal/binary prefixes, a sign) and
// appends it as a JSON number.
func (p *pyParser) number(dst []byte) ([]byte, string, bool) {
	start := p.i
	if c := p.peek(); c == '-' || c == '+' {
		p.i++
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= '0' && c <= '9') || c == '.' || c == '_' || c == 'x' || c == 'X' || c == 'o' || c == 'O' ||
			(c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
			((c == '-' || c == '+') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E')) {
			p.i++
			continue
		}
		break
	}
	lit := strings.ReplaceAll(p.s[start:p.i], "_", "")
	lit = strings.TrimPrefix(lit, "+")
	if json.Valid([]byte(lit)) && lit != "" && lit[0] != '"' && lit[0] != '[' && lit[0] != '{' {
		return append(dst, lit...), lit, true
	}
	if n, err := strconv.ParseInt(lit, 0, 64); err == nil {
		return strconv.AppendInt(dst, n, 10), lit, true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f != f || f > 1e308 || f < -1e308 {
		return nil, "", false
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), lit, true
}

// str reads a quoted Python string (single, double or triple quoted) and returns its value.
func (p *pyParser) str(raw bool) (string, bool) {
	q := p.s[p.i]
	triple := strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3))
	if triple {
		p.i += 3
	} else {
		p.i++
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == q {
			if !triple {
				p.i++
				return b.String(), true
			}
			if strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3)) {
				p.i += 3
				return b.String(), true
			}
		}
		if c == '\n' && !triple {
			return "", false
		}
		if c != '\\' || p.i+1 >= len(p.s) {
			b.WriteByte(c)
			p.i++
			continue
		}
		if raw {
			b.WriteByte(c)
			b.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		}
		p.i++
		if !p.escape(&b) {
			return "", false
		}
	}
	return "", false
}

// escape decodes the escape sequence after a backslash.
func (p *pyParser) escape(b *strings.Builder) bool {
	c := p.s[p.i]
	p.i++
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case '0':
		b.WriteByte(0)
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'v':
		b.WriteByte('\v')
	case '\\', '\'', '"':
		b.WriteByte(c)
	case '\n':
		// A line continuation inside a string.
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.i+n > len(p.s) {
			return false
		}
		r, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
		if err != nil || !utf8.ValidRune(rune(r)) {
			return false
		}
		b.WriteRune(rune(r))
		p.i += n
	default:
		// Python keeps unknown escapes as written.
		b.WriteByte('\\')
		b.WriteByte(c)
	}
	return true
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// parameterOrder returns the property names of a JSON Schema object in the order they are written,
// so positional arguments can be named.
func parameterOrder(schema json.RawMessage) []string {
	if len(schema) == 0 {
		return []string{}
	}
	dec := json.NewDecoder(strings.NewReader(string(schema)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []string{}
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return []string{}
		}
		if k, _ := t.(string); k != "properties" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return []string{}
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return []string{}
		}
		names := []string{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return names
			}
			k, _ := t.(string)
			names = append(names, k)
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return names
			}
		}
		return names
	}
	return []string{}
}
