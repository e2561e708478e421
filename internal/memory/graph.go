package memory

import (
	"context"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The knowledge graph: entities mentioned by chunks and relations between them, extracted from each
// chunk's text when it is stored (by rules, no model call), kept by the stores beside the chunk and
// replaced and removed with it. Search uses it to expand a query (graph_search.go).

// Entity kinds, strongest first: a name the text marks itself (code, a quotation, emphasis) or
// writes as a name (capitalised words, an acronym or identifier) outranks a frequent noun.
const (
	KindCode    = "code"    // a `code span`
	KindName    = "name"    // capitalised words: "Andrej Karpathy", "Gemini CLI", "Engram"
	KindAcronym = "acronym" // an acronym or identifier: "MoE", "GPT-4", "IL-6", "100T"
	KindQuote   = "quote"   // a short quotation: "Bitter Lesson"
	KindTerm    = "term"    // an emphasised term: **보상 해킹**, *사고의 연쇄*
	KindNoun    = "noun"    // a noun the chunk repeats or puts in a heading: 통제, macrophages
)

// Relation kinds.
const (
	// RelCooccurs links two entities mentioned in one chunk (undirected: From < To); its weight is 1
	// per chunk, 2 when they share a sentence.
	RelCooccurs = "co"
	// RelIsA is "From is a To" ("PPO is an algorithm", "탈로스는 … 안드로이드이다").
	RelIsA = "is_a"
	// RelOf is "From of To" ("the capital of Australia", "탈로스의 신화" → 신화 of 탈로스).
	RelOf = "of"
)

// Mention is an entity as one chunk mentions it.
type Mention struct {
	// Key is the entity's normalised key (EntityKey); it identifies the entity across chunks.
	Key string
	// Name is the surface form the chunk first uses.
	Name string
	// Kind is one of the Kind constants.
	Kind string
	// Count is how many times the chunk mentions it (at least 1).
	Count int
}

// Relation is a link between two entities stated by one chunk.
type Relation struct {
	From, To string // entity keys
	Kind     string // one of the Rel constants
	Weight   float64
}

// Extraction is the graph of one chunk.
type Extraction struct {
	Mentions  []Mention
	Relations []Relation
}

// Extractor finds the entities and relations of a chunk's text. Stores call it for every chunk they
// store, before their write transaction begins; RuleExtractor is the default. A model-based extractor
// may be plugged in (it must return keys made by EntityKey, so that queries find them).
type Extractor interface {
	// Extract returns the graph of text. Every relation's ends must be among the mentions.
	Extract(ctx context.Context, text string) (Extraction, error)
}

// RuleExtractor extracts by rules (ExtractRules); it never fails and calls no model.
type RuleExtractor struct{}

var _ Extractor = RuleExtractor{}

// Extract returns ExtractRules(text).
func (RuleExtractor) Extract(_ context.Context, text string) (Extraction, error) {
	return ExtractRules(text), nil
}

// Limits of one chunk's graph, so that a long chunk cannot flood the tables.
const (
	maxMentions   = 32 // entities kept per chunk, strongest first
	maxCooccur    = 10 // of which the strongest are linked pairwise (45 pairs at most)
	maxEntityWord = 6  // words in a quoted or emphasised entity
)

// EntityKey returns the normalised key of an entity name: its normalised words (Words) with a
// trailing Korean particle stripped from Hangul words, a leading English article dropped, and a
// trailing lone Hangul particle ("Karpathy가") dropped. "The Bitter Lesson" → "bitter lesson",
// "GPT-4" → "gpt 4", "통제를" → "통제".
func EntityKey(name string) string {
	var words []string
	tokens(name, func(t token) {
		switch t.class {
		case classHangul:
			words = append(words, stripParticle(t.text))
		case classCJK:
			bigrams(t.text, func(s string) { words = append(words, s) })
		default:
			words = append(words, t.text)
		}
	})
	if len(words) > 1 && (words[0] == "the" || words[0] == "a" || words[0] == "an") {
		words = words[1:]
	}
	if n := len(words); n > 1 && isParticle(words[n-1]) {
		words = words[:n-1]
	}
	return strings.Join(words, " ")
}

func isParticle(w string) bool {
	for _, p := range particles {
		if w == p {
			return true
		}
	}
	return false
}

// occurrence is one mention of an entity in the text.
type occurrence struct {
	key, name, kind string
	start, end      int    // byte span of the name
	after           string // the Korean particle written right after it, if any
	strong          bool   // in a heading or emphasised: a noun needs no repetition
}

var (
	codeSpan = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("`([^`\n]{1,80})`") })
	emphasis = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\*\*([^*\n]{1,80})\*\*|__([^_\n]{1,80})__|\*([^*\s][^*\n]{0,60})\*`)
	})
	hangulRun = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\p{Hangul}+`) })
	urlSpan   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:https?://|www\.)[^\s)\]>]+`) })
	copulas   = []string{"이다", "입니다", "이었다", "이며", "이고", "이죠", "였다", "이에요", "예요"}
)

