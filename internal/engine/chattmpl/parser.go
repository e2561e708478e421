package chattmpl

import (
	"strconv"
)

// maxNesting bounds the depth of the syntax tree — nested blocks, parentheses and chains of
// operators, filters and attribute accesses all count — so that hostile templates cannot exhaust
// the stack while parsing or rendering. Real chat templates stay far below it.
const maxNesting = 500

// maxSource bounds the template text.
const maxSource = 1 << 20

// Statements.
type (
	node interface{ at() pos }

	textNode struct {
		p    pos
		text string
	}
	outputNode struct {
		p pos
		e expr
	}
	ifNode struct {
		p      pos
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		p       pos
		targets []string
		iter    expr
		cond    expr
		body    []node
		els     []node
	}
	setNode struct {
		p       pos
		targets []string // one name, or several for tuple unpacking
		ns      string   // namespace variable for "set ns.attr = …"
		attr    string
		value   expr
		body    []node // block set: {% set x %}…{% endset %}
	}
	macroNode struct {
		p        pos
		name     string
		params   []string
		defaults []expr // aligned with params; nil when there is none
		body     []node
	}
	loopCtlNode struct {
		p     pos
		brk   bool
		label string
	}
	callBlockNode struct {
		p    pos
		call expr
		body []node
	}
	filterBlockNode struct {
		p      pos
		filter *filterExpr // with a nil target
		body   []node
	}
)

func (n *textNode) at() pos        { return n.p }
func (n *outputNode) at() pos      { return n.p }
func (n *ifNode) at() pos          { return n.p }
func (n *forNode) at() pos         { return n.p }
func (n *setNode) at() pos         { return n.p }
func (n *macroNode) at() pos       { return n.p }
func (n *loopCtlNode) at() pos     { return n.p }
func (n *callBlockNode) at() pos   { return n.p }
func (n *filterBlockNode) at() pos { return n.p }

// Expressions.
type (
	expr interface{ at() pos }

	literal struct {
		p pos
		v any
	}
	nameExpr struct {
		p    pos
		name string
	}
	listExpr struct {
		p     pos
		items []expr
		tuple bool
	}
	dictExpr struct {
		p    pos
		keys []expr
		vals []expr
	}
	attrExpr struct {
		p    pos
		obj  expr
		name string
	}
	indexExpr struct {
		p   pos
		obj expr
		key expr
	}
	sliceExpr struct {
		p                 pos
		obj               expr
		start, stop, step expr // nil when omitted
	}
	callExpr struct {
		p      pos
		fn     expr
		args   []expr
		kwargs []kwarg
	}
	filterExpr struct {
		p      pos
		target expr
		name   string
		args   []expr
		kwargs []kwarg
	}
	testExpr struct {
		p      pos
		target expr
		name   string
		args   []expr
		negate bool
	}
	unaryExpr struct {
		p  pos
		op string
		x  expr
	}
	binaryExpr struct {
		p    pos
		op   string
		l, r expr
	}
	condExpr struct {
		p             pos
		cond, yes, no expr // no may be nil
	}
)

type kwarg struct {
	name string
	val  expr
}

func (e *literal) at() pos    { return e.p }
func (e *nameExpr) at() pos   { return e.p }
func (e *listExpr) at() pos   { return e.p }
func (e *dictExpr) at() pos   { return e.p }
func (e *attrExpr) at() pos   { return e.p }
func (e *indexExpr) at() pos  { return e.p }
func (e *sliceExpr) at() pos  { return e.p }
func (e *callExpr) at() pos   { return e.p }
func (e *filterExpr) at() pos { return e.p }
func (e *testExpr) at() pos   { return e.p }
func (e *unaryExpr) at() pos  { return e.p }
func (e *binaryExpr) at() pos { return e.p }
func (e *condExpr) at() pos   { return e.p }

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isOp(v string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == v
}
func (p *parser) isName(v string) bool {
	t := p.peek()
	return t.kind == tName && t.val == v
}

