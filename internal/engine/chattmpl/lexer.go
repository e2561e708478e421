package chattmpl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tText
	tVarStart   // {{
	tVarEnd     // }}
	tBlockStart // {%
	tBlockEnd   // %}
	tName
	tString
	tInt
	tFloat
	tOp
)

func (k tokKind) String() string {
	switch k {
	case tEOF:
		return "end of template"
	case tText:
		return "text"
	case tVarStart:
		return "'{{'"
	case tVarEnd:
		return "'}}'"
	case tBlockStart:
		return "'{%'"
	case tBlockEnd:
		return "'%}'"
	case tName:
		return "name"
	case tString:
		return "string"
	case tInt, tFloat:
		return "number"
	}
	return "operator"
}

// pos is a 1-based line and column in the template source.
type pos struct{ line, col int }

func (p pos) String() string { return fmt.Sprintf("%d:%d", p.line, p.col) }

type token struct {
	kind tokKind
	val  string // text, name, operator, decoded string, or number literal
	pos  pos
}

// SyntaxError is a template syntax error at a line and column.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

// Error returns "line:col: msg".
func (e *SyntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

func errAt(p pos, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

// rawSeg is a piece of the template before whitespace control: text, or a tag with its inner tokens.
type rawSeg struct {
	text string // for text segments
	tag  byte   // 0 for text, '{' for {{ }}, '%' for {% %}, '#' for comments
	// lTrim/rTrim are the '-' markers; lPlus/rPlus the '+' markers that turn lstrip/trim off.
	lTrim, rTrim, lPlus, rPlus bool
	toks                       []token
	pos, end                   pos
	// startsLine marks a text segment whose start is a line start: trim_blocks ate the newline
	// before it (Jinja's "line_starting").
	startsLine bool
}

// lexer turns template source into tokens, applying whitespace control the way Hugging Face
// configures Jinja: trim_blocks and lstrip_blocks on.
type lexer struct {
	src  string
	i    int
	line int
	col  int
}

func (lx *lexer) here() pos { return pos{lx.line, lx.col} }

// advance moves over n bytes, keeping line and column.
func (lx *lexer) advance(n int) {
	for k := 0; k < n && lx.i < len(lx.src); k++ {
		if lx.src[lx.i] == '\n' {
			lx.line++
			lx.col = 1
		} else if lx.src[lx.i]&0xC0 != 0x80 {
			lx.col++
		}
		lx.i++
	}
}

// tokenize returns the whole template as a flat token list.
func tokenize(src string) ([]token, error) {
	lx := &lexer{src: src, line: 1, col: 1}
	segs, err := lx.segments()
	if err != nil {
		return nil, err
	}
	applyWhitespace(segs)
	var out []token
	for _, s := range segs {
		switch s.tag {
		case 0:
			if s.text != "" {
				out = append(out, token{kind: tText, val: s.text, pos: s.pos})
			}
		case '#':
		case '{':
			out = append(out, token{kind: tVarStart, pos: s.pos})
			out = append(out, s.toks...)
			out = append(out, token{kind: tVarEnd, pos: s.end})
		case '%':
			out = append(out, token{kind: tBlockStart, pos: s.pos})
			out = append(out, s.toks...)
			out = append(out, token{kind: tBlockEnd, pos: s.end})
		}
	}
	out = append(out, token{kind: tEOF, pos: lx.here()})
	return out, nil
}

func (lx *lexer) segments() ([]rawSeg, error) {
	var segs []rawSeg
	for lx.i < len(lx.src) {
		start := lx.here()
		j := strings.Index(lx.src[lx.i:], "{")
		for j >= 0 {
			k := lx.i + j
			if k+1 < len(lx.src) && (lx.src[k+1] == '{' || lx.src[k+1] == '%' || lx.src[k+1] == '#') {
				break
			}
			n := strings.Index(lx.src[k+1:], "{")
			if n < 0 {
				j = -1
				break
			}
			j += 1 + n
		}
		if j < 0 {
			segs = append(segs, rawSeg{text: lx.src[lx.i:], pos: start})
			lx.advance(len(lx.src) - lx.i)
			break
		}
		if j > 0 {
			segs = append(segs, rawSeg{text: lx.src[lx.i : lx.i+j], pos: start})
			lx.advance(j)
		}
		seg, err := lx.tag()
		if err != nil {
			return nil, err
		}
		segs = append(segs, seg)
		// {% raw %}…{% endraw %}: the body is text.
		if seg.tag == '%' && len(seg.toks) == 1 && seg.toks[0].kind == tName && seg.toks[0].val == "raw" {
			segs = segs[:len(segs)-1]
			raw, err := lx.rawBody(seg)
			if err != nil {
				return nil, err
			}
			segs = append(segs, raw...)
		}
	}
	return segs, nil
}

// rawBody reads up to {% endraw %} and returns the raw tag pair as comment segments around text,
// so whitespace control still applies to them.
func (lx *lexer) rawBody(open rawSeg) ([]rawSeg, error) {
	open.tag = '#'
	open.toks = nil
	start := lx.here()
	rest := lx.src[lx.i:]
	for off := 0; ; {
		k := strings.Index(rest[off:], "{%")
		if k < 0 {
			return nil, errAt(open.pos, "unclosed {%% raw %%}")
		}
		k += off
		inner := strings.TrimLeft(rest[k+2:], "-+ \t\r\n")
		if strings.HasPrefix(inner, "endraw") {
			text := rest[:k]
			lx.advance(k)
			closeSeg, err := lx.tag()
			if err != nil {
				return nil, err
			}
			closeSeg.tag = '#'
			closeSeg.toks = nil
			return []rawSeg{open, {text: text, pos: start}, closeSeg}, nil
		}
		off = k + 2
	}
}

// tag lexes one {{ }}, {% %} or {# #} starting at lx.i.
func (lx *lexer) tag() (rawSeg, error) {
	seg := rawSeg{tag: lx.src[lx.i+1], pos: lx.here()}
	lx.advance(2)
	if lx.i < len(lx.src) {
		switch lx.src[lx.i] {
		case '-':
			seg.lTrim = true
			lx.advance(1)
		case '+':
			seg.lPlus = true
			lx.advance(1)
		}
	}
	if seg.tag == '#' {
		k := strings.Index(lx.src[lx.i:], "#}")
		if k < 0 {
			return seg, errAt(seg.pos, "unclosed comment")
		}
		if k > 0 && lx.src[lx.i+k-1] == '-' {
			seg.rTrim = true
		} else if k > 0 && lx.src[lx.i+k-1] == '+' {
			seg.rPlus = true
		}
		lx.advance(k + 2)
		return seg, nil
	}
	closer := byte('}')
	if seg.tag == '%' {
		closer = '%'
	}
	depth := 0
	for {
		// Skip white space.
		for lx.i < len(lx.src) && strings.IndexByte(" \t\r\n", lx.src[lx.i]) >= 0 {
			lx.advance(1)
		}
		if lx.i >= len(lx.src) {
			return seg, errAt(seg.pos, "unclosed tag")
		}
		c := lx.src[lx.i]
		rest := lx.src[lx.i:]
		// The end of the tag, with its optional trim marker. Brackets must be balanced first, so
		// that a dict literal's closing braces are not taken for the end of {{ }}.
		if depth == 0 {
			if (c == '-' || c == '+') && len(rest) >= 3 && rest[1] == closer && rest[2] == '}' {
				seg.end = lx.here()
				seg.rTrim = c == '-'
				seg.rPlus = c == '+'
				lx.advance(3)
				return seg, nil
			}
			if c == closer && len(rest) >= 2 && rest[1] == '}' {
				seg.end = lx.here()
				lx.advance(2)
				return seg, nil
			}
		}
		p := lx.here()
		switch {
		case c == '_' || isLetter(c):
			n := 1
			for n < len(rest) && (rest[n] == '_' || isLetter(rest[n]) || isDigit(rest[n])) {
				n++
			}
			seg.toks = append(seg.toks, token{kind: tName, val: rest[:n], pos: p})
			lx.advance(n)
		case isDigit(c):
			n, isFloat := scanNumber(rest)
			kind := tInt
			if isFloat {
				kind = tFloat
			}
			seg.toks = append(seg.toks, token{kind: kind, val: strings.ReplaceAll(rest[:n], "_", ""), pos: p})
			lx.advance(n)
		case c == '\'' || c == '"':
			s, n, err := scanString(rest)
			if err != nil {
				return seg, errAt(p, "%v", err)
			}
			seg.toks = append(seg.toks, token{kind: tString, val: s, pos: p})
			lx.advance(n)
		default:
			op := ""
			for _, cand := range []string{"//", "**", "==", "!=", "<=", ">="} {
				if strings.HasPrefix(rest, cand) {
					op = cand
					break
				}
			}
			if op == "" {
				if strings.IndexByte("+-*/%~<>=()[]{},.:|", c) < 0 {
					r, _ := utf8.DecodeRuneInString(rest)
					return seg, errAt(p, "unexpected character %q", r)
				}
				op = rest[:1]
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					return seg, errAt(p, "unbalanced %q", op)
				}
				depth--
			}
			seg.toks = append(seg.toks, token{kind: tOp, val: op, pos: p})
			lx.advance(len(op))
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// scanNumber returns the length of the number literal at the start of s and whether it is a float.
func scanNumber(s string) (int, bool) {
	n := 0
	for n < len(s) && (isDigit(s[n]) || s[n] == '_') {
		n++
	}
	isFloat := false
	if n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
		isFloat = true
		n++
		for n < len(s) && (isDigit(s[n]) || s[n] == '_') {
			n++
		}
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && isDigit(s[m]) {
			for m < len(s) && isDigit(s[m]) {
				m++
			}
			n = m
			isFloat = true
		}
	}
	return n, isFloat
}

// scanString decodes the quoted string literal at the start of s with Python's escapes.
func scanString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'a':
			b.WriteByte('\a')
		case '0':
			b.WriteByte(0)
		case '\\', '\'', '"':
			b.WriteByte(e)
		case '\n':
			// A backslash-newline continues the literal.
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+width < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32); err == nil && utf8.ValidRune(rune(v)) {
					b.WriteRune(rune(v))
					i += width
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", 0, fmt.Errorf("unterminated string literal")
}

// applyWhitespace applies the '-' markers, lstrip_blocks and trim_blocks to the text segments.
func applyWhitespace(segs []rawSeg) {
	for i := range segs {
		s := &segs[i]
		if s.tag == 0 {
			continue
		}
		block := s.tag == '%' || s.tag == '#'
		if i > 0 && segs[i-1].tag == 0 {
			prev := &segs[i-1]
			switch {
			case s.lTrim:
				prev.text = strings.TrimRight(prev.text, " \t\r\n\v\f")
			case block && !s.lPlus:
				// lstrip_blocks: drop spaces and tabs between the start of the line and the tag.
				t := prev.text
				k := len(t)
				for k > 0 && (t[k-1] == ' ' || t[k-1] == '\t') {
					k--
				}
				if k > 0 && t[k-1] == '\n' || k == 0 && (i-1 == 0 || prev.startsLine) {
					prev.text = t[:k]
				}
			}
		}
		if i+1 < len(segs) && segs[i+1].tag == 0 {
			next := &segs[i+1]
			switch {
			case s.rTrim:
				next.text = strings.TrimLeft(next.text, " \t\r\n\v\f")
			case block && !s.rPlus:
				// trim_blocks: drop the first newline after a block tag.
				if strings.HasPrefix(next.text, "\r\n") {
					next.text = next.text[2:]
					next.startsLine = true
				} else if strings.HasPrefix(next.text, "\n") {
					next.text = next.text[1:]
					next.startsLine = true
				}
			}
		}
	}
}
