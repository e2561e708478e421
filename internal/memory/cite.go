package memory

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Citation checking: an answer written from numbered sources cites them with markers such as [1],
// [2][3] or [1, 3]. CheckCitations splits the answer into sentences and decides for each whether its
// citations exist and whether the cited sources support it. It is lexical and needs no model:
//
//   - Words are compared after the memory's normalisation (Words: lower-case, full-width folded,
//     punctuation separating, CJK bigrams) with a trailing Korean particle stripped from every Hangul
//     word, so "통제를" in a sentence matches "통제는" in a source.
//   - A sentence is supported by its cited sources when it is contained in one of them word for word
//     (score 1), or when its support score reaches CheckOptions.MinSupport. The score is the mean of
//     two shares, measured against the union of the cited sources (a sentence may combine two):
//     its content words (not stop words) found in them, and its word bigrams found in them. Bigrams
//     reward the sources' word order, so a bag of the sources' words in another order scores lower.
//   - Whatever the score, a sentence is unsupported when it names a number or a name that none of
//     its cited sources contains (a word with a digit, or a capitalised Latin word after the
//     sentence's first), or quotes ("…", “…”, 「…」) a passage that is not in one of them word for
//     word: those are the facts a near-copy gets wrong ("the tower is in Rome [1]" against "the tower
//     is in Paris").
//   - A sentence without citations is an unsupported claim when it has factual content: at least
//     CheckOptions.MinClaimWords content words (not stop words, not filler such as "here", "found",
//     "answer", "great", "question"), or a number. Shorter sentences ("In short:", "Good question!",
//     "Here is what I found."), questions, and sentences that say the sources do not answer are not
//     claims. "It is red." (two content words) is a claim, and so is a Korean sentence of two
//     words other than fillers ("네", "맞습니다", "요약하면", …).
//
// It cannot tell a paraphrase that reverses a source's meaning with words the source also uses
// ("X does not cause Y" against "X causes Y" scores high): the check is evidence, not proof.

// DefaultMinSupport is the support score a cited sentence needs when CheckOptions.MinSupport is 0.
// At 0.4 a sentence must share well over a third of its content words and word pairs with its
// sources. It is a judgement, not a measurement on labelled data: in cite_test.go paraphrases score
// 0.53–0.89 and sentences citing an unrelated source 0, while a sentence that puts a source's words
// with another subject can score 0.6 and is caught only by the rule on names and numbers.
const DefaultMinSupport = 0.4

// DefaultMinClaimWords is the number of content words (not stop or filler words) from which an uncited
// sentence counts as a claim when CheckOptions.MinClaimWords is 0.
const DefaultMinClaimWords = 2

// CheckOptions tune CheckCitations. The zero value uses the defaults.
type CheckOptions struct {
	// MinSupport is the support score a cited sentence needs (DefaultMinSupport when 0).
	MinSupport float64
	// MinClaimWords is how many content words make an uncited sentence a claim
	// (DefaultMinClaimWords when 0). A sentence with a number is a claim whatever its length.
	MinClaimWords int
}

// Verdict is the outcome of checking one sentence.
type Verdict string

// The verdicts. Only Supported and NoClaim are good outcomes.
const (
	// Supported: every citation exists and the cited sources support the sentence.
	Supported Verdict = "supported"
	// Unsupported: the citations exist but the cited sources do not support the sentence.
	Unsupported Verdict = "unsupported"
	// BadCitation: the sentence cites a number that is not among the sources.
	BadCitation Verdict = "bad_citation"
	// Uncited: a sentence with factual content and no citation.
	Uncited Verdict = "uncited"
	// NoClaim: a sentence without citations and without factual content (or one saying the sources
	// do not answer); it needs no support.
	NoClaim Verdict = "no_claim"
)

// SentenceCheck is the verdict on one sentence of an answer.
type SentenceCheck struct {
	// Text is the sentence as the answer has it (with its citation markers), trimmed.
	Text string
	// Citations are the source numbers it cites, distinct, in the order they appear.
	Citations []int
	// Supported is true when the verdict is Supported.
	Supported bool
	// Score is the support score in [0, 1] against the valid cited sources (0 without them).
	Score   float64
	Verdict Verdict
	// Reason explains the verdict in a short phrase for people.
	Reason string
}

