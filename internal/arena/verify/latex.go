package verify

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// LaTeX verifies a MATH-style answer: the reply's last \boxed{} (or its "the answer is …") is
// compared with Gold by LaTeXEqual.
type LaTeX struct {
	Gold string
}

var _ Verifier = LaTeX{}

// inlineMathRe matches an inline math segment $…$.
var inlineMathRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$([^$]+)\$`) })

// Verify extracts the final answer (see ExtractFinal) and compares it with the gold answer. A reply
// without a marker (\boxed{}, ####, "the answer is") is read from its last inline $…$ segment, or
// failing that its last line, after its last "=".
func (l LaTeX) Verify(_ context.Context, answer string) (Verdict, error) {
	got := ExtractFinal(answer)
	if _, marked := finalRegion(answer); !marked {
		if ms := inlineMathRe().FindAllStringSubmatch(answer, -1); len(ms) > 0 {
			got = ms[len(ms)-1][1]
		}
		if i := strings.LastIndex(got, "="); i >= 0 {
			got = got[i+1:]
		}
		got = trimMath(got)
	}
	if got == "" {
		return Verdict{Reason: "no answer found"}, nil
	}
	if LaTeXEqual(got, l.Gold) {
		return Verdict{Correct: true, Extracted: got}, nil
	}
	return Verdict{Extracted: got, Reason: fmt.Sprintf("%q is not %q", NormalizeLaTeX(got), NormalizeLaTeX(l.Gold))}, nil
}

// LaTeXEqual reports whether two short LaTeX answers mean the same thing. Both are normalised
// (NormalizeLaTeX) and compared as text; failing that, structurally: a union (\cup) piece by piece,
// a bracketed tuple or interval element by element with the same brackets, a set \{…\} or a bare
// comma list as a multiset, a matrix entry by entry; and finally as expressions, by evaluating both
// at fixed points for their (single-letter) variables, within a relative 1e-6.
//
// It does not handle: \pm, inequalities and equations beyond a leading "x=", set-builder notation,
// mixed numbers ("1\frac12"), numbers in other bases (compared as text), rounding ("0.33" is not
// 1/3), multi-letter variables, functions other than \sqrt, \sin, \cos, \tan, \ln, \log, \exp, and
// units other than \text{…} (with its ^2 or ^3), degrees, percent, dollars and a bare word of two or
// more letters after a number when the other side has no letters (all of which are dropped).
func LaTeXEqual(a, b string) bool {
	na, nb := NormalizeLaTeX(a), NormalizeLaTeX(b)
	if equalNorm(na, nb, 0) {
		return true
	}
	// A bare unit word after a number ("5cm", "12inches") when the other side has no letters.
	if !hasLetter(nb) {
		if m := unitTailRe().FindStringSubmatch(na); m != nil {
			return equalNorm(m[1], nb, 0)
		}
	}
	if !hasLetter(na) {
		if m := unitTailRe().FindStringSubmatch(nb); m != nil {
			return equalNorm(na, m[1], 0)
		}
	}
	return false
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0
}

func equalNorm(a, b string, depth int) bool {
	if a == b {
		return true
	}
	if depth > 8 || a == "" || b == "" {
		return false
	}
	if pa, pb := splitTop(a, `\cup`), splitTop(b, `\cup`); len(pa) > 1 || len(pb) > 1 {
		return len(pa) == len(pb) && allEqual(pa, pb, depth)
	}
	ta, oka := asTuple(a)
	tb, okb := asTuple(b)
	if oka || okb {
		if !oka || !okb || ta.open != tb.open || ta.close != tb.close || len(ta.items) != len(tb.items) {
			return false
		}
		if ta.unordered {
			return multisetEqual(ta.items, tb.items, depth)
		}
		return allEqual(ta.items, tb.items, depth)
	}
	return exprEqual(a, b)
}

func allEqual(a, b []string, depth int) bool {
	for i := range a {
		if !equalNorm(a[i], b[i], depth+1) {
			return false
		}
	}
	return true
}

func multisetEqual(a, b []string, depth int) bool {
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && equalNorm(x, y, depth+1) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type tuple struct {
	open, close string
	items       []string
	unordered   bool
}

// asTuple reads a bracketed tuple or interval "(a,b]", a set "\{a,b\}", a matrix "M(a,b;c,d)" (as
// written by NormalizeLaTeX) or a bare comma list "a,b" (unordered: lists of solutions).
func asTuple(s string) (tuple, bool) {
	if strings.HasPrefix(s, "M(") && strings.HasSuffix(s, ")") {
		var items []string
		for _, row := range splitTop(s[2:len(s)-1], ";") {
			items = append(items, splitTop(row, ",")...)
			items = append(items, ";")
		}
		return tuple{open: "M(", close: ")", items: items}, true
	}
	if strings.HasPrefix(s, `\{`) && strings.HasSuffix(s, `\}`) {
		return tuple{open: `\{`, close: `\}`, items: splitTop(s[2:len(s)-2], ","), unordered: true}, true
	}
	if len(s) >= 2 && strings.ContainsRune("([", rune(s[0])) && strings.ContainsRune(")]", rune(s[len(s)-1])) {
		inner := s[1 : len(s)-1]
		if balanced(inner) {
			if items := splitTop(inner, ","); len(items) > 1 {
				return tuple{open: s[:1], close: s[len(s)-1:], items: items}, true
			}
		}
	}
	if items := splitTop(s, ","); len(items) > 1 {
		return tuple{items: items, unordered: true}, true
	}
	return tuple{}, false
}

// balanced reports whether the brackets of s close in order.
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// splitTop splits s on sep where sep is outside every bracket.
func splitTop(s, sep string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
			continue
		case ')', ']', '}':
			depth--
			continue
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) {
			out = append(out, s[start:i])
			i += len(sep) - 1
			start = i + 1
		}
	}
	return append(out, s[start:])
}

var (
	textRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}`)
	})
	fracShortRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\frac(\d)(\d)`) })
	fracHalfRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\frac(\{[^{}]*\})(\d)`) })
	fracHalf2Re = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\frac(\d)\{`) })
	sqrtShortRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\sqrt(\d|[a-zA-Z])`) }) // LaTeX: \sqrt23 is \sqrt{2}3
	unitTailRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^a-zA-Z\\]+?)[a-zA-Z]{2,}(?:\^[23])?$`) })
	trailZeroRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\d)\.0+(\D|$)`) })
	leadDotRe   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|[^\d])\.(\d)`) })
	thousandsRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-?\d{1,3}(,\d{3})+(\.\d+)?$`) })
	assignRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z](?:_\d)?=`) })
	pmatrixRe   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\begin\{[pbv]?matrix\}(.*?)\\end\{[pbv]?matrix\}`) })
	letterRunRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|[^\\a-zA-Z])[a-zA-Z]{3,}`) })
)

// NormalizeLaTeX rewrites a short LaTeX answer into a canonical text: it takes the content of a
// \boxed{}, drops math delimiters, \left/\right and sizing commands, thin spaces (\! \, \; \:),
// \displaystyle, degrees (^\circ, °), percent and dollar signs, and all white space; turns \dfrac
// and \tfrac into \frac and \frac43 into \frac{4}{3}, \sqrt3 into \sqrt{3}; unwraps \text{…} (or
// drops it as a unit when a number stays beside it); drops a leading "x=" and trailing ".0";
// writes ".5" as "0.5"; removes thousands separators from a lone number; and writes a matrix
// (pmatrix, bmatrix) as "M(a,b;c,d)".
func NormalizeLaTeX(s string) string {
	if b, ok := ExtractBoxed(s); ok {
		s = b
	}
	s = trimMath(s)
	s = pmatrixRe().ReplaceAllStringFunc(s, func(m string) string {
		body := strings.ReplaceAll(pmatrixRe().FindStringSubmatch(m)[1], "\n", "")
		body = strings.ReplaceAll(body, `\\`, ";")
		body = strings.ReplaceAll(body, "&", ",")
		return "M(" + body + ")"
	})
	s = strings.NewReplacer(
		"\n", "", `\displaystyle`, "", `\left`, "", `\right`, "", `\bigl`, "", `\bigr`, "", `\Bigl`, "", `\Bigr`, "",
		`\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, "", `\quad`, "", "~", "",
		`\dfrac`, `\frac`, `\tfrac`, `\frac`, `\cfrac`, `\frac`,
		`^\circ`, "", `^{\circ}`, "", `^{\circ }`, "", `\circ`, "", "°", "", `\degree`, "", `\degrees`, "",
		`\%`, "", "%", "", `\$`, "", "$", "", `{,}`, ",", "√", `\sqrt`, "−", "-", `\cdot`, "*", `\times`, "*",
	).Replace(s)
	s = strings.ReplaceAll(s, "sqrt(", `\sqrt(`)
	s = strings.ReplaceAll(s, `\\sqrt(`, `\sqrt(`)
	// \text{...}: a unit beside a number is dropped; otherwise the text is kept.
	for {
		m := textRe().FindStringSubmatchIndex(s)
		if m == nil {
			break
		}
		rest := s[:m[0]] + s[m[1]:]
		inner := s[m[2]:m[3]]
		if strings.ContainsAny(rest, "0123456789") && strings.TrimFunc(inner, func(r rune) bool {
			return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ' ' || r == '^' || r == '2' || r == '3'
		}) == "" {
			// A unit: drop it with its power (cm^2).
			after := s[m[1]:]
			for _, p := range []string{"^2", "^3", "^{2}", "^{3}"} {
				if strings.HasPrefix(after, p) {
					after = after[len(p):]
					break
				}
			}
			s = s[:m[0]] + after
		} else {
			s = s[:m[0]] + inner + s[m[1]:]
		}
	}
	s = strings.Join(strings.Fields(s), "")
	s = fracShortRe().ReplaceAllString(s, `\frac{$1}{$2}`)
	s = fracHalfRe().ReplaceAllString(s, `\frac$1{$2}`)
	s = fracHalf2Re().ReplaceAllString(s, `\frac{$1}{`)
	s = sqrtShortRe().ReplaceAllString(s, `\sqrt{$1}`)
	s = assignRe().ReplaceAllString(s, "")
	if thousandsRe().MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	s = trailZeroRe().ReplaceAllString(s, "$1$2")
	s = leadDotRe().ReplaceAllString(s, "${1}0.$2")
	s = strings.TrimSuffix(s, ".")
	return s
}

