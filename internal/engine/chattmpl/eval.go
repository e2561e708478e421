package chattmpl

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Limits that keep a runaway template from hanging or exhausting memory. They are far above what
// any chat template needs.
const (
	maxOutput     = 8 << 20   // bytes rendered in total, including macro and block-set output
	maxIterations = 1_000_000 // loop iterations and filter items visited in one render
	maxCallDepth  = 64        // nested macro calls
	maxValueItems = 1 << 20   // items in one list or characters in one string built by the template
	maxWork       = 64 << 20  // bytes and items processed by string and list operations in one render (8× the output cap)

	// runeCost is the work charged per byte for operations that decode a string to runes.
	runeCost = 16
)

// RenderError is an error while rendering, at a position in the template.
type RenderError struct {
	Line, Col int
	Msg       string
	// Err is the underlying error, when there is one.
	Err error
}

// Error returns "line:col: msg".
func (e *RenderError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Unwrap returns the underlying error.
func (e *RenderError) Unwrap() error { return e.Err }

// ExceptionError is the error of the template's own raise_exception(msg): the conversation does
// not fit the model's format (for example roles that do not alternate).
type ExceptionError struct{ Msg string }

// Error returns the template's message.
func (e *ExceptionError) Error() string { return e.Msg }

var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
	errLimit    = errors.New("template exceeded a resource limit")
)

type state struct {
	scopes  []map[string]any // scopes[0] holds the globals
	out     *strings.Builder
	written int
	steps   int
	work    int
	calls   int
	now     time.Time
}

func (st *state) lookup(name string) any {
	for i := len(st.scopes) - 1; i >= 0; i-- {
		if v, ok := st.scopes[i][name]; ok {
			return v
		}
	}
	if f, ok := globalFuncs[name]; ok {
		return f
	}
	return undefined{name: name}
}

func (st *state) set(name string, v any) { st.scopes[len(st.scopes)-1][name] = v }

func (st *state) push() { st.scopes = append(st.scopes, map[string]any{}) }
func (st *state) pop()  { st.scopes = st.scopes[:len(st.scopes)-1] }

func (st *state) write(s string) error {
	st.written += len(s)
	if st.written > maxOutput {
		return fmt.Errorf("%w: output larger than %d bytes", errLimit, maxOutput)
	}
	st.out.WriteString(s)
	return nil
}

// charge accounts for n bytes or items of work done by an operation, so that a template cannot
// spend unbounded time on large strings even within the iteration limit.
func (st *state) charge(n int) error {
	st.work += n
	if st.work > maxWork {
		return fmt.Errorf("%w: more than %d bytes of string and list work", errLimit, maxWork)
	}
	return nil
}

// sizeOf is the work a value stands for: bytes of a string, items of a list or dict.
func sizeOf(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []any:
		return len(x)
	case *dictVal:
		return x.Len()
	}
	return 0
}

func (st *state) step(n int) error {
	st.steps += n
	if st.steps > maxIterations {
		return fmt.Errorf("%w: more than %d loop iterations", errLimit, maxIterations)
	}
	return nil
}

// wrap attaches a position to an error that has none yet.
func wrapAt(p pos, err error) error {
	if err == nil {
		return nil
	}
	var re *RenderError
	var ee *ExceptionError
	if errors.As(err, &re) || errors.As(err, &ee) || errors.Is(err, errBreak) || errors.Is(err, errContinue) {
		return err
	}
	return &RenderError{Line: p.line, Col: p.col, Msg: err.Error(), Err: err}
}

func (st *state) renderNodes(nodes []node) error {
	for _, n := range nodes {
		if err := st.renderNode(n); err != nil {
			return err
		}
	}
	return nil
}

// renderCapture renders nodes into a separate buffer and returns the text.
func (st *state) renderCapture(nodes []node) (string, error) {
	saved := st.out
	var b strings.Builder
	st.out = &b
	err := st.renderNodes(nodes)
	st.out = saved
	return b.String(), err
}