func (p *parser) expectOp(v string) (token, error) {
	t := p.next()
	if t.kind != tOp || t.val != v {
		return t, errAt(t.pos, "expected %q, found %s", v, describe(t))
	}
	return t, nil
}

func (p *parser) expectName() (token, error) {
	t := p.next()
	if t.kind != tName {
		return t, errAt(t.pos, "expected a name, found %s", describe(t))
	}
	return t, nil
}

func (p *parser) expectKind(k tokKind) error {
	t := p.next()
	if t.kind != k {
		return errAt(t.pos, "expected %s, found %s", k, describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tName, tOp:
		return strconv.Quote(t.val)
	case tString:
		return "string " + strconv.Quote(t.val)
	case tInt, tFloat:
		return "number " + t.val
	}
	return t.kind.String()
}

func (p *parser) enter(at pos) error {
	p.depth++
	if p.depth > maxNesting {
		return errAt(at, "template nests deeper than %d levels", maxNesting)
	}
	return nil
}
func (p *parser) leave() { p.depth-- }

// chain accounts for one more link of a left-deep chain (a + b + c, x|f|g, a.b.c), which nests the
// tree as deeply as parentheses do. The caller restores p.depth when the chain ends.
func (p *parser) chain(at pos) error {
	p.depth++
	if p.depth > maxNesting {
		return errAt(at, "expression nests deeper than %d levels", maxNesting)
	}
	return nil
}

// parseBody parses nodes until a block tag whose keyword is in stops (left unconsumed: the parser
// stops right after "{%", at the keyword) or the end of the template when stops is empty.
func (p *parser) parseBody(stops ...string) ([]node, string, error) {
	var nodes []node
	for {
		t := p.peek()
		switch t.kind {
		case tEOF:
			if len(stops) > 0 {
				return nil, "", errAt(t.pos, "unexpected end of template, expected {%% %s %%}", stops[0])
			}
			return nodes, "", nil
		case tText:
			p.next()
			nodes = append(nodes, &textNode{p: t.pos, text: t.val})
		case tVarStart:
			p.next()
			e, err := p.parseExpr()
			if err != nil {
				return nil, "", err
			}
			if err := p.expectKind(tVarEnd); err != nil {
				// The lexer ends every {{ with a tVarEnd-less token run; report what is there.
				return nil, "", err
			}
			nodes = append(nodes, &outputNode{p: t.pos, e: e})
		case tBlockStart:
			kw := p.peekAt(1)
			if kw.kind != tName {
				return nil, "", errAt(kw.pos, "expected a statement keyword, found %s", describe(kw))
			}
			for _, s := range stops {
				if kw.val == s {
					p.next() // "{%"
					return nodes, s, nil
				}
			}
			p.next()
			n, err := p.parseStatement()
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				nodes = append(nodes, n)
			}
		default:
			return nil, "", errAt(t.pos, "unexpected %s", describe(t))
		}
	}
}

// endTag consumes the rest of a block tag: the keyword was consumed; nothing else may follow.
func (p *parser) endTag() error {
	t := p.next()
	if t.kind != tBlockEnd {
		return errAt(t.pos, "expected end of statement, found %s", describe(t))
	}
	return nil
}