// maxExpr bounds the length of an expression exprEqual evaluates (and so the parser's recursion).
const maxExpr = 400

// exprEqual compares two normalised expressions by evaluation at fixed points.
func exprEqual(a, b string) bool {
	if len(a) > maxExpr || len(b) > maxExpr || letterRunRe().MatchString(a) || letterRunRe().MatchString(b) {
		return false // too long for a short answer, or words rather than products of variables
	}
	ea, err := parseExpr(a)
	if err != nil {
		return false
	}
	eb, err := parseExpr(b)
	if err != nil {
		return false
	}
	if !slices.Equal(ea.vars, eb.vars) {
		return false
	}
	compared := 0
	for p := range 3 {
		env := map[byte]float64{}
		for k, v := range ea.vars {
			env[v] = 0.5 + 0.37*float64(k+1) + 0.71*float64(p) + 0.013*float64(k*p)
		}
		x, y := ea.root.eval(env), eb.root.eval(env)
		switch {
		case math.IsNaN(x) || math.IsNaN(y):
			if math.IsNaN(x) != math.IsNaN(y) {
				return false
			}
		case math.IsInf(x, 0) || math.IsInf(y, 0):
			if x != y {
				return false
			}
			compared++
		default:
			if math.Abs(x-y) > 1e-9+1e-6*math.Max(math.Abs(x), math.Abs(y)) {
				return false
			}
			compared++
		}
		if len(ea.vars) == 0 {
			break
		}
	}
	return compared > 0
}

