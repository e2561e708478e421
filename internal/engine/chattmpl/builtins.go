package chattmpl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// globalFuncs are the functions every template sees (Hugging Face adds raise_exception and
// strftime_now to Jinja's own).
var globalFuncs map[string]callable

func init() {
	globalFuncs = map[string]callable{
		"raise_exception": func(_ *state, args []any, _ *dictVal) (any, error) {
			msg := "raise_exception called"
			if len(args) > 0 {
				msg = toStr(args[0])
			}
			return nil, &ExceptionError{Msg: msg}
		},
		"strftime_now": func(st *state, args []any, _ *dictVal) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("strftime_now takes one format argument")
			}
			f, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("strftime_now format must be a string")
			}
			return strftime(st.now, f), nil
		},
		"range": func(st *state, args []any, _ *dictVal) (any, error) {
			var a, b, step int64 = 0, 0, 1
			nums := make([]int64, len(args))
			for i, x := range args {
				n, ok := toIntStrict(x)
				if !ok {
					return nil, fmt.Errorf("range() arguments must be integers, not %s", typeName(x))
				}
				nums[i] = n
			}
			switch len(nums) {
			case 1:
				b = nums[0]
			case 2:
				a, b = nums[0], nums[1]
			case 3:
				a, b, step = nums[0], nums[1], nums[2]
			default:
				return nil, fmt.Errorf("range expected 1 to 3 arguments, got %d", len(args))
			}
			if step == 0 {
				return nil, fmt.Errorf("range() arg 3 must not be zero")
			}
			var out []any
			for i := a; (step > 0 && i < b) || (step < 0 && i > b); i += step {
				if len(out) >= maxValueItems {
					return nil, fmt.Errorf("%w: range longer than %d items", errLimit, maxValueItems)
				}
				out = append(out, i)
			}
			if err := st.step(len(out)); err != nil {
				return nil, err
			}
			return out, nil
		},
		"namespace": func(_ *state, args []any, kwargs *dictVal) (any, error) {
			ns := &namespace{attrs: newDict()}
			for _, a := range args {
				if d, ok := a.(*dictVal); ok {
					for _, k := range d.keys {
						ns.attrs.Set(k, d.m[k])
					}
				}
			}
			if kwargs != nil {
				for _, k := range kwargs.keys {
					ns.attrs.Set(k, kwargs.m[k])
				}
			}
			return ns, nil
		},
		"dict": func(_ *state, args []any, kwargs *dictVal) (any, error) {
			d := newDict()
			for _, a := range args {
				if src, ok := a.(*dictVal); ok {
					for _, k := range src.keys {
						d.Set(k, src.m[k])
					}
				}
			}
			if kwargs != nil {
				for _, k := range kwargs.keys {
					d.Set(k, kwargs.m[k])
				}
			}
			return d, nil
		},
	}
}

// arg returns positional argument i, else keyword name, else def.
func arg(args []any, kwargs *dictVal, i int, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if kwargs != nil {
		if v, ok := kwargs.Get(name); ok {
			return v
		}
	}
	return def
}

func (st *state) applyFilter(f *filterExpr, v any) (any, error) {
	args, kwargs, err := st.evalArgs(f.args, f.kwargs)
	if err != nil {
		return nil, err
	}
	out, err := st.filter(f.name, v, args, kwargs)
	return out, wrapAt(f.p, err)
}

