package memory

import (
	"strings"

	"golang.org/x/net/html"
)

// skipped HTML elements: their content is not text a reader sees.
var htmlSkip = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "svg": true, "head": true,
	"iframe": true, "object": true, "canvas": true,
}

// htmlBlock elements end a paragraph.
var htmlBlock = map[string]bool{
	"p": true, "div": true, "li": true, "ul": true, "ol": true, "br": true, "tr": true, "table": true,
	"section": true, "article": true, "pre": true, "blockquote": true, "dd": true, "dt": true, "dl": true,
	"header": true, "footer": true, "main": true, "nav": true, "aside": true, "figure": true,
	"figcaption": true, "hr": true, "form": true, "body": true, "td": true, "th": true,
}

// ParseHTML extracts the readable text of an HTML page: scripts, styles and similar elements are
// dropped, h1..h6 become headings, block elements separate paragraphs, and whitespace collapses.
// The <title> (else the first h1) is the title. Malformed HTML is read as far as it goes.
func ParseHTML(data string) Document {
	doc := Document{Kind: "html", Meta: map[string]string{}}
	z := html.NewTokenizer(strings.NewReader(data))
	line := 1
	skip := 0
	inTitle := false
	level := 0
	var title, cur strings.Builder
	start, end := 0, 0
	flush := func() {
		text := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		if text == "" {
			level = 0
			return
		}
		b := Block{Level: level, Text: text, Start: start, End: end}
		if level > 0 {
			b.Text = strings.Repeat("#", level) + " " + text
			if level == 1 && doc.Title == "" && title.Len() == 0 {
				doc.Title = text
			}
		}
		doc.Blocks = append(doc.Blocks, b)
		level = 0
	}
	for {
		tt := z.Next()
		raw := z.Raw()
		tokLine := line
		line += strings.Count(string(raw), "\n")
		switch tt {
		case html.ErrorToken:
			flush()
			if t := strings.Join(strings.Fields(title.String()), " "); t != "" {
				doc.Title = t
			}
			return doc
		case html.TextToken:
			if inTitle {
				title.Write(z.Text())
				continue
			}
			if skip > 0 {
				continue
			}
			text := string(z.Text())
			if strings.TrimSpace(text) == "" {
				cur.WriteString(" ")
				continue
			}
			// The tokenizer turns "\r" into "\n" in text, so lines counted in the text are clamped
			// to those counted in the raw bytes.
			if strings.TrimSpace(cur.String()) == "" {
				start = min(line, tokLine+strings.Count(text[:len(text)-len(strings.TrimLeft(text, " \t\r\n"))], "\n"))
			}
			cur.WriteString(text)
			end = max(start, min(line, tokLine+strings.Count(strings.TrimRight(text, " \t\r\n"), "\n")))
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case tag == "title":
				inTitle = tt == html.StartTagToken
			case htmlSkip[tag]:
				if tt == html.StartTagToken {
					skip++
				}
			case len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6':
				flush()
				level = int(tag[1] - '0')
			case htmlBlock[tag]:
				if level == 0 {
					flush()
				} else {
					cur.WriteString(" ")
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case tag == "title":
				inTitle = false
			case htmlSkip[tag]:
				if skip > 0 {
					skip--
				}
			case len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6':
				flush()
			case htmlBlock[tag]:
				if level == 0 {
					flush()
				}
			}
		}
	}
}