// node is an evaluable expression.
type node interface {
	eval(env map[byte]float64) float64
}

type (
	numNode float64
	varNode byte
	unNode  struct {
		f func(float64) float64
		x node
	}
	binNode struct {
		op   byte
		l, r node
	}
)

func (n numNode) eval(map[byte]float64) float64     { return float64(n) }
func (n varNode) eval(env map[byte]float64) float64 { return env[byte(n)] }
func (n unNode) eval(env map[byte]float64) float64  { return n.f(n.x.eval(env)) }
func (n binNode) eval(env map[byte]float64) float64 {
	l, r := n.l.eval(env), n.r.eval(env)
	switch n.op {
	case '+':
		return l + r
	case '-':
		return l - r
	case '*':
		return l * r
	case '/':
		return l / r
	case '^':
		return math.Pow(l, r)
	case 'r': // r-th root of l
		if l < 0 && math.Mod(r, 2) == 1 {
			return -math.Pow(-l, 1/r)
		}
		return math.Pow(l, 1/r)
	}
	return math.NaN()
}

type parsedExpr struct {
	root node
	vars []byte
}

// exprParser is a recursive-descent parser of the arithmetic LaTeX subset that answers use.
type exprParser struct {
	s    string
	pos  int
	vars map[byte]bool
}

type parseError string

func (e parseError) Error() string { return string(e) }

func parseExpr(s string) (parsedExpr, error) {
	p := &exprParser{s: s, vars: map[byte]bool{}}
	n, err := p.expr()
	if err != nil {
		return parsedExpr{}, err
	}
	if p.pos != len(p.s) {
		return parsedExpr{}, parseError("unexpected " + p.s[p.pos:])
	}
	var vars []byte
	for v := range p.vars {
		vars = append(vars, v)
	}
	slices.Sort(vars)
	return parsedExpr{root: n, vars: vars}, nil
}

func (p *exprParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *exprParser) expr() (node, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for c := p.peek(); c == '+' || c == '-'; c = p.peek() {
		p.pos++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = binNode{op: c, l: l, r: r}
	}
	return l, nil
}