func (st *state) renderNode(n node) error {
	switch n := n.(type) {
	case *textNode:
		return wrapAt(n.p, st.write(n.text))
	case *outputNode:
		v, err := st.eval(n.e)
		if err != nil {
			return err
		}
		return wrapAt(n.p, st.write(toStr(v)))
	case *ifNode:
		for i, c := range n.conds {
			v, err := st.eval(c)
			if err != nil {
				return err
			}
			if truthy(v) {
				return st.renderNodes(n.bodies[i])
			}
		}
		return st.renderNodes(n.els)
	case *forNode:
		return st.renderFor(n)
	case *setNode:
		return st.renderSet(n)
	case *macroNode:
		st.set(n.name, st.makeMacro(n))
		return nil
	case *loopCtlNode:
		if n.brk {
			return errBreak
		}
		return errContinue
	case *callBlockNode:
		// {% call m(args) %}body{% endcall %}: the body is available to the macro as caller().
		call := n.call.(*callExpr)
		body := n.body
		st.push()
		defer st.pop()
		st.set("caller", callable(func(st *state, _ []any, _ *dictVal) (any, error) {
			return st.renderCapture(body)
		}))
		v, err := st.eval(call)
		if err != nil {
			return err
		}
		return wrapAt(n.p, st.write(toStr(v)))
	case *filterBlockNode:
		text, err := st.renderCapture(n.body)
		if err != nil {
			return err
		}
		v, err := st.applyFilter(n.filter, text)
		if err != nil {
			return err
		}
		return wrapAt(n.p, st.write(toStr(v)))
	}
	return fmt.Errorf("unknown node %T", n)
}