func (p *parser) parseStatement() (node, error) {
	kw := p.next()
	if err := p.enter(kw.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	switch kw.val {
	case "if":
		return p.parseIf(kw.pos)
	case "for":
		return p.parseFor(kw.pos)
	case "set":
		return p.parseSet(kw.pos)
	case "macro":
		return p.parseMacro(kw.pos)
	case "break", "continue":
		if err := p.endTag(); err != nil {
			return nil, err
		}
		return &loopCtlNode{p: kw.pos, brk: kw.val == "break"}, nil
	case "generation":
		// Hugging Face's {% generation %} marks assistant text for training masks; it renders its body.
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody("endgeneration")
		if err != nil {
			return nil, err
		}
		p.next()
		if err := p.endTag(); err != nil {
			return nil, err
		}
		return &ifNode{p: kw.pos, conds: []expr{&literal{p: kw.pos, v: true}}, bodies: [][]node{body}}, nil
	case "call":
		call, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if _, ok := call.(*callExpr); !ok {
			return nil, errAt(call.at(), "{%% call %%} needs a macro call")
		}
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody("endcall")
		if err != nil {
			return nil, err
		}
		p.next()
		if err := p.endTag(); err != nil {
			return nil, err
		}
		return &callBlockNode{p: kw.pos, call: call, body: body}, nil
	case "filter":
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		f := &filterExpr{p: name.pos, name: name.val}
		if p.isOp("(") {
			if f.args, f.kwargs, err = p.parseArgs(); err != nil {
				return nil, err
			}
		}
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody("endfilter")
		if err != nil {
			return nil, err
		}
		p.next()
		if err := p.endTag(); err != nil {
			return nil, err
		}
		return &filterBlockNode{p: kw.pos, filter: f, body: body}, nil
	}
	return nil, errAt(kw.pos, "unknown statement %q", kw.val)
}

func (p *parser) parseIf(at pos) (node, error) {
	n := &ifNode{p: at}
	for {
		cond, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, stop, err := p.parseBody("elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		p.next()
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch stop {
		case "elif":
			continue
		case "else":
			if err := p.endTag(); err != nil {
				return nil, err
			}
			els, _, err := p.parseBody("endif")
			if err != nil {
				return nil, err
			}
			p.next()
			n.els = els
		}
		return n, p.endTag()
	}
}

func (p *parser) parseFor(at pos) (node, error) {
	n := &forNode{p: at}
	for {
		t, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, t.val)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if t := p.next(); t.kind != tName || t.val != "in" {
		return nil, errAt(t.pos, "expected 'in' in for loop, found %s", describe(t))
	}
	// The iterable must not swallow a trailing "if": parse without the conditional expression.
	iter, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	n.iter = iter
	if p.isName("if") {
		p.next()
		if n.cond, err = p.parseOr(); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, errAt(p.peek().pos, "recursive loops are not supported")
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	body, stop, err := p.parseBody("else", "endfor")
	if err != nil {
		return nil, err
	}
	p.next()
	n.body = body
	if stop == "else" {
		if err := p.endTag(); err != nil {
			return nil, err
		}
		if n.els, _, err = p.parseBody("endfor"); err != nil {
			return nil, err
		}
		p.next()
	}
	return n, p.endTag()
}

func (p *parser) parseSet(at pos) (node, error) {
	n := &setNode{p: at}
	first, err := p.expectName()
	if err != nil {
		return nil, err
	}
	if p.isOp(".") {
		p.next()
		attr, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.ns, n.attr = first.val, attr.val
	} else {
		n.targets = []string{first.val}
		for p.isOp(",") {
			p.next()
			t, err := p.expectName()
			if err != nil {
				return nil, err
			}
			n.targets = append(n.targets, t.val)
		}
	}
	if p.peek().kind == tBlockEnd && n.ns == "" && len(n.targets) == 1 {
		p.next()
		body, _, err := p.parseBody("endset")
		if err != nil {
			return nil, err
		}
		p.next()
		n.body = body
		return n, p.endTag()
	}
	if _, err := p.expectOp("="); err != nil {
		return nil, err
	}
	if n.value, err = p.parseTuple(); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

func (p *parser) parseMacro(at pos) (node, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n := &macroNode{p: at, name: name.val}
	if _, err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.isOp(")") {
		arg, err := p.expectName()
		if err != nil {
			return nil, err
		}
		var def expr
		if p.isOp("=") {
			p.next()
			if def, err = p.parseExpr(); err != nil {
				return nil, err
			}
		}
		n.params = append(n.params, arg.val)
		n.defaults = append(n.defaults, def)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endmacro")
	if err != nil {
		return nil, err
	}
	p.next()
	n.body = body
	if p.peek().kind == tName {
		p.next() // {% endmacro name %}
	}
	return n, p.endTag()
}

// parseTuple parses an expression or an unparenthesised tuple "a, b".
func (p *parser) parseTuple() (expr, error) {
	first, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	items := []expr{first}
	for p.isOp(",") {
		p.next()
		if p.peek().kind == tBlockEnd || p.peek().kind == tVarEnd {
			break
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &listExpr{p: first.at(), items: items, tuple: true}, nil
}

func (p *parser) parseExpr() (expr, error) {
	t := p.peek()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	yes, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	base := p.depth
	defer func() { p.depth = base }()
	for p.isName("if") {
		if err := p.chain(p.next().pos); err != nil {
			return nil, err
		}
		cond, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var no expr
		if p.isName("else") {
			p.next()
			if no, err = p.parseExpr(); err != nil {
				return nil, err
			}
		}
		yes = &condExpr{p: t.pos, cond: cond, yes: yes, no: no}
	}
	return yes, nil
}

func (p *parser) parseOr() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isName("or") {
		t := p.next()
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: "or", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isName("and") {
		t := p.next()
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: "and", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	if p.isName("not") {
		t := p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{p: t.pos, op: "not", x: x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		op := ""
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			op = t.val
			p.next()
		case t.kind == tName && t.val == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.val == "not" && p.peekAt(1).kind == tName && p.peekAt(1).val == "in":
			op = "not in"
			p.next()
			p.next()
		default:
			return l, nil
		}
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: op, l: l, r: r}
	}
}

func (p *parser) parseMath1() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		t := p.next()
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: t.val, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseConcat() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parseMath2()
	if err != nil {
		return nil, err
	}
	for p.isOp("~") {
		t := p.next()
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parseMath2()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: "~", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseMath2() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		t := p.next()
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: t.val, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parsePow() (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	l, err := p.parseUnary(true)
	if err != nil {
		return nil, err
	}
	for p.isOp("**") {
		t := p.next()
		if err := p.chain(t.pos); err != nil {
			return nil, err
		}
		r, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{p: t.pos, op: "**", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	t := p.peek()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	var x expr
	var err error
	if t.kind == tOp && (t.val == "-" || t.val == "+") {
		p.next()
		inner, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		x = &unaryExpr{p: t.pos, op: t.val, x: inner}
	} else {
		if x, err = p.parsePrimary(); err != nil {
			return nil, err
		}
		if x, err = p.parsePostfix(x); err != nil {
			return nil, err
		}
	}
	if withFilter {
		return p.parseFilterExpr(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tName:
		switch t.val {
		case "true", "True":
			return &literal{p: t.pos, v: true}, nil
		case "false", "False":
			return &literal{p: t.pos, v: false}, nil
		case "none", "None":
			return &literal{p: t.pos, v: nil}, nil
		}
		return &nameExpr{p: t.pos, name: t.val}, nil
	case tString:
		s := t.val
		for p.peek().kind == tString { // adjacent literals concatenate
			s += p.next().val
		}
		return &literal{p: t.pos, v: s}, nil
	case tInt:
		v, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(t.val, 64)
			if ferr != nil {
				return nil, errAt(t.pos, "bad number %s", t.val)
			}
			return &literal{p: t.pos, v: f}, nil
		}
		return &literal{p: t.pos, v: v}, nil
	case tFloat:
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, errAt(t.pos, "bad number %s", t.val)
		}
		return &literal{p: t.pos, v: f}, nil
	case tOp:
		switch t.val {
		case "(":
			if p.isOp(")") {
				p.next()
				return &listExpr{p: t.pos, tuple: true}, nil
			}
			e, err := p.parseTuple()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		case "[":
			l := &listExpr{p: t.pos}
			for !p.isOp("]") {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, e)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			if _, err := p.expectOp("]"); err != nil {
				return nil, err
			}
			return l, nil
		case "{":
			d := &dictExpr{p: t.pos}
			for !p.isOp("}") {
				k, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				if _, err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			if _, err := p.expectOp("}"); err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	return nil, errAt(t.pos, "unexpected %s", describe(t))
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	for {
		t := p.peek()
		if t.kind != tOp {
			return x, nil
		}
		if t.val == "." || t.val == "[" || t.val == "(" {
			if err := p.chain(t.pos); err != nil {
				return nil, err
			}
		}
		switch t.val {
		case ".":
			p.next()
			name := p.next()
			switch name.kind {
			case tName:
				x = &attrExpr{p: name.pos, obj: x, name: name.val}
			case tInt:
				n, _ := strconv.ParseInt(name.val, 10, 64)
				x = &indexExpr{p: name.pos, obj: x, key: &literal{p: name.pos, v: n}}
			default:
				return nil, errAt(name.pos, "expected an attribute name, found %s", describe(name))
			}
		case "[":
			p.next()
			var parts [3]expr
			colons := 0
			for {
				if p.isOp("]") {
					break
				}
				if p.isOp(":") {
					p.next()
					colons++
					if colons > 2 {
						return nil, errAt(t.pos, "bad slice")
					}
					continue
				}
				if parts[colons] != nil {
					return nil, errAt(p.peek().pos, "expected ']' or ':', found %s", describe(p.peek()))
				}
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				parts[colons] = e
			}
			p.next()
			if colons == 0 {
				if parts[0] == nil {
					return nil, errAt(t.pos, "empty subscript")
				}
				x = &indexExpr{p: t.pos, obj: x, key: parts[0]}
			} else {
				x = &sliceExpr{p: t.pos, obj: x, start: parts[0], stop: parts[1], step: parts[2]}
			}
		case "(":
			args, kwargs, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			x = &callExpr{p: t.pos, fn: x, args: args, kwargs: kwargs}
		default:
			return x, nil
		}
	}
}

// parseArgs parses "(a, b, k=v)".
func (p *parser) parseArgs() ([]expr, []kwarg, error) {
	if _, err := p.expectOp("("); err != nil {
		return nil, nil, err
	}
	var args []expr
	var kwargs []kwarg
	for !p.isOp(")") {
		if p.peek().kind == tName && p.peekAt(1).kind == tOp && p.peekAt(1).val == "=" {
			name := p.next()
			p.next()
			v, err := p.parseExpr()
			if err != nil {
				return nil, nil, err
			}
			kwargs = append(kwargs, kwarg{name: name.val, val: v})
		} else {
			if len(kwargs) > 0 {
				return nil, nil, errAt(p.peek().pos, "positional argument after keyword argument")
			}
			v, err := p.parseExpr()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, v)
		}
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, nil, err
	}
	return args, kwargs, nil
}

// parseFilterExpr parses the "| filter" and "is test" chains after an operand.
func (p *parser) parseFilterExpr(x expr) (expr, error) {
	base := p.depth
	defer func() { p.depth = base }()
	for {
		if p.isOp("|") || p.isName("is") {
			if err := p.chain(p.peek().pos); err != nil {
				return nil, err
			}
		}
		switch {
		case p.isOp("|"):
			p.next()
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			f := &filterExpr{p: name.pos, target: x, name: name.val}
			if p.isOp("(") {
				if f.args, f.kwargs, err = p.parseArgs(); err != nil {
					return nil, err
				}
			}
			x = f
		case p.isName("is"):
			p.next()
			te := &testExpr{p: p.peek().pos, target: x}
			if p.isName("not") {
				p.next()
				te.negate = true
			}
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			te.name = name.val
			switch {
			case p.isOp("("):
				args, _, err := p.parseArgs()
				if err != nil {
					return nil, err
				}
				te.args = args
			case p.startsTestArg():
				arg, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				if arg, err = p.parsePostfix(arg); err != nil {
					return nil, err
				}
				te.args = []expr{arg}
			}
			x = te
		default:
			return x, nil
		}
	}
}

// startsTestArg reports whether the next token begins the single unparenthesised argument of a
// test, as in "x is equalto 3" or "x is sameas none".
func (p *parser) startsTestArg() bool {
	t := p.peek()
	switch t.kind {
	case tString, tInt, tFloat:
		return true
	case tName:
		switch t.val {
		case "and", "or", "not", "in", "is", "if", "else", "recursive":
			return false
		}
		return true
	case tOp:
		return t.val == "[" || t.val == "{"
	}
	return false
}