// connectors may join the capitalised words of a name.
var connectors = map[string]bool{"of": true, "for": true, "the": true, "de": true}

// englishCommon are English words that are not entities on their own: function words and words
// common in any prose, for the frequent-noun rule and leading capitalised words.
var englishCommon = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for if in into is it no not of on or such
		that the their then there these they this to was will with we our us i you your he she his her its
		from than have has had been were which who whom whose what when where why how also can could may
		might must should would shall do does did done about after before between both each few more most
		other some any all only own same so too very just over under again further once here while during
		through until against above below up down out off my me him them those being having doing because
		however therefore thus although though yet still even much many well whether either neither
		within without among per via upon used using use based show shows shown showed found find study
		studies result results data level levels high higher low lower increased increase decreased
		decrease associated significant significantly effect effects role compared including include
		includes included new one two three first second however here there`) {
		englishCommon[w] = true
	}
}

// koreanCommon are Korean stems that are not entities: pronouns, adverbs and very general nouns.
var koreanCommon = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`우리 저희 그들 이것 그것 저것 이거 그거 여기 거기 저기 이런 그런 저런 이렇게 그렇게
		무엇 어떤 모든 가장 정말 지금 그냥 사실 때문 정도 경우 자신 누구 하나 이번 다음 이후 이전 만큼
		대부분 사람들 생각 이야기 그러나 하지만 그리고 그래서 또한 결국 이제 다시 아마 어쩌면 물론 바로`) {
		koreanCommon[w] = true
	}
}

// verbEndings are final syllables of Hangul stems that are inflected verbs or adjectives rather than
// nouns ("진행하는" → "진행하").
var verbEndings = "하되있없했된한할인적던될운는게"

// ExtractRules extracts the graph of text by rules:
//
//   - entities: `code spans`, short quotations, emphasised terms, runs of capitalised words
//     (a sentence's first word only when another capitalised word follows, leading articles dropped),
//     acronyms and identifiers (inner capitals, digits, underscores: "MoE", "GPT-4", "p53"), Latin
//     words inside Korean text ("Karpathy가"), and nouns the chunk repeats or puts in a heading or
//     emphasis: Korean stems from which a particle was stripped, Korean two-noun compounds ("보상
//     해킹"), and English words of four letters or more outside a common-word list;
//   - relations: co-occurrence of the strongest entities within the chunk, "X is a Y", "X of Y",
//     and Korean "X는 … Y이다" and "Y의 X" (X of Y).
//
// At most maxMentions entities are kept, strongest first. Text that yields nothing yields an empty
// Extraction.
func ExtractRules(text string) Extraction {
	x := extraction{text: text}
	x.headings()
	if strings.Contains(text, "://") || strings.Contains(text, "www.") {
		for _, m := range urlSpan().FindAllStringIndex(text, -1) {
			x.covered = append(x.covered, [2]int{m[0], m[1]})
		}
	}
	x.marked()
	x.latin()
	x.korean()
	return x.result()
}

type extraction struct {
	text     string
	occs     []occurrence
	strongAt [][2]int // spans of headings and emphasis
	covered  [][2]int // spans already taken by code, quotes and emphasis
}

func (x *extraction) add(o occurrence) {
	if o.key == "" || utf8.RuneCountInString(o.key) < 2 {
		return
	}
	for _, s := range x.strongAt {
		if o.start >= s[0] && o.end <= s[1] {
			o.strong = true
		}
	}
	x.occs = append(x.occs, o)
}

func inside(spans [][2]int, start, end int) bool {
	for _, s := range spans {
		if start >= s[0] && end <= s[1] {
			return true
		}
	}
	return false
}

// headings marks Markdown heading lines as strong.
func (x *extraction) headings() {
	off := 0
	for _, line := range strings.SplitAfter(x.text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			x.strongAt = append(x.strongAt, [2]int{off, off + len(line)})
		}
		off += len(line)
	}
}

// marked finds code spans, emphasised terms and short quotations.
func (x *extraction) marked() {
	if !strings.ContainsAny(x.text, "`*_\"“「'") {
		return
	}
	for _, m := range codeSpan().FindAllStringSubmatchIndex(x.text, -1) {
		name := x.text[m[2]:m[3]]
		x.add(occurrence{key: EntityKey(name), name: name, kind: KindCode, start: m[2], end: m[3]})
		x.covered = append(x.covered, [2]int{m[0], m[1]})
	}
	for _, m := range emphasis().FindAllStringSubmatchIndex(x.text, -1) {
		x.strongAt = append(x.strongAt, [2]int{m[0], m[1]})
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] < 0 {
				continue
			}
			name := strings.TrimSpace(x.text[m[g]:m[g+1]])
			if n := len(Words(name)); n > 0 && n <= maxEntityWord && !inside(x.covered, m[0], m[1]) {
				x.add(occurrence{key: EntityKey(name), name: name, kind: KindTerm, start: m[g], end: m[g+1], after: x.particleAt(m[1])})
			}
		}
	}
	for _, m := range quoted().FindAllStringSubmatchIndex(x.text, -1) {
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] < 0 {
				continue
			}
			name := strings.TrimSpace(x.text[m[g]:m[g+1]])
			if strings.Contains(name, "\n") || inside(x.covered, m[0], m[1]) {
				continue
			}
			if n := len(Words(name)); n > 0 && n <= maxEntityWord {
				x.add(occurrence{key: EntityKey(name), name: name, kind: KindQuote, start: m[g], end: m[g+1], after: x.particleAt(m[1])})
				x.covered = append(x.covered, [2]int{m[0], m[1]})
			}
		}
	}
}