func (st *state) renderFor(n *forNode) error {
	iv, err := st.eval(n.iter)
	if err != nil {
		return err
	}
	if err := st.charge(sizeOf(iv)); err != nil {
		return wrapAt(n.iter.at(), err)
	}
	items, err := iterate(iv)
	if err != nil {
		return wrapAt(n.iter.at(), err)
	}
	bind := func(item any) error {
		if len(n.targets) == 1 {
			st.set(n.targets[0], item)
			return nil
		}
		parts, ok := item.([]any)
		if !ok || len(parts) != len(n.targets) {
			return &RenderError{Line: n.p.line, Col: n.p.col, Msg: fmt.Sprintf("cannot unpack %s into %d names", typeName(item), len(n.targets))}
		}
		for i, t := range n.targets {
			st.set(t, parts[i])
		}
		return nil
	}
	if n.cond != nil {
		var kept []any
		for _, it := range items {
			if err := wrapAt(n.p, st.step(1)); err != nil {
				return err
			}
			st.push()
			err := bind(it)
			var v any
			if err == nil {
				v, err = st.eval(n.cond)
			}
			st.pop()
			if err != nil {
				return err
			}
			if truthy(v) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return st.renderNodes(n.els)
	}
	loop := &loopInfo{length: len(items), items: items}
	outer, hasOuter := st.lookup("loop").(*loopInfo)
	if hasOuter {
		loop.depth = outer.depth + 1
	}
	for i, it := range items {
		if err := wrapAt(n.p, st.step(1)); err != nil {
			return err
		}
		loop.index0 = i
		st.push()
		st.set("loop", loop)
		err := bind(it)
		if err == nil {
			err = st.renderNodes(n.body)
		}
		st.pop()
		if errors.Is(err, errBreak) {
			break
		}
		if errors.Is(err, errContinue) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (st *state) renderSet(n *setNode) error {
	var v any
	if n.body != nil {
		text, err := st.renderCapture(n.body)
		if err != nil {
			return err
		}
		v = text
	} else {
		var err error
		if v, err = st.eval(n.value); err != nil {
			return err
		}
	}
	if n.ns != "" {
		ns, ok := st.lookup(n.ns).(*namespace)
		if !ok {
			return &RenderError{Line: n.p.line, Col: n.p.col, Msg: fmt.Sprintf("cannot assign attribute on non-namespace object %q", n.ns)}
		}
		ns.attrs.Set(n.attr, v)
		return nil
	}
	if len(n.targets) == 1 {
		st.set(n.targets[0], v)
		return nil
	}
	parts, ok := v.([]any)
	if !ok || len(parts) != len(n.targets) {
		return &RenderError{Line: n.p.line, Col: n.p.col, Msg: fmt.Sprintf("cannot unpack %s into %d names", typeName(v), len(n.targets))}
	}
	for i, t := range n.targets {
		st.set(t, parts[i])
	}
	return nil
}

func (st *state) makeMacro(n *macroNode) callable {
	return func(st *state, args []any, kwargs *dictVal) (any, error) {
		if len(args) > len(n.params) {
			return nil, fmt.Errorf("macro %s takes %d arguments, got %d", n.name, len(n.params), len(args))
		}
		st.calls++
		defer func() { st.calls-- }()
		if st.calls > maxCallDepth {
			return nil, fmt.Errorf("%w: macro calls nest deeper than %d", errLimit, maxCallDepth)
		}
		// A macro sees the globals and its own arguments, not the caller's locals.
		saved := st.scopes
		st.scopes = append([]map[string]any{saved[0]}, map[string]any{})
		if caller, ok := lookupLocal(saved, "caller"); ok {
			st.set("caller", caller)
		}
		defer func() { st.scopes = saved }()
		for i, name := range n.params {
			switch {
			case i < len(args):
				st.set(name, args[i])
			case kwargs != nil && hasKey(kwargs, name):
				v, _ := kwargs.Get(name)
				st.set(name, v)
			case n.defaults[i] != nil:
				v, err := st.eval(n.defaults[i])
				if err != nil {
					return nil, err
				}
				st.set(name, v)
			default:
				st.set(name, undefined{name: name})
			}
		}
		return st.renderCapture(n.body)
	}
}

func lookupLocal(scopes []map[string]any, name string) (any, bool) {
	for i := len(scopes) - 1; i > 0; i-- {
		if v, ok := scopes[i][name]; ok {
			return v, true
		}
	}
	return nil, false
}

func hasKey(d *dictVal, k string) bool { _, ok := d.Get(k); return ok }

func (st *state) eval(e expr) (any, error) {
	v, err := st.evalInner(e)
	if err == nil {
		switch e.(type) {
		case *binaryExpr, *filterExpr, *callExpr, *sliceExpr, *indexExpr:
			// Computed values cost what they hold; lookups of existing values are free.
			err = st.charge(sizeOf(v))
		}
	}
	return v, wrapAt(e.at(), err)
}

func (st *state) evalInner(e expr) (any, error) {
	switch e := e.(type) {
	case *literal:
		return e.v, nil
	case *nameExpr:
		return st.lookup(e.name), nil
	case *listExpr:
		out := make([]any, len(e.items))
		for i, it := range e.items {
			v, err := st.eval(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *dictExpr:
		d := newDict()
		for i := range e.keys {
			k, err := st.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := st.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			d.Set(toStr(k), v)
		}
		return d, nil
	case *attrExpr:
		obj, err := st.eval(e.obj)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, e.name), nil
	case *indexExpr:
		obj, err := st.eval(e.obj)
		if err != nil {
			return nil, err
		}
		key, err := st.eval(e.key)
		if err != nil {
			return nil, err
		}
		if s, ok := obj.(string); ok {
			// Indexing a string decodes it to runes: charge for the decoding.
			if err := st.charge(runeCost * len(s)); err != nil {
				return nil, err
			}
		}
		return getItem(obj, key), nil
	case *sliceExpr:
		return st.evalSlice(e)
	case *callExpr:
		fv, err := st.eval(e.fn)
		if err != nil {
			return nil, err
		}
		fn, ok := fv.(callable)
		if !ok {
			if u, isU := fv.(undefined); isU {
				return nil, fmt.Errorf("%q is undefined and cannot be called", u.name)
			}
			return nil, fmt.Errorf("'%s' object is not callable", typeName(fv))
		}
		args, kwargs, err := st.evalArgs(e.args, e.kwargs)
		if err != nil {
			return nil, err
		}
		for _, a := range args {
			if err := st.charge(sizeOf(a)); err != nil {
				return nil, err
			}
		}
		return fn(st, args, kwargs)
	case *filterExpr:
		target, err := st.eval(e.target)
		if err != nil {
			return nil, err
		}
		if err := st.charge(sizeOf(target)); err != nil {
			return nil, err
		}
		return st.applyFilter(e, target)
	case *testExpr:
		target, err := st.eval(e.target)
		if err != nil {
			return nil, err
		}
		args, _, err := st.evalArgs(e.args, nil)
		if err != nil {
			return nil, err
		}
		ok, err := runTest(e.name, target, args)
		if err != nil {
			return nil, err
		}
		return ok != e.negate, nil
	case *unaryExpr:
		x, err := st.eval(e.x)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "not":
			return !truthy(x), nil
		case "-":
			switch n := x.(type) {
			case int64:
				return -n, nil
			case float64:
				return -n, nil
			}
			return nil, fmt.Errorf("bad operand type for unary -: '%s'", typeName(x))
		case "+":
			if isNumber(x) {
				return x, nil
			}
			return nil, fmt.Errorf("bad operand type for unary +: '%s'", typeName(x))
		}
	case *binaryExpr:
		l, err := st.eval(e.l)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "and":
			if !truthy(l) {
				return l, nil
			}
			return st.eval(e.r)
		case "or":
			if truthy(l) {
				return l, nil
			}
			return st.eval(e.r)
		}
		r, err := st.eval(e.r)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "in", "not in":
			err = st.charge(sizeOf(r))
		case "==", "!=":
			err = st.charge(sizeOf(l))
		}
		if err != nil {
			return nil, err
		}
		return binaryOp(e.op, l, r)
	case *condExpr:
		c, err := st.eval(e.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return st.eval(e.yes)
		}
		if e.no == nil {
			return undefined{}, nil
		}
		return st.eval(e.no)
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func (st *state) evalArgs(args []expr, kws []kwarg) ([]any, *dictVal, error) {
	var out []any
	for _, a := range args {
		v, err := st.eval(a)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, v)
	}
	var kwargs *dictVal
	if len(kws) > 0 {
		kwargs = newDict()
		for _, k := range kws {
			v, err := st.eval(k.val)
			if err != nil {
				return nil, nil, err
			}
			kwargs.Set(k.name, v)
		}
	}
	return out, kwargs, nil
}

func (st *state) evalSlice(e *sliceExpr) (any, error) {
	obj, err := st.eval(e.obj)
	if err != nil {
		return nil, err
	}
	cost := sizeOf(obj)
	if _, ok := obj.(string); ok {
		cost *= runeCost
	}
	if err := st.charge(cost); err != nil {
		return nil, err
	}
	bound := func(x expr) (*int64, error) {
		if x == nil {
			return nil, nil
		}
		v, err := st.eval(x)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, nil
		}
		n, ok := toInt(v)
		if !ok {
			return nil, fmt.Errorf("slice indices must be integers or None, not %s", typeName(v))
		}
		return &n, nil
	}
	start, err := bound(e.start)
	if err != nil {
		return nil, err
	}
	stop, err := bound(e.stop)
	if err != nil {
		return nil, err
	}
	step, err := bound(e.step)
	if err != nil {
		return nil, err
	}
	switch x := obj.(type) {
	case []any:
		idx, err := sliceIndices(len(x), start, stop, step)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(idx))
		for i, k := range idx {
			out[i] = x[k]
		}
		return out, nil
	case string:
		runes := []rune(x)
		idx, err := sliceIndices(len(runes), start, stop, step)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(idx))
		for i, k := range idx {
			out[i] = runes[k]
		}
		return string(out), nil
	case undefined:
		return undefined{}, nil
	}
	return nil, fmt.Errorf("'%s' object is not subscriptable", typeName(obj))
}