func (st *state) filter(name string, v any, args []any, kwargs *dictVal) (any, error) {
	switch name {
	case "safe", "escape", "e", "forceescape":
		// Chat templates render with autoescape off: escape only when asked explicitly.
		if name == "safe" {
			return v, nil
		}
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
		return r.Replace(toStr(v)), nil
	case "trim":
		chars := arg(args, kwargs, 0, "chars", nil)
		if c, ok := chars.(string); ok {
			return strings.Trim(toStr(v), c), nil
		}
		return strings.TrimSpace(toStr(v)), nil
	case "length", "count":
		n, err := length(v)
		return int64(n), err
	case "tojson":
		indent := int64(-1)
		if iv := arg(args, kwargs, 0, "indent", nil); iv != nil {
			n, ok := toIntStrict(iv)
			if !ok {
				return nil, fmt.Errorf("tojson indent must be an integer")
			}
			indent = min(max(n, 0), 64)
		}
		return toJSON(v, int(indent), "")
	case "upper":
		return strings.ToUpper(toStr(v)), nil
	case "lower":
		return strings.ToLower(toStr(v)), nil
	case "capitalize":
		return capitalize(toStr(v)), nil
	case "title":
		return title(toStr(v)), nil
	case "default", "d":
		def := arg(args, kwargs, 0, "default_value", "")
		boolean := truthy(arg(args, kwargs, 1, "boolean", false))
		if isUndefined(v) || (boolean && !truthy(v)) {
			return def, nil
		}
		return v, nil
	case "join":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		sep := toStr(arg(args, kwargs, 0, "d", ""))
		attr, _ := arg(args, kwargs, 1, "attribute", nil).(string)
		parts := make([]string, len(items))
		for i, it := range items {
			if attr != "" {
				it = getItem(it, attr)
			}
			parts[i] = toStr(it)
		}
		return strings.Join(parts, sep), nil
	case "first", "last":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return undefined{}, nil
		}
		if name == "first" {
			return items[0], nil
		}
		return items[len(items)-1], nil
	case "list":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		return append([]any{}, items...), nil
	case "string":
		return toStr(v), nil
	case "int":
		def := arg(args, kwargs, 0, "default", int64(0))
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			n, _ := toInt(x)
			return n, nil
		case string:
			s := strings.TrimSpace(x)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return int64(f), nil
			}
		}
		return def, nil
	case "float":
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
		return arg(args, kwargs, 0, "default", 0.0), nil
	case "abs":
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case float64:
			return math.Abs(x), nil
		}
		return nil, fmt.Errorf("bad operand type for abs(): '%s'", typeName(v))
	case "round":
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("round needs a number")
		}
		prec, _ := toIntStrict(arg(args, kwargs, 0, "precision", int64(0)))
		method := toStr(arg(args, kwargs, 1, "method", "common"))
		p := math.Pow(10, float64(min(max(prec, 0), 15)))
		switch method {
		case "floor":
			return math.Floor(f*p) / p, nil
		case "ceil":
			return math.Ceil(f*p) / p, nil
		}
		return math.Round(f*p) / p, nil
	case "items":
		if isUndefined(v) {
			return []any{}, nil
		}
		d, ok := v.(*dictVal)
		if !ok {
			return nil, fmt.Errorf("items filter needs a mapping, got %s", typeName(v))
		}
		return dictItems(d), nil
	case "dictsort":
		d, ok := v.(*dictVal)
		if !ok {
			return nil, fmt.Errorf("dictsort needs a mapping, got %s", typeName(v))
		}
		rev := truthy(arg(args, kwargs, 2, "reverse", false))
		byValue := toStr(arg(args, kwargs, 1, "by", "key")) == "value"
		return sortValues(dictItems(d), func(x any) any {
			if byValue {
				return x.([]any)[1]
			}
			return x.([]any)[0]
		}, rev), nil
	case "reverse":
		if s, ok := v.(string); ok {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), nil
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			out[len(items)-1-i] = it
		}
		return out, nil
	case "sort":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		rev := truthy(arg(args, kwargs, 0, "reverse", false))
		attr, _ := arg(args, kwargs, 2, "attribute", nil).(string)
		return sortValues(items, func(x any) any {
			if attr != "" {
				return getItem(x, attr)
			}
			return x
		}, rev), nil
	case "unique":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, it := range items {
			if err := st.step(len(out)); err != nil {
				return nil, err
			}
			dup := false
			for _, o := range out {
				if equal(o, it) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, it)
			}
		}
		return out, nil
	case "sum":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		attr, _ := arg(args, kwargs, 0, "attribute", nil).(string)
		var total any = arg(args, kwargs, 1, "start", int64(0))
		for _, it := range items {
			if attr != "" {
				it = getItem(it, attr)
			}
			if total, err = binaryOp("+", total, it); err != nil {
				return nil, err
			}
		}
		return total, nil
	case "min", "max":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return undefined{}, nil
		}
		best := items[0]
		for _, it := range items[1:] {
			c, ok := compare(it, best)
			if !ok {
				return nil, fmt.Errorf("%s: values are not comparable", name)
			}
			if (name == "min" && c < 0) || (name == "max" && c > 0) {
				best = it
			}
		}
		return best, nil
	case "replace":
		if len(args) < 2 {
			return nil, fmt.Errorf("replace needs two arguments")
		}
		n := int64(-1)
		if len(args) > 2 {
			n, _ = toIntStrict(args[2])
		}
		s, old, new := toStr(v), toStr(args[0]), toStr(args[1])
		if old == "" && len(s) > 0 && len(new)*len(s) > maxOutput {
			return nil, fmt.Errorf("%w: replace result too long", errLimit)
		}
		out := strings.Replace(s, old, new, int(n))
		if len(out) > maxOutput {
			return nil, fmt.Errorf("%w: replace result too long", errLimit)
		}
		return out, nil
	case "indent":
		width := arg(args, kwargs, 0, "width", int64(4))
		pad, ok := width.(string)
		if !ok {
			n, _ := toIntStrict(width)
			pad = strings.Repeat(" ", int(min(max(n, 0), 256)))
		}
		first := truthy(arg(args, kwargs, 1, "first", false))
		blank := truthy(arg(args, kwargs, 2, "blank", false))
		lines := strings.Split(toStr(v), "\n")
		for i, l := range lines {
			if (i > 0 || first) && (blank || strings.TrimSpace(l) != "") {
				lines[i] = pad + l
			}
		}
		return strings.Join(lines, "\n"), nil
	case "wordcount":
		return int64(len(strings.Fields(toStr(v)))), nil
	case "center":
		w, _ := toIntStrict(arg(args, kwargs, 0, "width", int64(80)))
		s := toStr(v)
		n := utf8.RuneCountInString(s)
		if int(w) <= n || w > 1<<16 {
			return s, nil
		}
		left := (int(w) - n) / 2
		return strings.Repeat(" ", left) + s + strings.Repeat(" ", int(w)-n-left), nil
	case "map":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(items))
		if attr := arg(nil, kwargs, 0, "attribute", nil); attr != nil {
			def := arg(nil, kwargs, 0, "default", nil)
			for _, it := range items {
				x := getItem(it, toStr(attr))
				if isUndefined(x) && def != nil {
					x = def
				}
				out = append(out, x)
			}
			return out, nil
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("map needs a filter name or attribute=")
		}
		fname := toStr(args[0])
		for _, it := range items {
			if err := st.step(1); err != nil {
				return nil, err
			}
			x, err := st.filter(fname, it, args[1:], kwargs)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case "select", "reject", "selectattr", "rejectattr":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		byAttr := strings.HasSuffix(name, "attr")
		want := strings.HasPrefix(name, "select")
		rest := args
		attr := ""
		if byAttr {
			if len(rest) == 0 {
				return nil, fmt.Errorf("%s needs an attribute name", name)
			}
			attr = toStr(rest[0])
			rest = rest[1:]
		}
		var out []any
		for _, it := range items {
			if err := st.step(1); err != nil {
				return nil, err
			}
			x := it
			if byAttr {
				x = getAttrPath(it, attr)
			}
			ok := truthy(x)
			if len(rest) > 0 {
				if ok, err = runTest(toStr(rest[0]), x, rest[1:]); err != nil {
					return nil, err
				}
			}
			if ok == want {
				out = append(out, it)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	case "batch":
		n, _ := toIntStrict(arg(args, kwargs, 0, "linecount", int64(1)))
		if n <= 0 {
			return nil, fmt.Errorf("batch size must be positive")
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		var out []any
		for i := 0; i < len(items); i += int(n) {
			out = append(out, append([]any{}, items[i:min(i+int(n), len(items))]...))
		}
		return out, nil
	case "pprint":
		return toStr(v), nil
	case "format":
		return pyPercent(toStr(v), args)
	case "striptags":
		return strings.Join(strings.Fields(toStr(v)), " "), nil
	}
	return nil, fmt.Errorf("unknown filter %q", name)
}

// getAttrPath follows a dotted attribute path such as "function.name".
func getAttrPath(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		if n, err := strconv.Atoi(part); err == nil {
			v = getItem(v, int64(n))
		} else {
			v = getItem(v, part)
		}
	}
	return v
}

func dictItems(d *dictVal) []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = []any{k, d.m[k]}
	}
	return out
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + strings.ToLower(s[n:])
}

