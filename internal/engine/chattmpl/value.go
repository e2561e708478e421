package chattmpl

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Template values are plain Go values:
//
//	nil            Python None
//	undefined      Jinja's Undefined: falsy, renders empty
//	bool, int64, float64, string
//	[]any          lists and tuples (immutable, as in Hugging Face's sandboxed environment)
//	*dictVal          dicts, keeping insertion order (tojson and items() follow it)
//	*namespace     namespace(): the one mutable object
//	*loopInfo      the loop variable
//	callable       functions, macros and bound methods
type undefined struct{ name string }

// dictVal is an insertion-ordered string-keyed map, the shape of JSON objects in templates.
type dictVal struct {
	keys []string
	m    map[string]any
}

// newDict returns an empty dictVal.
func newDict() *dictVal { return &dictVal{m: map[string]any{}} }

// Set sets key to v, appending key if it is new.
func (d *dictVal) Set(key string, v any) {
	if _, ok := d.m[key]; !ok {
		d.keys = append(d.keys, key)
	}
	d.m[key] = v
}

// Get returns the value of key.
func (d *dictVal) Get(key string) (any, bool) {
	v, ok := d.m[key]
	return v, ok
}

// Len is the number of keys.
func (d *dictVal) Len() int { return len(d.keys) }

type namespace struct{ attrs *dictVal }

type loopInfo struct {
	index0 int
	length int
	items  []any
	depth  int
}

// callable is anything a template can call.
type callable func(st *state, args []any, kwargs *dictVal) (any, error)

func isUndefined(v any) bool {
	_, ok := v.(undefined)
	return ok
}

// truthy is Python truthiness.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case *dictVal:
		return x.Len() > 0
	}
	return true
}

// typeName names a value's type the way Python would, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case *dictVal:
		return "dict"
	case *namespace:
		return "Namespace"
	case *loopInfo:
		return "LoopContext"
	case callable:
		return "function"
	}
	return fmt.Sprintf("%T", v)
}

// toStr renders a value as Jinja prints it ({{ v }} and the string filter): Python's str().
func toStr(v any) string {
	switch x := v.(type) {
	case undefined:
		return ""
	case string:
		return x
	}
	var b strings.Builder
	writeRepr(&b, v, false)
	return b.String()
}

// writeRepr writes Python's str (top level) or repr (nested, quoted) of v.
func writeRepr(b *strings.Builder, v any, quote bool) { writeReprDepth(b, v, quote, 0) }

func writeReprDepth(b *strings.Builder, v any, quote bool, depth int) {
	if depth > maxNesting || b.Len() > maxOutput {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case undefined:
		if quote {
			b.WriteString("Undefined")
		}
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x, false))
	case string:
		if quote {
			b.WriteString(pyQuote(x))
		} else {
			b.WriteString(x)
		}
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeReprDepth(b, e, true, depth+1)
		}
		b.WriteByte(']')
	case *dictVal:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(k))
			b.WriteString(": ")
			writeReprDepth(b, x.m[k], true, depth+1)
		}
		b.WriteByte('}')
	case *namespace:
		b.WriteString("<Namespace ")
		writeReprDepth(b, x.attrs, true, depth+1)
		b.WriteString(">")
	default:
		b.WriteString("<" + typeName(v) + ">")
	}
}

// pyQuote is Python's repr of a str: single quotes unless the text holds one and no double quote.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat formats f like Python's repr (json: like json.dumps).
func pyFloat(f float64, json bool) string {
	switch {
	case math.IsNaN(f):
		if json {
			return "NaN"
		}
		return "nan"
	case math.IsInf(f, 1):
		if json {
			return "Infinity"
		}
		return "inf"
	case math.IsInf(f, -1):
		if json {
			return "-Infinity"
		}
		return "-inf"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX, shortest round-trip digits
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// toInt converts a number to int64 for indexing.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

// equal is Python's == on template values (deep for lists and dicts).
func equal(a, b any) bool { return equalDepth(a, b, 0) }

func equalDepth(a, b any, depth int) bool {
	if depth > maxNesting {
		return false
	}
	if isNumber(a) || isNumber(b) {
		_, aBool := a.(bool)
		_, bBool := b.(bool)
		if (isNumber(a) || aBool) && (isNumber(b) || bBool) {
			x, _ := toFloat(a)
			y, _ := toFloat(b)
			return x == y
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefined:
		return isUndefined(b)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalDepth(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case *dictVal:
		y, ok := b.(*dictVal)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equalDepth(x.m[k], w, depth+1) {
				return false
			}
		}
		return true
	case *namespace:
		return a == b
	}
	return false
}

// compare orders numbers and strings (and lists element-wise); ok is false for other types.
func compare(a, b any) (int, bool) { return compareDepth(a, b, 0) }

func compareDepth(a, b any, depth int) (int, bool) {
	if depth > maxNesting {
		return 0, false
	}
	if isNumber(a) && isNumber(b) {
		x, _ := toFloat(a)
		y, _ := toFloat(b)
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	}
	if x, ok := a.([]any); ok {
		if y, ok := b.([]any); ok {
			for i := 0; i < len(x) && i < len(y); i++ {
				if c, ok := compareDepth(x[i], y[i], depth+1); !ok {
					return 0, false
				} else if c != 0 {
					return c, true
				}
			}
			return compare(int64(len(x)), int64(len(y)))
		}
	}
	if x, ok := a.(bool); ok {
		if y, ok := b.(bool); ok {
			xi, _ := toInt(x)
			yi, _ := toInt(y)
			return compare(xi, yi)
		}
	}
	return 0, false
}

// iterate returns the items a for loop over v visits: list items, dict keys, string characters.
func iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case undefined, nil:
		if x == nil {
			return nil, fmt.Errorf("'NoneType' object is not iterable")
		}
		return nil, nil
	case []any:
		return x, nil
	case *dictVal:
		out := make([]any, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, nil
	case string:
		if len(x) > maxValueItems {
			return nil, fmt.Errorf("%w: string of %d bytes is too long to iterate", errLimit, len(x))
		}
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

// length is Python's len().
func length(v any) (int, error) {
	switch x := v.(type) {
	case string:
		return len([]rune(x)), nil
	case []any:
		return len(x), nil
	case *dictVal:
		return x.Len(), nil
	case undefined:
		return 0, nil
	}
	return 0, fmt.Errorf("object of type '%s' has no len()", typeName(v))
}

// sortValues sorts a copy of items by key(item), stably; incomparable values keep their order.
func sortValues(items []any, key func(any) any, reverse bool) []any {
	out := append([]any(nil), items...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if reverse {
			a, b = b, a
		}
		c, _ := compare(a, b)
		return c < 0
	})
	return out
}