// CheckReport is the result of CheckCitations.
type CheckReport struct {
	Sentences []SentenceCheck
	// Claims counts the sentences that needed support: those with citations and the uncited claims.
	Claims int
	// Supported, Unsupported, BadCitations and Uncited count the sentences of each verdict.
	Supported, Unsupported, BadCitations, Uncited int
}

// OK reports whether no sentence was flagged: every claim is cited and supported.
func (r CheckReport) OK() bool { return r.Unsupported+r.BadCitations+r.Uncited == 0 }

// Flagged returns the sentences whose verdict is neither Supported nor NoClaim.
func (r CheckReport) Flagged() []SentenceCheck {
	var out []SentenceCheck
	for _, s := range r.Sentences {
		if s.Verdict != Supported && s.Verdict != NoClaim {
			out = append(out, s)
		}
	}
	return out
}

// CheckCitations checks answer against sources, where sources[i] is the text of source number i+1.
// It never fails: an empty answer gives an empty report.
func CheckCitations(answer string, sources []string, opts CheckOptions) CheckReport {
	if opts.MinSupport <= 0 {
		opts.MinSupport = DefaultMinSupport
	}
	if opts.MinClaimWords <= 0 {
		opts.MinClaimWords = DefaultMinClaimWords
	}
	docs := make([]citeDoc, len(sources))
	for i, s := range sources {
		docs[i] = newCiteDoc(s)
	}
	var r CheckReport
	for _, s := range Sentences(answer) {
		c := checkSentence(s, docs, opts)
		switch c.Verdict {
		case Supported:
			r.Supported++
		case Unsupported:
			r.Unsupported++
		case BadCitation:
			r.BadCitations++
		case Uncited:
			r.Uncited++
		}
		if c.Verdict != NoClaim {
			r.Claims++
		}
		r.Sentences = append(r.Sentences, c)
	}
	return r
}

// citeDoc is a source prepared for checking.
type citeDoc struct {
	words []string
	set   map[string]bool // words and "a b" bigrams
}

func newCiteDoc(text string) citeDoc {
	d := citeDoc{words: checkWords(text), set: map[string]bool{}}
	for i, w := range d.words {
		d.set[w] = true
		if i > 0 {
			d.set[d.words[i-1]+" "+w] = true
		}
	}
	return d
}

// checkWords returns the normalised words of text for checking: Words, with a trailing particle
// stripped from Hangul words.
func checkWords(text string) []string {
	var out []string
	tokens(text, func(t token) {
		switch t.class {
		case classHangul:
			out = append(out, stripParticle(t.text))
		case classCJK:
			bigrams(t.text, func(s string) { out = append(out, s) })
		default:
			out = append(out, t.text)
		}
	})
	return out
}

// fillerWords are words that carry no fact of their own; a sentence made of them and stop words
// ("Here is what I found.") is not a claim. They still count when a cited sentence is scored.
var fillerWords = map[string]bool{
	"i": true, "we": true, "you": true, "me": true, "my": true, "our": true, "your": true, "here": true,
	"what": true, "which": true, "who": true, "so": true, "also": true, "let": true, "us": true,
	"has": true, "have": true, "do": true, "does": true, "can": true, "could": true, "would": true,
	"should": true, "may": true, "might": true, "found": true, "find": true, "summary": true,
	"short": true, "answer": true, "following": true, "below": true, "above": true, "based": true,
	"source": true, "sources": true, "according": true, "said": true, "says": true, "yes": true,
	"sure": true, "okay": true, "ok": true, "thanks": true, "hope": true, "helps": true, "more": true,
	"know": true, "like": true, "summarize": true, "overall": true, "note": true, "s": true, "t": true,
	"question": true, "great": true, "good": true, "explain": true, "let's": true, "look": true,
	"help": true, "happy": true, "glad": true, "please": true, "well": true, "now": true, "first": true,
	"finally": true, "however": true, "therefore": true, "conclusion": true,
	// Korean, after particle stripping.
	"네": true, "예": true, "아니요": true, "맞습니다": true, "그렇습니다": true, "좋은": true, "질문": true,
	"질문입니다": true, "요약하면": true, "정리하면": true, "다음과": true, "같습니다": true, "찾은": true,
	"감사합니다": true,
}