// title upper-cases the first letter of every word and lower-cases the rest, like Python's
// str.title.
func title(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToTitle(r))
			}
			prevLetter = true
		} else {
			b.WriteRune(r)
			prevLetter = false
		}
	}
	return b.String()
}

// pyPercent is a small subset of Python's "%s" % args formatting.
func pyPercent(f string, args []any) (string, error) {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case '%':
			b.WriteByte('%')
		case 's', 'd', 'r':
			if ai >= len(args) {
				return "", fmt.Errorf("not enough arguments for format string")
			}
			if f[i] == 'r' {
				var sb strings.Builder
				writeRepr(&sb, args[ai], true)
				b.WriteString(sb.String())
			} else {
				b.WriteString(toStr(args[ai]))
			}
			ai++
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String(), nil
}

// runTest evaluates "v is name(args)".
func runTest(name string, v any, args []any) (bool, error) {
	a0 := func() (any, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("test %q needs an argument", name)
		}
		return args[0], nil
	}
	switch name {
	case "defined":
		return !isUndefined(v), nil
	case "undefined":
		return isUndefined(v), nil
	case "none":
		return v == nil, nil
	case "boolean":
		return isBool(v), nil
	case "true":
		b, ok := v.(bool)
		return ok && b, nil
	case "false":
		b, ok := v.(bool)
		return ok && !b, nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "number":
		return isNumber(v), nil
	case "integer":
		_, ok := v.(int64)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "mapping":
		_, ok := v.(*dictVal)
		return ok, nil
	case "iterable":
		switch v.(type) {
		case string, []any, *dictVal:
			return true, nil
		}
		return false, nil
	case "sequence":
		switch v.(type) {
		case string, []any, *dictVal:
			return true, nil
		}
		return false, nil
	case "callable":
		_, ok := v.(callable)
		return ok, nil
	case "equalto", "eq", "==", "sameas":
		x, err := a0()
		if err != nil {
			return false, err
		}
		return equal(v, x), nil
	case "ne", "!=":
		x, err := a0()
		if err != nil {
			return false, err
		}
		return !equal(v, x), nil
	case "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=":
		x, err := a0()
		if err != nil {
			return false, err
		}
		c, ok := compare(v, x)
		if !ok {
			return false, fmt.Errorf("test %q: values are not comparable", name)
		}
		switch name {
		case "lt", "lessthan", "<":
			return c < 0, nil
		case "le", "<=":
			return c <= 0, nil
		case "gt", "greaterthan", ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in":
		x, err := a0()
		if err != nil {
			return false, err
		}
		return contains(x, v)
	case "odd", "even":
		n, ok := v.(int64)
		if !ok {
			return false, fmt.Errorf("test %q needs an integer", name)
		}
		return (n%2 != 0) == (name == "odd"), nil
	case "divisibleby":
		x, err := a0()
		if err != nil {
			return false, err
		}
		n, ok1 := v.(int64)
		d, ok2 := x.(int64)
		if !ok1 || !ok2 || d == 0 {
			return false, fmt.Errorf("divisibleby needs integers and a non-zero divisor")
		}
		return n%d == 0, nil
	case "lower":
		s, ok := v.(string)
		return ok && s == strings.ToLower(s), nil
	case "upper":
		s, ok := v.(string)
		return ok && s == strings.ToUpper(s), nil
	}
	return false, fmt.Errorf("unknown test %q", name)
}

