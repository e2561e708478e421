package verify

import (
	"regexp"
	"strings"
	"sync"
)

// ExtractBoxed returns the content of the last \boxed{...} (or \fbox{...}) in s, honouring nested
// braces, and whether there was one. "\boxed 5" (no braces) yields "5".
func ExtractBoxed(s string) (string, bool) {
	pos, n := -1, 0
	for _, cmd := range []string{`\boxed`, `\fbox`} {
		if j := strings.LastIndex(s, cmd); j > pos {
			pos, n = j, len(cmd)
		}
	}
	if pos < 0 {
		return "", false
	}
	rest := s[pos+n:]
	trimmed := strings.TrimLeft(rest, " ")
	if !strings.HasPrefix(trimmed, "{") {
		// \boxed 5: the argument is the next token.
		if !strings.HasPrefix(rest, " ") {
			return "", false
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return "", false
		}
		return strings.TrimRight(f[0], "$.,"), true
	}
	return braced(trimmed)
}

// braced returns the content of the brace group that s starts with, and whether it is closed.
func braced(s string) (string, bool) {
	if !strings.HasPrefix(s, "{") {
		return "", false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped brace does not count
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}

// markerRe finds phrases that introduce a final answer.
var markerRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:final answer|the answer|answer)\s*(?:is|would be|will be|should be|=|:|：)\s*:?\s*`)
})

// ExtractFinal returns the part of a reply that holds its final answer: the last \boxed{} content,
// else the text after the last "####", else the rest of the line after the last "the answer is" /
// "Answer:", else the last non-empty line. Surrounding "$" and white space are trimmed.
func ExtractFinal(s string) string {
	if b, ok := ExtractBoxed(s); ok {
		return trimMath(b)
	}
	if i := strings.LastIndex(s, "####"); i >= 0 {
		return trimMath(firstLine(s[i+4:]))
	}
	if m := markerRe().FindAllStringIndex(s, -1); len(m) > 0 {
		if r := trimMath(firstLine(s[m[len(m)-1][1]:])); r != "" {
			return r
		}
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return trimMath(lines[len(lines)-1])
}

// finalRegion returns the text an answer should be read from and whether it came from an explicit
// marker (boxed, ####, "the answer is"); without a marker it is the whole reply.
func finalRegion(s string) (string, bool) {
	if b, ok := ExtractBoxed(s); ok {
		return b, true
	}
	if i := strings.LastIndex(s, "####"); i >= 0 {
		return firstLine(s[i+4:]), true
	}
	if m := markerRe().FindAllStringIndex(s, -1); len(m) > 0 {
		if r := strings.TrimSpace(firstLine(s[m[len(m)-1][1]:])); r != "" {
			return r, true
		}
	}
	return s, false
}

func firstLine(s string) string {
	s = strings.TrimLeft(s, " \t\r\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// trimMath strips white space, math delimiters and a trailing full stop around a short answer.
func trimMath(s string) string {
	s = strings.TrimSpace(s)
	for _, d := range [][2]string{{"$$", "$$"}, {`\[`, `\]`}, {`\(`, `\)`}, {"$", "$"}} {
		if strings.HasPrefix(s, d[0]) && strings.HasSuffix(s, d[1]) && len(s) >= len(d[0])+len(d[1]) {
			s = strings.TrimSpace(s[len(d[0]) : len(s)-len(d[1])])
		}
	}
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimSuffix(strings.TrimSpace(s), "$")
	s = strings.TrimPrefix(s, "$")
	return strings.TrimSpace(s)
}