func (p *exprParser) term() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		var op byte
		switch {
		case c == '*' || c == '/':
			op = c
			p.pos++
		case strings.HasPrefix(p.s[p.pos:], `\div`):
			op = '/'
			p.pos += 4
		case p.startsAtom():
			op = '*' // implicit multiplication
		default:
			return l, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = binNode{op: op, l: l, r: r}
	}
}

func (p *exprParser) unary() (node, error) {
	switch p.peek() {
	case '-':
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return unNode{f: func(v float64) float64 { return -v }, x: x}, nil
	case '+':
		p.pos++
		return p.unary()
	}
	return p.power()
}

func (p *exprParser) power() (node, error) {
	base, err := p.atom()
	if err != nil {
		return nil, err
	}
	for p.peek() == '!' {
		p.pos++
		base = unNode{f: func(v float64) float64 { g, _ := math.Lgamma(v + 1); return math.Round(math.Exp(g)) }, x: base}
	}
	if p.peek() != '^' {
		return base, nil
	}
	p.pos++
	var exp node
	if c := p.peek(); c >= '0' && c <= '9' {
		exp = numNode(c - '0') // LaTeX: ^23 is a superscript 2 followed by 3
		p.pos++
	} else if c == '-' {
		p.pos++
		e, err := p.atom()
		if err != nil {
			return nil, err
		}
		exp = unNode{f: func(v float64) float64 { return -v }, x: e}
	} else {
		exp, err = p.atom()
		if err != nil {
			return nil, err
		}
	}
	return binNode{op: '^', l: base, r: exp}, nil
}

// commands maps function commands to their functions.
var commands = map[string]func(float64) float64{
	`\sin`: math.Sin, `\cos`: math.Cos, `\tan`: math.Tan, `\ln`: math.Log, `\log`: math.Log10, `\exp`: math.Exp,
}

func (p *exprParser) startsAtom() bool {
	c := p.peek()
	if c >= '0' && c <= '9' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '(' || c == '{' {
		return true
	}
	if c == '\\' {
		rest := p.s[p.pos:]
		return !strings.HasPrefix(rest, `\div`) && !strings.HasPrefix(rest, `\cup`) && !strings.HasPrefix(rest, `\}`)
	}
	return false
}

func (p *exprParser) group() (node, error) {
	if p.peek() != '{' {
		return p.atom()
	}
	p.pos++
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek() != '}' {
		return nil, parseError("missing }")
	}
	p.pos++
	return n, nil
}

func (p *exprParser) atom() (node, error) {
	c := p.peek()
	switch {
	case c >= '0' && c <= '9' || c == '.':
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] == '.') {
			p.pos++
		}
		v, err := strconv.ParseFloat(p.s[start:p.pos], 64)
		if err != nil {
			return nil, parseError("bad number " + p.s[start:p.pos])
		}
		return numNode(v), nil
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		p.pos++
		p.vars[c] = true
		return varNode(c), nil
	case c == '(' || c == '{':
		closer := byte(')')
		if c == '{' {
			closer = '}'
		}
		p.pos++
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != closer {
			return nil, parseError("missing " + string(closer))
		}
		p.pos++
		return n, nil
	case c == '\\':
		rest := p.s[p.pos:]
		switch {
		case strings.HasPrefix(rest, `\frac`):
			p.pos += 5
			num, err := p.group()
			if err != nil {
				return nil, err
			}
			den, err := p.group()
			if err != nil {
				return nil, err
			}
			return binNode{op: '/', l: num, r: den}, nil
		case strings.HasPrefix(rest, `\sqrt`):
			p.pos += 5
			var idx node = numNode(2)
			if p.peek() == '[' {
				end := strings.IndexByte(p.s[p.pos:], ']')
				if end < 0 {
					return nil, parseError("missing ]")
				}
				sub, err := parseExpr(p.s[p.pos+1 : p.pos+end])
				if err != nil || len(sub.vars) > 0 {
					return nil, parseError("bad root index")
				}
				idx = sub.root
				p.pos += end + 1
			}
			x, err := p.group()
			if err != nil {
				return nil, err
			}
			return binNode{op: 'r', l: x, r: idx}, nil
		case strings.HasPrefix(rest, `\pi`):
			p.pos += 3
			return numNode(math.Pi), nil
		case strings.HasPrefix(rest, `\infty`):
			p.pos += 6
			return numNode(math.Inf(1)), nil
		}
		for name, f := range commands {
			if strings.HasPrefix(rest, name) {
				p.pos += len(name)
				x, err := p.power()
				if err != nil {
					return nil, err
				}
				return unNode{f: f, x: x}, nil
			}
		}
		return nil, parseError("unknown command in " + rest)
	}
	return nil, parseError("unexpected " + p.s[p.pos:])
}
