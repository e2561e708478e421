package memory

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const sampleMarkdown = `---
title: Ghosts
tags: [ai, memory]
year: 2025
---
# Summoning ghosts

Intro paragraph
over two lines.

## Control

Reward hacking is the problem.

` + "```go\n# not a heading\nfmt.Println()\n```" + `

**Bold heading**
Text under bold.
`

func TestParseMarkdown(t *testing.T) {
	doc := ParseMarkdown(sampleMarkdown, true)
	if doc.Title != "Ghosts" || doc.Meta["tags"] != "ai, memory" || doc.Meta["year"] != "2025" {
		t.Errorf("title %q meta %v", doc.Title, doc.Meta)
	}
	want := []Block{
		{1, "# Summoning ghosts", 6, 6},
		{0, "Intro paragraph\nover two lines.", 8, 9},
		{2, "## Control", 11, 11},
		{0, "Reward hacking is the problem.", 13, 13},
		{0, "```go\n# not a heading\nfmt.Println()\n```", 15, 18},
		{6, "**Bold heading**", 20, 20},
		{0, "Text under bold.", 21, 21},
	}
	if !reflect.DeepEqual(doc.Blocks, want) {
		t.Errorf("blocks:\n got %+v\nwant %+v", doc.Blocks, want)
	}
	// Front matter that is not YAML stays text, and plain text has none.
	bad := ParseMarkdown("---\n: : [\n---\nbody\n", true)
	if bad.Title != "" || len(bad.Blocks) == 0 || bad.Blocks[0].Start != 1 {
		t.Errorf("bad front matter: %+v", bad)
	}
	plain := ParseMarkdown("---\ntitle: x\n---\n", false)
	if plain.Title != "" {
		t.Errorf("plain text read front matter: %+v", plain)
	}
}

func TestSplit(t *testing.T) {
	chunks := Split(ParseMarkdown(sampleMarkdown, true), 1000)
	if len(chunks) != 3 {
		t.Fatalf("got %d chunks: %+v", len(chunks), chunks)
	}
	want := []struct {
		headings   []string
		start, end int
		prefix     string
	}{
		{[]string{"Summoning ghosts"}, 6, 9, "# Summoning ghosts\n\nIntro"},
		{[]string{"Summoning ghosts", "Control"}, 11, 18, "## Control\n\nReward"},
		{[]string{"Summoning ghosts", "Control", "Bold heading"}, 20, 21, "**Bold heading**\n\nText"},
	}
	for i, w := range want {
		c := chunks[i]
		if !reflect.DeepEqual(c.Headings, w.headings) || c.StartLine != w.start || c.EndLine != w.end ||
			!strings.HasPrefix(c.Text, w.prefix) || c.Seq != i || c.Hash != hashString(c.Text) {
			t.Errorf("chunk %d = %+v, want %+v", i, c, w)
		}
	}
}

func TestSplitLong(t *testing.T) {
	// A long paragraph of words is cut at sentence ends or spaces, never inside a word.
	var b strings.Builder
	for i := range 300 {
		b.WriteString("alpha beta gamma")
		if i%7 == 6 {
			b.WriteString(".")
		}
		b.WriteString(" ")
	}
	text := strings.TrimSpace(b.String())
	chunks := Split(Document{Blocks: []Block{{Text: text, Start: 1, End: 1}}}, 200)
	if len(chunks) < 5 {
		t.Fatalf("got %d chunks", len(chunks))
	}
	var words []string
	for _, c := range chunks {
		if n := utf8.RuneCountInString(c.Text); n > 200 {
			t.Errorf("chunk of %d runes > 200", n)
		}
		words = append(words, strings.Fields(c.Text)...)
	}
	if strings.Join(words, " ") != text {
		t.Error("chunks do not rejoin to the text: a word was split or lost")
	}
	// Text without spaces is cut at the target.
	cjk := strings.Repeat("人工知能", 100)
	chunks = Split(Document{Blocks: []Block{{Text: cjk, Start: 3, End: 3}}}, 150)
	joined := ""
	for _, c := range chunks {
		joined += c.Text
		if utf8.RuneCountInString(c.Text) > 150 || c.StartLine != 3 {
			t.Errorf("cjk chunk: %d runes, line %d", utf8.RuneCountInString(c.Text), c.StartLine)
		}
	}
	if joined != cjk {
		t.Error("cjk chunks do not rejoin")
	}
	// Line ranges follow the lines of a long multi-line paragraph.
	lines := make([]string, 40)
	for i := range lines {
		lines[i] = "line " + strings.Repeat("word ", 10) + "end."
	}
	chunks = Split(Document{Blocks: []Block{{Text: strings.Join(lines, "\n"), Start: 10, End: 49}}}, 200)
	if chunks[0].StartLine != 10 || chunks[len(chunks)-1].EndLine != 49 {
		t.Errorf("line range %d..%d, want 10..49", chunks[0].StartLine, chunks[len(chunks)-1].EndLine)
	}
	for i := 1; i < len(chunks); i++ {
		if chunks[i].StartLine != chunks[i-1].EndLine+1 {
			t.Errorf("chunk %d starts at line %d after %d", i, chunks[i].StartLine, chunks[i-1].EndLine)
		}
	}
}

func TestParseHTML(t *testing.T) {
	page := `<!doctype html>
<html><head><title>The  Page</title><style>body{color:red}</style>
<script>var x = "<p>not text</p>";</script></head>
<body>
<h1>Main</h1>
<p>First <b>bold</b> para&amp;graph.</p>
<div>Second
para</div>
<h2>Sub</h2><ul><li>one</li><li>two</li></ul>
<noscript>hidden</noscript>
</body></html>`
	doc := ParseHTML(page)
	if doc.Title != "The Page" {
		t.Errorf("title %q", doc.Title)
	}
	var texts []string
	for _, b := range doc.Blocks {
		texts = append(texts, b.Text)
	}
	want := []string{"# Main", "First bold para&graph.", "Second para", "## Sub", "one", "two"}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("blocks %q, want %q", texts, want)
	}
	if doc.Blocks[0].Start != 5 || doc.Blocks[2].Start != 7 || doc.Blocks[2].End != 8 {
		t.Errorf("lines: %+v", doc.Blocks)
	}
	chunks := Split(doc, 1000)
	if len(chunks) != 2 || !reflect.DeepEqual(chunks[1].Headings, []string{"Main", "Sub"}) {
		t.Errorf("chunks %+v", chunks)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sampleMarkdown, 50)
	f.Add("<h1>x</h1><p>y</p><script>", 10)
	f.Add("---\n---\n# \n\n```\n", 1)
	f.Fuzz(func(t *testing.T, text string, target int) {
		target = 1 + abs(target)%500
		for _, doc := range []Document{ParseMarkdown(text, true), ParseHTML(text)} {
			lines := strings.Count(text, "\n") + 1
			for _, c := range Split(doc, target) {
				if c.StartLine < 1 || c.EndLine < c.StartLine || c.EndLine > lines {
					t.Fatalf("chunk lines %d..%d of %d", c.StartLine, c.EndLine, lines)
				}
				if c.Text == "" {
					t.Fatal("empty chunk")
				}
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