func method(f func(args []any, kwargs *dictVal) (any, error)) callable {
	return func(_ *state, args []any, kwargs *dictVal) (any, error) { return f(args, kwargs) }
}

func dictMethod(d *dictVal, name string) callable {
	switch name {
	case "items":
		return method(func([]any, *dictVal) (any, error) { return dictItems(d), nil })
	case "keys":
		return method(func([]any, *dictVal) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = k
			}
			return out, nil
		})
	case "values":
		return method(func([]any, *dictVal) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		})
	case "get":
		return method(func(args []any, kwargs *dictVal) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("get expected at least 1 argument")
			}
			if k, ok := args[0].(string); ok {
				if v, ok := d.Get(k); ok {
					return v, nil
				}
			}
			return arg(args, kwargs, 1, "default", nil), nil
		})
	}
	return nil
}

func listMethod(l []any, name string) callable {
	switch name {
	case "index":
		return method(func(args []any, _ *dictVal) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("index expected 1 argument")
			}
			for i, e := range l {
				if equal(e, args[0]) {
					return int64(i), nil
				}
			}
			return nil, fmt.Errorf("value is not in list")
		})
	case "count":
		return method(func(args []any, _ *dictVal) (any, error) {
			n := 0
			for _, e := range l {
				if len(args) > 0 && equal(e, args[0]) {
					n++
				}
			}
			return int64(n), nil
		})
	}
	return nil
}

