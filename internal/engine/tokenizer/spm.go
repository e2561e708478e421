package tokenizer

import "unicode/utf8"

// SentencePiece-style encoding, following llama.cpp's llm_tokenizer_spm: the text (spaces already
// turned into ▁) is split into UTF-8 characters, then adjacent symbols are merged greedily, always
// taking the pair whose merged text is a token with the highest score (leftmost on ties), until no pair
// forms a token. Symbols left that are not tokens are emitted as byte-fallback tokens.
//
// llama.cpp keeps a rev_merge map to re-split symbols that are not tokens, but every merged symbol is a
// token by construction, so only unmerged characters can miss and those go straight to byte fallback.

type spmSymbol struct {
	start, n   int32 // bytes of the text; n == 0 once merged away
	prev, next int32
}

type spmBigram struct {
	score       float32
	left, right int32
	size        int32
}

func spmBefore(a, b spmBigram) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

// spmSession holds scratch space reused across the fragments of one Encode call.
type spmSession struct {
	syms []spmSymbol
	q    queue[spmBigram]
}

// charLen returns the length of the UTF-8 character at the start of s, 1 for an invalid byte.
// llama.cpp takes the length from the lead byte alone, so an invalid lead byte swallows the bytes
// after it (even a following ▁, which then decodes as raw bytes instead of a space); treating it as
// one byte keeps Decode(Encode(s)) == s for any input and changes nothing for valid UTF-8.
func charLen(s string) int {
	if s[0] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}

func (s *spmSession) encode(t *Tokenizer, text string, out []int) []int {
	if text == "" {
		return out
	}
	s.syms = s.syms[:0]
	for off := 0; off < len(text); {
		n := charLen(text[off:])
		i := int32(len(s.syms))
		next := i + 1
		if off+n == len(text) {
			next = -1
		}
		s.syms = append(s.syms, spmSymbol{start: int32(off), n: int32(n), prev: i - 1, next: next})
		off += n
	}
	s.q.before = spmBefore
	s.q.reset()
	for i := 1; i < len(s.syms); i++ {
		s.tryAdd(t, text, int32(i-1), int32(i))
	}
	for s.q.len() > 0 {
		bg := s.q.pop()
		l, r := &s.syms[bg.left], &s.syms[bg.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue // stale: one side was merged since this pair was queued
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = bg.left
		}
		s.tryAdd(t, text, l.prev, bg.left)
		s.tryAdd(t, text, bg.left, l.next)
	}
	for i := int32(0); i != -1; i = s.syms[i].next {
		sym := s.syms[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := range len(piece) {
			if id := t.byteTok[piece[j]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

func (s *spmSession) tryAdd(t *Tokenizer, text string, left, right int32) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.syms[left], s.syms[right]
	merged := text[l.start : r.start+r.n]
	id, ok := t.ids[merged]
	if !ok {
		return
	}
	s.q.push(spmBigram{score: t.scores[id], left: left, right: right, size: l.n + r.n})
}
