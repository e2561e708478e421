package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Pre-tokenizers split text into words before byte-level BPE. The models define them as regular
// expressions with a negative lookahead (\s+(?!\S)), which Go's regexp cannot express, so each is a
// hand-written scanner that takes, at every position, the first alternative of the regex that
// matches, exactly as a backtracking regex engine would. Character classes follow the regex: \p{L} is
// unicode.IsLetter, \p{N} unicode.IsNumber, \s unicode.IsSpace (the same set llama.cpp uses). Invalid
// UTF-8 bytes count as one non-letter, non-digit, non-space character each, so words always cover the
// input byte for byte.

// preTokenizer splits text into words appended to dst.
type preTokenizer struct {
	split        func(text string, dst []string) []string
	ignoreMerges bool // llama.cpp emits a word that is itself a token without running merges
}

// preTokenizers maps tokenizer.ggml.pre values to scanners. The aliases are the names llama.cpp
// gives the same regexes.
var preTokenizers = map[string]preTokenizer{
	"":                 {split: splitGPT2},
	"default":          {split: splitGPT2},
	"gpt2":             {split: splitGPT2},
	"gpt-2":            {split: splitGPT2},
	"mpt":              {split: splitGPT2},
	"olmo":             {split: splitGPT2},
	"jais":             {split: splitGPT2},
	"llama3":           {split: splitLlama3, ignoreMerges: true},
	"llama-v3":         {split: splitLlama3, ignoreMerges: true},
	"llama-bpe":        {split: splitLlama3, ignoreMerges: true},
	"falcon3":          {split: splitLlama3, ignoreMerges: true},
	"smaug-bpe":        {split: splitLlama3},
	"dbrx":             {split: splitLlama3},
	"qwen2":            {split: splitQwen2},
	"stablelm2":        {split: splitQwen2},
	"deepseek-r1-qwen": {split: splitQwen2},
	"smollm":           {split: splitSmolLM},
	"starcoder":        {split: splitSmolLM},
	"refact":           {split: splitSmolLM},
	"command-r":        {split: splitSmolLM},
	"codeshell":        {split: splitSmolLM},
	"exaone":           {split: splitSmolLM},
}

// scanner walks text one character at a time.
type scanner struct {
	s string
}

// at returns the character at byte offset i and its size; size 0 at the end.
func (sc scanner) at(i int) (rune, int) {
	if i >= len(sc.s) {
		return -1, 0
	}
	if c := sc.s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(sc.s[i:])
	if r == utf8.RuneError && n == 1 {
		return -2, 1 // an invalid byte: neither letter, digit nor space
	}
	return r, n
}

// isLetter is \p{L}. Negative runes (end of text, invalid byte) are in no class.
func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

// isNumber is \p{N}.
func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsNumber(r)
}

// isSpace is \s.
func isSpace(r rune) bool { return r >= 0 && unicode.IsSpace(r) }

// isOther reports [^\s\p{L}\p{N}] for a character that exists (r != -1).
func isOther(r rune) bool { return r != -1 && !isSpace(r) && !isLetter(r) && !isNumber(r) }

// run returns the end of the run of characters from i that satisfy f.
func (sc scanner) run(i int, f func(rune) bool) int {
	for {
		r, n := sc.at(i)
		if n == 0 || !f(r) {
			return i
		}
		i += n
	}
}