func stringMethod(s string, name string) callable {
	strArg := func(args []any, i int) (string, bool) {
		if i < len(args) {
			if v, ok := args[i].(string); ok {
				return v, true
			}
		}
		return "", false
	}
	switch name {
	case "strip", "lstrip", "rstrip":
		return method(func(args []any, _ *dictVal) (any, error) {
			chars, ok := strArg(args, 0)
			switch {
			case name == "strip" && ok:
				return strings.Trim(s, chars), nil
			case name == "strip":
				return strings.TrimSpace(s), nil
			case name == "lstrip" && ok:
				return strings.TrimLeft(s, chars), nil
			case name == "lstrip":
				return strings.TrimLeftFunc(s, unicode.IsSpace), nil
			case ok:
				return strings.TrimRight(s, chars), nil
			}
			return strings.TrimRightFunc(s, unicode.IsSpace), nil
		})
	case "startswith", "endswith":
		return method(func(args []any, _ *dictVal) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s takes at least 1 argument", name)
			}
			var cands []any
			if l, ok := args[0].([]any); ok {
				cands = l
			} else {
				cands = []any{args[0]}
			}
			for _, c := range cands {
				p, ok := c.(string)
				if !ok {
					return nil, fmt.Errorf("%s first arg must be str or a tuple of str", name)
				}
				if (name == "startswith" && strings.HasPrefix(s, p)) || (name == "endswith" && strings.HasSuffix(s, p)) {
					return true, nil
				}
			}
			return false, nil
		})
	case "split", "rsplit":
		return method(func(args []any, kwargs *dictVal) (any, error) {
			sep, hasSep := arg(args, kwargs, 0, "sep", nil).(string)
			maxSplit, _ := toIntStrict(arg(args, kwargs, 1, "maxsplit", int64(-1)))
			var parts []string
			switch {
			case !hasSep:
				parts = strings.Fields(s)
				if maxSplit >= 0 && int(maxSplit) < len(parts) {
					// Re-split keeping the remainder intact.
					parts = splitFieldsN(s, int(maxSplit), name == "rsplit")
				}
			case sep == "":
				return nil, fmt.Errorf("empty separator")
			case maxSplit < 0:
				parts = strings.Split(s, sep)
			case name == "rsplit":
				parts = rsplitN(s, sep, int(maxSplit))
			default:
				parts = strings.SplitN(s, sep, int(maxSplit)+1)
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "splitlines":
		return method(func([]any, *dictVal) (any, error) {
			lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			out := make([]any, len(lines))
			for i, l := range lines {
				out[i] = l
			}
			return out, nil
		})
	case "replace":
		return method(func(args []any, _ *dictVal) (any, error) {
			old, ok1 := strArg(args, 0)
			new, ok2 := strArg(args, 1)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("replace needs two string arguments")
			}
			n := int64(-1)
			if len(args) > 2 {
				n, _ = toIntStrict(args[2])
			}
			if old == "" && len(new)*(len(s)+1) > maxOutput {
				return nil, fmt.Errorf("%w: replace result too long", errLimit)
			}
			out := strings.Replace(s, old, new, int(n))
			if len(out) > maxOutput {
				return nil, fmt.Errorf("%w: replace result too long", errLimit)
			}
			return out, nil
		})
	case "upper":
		return method(func([]any, *dictVal) (any, error) { return strings.ToUpper(s), nil })
	case "lower":
		return method(func([]any, *dictVal) (any, error) { return strings.ToLower(s), nil })
	case "title":
		return method(func([]any, *dictVal) (any, error) { return title(s), nil })
	case "capitalize":
		return method(func([]any, *dictVal) (any, error) { return capitalize(s), nil })
	case "find", "rfind", "index":
		return method(func(args []any, _ *dictVal) (any, error) {
			sub, ok := strArg(args, 0)
			if !ok {
				return nil, fmt.Errorf("%s needs a string argument", name)
			}
			i := strings.Index(s, sub)
			if name == "rfind" {
				i = strings.LastIndex(s, sub)
			}
			if i < 0 {
				if name == "index" {
					return nil, fmt.Errorf("substring not found")
				}
				return int64(-1), nil
			}
			return int64(utf8.RuneCountInString(s[:i])), nil
		})
	case "count":
		return method(func(args []any, _ *dictVal) (any, error) {
			sub, ok := strArg(args, 0)
			if !ok {
				return nil, fmt.Errorf("count needs a string argument")
			}
			return int64(strings.Count(s, sub)), nil
		})
	case "join":
		return method(func(args []any, _ *dictVal) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("join takes one argument")
			}
			items, err := iterate(args[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = toStr(it)
			}
			return strings.Join(parts, s), nil
		})
	case "format":
		return method(func(args []any, kwargs *dictVal) (any, error) { return pyFormat(s, args, kwargs) })
	case "isdigit", "isalpha", "isspace", "isalnum", "islower", "isupper":
		return method(func([]any, *dictVal) (any, error) {
			if s == "" {
				return false, nil
			}
			switch name {
			case "islower":
				return s == strings.ToLower(s) && s != strings.ToUpper(s), nil
			case "isupper":
				return s == strings.ToUpper(s) && s != strings.ToLower(s), nil
			}
			for _, r := range s {
				ok := false
				switch name {
				case "isdigit":
					ok = unicode.IsDigit(r)
				case "isalpha":
					ok = unicode.IsLetter(r)
				case "isspace":
					ok = unicode.IsSpace(r)
				case "isalnum":
					ok = unicode.IsLetter(r) || unicode.IsDigit(r)
				}
				if !ok {
					return false, nil
				}
			}
			return true, nil
		})
	}
	return nil
}

