package tokenizer

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file holds slow, obviously-correct reference implementations that the fast code is checked
// against.

// ws is \s as llama.cpp and unicode.IsSpace define it (Go's regexp \s is ASCII-only).
const ws = `\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

// refPatterns are the models' regexes with \s+(?!\S) replaced by \s+ (the lookahead is emulated in
// refSplit). Contractions spell out their case variants so Go's Unicode case folding (ſ matches s)
// does not apply.
var refPatterns = map[string]*regexp.Regexp{
	"gpt2": regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^` + ws + `\p{L}\p{N}]+|[` + ws + `]+)`),
	"llama3": regexp.MustCompile(`^(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^` +
		ws + `\p{L}\p{N}]+[\r\n]*|[` + ws + `]*[\r\n]+|[` + ws + `]+)`),
	"qwen2": regexp.MustCompile(`^(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^` +
		ws + `\p{L}\p{N}]+[\r\n]*|[` + ws + `]*[\r\n]+|[` + ws + `]+)`),
}

var refSpace = regexp.MustCompile(`^[` + ws + `]+$`)

// refSplit splits text with a reference regex. A whitespace match that \s+ produced and that is
// followed by more text gives back its last character, which is what \s+(?!\S) does when it comes
// before \s+ in the pattern. In the llama3 family a whitespace match holding a line break came from
// \s*[\r\n]+ (which precedes both), so it is left alone when nlFirst.
func refSplit(re *regexp.Regexp, text string, nlFirst bool) []string {
	var out []string
	for pos := 0; pos < len(text); {
		loc := re.FindStringIndex(text[pos:])
		end := pos + 1
		if loc != nil && loc[1] > 0 {
			end = pos + loc[1]
		}
		m := text[pos:end]
		if end < len(text) && refSpace.MatchString(m) && (!nlFirst || !strings.ContainsAny(m, "\r\n")) {
			if _, n := utf8.DecodeLastRuneInString(m); n < len(m) {
				end -= n
			}
		}
		out = append(out, text[pos:end])
		pos = end
	}
	return out
}

// newRefBPE returns llama.cpp's BPE merge loop done the slow way: repeatedly merge the adjacent pair
// with the lowest merge rank (leftmost on ties) in each word.
func newRefBPE(v Vocab) func(words []string) []int {
	ids := map[string]int{}
	for i, s := range v.Tokens {
		ids[s] = i
	}
	rank := map[string]int{}
	for i, m := range v.Merges {
		if _, ok := rank[m]; !ok {
			rank[m] = i
		}
	}
	whole := preTokenizers[v.Pre].ignoreMerges
	return func(words []string) []int {
		var out []int
		for _, w := range words {
			if id, ok := ids[byteLevelEncode(w)]; ok && whole {
				out = append(out, id) // llama.cpp's ignore_merges
				continue
			}
			out = append(out, refBPEWords(v, ids, rank, []string{w})...)
		}
		return out
	}
}

func refBPEWords(v Vocab, ids, rank map[string]int, words []string) []int {
	var out []int
	for _, w := range words {
		var syms []string
		for i := 0; i < len(w); i++ {
			syms = append(syms, string(byteToRune[w[i]]))
		}
		for {
			best, bestRank := -1, 0
			for i := 1; i < len(syms); i++ {
				if r, ok := rank[syms[i-1]+" "+syms[i]]; ok && (best < 0 || r < bestRank) {
					best, bestRank = i-1, r
				}
			}
			if best < 0 {
				break
			}
			syms = append(syms[:best], append([]string{syms[best] + syms[best+1]}, syms[best+2:]...)...)
		}
		for _, s := range syms {
			if id, ok := ids[s]; ok {
				out = append(out, id)
				continue
			}
			for _, r := range s {
				if id, ok := ids[string(r)]; ok {
					out = append(out, id)
				} else if v.UNK >= 0 {
					out = append(out, v.UNK)
				}
			}
		}
	}
	return out
}

// refSPM is llama.cpp's SentencePiece merge loop done the slow way: repeatedly merge the adjacent
// pair whose concatenation is the token with the highest score (leftmost on ties), then emit byte
// fallback for symbols that are not tokens. text must already have ▁ for spaces.
func refSPM(t *Tokenizer, text string) []int {
	var syms []string
	for off := 0; off < len(text); {
		_, n := utf8.DecodeRuneInString(text[off:])
		syms = append(syms, text[off:off+n])
		off += n
	}
	for {
		best := -1
		var bestScore float32
		for i := 1; i < len(syms); i++ {
			if id, ok := t.ids[syms[i-1]+syms[i]]; ok && (best < 0 || t.scores[id] > bestScore) {
				best, bestScore = i-1, t.scores[id]
			}
		}
		if best < 0 {
			break
		}
		syms = append(syms[:best], append([]string{syms[best] + syms[best+1]}, syms[best+2:]...)...)
	}
	var out []int
	for _, s := range syms {
		if id, ok := t.ids[s]; ok {
			out = append(out, id)
			continue
		}
		for i := 0; i < len(s); i++ {
			if id := t.byteTok[s[i]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}
