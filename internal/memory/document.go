package memory

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Document is a parsed source file: its title, front-matter fields and a sequence of blocks.
type Document struct {
	Kind   string
	Title  string
	Meta   map[string]string
	Blocks []Block
}

// Block is a heading or a paragraph of a document, with its 1-based inclusive line range.
type Block struct {
	// Level is 1..6 for a heading and 0 for a paragraph (or code block, list, table).
	Level      int
	Text       string
	Start, End int
}

// The package's regular expressions are compiled on first use (sync.OnceValue), not at start-up:
// every sandboxed process is a re-exec of seance and would pay for them before its target runs.
var (
	atxHeading = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$`) })
	boldLine   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\*\*([^*]{1,120})\*\*$`) })
	fence      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^ {0,3}(```|~~~)") })
)

// ParseMarkdown parses Markdown (or plain text, which is read the same way without front matter):
// YAML front matter between "---" lines gives the title and meta; ATX headings ("## x") and lines
// that are wholly bold ("**x**", a common stand-in) are headings; blank lines separate paragraphs;
// fenced code blocks stay whole. Front matter that is not valid YAML is kept as text.
func ParseMarkdown(data string, frontMatter bool) Document {
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	doc := Document{Kind: "markdown", Meta: map[string]string{}}
	first := 0
	if frontMatter && len(lines) > 0 && strings.TrimSpace(lines[0]) == "---" {
		for i := 1; i < len(lines); i++ {
			if t := strings.TrimSpace(lines[i]); t == "---" || t == "..." {
				var m map[string]any
				if err := yaml.Unmarshal([]byte(strings.Join(lines[1:i], "\n")), &m); err == nil {
					for k, v := range m {
						doc.Meta[k] = metaString(v)
					}
					doc.Title = doc.Meta["title"]
					first = i + 1
				}
				break
			}
		}
	}
	var para []string
	paraStart := 0
	flush := func(end int) {
		if len(para) > 0 {
			text := strings.TrimSpace(strings.Join(para, "\n"))
			if text != "" {
				doc.Blocks = append(doc.Blocks, Block{Text: text, Start: paraStart, End: end})
			}
			para = nil
		}
	}
	inFence := ""
	for i := first; i < len(lines); i++ {
		line, ln := lines[i], i+1
		if inFence != "" {
			para = append(para, line)
			if m := fence().FindStringSubmatch(line); m != nil && m[1] == inFence {
				inFence = ""
				flush(ln)
			}
			continue
		}
		if m := fence().FindStringSubmatch(line); m != nil {
			flush(ln - 1)
			inFence, para, paraStart = m[1], []string{line}, ln
			continue
		}
		if m := atxHeading().FindStringSubmatch(line); m != nil {
			flush(ln - 1)
			doc.Blocks = append(doc.Blocks, Block{Level: len(m[1]), Text: line, Start: ln, End: ln})
			if len(m[1]) == 1 && doc.Title == "" {
				doc.Title = strings.TrimSpace(m[2])
			}
			continue
		}
		if boldLine().MatchString(strings.TrimSpace(line)) {
			flush(ln - 1)
			doc.Blocks = append(doc.Blocks, Block{Level: 6, Text: line, Start: ln, End: ln})
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush(ln - 1)
			continue
		}
		if len(para) == 0 {
			paraStart = ln
		}
		para = append(para, line)
	}
	flush(len(lines))
	return doc
}

// metaString renders a front-matter value as a string.
func metaString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = metaString(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + metaString(v[k])
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// headingText returns the display text of a heading block: the line without its markers.
func headingText(b Block) string {
	if m := atxHeading().FindStringSubmatch(b.Text); m != nil {
		return strings.TrimSpace(m[2])
	}
	t := strings.TrimSpace(b.Text)
	if m := boldLine().FindStringSubmatch(t); m != nil {
		return strings.TrimSpace(m[1])
	}
	return t
}

// Split cuts a document into chunks of about target runes: a heading always starts a new chunk,
// paragraphs are packed until the next would overflow the target, and a paragraph longer than the
// target is cut at sentence ends, else at spaces, and only as a last resort inside a word (text
// without spaces). Chunks carry the heading path, line range, text and hash; the caller fills in
// the source fields.
func Split(doc Document, target int) []Chunk {
	if target <= 0 {
		target = DefaultChunkRunes
	}
	type heading struct {
		level int
		text  string
	}
	var (
		stack  []heading
		chunks []Chunk
		parts  []string
		size   int
		start  int
		end    int
		body   bool
		path   []string
	)
	pathNow := func() []string {
		p := make([]string, len(stack))
		for i, h := range stack {
			p[i] = h.text
		}
		return p
	}
	flush := func() {
		if len(parts) == 0 {
			return
		}
		if !body {
			path = pathNow()
		}
		text := strings.Join(parts, "\n\n")
		chunks = append(chunks, Chunk{Seq: len(chunks), Headings: path, StartLine: start, EndLine: end,
			Text: text, Hash: hashString(text)})
		parts, size, body = nil, 0, false
	}
	add := func(text string, s, e int) {
		if len(parts) == 0 {
			start = s
		}
		parts = append(parts, text)
		size += utf8.RuneCountInString(text)
		end = e
	}
	for _, b := range doc.Blocks {
		if b.Level > 0 {
			if body {
				flush()
			}
			for len(stack) > 0 && stack[len(stack)-1].level >= b.Level {
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, heading{b.Level, headingText(b)})
			add(strings.TrimSpace(b.Text), b.Start, b.End)
			continue
		}
		for _, p := range splitLong(b, target) {
			n := utf8.RuneCountInString(p.Text)
			if body && size+n > target {
				flush()
			}
			if !body {
				path = pathNow()
			}
			add(p.Text, p.Start, p.End)
			body = true
		}
	}
	flush()
	return chunks
}

// splitLong cuts a paragraph longer than target runes into pieces of at most target runes.
func splitLong(b Block, target int) []Block {
	if utf8.RuneCountInString(b.Text) <= target {
		return []Block{b}
	}
	var out []Block
	text, line := b.Text, b.Start
	for text != "" {
		cut := cutPoint(text, target)
		piece := strings.TrimSpace(text[:cut])
		lines := strings.Count(text[:cut], "\n")
		if piece != "" {
			out = append(out, Block{Text: piece, Start: line + leadingNewlines(text[:cut]), End: line + lines - trailingNewlines(text[:cut])})
		}
		line += lines
		text = text[cut:]
	}
	return out
}

// leadingNewlines counts the line breaks in the whitespace that starts s.
func leadingNewlines(s string) int {
	return strings.Count(s[:len(s)-len(strings.TrimLeft(s, " \t\n"))], "\n")
}

// trailingNewlines counts the line breaks in the whitespace that ends s.
func trailingNewlines(s string) int {
	return strings.Count(s[len(strings.TrimRight(s, " \t\n")):], "\n")
}

// cutPoint returns the byte offset at which to cut text so that the piece has at most target runes:
// after the last sentence end in the second half of the window, else after the last space, else at
// the target itself.
func cutPoint(text string, target int) int {
	limit, n := len(text), 0
	for i := range text {
		if n == target {
			limit = i
			break
		}
		n++
	}
	if limit == len(text) {
		return limit
	}
	window := text[:limit]
	half := len(window) / 2
	best := -1
	for i, r := range window {
		if i < half {
			continue
		}
		switch r {
		case '.', '!', '?', '。', '！', '？', '\n':
			next := i + utf8.RuneLen(r)
			if r == '\n' || next >= len(text) || text[next] == ' ' || text[next] == '\n' || r >= 0x3000 {
				best = next
			}
		}
	}
	if best > 0 {
		return best
	}
	if i := strings.LastIndexAny(window, " \t"); i > half/2 {
		return i + 1
	}
	return limit
}