func rsplitN(s, sep string, n int) []string {
	var parts []string
	for n > 0 {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		parts = append(parts, s[i+len(sep):])
		s = s[:i]
		n--
	}
	parts = append(parts, s)
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return parts
}

// splitFieldsN splits on runs of white space at most n times (from the right when fromRight).
func splitFieldsN(s string, n int, fromRight bool) []string {
	if fromRight {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
		var parts []string
		for n > 0 {
			i := strings.LastIndexFunc(s, unicode.IsSpace)
			if i < 0 {
				break
			}
			parts = append([]string{s[i+1:]}, parts...)
			s = strings.TrimRightFunc(s[:i], unicode.IsSpace)
			n--
		}
		return append([]string{s}, parts...)
	}
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	var parts []string
	for n > 0 {
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			break
		}
		parts = append(parts, s[:i])
		s = strings.TrimLeftFunc(s[i:], unicode.IsSpace)
		n--
	}
	if s != "" {
		parts = append(parts, s)
	}
	return parts
}

// pyFormat is Python's str.format for "{}", "{0}" and "{name}" fields without format specs.
func pyFormat(f string, args []any, kwargs *dictVal) (string, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '}' && i+1 < len(f) && f[i+1] == '}' {
			b.WriteByte('}')
			i++
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		j := strings.IndexByte(f[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("single '{' encountered in format string")
		}
		field, _, _ := strings.Cut(f[i+1:i+j], ":")
		var v any
		switch n, err := strconv.Atoi(field); {
		case field == "":
			if auto >= len(args) {
				return "", fmt.Errorf("replacement index %d out of range", auto)
			}
			v = args[auto]
			auto++
		case err == nil:
			if n < 0 || n >= len(args) {
				return "", fmt.Errorf("replacement index %d out of range", n)
			}
			v = args[n]
		default:
			ok := false
			if kwargs != nil {
				v, ok = kwargs.Get(field)
			}
			if !ok {
				return "", fmt.Errorf("format: no argument %q", field)
			}
		}
		b.WriteString(toStr(v))
		i += j
	}
	return b.String(), nil
}