// contraction returns the length of 's|'t|'re|'ve|'m|'ll|'d at i (0 if none), ignoring case when fold.
func (sc scanner) contraction(i int, fold bool) int {
	if i >= len(sc.s) || sc.s[i] != '\'' {
		return 0
	}
	lower := func(j int) byte {
		if j >= len(sc.s) {
			return 0
		}
		c := sc.s[j]
		if fold && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch c := lower(i + 1); c {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if lower(i+2) == 'e' {
			return 3
		}
	case 'l':
		if lower(i+2) == 'l' {
			return 3
		}
	}
	return 0
}

// whitespace handles the trailing alternatives shared by all patterns at i, where a whitespace
// character starts: \s+(?!\S) takes a run of whitespace except its last character when a
// non-space follows (so that character can lead the next word), \s+ takes a lone one.
func (sc scanner) whitespace(i int) int {
	end := sc.run(i, isSpace)
	if end == len(sc.s) {
		return end
	}
	_, last := utf8.DecodeLastRuneInString(sc.s[i:end])
	if end-last > i {
		return end - last
	}
	return end
}

// splitGPT2 implements 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+.
func splitGPT2(text string, dst []string) []string {
	sc := scanner{text}
	for i := 0; i < len(text); {
		end := sc.gpt2Word(i)
		dst = append(dst, text[i:end])
		i = end
	}
	return dst
}

func (sc scanner) gpt2Word(i int) int {
	if n := sc.contraction(i, false); n > 0 {
		return i + n
	}
	r, n := sc.at(i)
	j, r2 := i, r
	if r == ' ' {
		j = i + n
		r2, _ = sc.at(j)
	}
	switch {
	case isLetter(r2):
		return sc.run(j, isLetter)
	case isNumber(r2):
		return sc.run(j, isNumber)
	case isOther(r2):
		return sc.run(j, isOther)
	}
	if isSpace(r) {
		return sc.whitespace(i)
	}
	return i + n // unreachable for real text: every character is in one class
}

// splitLlama3 implements
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+.
func splitLlama3(text string, dst []string) []string { return splitLlamaLike(text, dst, 3) }

// splitQwen2 implements the llama3 pattern with \p{N} (one digit per word) instead of \p{N}{1,3}.
func splitQwen2(text string, dst []string) []string { return splitLlamaLike(text, dst, 1) }

func splitLlamaLike(text string, dst []string, maxDigits int) []string {
	sc := scanner{text}
	for i := 0; i < len(text); {
		end := sc.llamaWord(i, maxDigits)
		dst = append(dst, text[i:end])
		i = end
	}
	return dst
}

func (sc scanner) llamaWord(i, maxDigits int) int {
	if n := sc.contraction(i, true); n > 0 {
		return i + n
	}
	r, n := sc.at(i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isLetter(r) {
		return sc.run(i+n, isLetter)
	}
	if r != '\r' && r != '\n' && !isNumber(r) {
		if r2, _ := sc.at(i + n); isLetter(r2) {
			return sc.run(i+n, isLetter)
		}
	}
	// \p{N}{1,maxDigits}
	if isNumber(r) {
		j := i
		for k := 0; k < maxDigits; k++ {
			r2, n2 := sc.at(j)
			if !isNumber(r2) {
				break
			}
			j += n2
		}
		return j
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	j, r2 := i, r
	if r == ' ' {
		j = i + n
		r2, _ = sc.at(j)
	}
	if isOther(r2) {
		j = sc.run(j, isOther)
		return sc.run(j, func(c rune) bool { return c == '\r' || c == '\n' })
	}
	if !isSpace(r) {
		return i + n // unreachable for real text
	}
	// \s*[\r\n]+ : the longest whitespace prefix that ends in \r or \n.
	end := sc.run(i, isSpace)
	lastNL := -1
	for k := i; k < end; k++ {
		if c := sc.s[k]; c == '\r' || c == '\n' {
			lastNL = k + 1
		}
	}
	if lastNL > 0 {
		return lastNL
	}
	return sc.whitespace(i)
}

// splitSmolLM implements llama.cpp's two-stage split for "smollm" (and starcoder, refact, ...): first
// every \p{N} character becomes a word of its own, then the GPT-2 pattern splits the text between.
func splitSmolLM(text string, dst []string) []string {
	sc := scanner{text}
	start := 0
	for i := 0; i < len(text); {
		r, n := sc.at(i)
		if isNumber(r) {
			if start < i {
				dst = splitGPT2(text[start:i], dst)
			}
			dst = append(dst, text[i:i+n])
			start = i + n
		}
		i += n
	}
	if start < len(text) {
		dst = splitGPT2(text[start:], dst)
	}
	return dst
}