// particleAt returns the Hangul particle that starts at byte i, when the Hangul run there is one.
func (x *extraction) particleAt(i int) string {
	j := i
	for j < len(x.text) {
		r, n := utf8.DecodeRuneInString(x.text[j:])
		if r < 0xAC00 || r > 0xD7A3 {
			break
		}
		j += n
	}
	run := x.text[i:j]
	if run == "" {
		return ""
	}
	if isParticle(run) || slicesContains(copulas, run) {
		return run
	}
	return ""
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// sentenceStart reports whether the word at byte i begins a sentence or a line.
func (x *extraction) sentenceStart(i int) bool {
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(x.text[:i])
		switch {
		case r == '\n' || r == '.' || r == '!' || r == '?' || r == ':' || r == '。':
			return true
		case unicode.IsSpace(r) || strings.ContainsRune(`"'“‘(*#>-[_`, r) || unicode.IsDigit(r) && r < 0x80:
			i -= n
		default:
			return false
		}
	}
	return true
}

// latin finds names, acronyms and identifiers, and frequent English nouns.
func (x *extraction) latin() {
	type word struct {
		text       string
		start, end int
	}
	var words []word
	for _, m := range latinWords(x.text) {
		words = append(words, word{x.text[m[0]:m[1]], m[0], m[1]})
	}
	ident := func(w string) bool {
		letter, strong := false, false
		for _, r := range w {
			if unicode.IsLetter(r) {
				letter = true
			}
			if unicode.IsDigit(r) || r == '_' {
				strong = true
			}
		}
		if !letter {
			return false
		}
		upper := 0
		for _, r := range w {
			if unicode.IsUpper(r) {
				upper++
			}
		}
		return strong && identifier(w) || upper >= 2 && utf8.RuneCountInString(w) >= 2 || identifier(w) && upper >= 1
	}
	capital := func(w string) bool {
		r, _ := utf8.DecodeRuneInString(w)
		return unicode.IsUpper(r) && utf8.RuneCountInString(w) >= 2
	}
	hangulNext := func(end int) bool {
		r, _ := utf8.DecodeRuneInString(x.text[end:])
		return r >= 0xAC00 && r <= 0xD7A3
	}
	counts := map[string]int{}
	nameWords := map[string]bool{}
	var initial []word
	for i := 0; i < len(words); {
		w := words[i]
		if inside(x.covered, w.start, w.end) || !(capital(w.text) || ident(w.text)) {
			if k := strings.ToLower(w.text); utf8.RuneCountInString(k) >= 4 && !englishCommon[k] && !ident(w.text) && isAlpha(k) && !inside(x.covered, w.start, w.end) {
				counts[k]++
			}
			i++
			continue
		}
		// A run of capitalised words or identifiers separated by single spaces, perhaps joined by
		// "of", "for", "the" or "de" ("Mixture of Experts").
		namey := func(j int) bool {
			return j < len(words) && (capital(words[j].text) || ident(words[j].text)) && x.text[words[j-1].end:words[j].start] == " " &&
				!inside(x.covered, words[j].start, words[j].end)
		}
		j := i + 1
		for {
			if namey(j) {
				j++
				continue
			}
			if j+1 < len(words) && connectors[words[j].text] && x.text[words[j-1].end:words[j].start] == " " && namey(j+1) {
				j += 2
				continue
			}
			break
		}
		run := words[i:j]
		start := x.sentenceStart(run[0].start)
		if start && len(run) > 1 && englishCommon[strings.ToLower(run[0].text)] {
			run, start = run[1:], false
		}
		for _, r := range run {
			if ident(r.text) {
				x.add(occurrence{key: EntityKey(r.text), name: r.text, kind: KindAcronym, start: r.start, end: r.end, after: x.particleAt(r.end)})
			}
		}
		first, last := run[0], run[len(run)-1]
		switch {
		case len(run) > 1:
			name := x.text[first.start:last.end]
			x.add(occurrence{key: EntityKey(name), name: name, kind: KindName, start: first.start, end: last.end, after: x.particleAt(last.end)})
		case ident(first.text):
		case englishCommon[strings.ToLower(first.text)] || strings.ContainsAny(first.text, "'’"):
		case !start || hangulNext(first.end):
			x.add(occurrence{key: EntityKey(first.text), name: first.text, kind: KindName, start: first.start, end: first.end, after: x.particleAt(first.end)})
			nameWords[strings.ToLower(first.text)] = true
		default:
			initial = append(initial, first)
		}
		if len(run) > 1 {
			for _, r := range run {
				nameWords[strings.ToLower(r.text)] = true
			}
		}
		i = j
	}
	// A capitalised word that starts a sentence is a name when the chunk also writes it as one
	// elsewhere ("Andrej Karpathy … Karpathy says"), not when it is an ordinary word ("Patients").
	for _, w := range initial {
		if nameWords[strings.ToLower(w.text)] {
			x.add(occurrence{key: EntityKey(w.text), name: w.text, kind: KindName, start: w.start, end: w.end, after: x.particleAt(w.end)})
		}
	}
	for _, w := range words {
		k := strings.ToLower(w.text)
		// A candidate noun: result keeps it when repeated, marked, or one end of a pattern.
		if c := counts[k]; c > 0 && !inside(x.covered, w.start, w.end) && !(capital(w.text) || ident(w.text)) {
			x.add(occurrence{key: k, name: k, kind: KindNoun, start: w.start, end: w.end})
		}
	}
}