// sliceIndices returns the indices Python's seq[start:stop:step] visits.
func sliceIndices(n int, start, stop, step *int64) ([]int, error) {
	st := int64(1)
	if step != nil {
		st = *step
	}
	if st == 0 {
		return nil, fmt.Errorf("slice step cannot be zero")
	}
	ln := int64(n)
	// Any step longer than the sequence visits one element: clamping avoids overflow below.
	st = max(min(st, ln+1), -(ln + 1))
	norm := func(p *int64, def int64, lo, hi int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += ln
			if v < lo {
				v = lo
			}
		} else if v > hi {
			v = hi
		}
		return v
	}
	var out []int
	if st > 0 {
		a := norm(start, 0, 0, ln)
		b := norm(stop, ln, 0, ln)
		for i := a; i < b; i += st {
			out = append(out, int(i))
		}
	} else {
		a := norm(start, ln-1, -1, ln-1)
		b := norm(stop, -1, -1, ln-1)
		for i := a; i > b; i += st {
			out = append(out, int(i))
		}
	}
	return out, nil
}

// getAttr is Jinja's obj.name: methods and attributes first, then items.
func getAttr(obj any, name string) any {
	switch x := obj.(type) {
	case *dictVal:
		if m := dictMethod(x, name); m != nil {
			return m
		}
		if v, ok := x.Get(name); ok {
			return v
		}
	case string:
		if m := stringMethod(x, name); m != nil {
			n := len(x)
			return callable(func(st *state, args []any, kwargs *dictVal) (any, error) {
				if err := st.charge(n); err != nil {
					return nil, err
				}
				return m(st, args, kwargs)
			})
		}
	case []any:
		if m := listMethod(x, name); m != nil {
			return m
		}
	case *namespace:
		if v, ok := x.attrs.Get(name); ok {
			return v
		}
	case *loopInfo:
		return x.attr(name)
	}
	return undefined{name: name}
}

// getItem is Jinja's obj[key]: items first, then attributes.
func getItem(obj any, key any) any {
	switch x := obj.(type) {
	case *dictVal:
		if k, ok := key.(string); ok {
			if v, ok := x.Get(k); ok {
				return v
			}
		}
	case []any:
		if i, ok := toInt(key); ok {
			if i < 0 {
				i += int64(len(x))
			}
			if i >= 0 && i < int64(len(x)) {
				return x[i]
			}
		}
		return undefined{}
	case string:
		if i, ok := toInt(key); ok {
			r := []rune(x)
			if i < 0 {
				i += int64(len(r))
			}
			if i >= 0 && i < int64(len(r)) {
				return string(r[i])
			}
		}
	}
	if k, ok := key.(string); ok {
		return getAttr(obj, k)
	}
	return undefined{}
}