// claimWords counts the content words of ws that are not filler words.
func claimWords(content []string) int {
	n := 0
	for _, w := range content {
		if !fillerWords[w] {
			n++
		}
	}
	return n
}

// contentWords returns the words of ws that are not stop words.
func contentWords(ws []string) []string {
	var out []string
	for _, w := range ws {
		if !stopWords[w] {
			out = append(out, w)
		}
	}
	return out
}

func checkSentence(text string, docs []citeDoc, opts CheckOptions) SentenceCheck {
	cites, bad, rest := parseCitations(text)
	c := SentenceCheck{Text: text, Citations: cites}
	words := checkWords(rest)
	content := contentWords(words)
	if len(cites) == 0 && len(bad) == 0 {
		switch {
		case declines(rest):
			c.Verdict, c.Reason = NoClaim, "says the sources do not answer"
		case strings.HasSuffix(strings.TrimSpace(rest), "?") || strings.HasSuffix(strings.TrimSpace(rest), "？"):
			c.Verdict, c.Reason = NoClaim, "a question"
		case claimWords(content) < opts.MinClaimWords && !hasDigit(content):
			c.Verdict, c.Reason = NoClaim, fmt.Sprintf("no factual content (%d content words)", claimWords(content))
		default:
			c.Verdict, c.Reason = Uncited, "a claim without a citation"
		}
		return c
	}
	var valid []citeDoc
	var validN []int
	for _, n := range cites {
		if n >= 1 && n <= len(docs) {
			valid = append(valid, docs[n-1])
			validN = append(validN, n)
		} else {
			bad = append(bad, "["+strconv.Itoa(n)+"]")
		}
	}
	var flaw string
	exact := false
	if len(valid) > 0 {
		c.Score, exact, flaw = support(rest, words, content, valid, validN)
	}
	switch {
	case len(bad) > 0:
		c.Verdict = BadCitation
		c.Reason = fmt.Sprintf("cites %s but there are %d sources", strings.Join(bad, ", "), len(docs))
	case exact:
		c.Verdict, c.Supported, c.Reason = Supported, true, "contained word for word in a cited source"
	case flaw != "":
		c.Verdict, c.Reason = Unsupported, flaw
	case c.Score >= opts.MinSupport:
		c.Verdict, c.Supported = Supported, true
		c.Reason = fmt.Sprintf("%.0f%% of its words and word pairs are in the cited sources", 100*c.Score)
	default:
		c.Verdict = Unsupported
		c.Reason = fmt.Sprintf("only %.0f%% of its words and word pairs are in the cited sources (%.0f%% needed)",
			100*c.Score, 100*opts.MinSupport)
	}
	return c
}