// latinWords returns the byte spans of the Latin-script words of text: runs of Latin letters and
// digits, joined by single inner characters among _ - . / + ' ’ ("GPT-4", "max_tokens", "we’re"),
// with an optional trailing "+" ("CD4+"). (A hand-written scanner: the equivalent regular expression
// took most of the extraction's time.)
func latinWords(text string) [][2]int {
	alnum := func(r rune) bool { return unicode.IsDigit(r) || unicode.Is(unicode.Latin, r) }
	var out [][2]int
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !alnum(r) {
			i += n
			continue
		}
		start := i
		i += n
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if alnum(r) {
				i += n
				continue
			}
			if strings.ContainsRune("_-./+'’", r) && i+n < len(text) {
				if r2, _ := utf8.DecodeRuneInString(text[i+n:]); alnum(r2) {
					i += n
					continue
				}
			}
			break
		}
		if i < len(text) && text[i] == '+' {
			i++
		}
		out = append(out, [2]int{start, i})
	}
	return out
}

func isAlpha(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// korean finds nouns: stems of Hangul words that carried a particle, the same stems written bare,
// and two-noun compounds, when the chunk repeats them or marks them.
func (x *extraction) korean() {
	type hword struct {
		stem, particle string
		start, end     int // of the stem
	}
	if !strings.ContainsFunc(x.text, func(r rune) bool { return r >= 0xAC00 && r <= 0xD7A3 }) {
		return
	}
	var ws []hword
	for _, m := range hangulRun().FindAllStringIndex(x.text, -1) {
		w := x.text[m[0]:m[1]]
		// A run glued to a preceding Latin word or digit is that word's particle ("Karpathy가").
		if m[0] > 0 {
			if r, _ := utf8.DecodeLastRuneInString(x.text[:m[0]]); unicode.IsLetter(r) || unicode.IsDigit(r) {
				continue
			}
		}
		stem := stripParticle(w)
		ws = append(ws, hword{stem, w[len(stem):], m[0], m[0] + len(stem)})
	}
	noun := func(stem string) bool {
		n := utf8.RuneCountInString(stem)
		if n < 2 || n > 8 || koreanCommon[stem] {
			return false
		}
		last, _ := utf8.DecodeLastRuneInString(stem)
		return !strings.ContainsRune(verbEndings, last) && !strings.ContainsRune("다요죠고서면며지니까", last)
	}
	stems := map[string]bool{}
	for _, w := range ws {
		if w.particle != "" && noun(w.stem) {
			stems[w.stem] = true
		}
	}
	for i, w := range ws {
		if !stems[w.stem] {
			continue
		}
		x.add(occurrence{key: w.stem, name: w.stem, kind: KindNoun, start: w.start, end: w.end, after: w.particle})
		// A bare noun right before this one forms a compound ("보상 해킹이").
		if i > 0 {
			p := ws[i-1]
			if p.particle == "" && (stems[p.stem] || noun(p.stem) && utf8.RuneCountInString(p.stem) <= 4) && x.text[p.end:w.start] == " " {
				name := x.text[p.start:w.end]
				x.add(occurrence{key: p.stem + " " + w.stem, name: name, kind: KindNoun, start: p.start, end: w.end, after: w.particle})
			}
		}
	}
}

// KindRank orders entity kinds, strongest first (0 for KindCode … 5 for KindNoun and unknown kinds).
func KindRank(k string) int {
	switch k {
	case KindCode:
		return 0
	case KindName:
		return 1
	case KindAcronym:
		return 2
	case KindQuote:
		return 3
	case KindTerm:
		return 4
	}
	return 5
}

// result aggregates the occurrences into mentions and finds the relations.
func (x *extraction) result() Extraction {
	sort.SliceStable(x.occs, func(i, j int) bool { return x.occs[i].start < x.occs[j].start })
	sentence := x.sentences()
	// Patterns between consecutive occurrences of one sentence, over every candidate: a noun the
	// chunk names once becomes an entity when a pattern links it to another.
	rels := map[[3]string]float64{}
	for i := 0; i+1 < len(x.occs); i++ {
		a, b := x.occs[i], x.occs[i+1]
		if a.key == b.key || b.start < a.end || sentence(a.start) != sentence(b.start) {
			continue
		}
		gap := strings.ToLower(strings.TrimSpace(x.text[a.end:b.start]))
		switch {
		case gap == "is a" || gap == "is an" || gap == "is the" || gap == "was a" || gap == "was an" ||
			gap == "is a kind of" || gap == "is a type of" || gap == "are":
			rels[[3]string{a.key, b.key, RelIsA}]++
		case gap == "of" || gap == "of the" || gap == "of a":
			rels[[3]string{a.key, b.key, RelOf}]++
		case a.after == "의" && gap == "의":
			rels[[3]string{b.key, a.key, RelOf}]++
		case (a.after == "는" || a.after == "은") && slicesContains(copulas, b.after):
			rels[[3]string{a.key, b.key, RelIsA}]++
		}
	}
	type agg struct {
		m      Mention
		strong bool
	}
	byKey := map[string]*agg{}
	for _, o := range x.occs {
		a := byKey[o.key]
		if a == nil {
			a = &agg{m: Mention{Key: o.key, Name: o.name, Kind: o.kind}}
			byKey[o.key] = a
		}
		a.m.Count++
		a.strong = a.strong || o.strong
		if KindRank(o.kind) < KindRank(a.m.Kind) {
			a.m.Kind, a.m.Name = o.kind, o.name
		}
	}
	weak := func(a *agg) bool { return a.m.Kind == KindNoun && a.m.Count < 2 && !a.strong }
	// A weak end is promoted when the other end is not weak.
	patterned := map[string]bool{}
	for k := range rels {
		if !weak(byKey[k[0]]) || !weak(byKey[k[1]]) {
			patterned[k[0]], patterned[k[1]] = true, true
		}
	}
	var ms []Mention
	for _, a := range byKey {
		if weak(a) && !patterned[a.m.Key] {
			continue
		}
		ms = append(ms, a.m)
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if ra, rb := KindRank(a.Kind) < 5, KindRank(b.Kind) < 5; ra != rb {
			return ra
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Key < b.Key
	})
	if len(ms) > maxMentions {
		ms = ms[:maxMentions]
	}
	kept := map[string]bool{}
	for _, m := range ms {
		kept[m.Key] = true
	}
	for k := range rels {
		if !kept[k[0]] || !kept[k[1]] {
			delete(rels, k)
		}
	}
	// Co-occurrence of the strongest entities, heavier within a sentence.
	together := map[[2]string]bool{}
	for i, a := range x.occs {
		if !kept[a.key] {
			continue
		}
		for _, b := range x.occs[i+1:] {
			if sentence(b.start) != sentence(a.start) {
				break
			}
			if kept[b.key] {
				together[[2]string{min(a.key, b.key), max(a.key, b.key)}] = true
			}
		}
	}
	top := ms[:min(len(ms), maxCooccur)]
	for i, a := range top {
		for _, b := range top[i+1:] {
			k := [2]string{min(a.Key, b.Key), max(a.Key, b.Key)}
			w := 1.0
			if together[k] {
				w = 2
			}
			rels[[3]string{k[0], k[1], RelCooccurs}] = w
		}
	}
	out := Extraction{Mentions: ms}
	for k, w := range rels {
		out.Relations = append(out.Relations, Relation{From: k[0], To: k[1], Kind: k[2], Weight: w})
	}
	sort.Slice(out.Relations, func(i, j int) bool {
		a, b := out.Relations[i], out.Relations[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Kind < b.Kind
	})
	return out
}

// sentences returns a function that maps a byte offset to the index of its sentence.
func (x *extraction) sentences() func(int) int {
	var ends []int
	for i, r := range x.text {
		if r == '\n' || r == '。' || (r == '.' || r == '!' || r == '?') && (i+1 >= len(x.text) || x.text[i+1] == ' ' || x.text[i+1] == '\n') {
			ends = append(ends, i)
		}
	}
	return func(off int) int { return sort.SearchInts(ends, off) }
}

// maxKeyBytes bounds an entity key (and name): longer ones are dropped, since B-tree keys have size
// limits and a 200-byte "name" is not one.
const maxKeyBytes = 200

// ExtractGraph runs x (RuleExtractor when nil) over text and makes its result safe to store, so that
// a plugged-in extractor cannot break a store's invariants: mentions without a key, with a key or
// name over 200 bytes, or not valid UTF-8 are dropped, repeated keys merged (counts summed, at least
// 1), at most maxMentions kept; relations whose ends are not both mentioned, or that link an entity
// to itself, are dropped, and repeated ones merged (weights summed). Co-occurrences are put in
// From < To order.
func ExtractGraph(ctx context.Context, x Extractor, text string) (Extraction, error) {
	if x == nil {
		x = RuleExtractor{}
	}
	raw, err := x.Extract(ctx, text)
	if err != nil {
		return Extraction{}, err
	}
	var out Extraction
	byKey := map[string]int{}
	for _, m := range raw.Mentions {
		if m.Key == "" || len(m.Key) > maxKeyBytes || !utf8.ValidString(m.Key) {
			continue
		}
		if m.Name == "" || len(m.Name) > maxKeyBytes || !utf8.ValidString(m.Name) || strings.ContainsRune(m.Name, 0) {
			m.Name = m.Key
		}
		if m.Kind == "" {
			m.Kind = KindNoun
		}
		m.Count = max(1, m.Count)
		if i, ok := byKey[m.Key]; ok {
			out.Mentions[i].Count += m.Count
			continue
		}
		if len(out.Mentions) == maxMentions {
			continue
		}
		byKey[m.Key] = len(out.Mentions)
		out.Mentions = append(out.Mentions, m)
	}
	byRel := map[[3]string]int{}
	for _, r := range raw.Relations {
		_, okF := byKey[r.From]
		_, okT := byKey[r.To]
		if !okF || !okT || r.From == r.To || r.Kind == "" || len(r.Kind) > 32 || math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) {
			continue
		}
		if r.Kind == RelCooccurs && r.From > r.To {
			r.From, r.To = r.To, r.From
		}
		k := [3]string{r.From, r.To, r.Kind}
		if i, ok := byRel[k]; ok {
			out.Relations[i].Weight += r.Weight
			continue
		}
		byRel[k] = len(out.Relations)
		out.Relations = append(out.Relations, r)
	}
	return out, nil
}