func (l *loopInfo) attr(name string) any {
	switch name {
	case "index":
		return int64(l.index0 + 1)
	case "index0":
		return int64(l.index0)
	case "revindex":
		return int64(l.length - l.index0)
	case "revindex0":
		return int64(l.length - l.index0 - 1)
	case "first":
		return l.index0 == 0
	case "last":
		return l.index0 == l.length-1
	case "length":
		return int64(l.length)
	case "depth":
		return int64(l.depth + 1)
	case "depth0":
		return int64(l.depth)
	case "previtem":
		if l.index0 > 0 {
			return l.items[l.index0-1]
		}
	case "nextitem":
		if l.index0+1 < l.length {
			return l.items[l.index0+1]
		}
	case "cycle":
		return callable(func(_ *state, args []any, _ *dictVal) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("no items for cycling given")
			}
			return args[l.index0%len(args)], nil
		})
	}
	return undefined{name: name}
}

func binaryOp(op string, l, r any) (any, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<", "<=", ">", ">=":
		c, ok := compare(l, r)
		if !ok {
			return nil, fmt.Errorf("'%s' not supported between instances of '%s' and '%s'", op, typeName(l), typeName(r))
		}
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in", "not in":
		in, err := contains(r, l)
		if err != nil {
			return nil, err
		}
		return in == (op == "in"), nil
	case "~":
		s := toStr(l) + toStr(r)
		if len(s) > maxOutput {
			return nil, fmt.Errorf("%w: string longer than %d bytes", errLimit, maxOutput)
		}
		return s, nil
	}
	// Arithmetic.
	if ls, ok := l.(string); ok {
		switch op {
		case "+":
			if rs, ok := r.(string); ok {
				if len(ls)+len(rs) > maxOutput {
					return nil, fmt.Errorf("%w: string longer than %d bytes", errLimit, maxOutput)
				}
				return ls + rs, nil
			}
		case "*":
			if n, ok := r.(int64); ok {
				if n <= 0 {
					return "", nil
				}
				if int64(len(ls))*n > maxOutput {
					return nil, fmt.Errorf("%w: string longer than %d bytes", errLimit, maxOutput)
				}
				return strings.Repeat(ls, int(n)), nil
			}
		}
	}
	if ll, ok := l.([]any); ok && op == "+" {
		if rl, ok := r.([]any); ok {
			if len(ll)+len(rl) > maxValueItems {
				return nil, fmt.Errorf("%w: list longer than %d items", errLimit, maxValueItems)
			}
			return append(append([]any(nil), ll...), rl...), nil
		}
	}
	if !isNumber(l) && !isBool(l) || !isNumber(r) && !isBool(r) {
		return nil, fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(l), typeName(r))
	}
	li, lInt := toIntStrict(l)
	ri, rInt := toIntStrict(r)
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "//":
			if ri == 0 {
				return nil, fmt.Errorf("integer division or modulo by zero")
			}
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q--
			}
			return q, nil
		case "%":
			if ri == 0 {
				return nil, fmt.Errorf("integer division or modulo by zero")
			}
			m := li % ri
			if m != 0 && ((m < 0) != (ri < 0)) {
				m += ri
			}
			return m, nil
		case "**":
			if ri >= 0 && ri <= 62 {
				res := int64(1)
				for range ri {
					res *= li
				}
				return res, nil
			}
		}
	}
	lf, _ := toFloat(l)
	rf, _ := toFloat(r)
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return lf / rf, nil
	case "//":
		if rf == 0 {
			return nil, fmt.Errorf("float floor division by zero")
		}
		return math.Floor(lf / rf), nil
	case "%":
		if rf == 0 {
			return nil, fmt.Errorf("float modulo")
		}
		m := math.Mod(lf, rf)
		if m != 0 && ((m < 0) != (rf < 0)) {
			m += rf
		}
		return m, nil
	case "**":
		return math.Pow(lf, rf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

func toIntStrict(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		return toInt(x)
	}
	return 0, false
}

// contains is Python's "needle in container".
func contains(container, needle any) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := needle.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", typeName(needle))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, e := range c {
			if equal(e, needle) {
				return true, nil
			}
		}
		return false, nil
	case *dictVal:
		s, ok := needle.(string)
		return ok && hasKey(c, s), nil
	case undefined:
		return false, nil
	}
	return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(container))
}