// support scores a sentence (rest: its text without markers; words, content: its normalised words)
// against the cited sources docs (numbered nums). exact is true when the sentence is contained in one
// source word for word; flaw, when set, makes the sentence unsupported whatever its score (a
// quotation, a number or a name the sources do not have).
func support(rest string, words, content []string, docs []citeDoc, nums []int) (score float64, exact bool, flaw string) {
	for _, q := range quotations(rest) {
		qw := checkWords(q)
		if len(qw) == 0 {
			continue
		}
		found := false
		for _, d := range docs {
			if CountPhrase(d.words, qw) > 0 {
				found = true
				break
			}
		}
		if !found {
			return 0, false, fmt.Sprintf("the quotation %q is not in %s", q, citeList(nums))
		}
	}
	if len(words) == 0 {
		return 0, false, "nothing but citation markers"
	}
	for _, d := range docs {
		if CountPhrase(d.words, words) > 0 {
			return 1, true, ""
		}
	}
	in := func(key string) bool {
		for _, d := range docs {
			if d.set[key] {
				return true
			}
		}
		return false
	}
	uni := share(content, in)
	bi := uni
	if len(words) >= 2 {
		pairs := make([]string, 0, len(words)-1)
		for i := 1; i < len(words); i++ {
			pairs = append(pairs, words[i-1]+" "+words[i])
		}
		bi = share(pairs, in)
	}
	if len(content) == 0 {
		uni = bi
	}
	score = (uni + bi) / 2
	var missing []string
	for _, w := range criticalWords(rest) {
		if !in(w) && !slices.Contains(missing, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return score, false, fmt.Sprintf("%s not in %s", strings.Join(missing, ", "), citeList(nums))
	}
	return score, false, ""
}

// share returns the fraction of xs for which has is true (0 for none).
func share(xs []string, has func(string) bool) float64 {
	if len(xs) == 0 {
		return 0
	}
	n := 0
	for _, x := range xs {
		if has(x) {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

func citeList(nums []int) string {
	parts := make([]string, len(nums))
	for i, n := range nums {
		parts[i] = "[" + strconv.Itoa(n) + "]"
	}
	return "source " + strings.Join(parts, "")
}

func hasDigit(ws []string) bool {
	for _, w := range ws {
		if strings.ContainsFunc(w, unicode.IsDigit) {
			return true
		}
	}
	return false
}

// criticalWords returns the normalised words of text that a supporting source must contain: words
// with a digit, and capitalised Latin words (names, acronyms) other than the sentence's first word.
func criticalWords(text string) []string {
	var out []string
	fields := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	for i, f := range fields {
		first, _ := utf8.DecodeRuneInString(f)
		name := i > 0 && unicode.IsUpper(first) && unicode.Is(unicode.Latin, first)
		tokens(f, func(t token) {
			if t.class != classWord || stopWords[t.text] {
				return
			}
			if name || strings.ContainsFunc(t.text, unicode.IsDigit) {
				out = append(out, t.text)
			}
			name = false // only the field's leading word is the capitalised one
		})
	}
	return out
}

// quotations returns the passages of text between double quotes or corner brackets.
func quotations(text string) []string {
	var out []string
	for _, m := range quoteRE().FindAllStringSubmatch(text, -1) {
		for _, g := range m[1:] {
			if strings.TrimSpace(g) != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

var quoteRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`"([^"]+)"|“([^”]+)”|「([^」]+)」|『([^』]+)』`)
})

// declinePhrases mark a sentence that says the sources do not answer (lower-cased).
var declinePhrases = []string{
	"sources do not", "sources don't", "sources does not", "source does not", "source doesn't",
	"no sources", "no source ", "none of the sources", "not in the sources", "sources contain no",
	"출처에 없", "출처에는 없", "출처에서 찾을 수 없", "출처가 없", "자료에 없", "자료에는 없",
}

func declines(text string) bool {
	l := strings.ToLower(text)
	for _, p := range declinePhrases {
		if strings.Contains(l, p) {
			return true
		}
	}
	return false
}

// citeRE matches one citation marker: [1], [1, 3], [1;2], [2-4], [^1].
var citeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[\^?\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]`) })

// maxCiteRange bounds the expansion of a range marker such as [1-5].
const maxCiteRange = 64

// parseCitations returns the distinct source numbers text cites, the markers that cannot be valid
// (a number too large to read, a reversed or too long range), and text without its markers.
func parseCitations(text string) (cites []int, bad []string, rest string) {
	add := func(n int) {
		if !slices.Contains(cites, n) {
			cites = append(cites, n)
		}
	}
	for _, m := range citeRE().FindAllString(text, -1) {
		inner := strings.Trim(m, "[]^ ")
		for part := range strings.FieldsFuncSeq(inner, func(r rune) bool { return r == ',' || r == ';' }) {
			part = strings.TrimSpace(part)
			lo, hi, isRange := strings.Cut(strings.ReplaceAll(part, "–", "-"), "-")
			a, errA := strconv.Atoi(strings.TrimSpace(lo))
			if !isRange {
				if errA != nil {
					bad = append(bad, "["+part+"]")
				} else {
					add(a)
				}
				continue
			}
			b, errB := strconv.Atoi(strings.TrimSpace(hi))
			if errA != nil || errB != nil || b < a || b-a >= maxCiteRange {
				bad = append(bad, "["+part+"]")
				continue
			}
			for n := a; n <= b; n++ {
				add(n)
			}
		}
	}
	return cites, bad, citeRE().ReplaceAllString(text, " ")
}

// Sentences splits text into sentences. A blank line, a list item, a heading and a table row end a
// sentence; within a paragraph a sentence ends at . ! ? … or their full-width forms when whitespace
// (or the end) follows, after any closing quotes or brackets and any citation markers that follow it
// ("It is. [1] Next" keeps [1] with "It is."). A period after a common abbreviation ("e.g.", "Dr.")
// or a single capital letter (an initial) does not end a sentence. List markers and heading marks
// are removed; empty sentences are dropped.
func Sentences(text string) []string {
	var out []string
	for _, block := range blocks(text) {
		out = append(out, splitBlock(block)...)
	}
	return out
}

// listMarkerRE matches a Markdown list item's or heading's or quote's leading marker.
var listMarkerRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*(?:[-*+•]\s+|\d{1,3}[.)]\s+|#{1,6}\s+|>\s*)`) })

// blocks groups text's lines into paragraphs, list items and headings, each joined into one line.
func blocks(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.Trim(line, "-=*_|: ") == "":
			flush()
			continue
		case listMarkerRE().MatchString(line):
			flush()
			heading := strings.HasPrefix(line, "#")
			cur = append(cur, strings.TrimSpace(listMarkerRE().ReplaceAllString(line, "")))
			if heading {
				flush()
			}
			continue
		case strings.HasPrefix(line, "|"):
			flush()
			cur = append(cur, strings.Trim(line, "| "))
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

// abbreviations do not end a sentence (lower-case, without the period). Words that often end a
// sentence as well ("etc.", "Inc.") are left out: splitting there costs less than a run-on sentence.
var abbreviations = map[string]bool{
	"e.g": true, "i.e": true, "vs": true, "cf": true, "dr": true, "mr": true, "mrs": true, "ms": true,
	"prof": true, "fig": true, "al": true, "st": true, "jr": true, "sr": true,
}

func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '。', '！', '？':
		return true
	}
	return false
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '”', '’', '」', '』', '»', '*', '_':
		return true
	}
	return false
}

