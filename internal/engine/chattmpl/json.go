package chattmpl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// toJSON serialises v like Hugging Face's tojson filter, which is Python's
// json.dumps(v, ensure_ascii=False, indent=indent): separators ", " and ": " without indent and
// "," and ": " with it, keys in insertion order, no HTML escaping, non-ASCII text kept as is.
// indent < 0 means no indentation.
func toJSON(v any, indent int, indentStr string) (string, error) {
	var b strings.Builder
	if indent >= 0 && indentStr == "" {
		indentStr = strings.Repeat(" ", indent)
	}
	if err := writeJSON(&b, v, indent >= 0, indentStr, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v any, pretty bool, ind string, level int) error {
	if level > maxNesting {
		return fmt.Errorf("tojson: value nests deeper than %d levels", maxNesting)
	}
	newline := func(l int) {
		b.WriteByte('\n')
		for range l {
			b.WriteString(ind)
		}
	}
	itemSep := ", "
	if pretty {
		itemSep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case undefined:
		// Jinja's Undefined is not JSON serialisable in Python; render it as null rather than fail.
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x, true))
	case string:
		writeJSONString(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(itemSep)
			}
			if pretty {
				newline(level + 1)
			}
			if err := writeJSON(b, e, pretty, ind, level+1); err != nil {
				return err
			}
		}
		if pretty {
			newline(level)
		}
		b.WriteByte(']')
	case *dictVal:
		if x.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(itemSep)
			}
			if pretty {
				newline(level + 1)
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			if err := writeJSON(b, x.m[k], pretty, ind, level+1); err != nil {
				return err
			}
		}
		if pretty {
			newline(level)
		}
		b.WriteByte('}')
	case *namespace:
		return writeJSON(b, x.attrs, pretty, ind, level)
	default:
		return fmt.Errorf("tojson: object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

// writeJSONString writes s as Python's json.dumps(ensure_ascii=False) does.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// parseJSON decodes JSON text into template values, keeping object key order. Integers become
// int64 (float64 when they do not fit), other numbers float64.
func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("JSON nests deeper than %d levels", maxNesting)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := newDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("JSON object key is not a string")
				}
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return d, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected JSON delimiter %v", t)
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return f, nil
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