// splitBlock splits one paragraph into sentences.
func splitBlock(s string) []string {
	var out []string
	start := 0
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isTerminator(r) {
			i += n
			continue
		}
		end := i + n
		for end < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[end:])
			if !isTerminator(r2) && !isCloser(r2) {
				break
			}
			end += n2
		}
		fullWidth := r == '。' || r == '！' || r == '？'
		if end < len(s) && !fullWidth {
			r2, _ := utf8.DecodeRuneInString(s[end:])
			if !unicode.IsSpace(r2) && !strings.HasPrefix(s[end:], "[") {
				i = end
				continue
			}
		}
		if r == '.' && abbreviated(s[start:i]) {
			i = end
			continue
		}
		// Citation markers after the terminator belong to this sentence.
		for {
			j := end
			for j < len(s) && s[j] == ' ' {
				j++
			}
			loc := citeRE().FindStringIndex(s[j:])
			if loc == nil || loc[0] != 0 {
				break
			}
			end = j + loc[1]
			for end < len(s) && isTerminatorByte(s[end]) {
				end++
			}
		}
		if t := strings.TrimSpace(s[start:end]); t != "" {
			out = append(out, t)
		}
		start, i = end, end
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

func isTerminatorByte(b byte) bool { return b == '.' || b == '!' || b == '?' }

// abbreviated reports whether the text before a period ends with an abbreviation or an initial.
func abbreviated(before string) bool {
	f := strings.Fields(before)
	if len(f) == 0 {
		return false
	}
	w := strings.TrimLeft(f[len(f)-1], "(\"'“")
	if utf8.RuneCountInString(w) == 1 {
		r, _ := utf8.DecodeRuneInString(w)
		return unicode.IsUpper(r)
	}
	return abbreviations[strings.ToLower(w)]
}
