package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// GPT-2 byte-level BPE, following llama.cpp's llm_tokenizer_bpe: the text is split into words by the
// pre-tokenizer, each word's bytes become symbols (one per byte, written in GPT-2's byte→unicode
// alphabet), and adjacent symbols are merged by merge rank, lowest rank first and leftmost on ties,
// until no adjacent pair has a rank.
//
// Symbols are tracked by piece id rather than by text so the merge loop allocates nothing: every
// token text, every merge side and every merge result gets a piece id (token texts keep their token
// id), and the merges table maps a pair of piece ids to its rank and result.

// byteToRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes map to themselves, the rest to
// U+0100 upwards in byte order.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var fwd [256]rune
	back := make(map[rune]byte, 256)
	n := rune(0)
	for b := range 256 {
		r := rune(b)
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if !printable {
			r = 256 + n
			n++
		}
		fwd[b] = r
		back[r] = byte(b)
	}
	return fwd, back
}()

// byteLevelDecode undoes the byte→unicode mapping of a token's text. Characters outside the mapping
// (which a well-formed vocabulary does not have) are kept as their UTF-8 bytes.
func byteLevelDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

type mergeKey struct{ left, right int32 }

type mergeVal struct{ rank, result int32 }

type bpeModel struct {
	pre           preTokenizer
	ignoreMerges  bool
	merges        map[mergeKey]mergeVal
	nTokens       int32
	bytePiece     [256]int32 // piece id of each byte's one-character symbol, -1 when none
	byteToken     [256]int   // token for a byte left unmerged, -1 when none
	fallbackToken int        // UNK or -1
}

func newBPEModel(t *Tokenizer, v Vocab) (*bpeModel, error) {
	pre, ok := preTokenizers[v.Pre]
	if !ok {
		return nil, fmt.Errorf("unsupported pre-tokenizer %q", v.Pre)
	}
	m := &bpeModel{
		pre:           pre,
		ignoreMerges:  pre.ignoreMerges,
		merges:        make(map[mergeKey]mergeVal, len(v.Merges)),
		nTokens:       int32(len(v.Tokens)),
		fallbackToken: v.UNK,
	}
	// Extra pieces (merge sides and results that are not tokens) get ids after the tokens.
	extra := map[string]int32{}
	piece := func(s string) int32 {
		if id, ok := t.ids[s]; ok {
			return int32(id)
		}
		if id, ok := extra[s]; ok {
			return id
		}
		id := m.nTokens + int32(len(extra))
		extra[s] = id
		return id
	}
	for rank, mg := range v.Merges {
		// As llama.cpp: split at the first space after the first byte, so a left side may not be empty.
		i := -1
		if len(mg) > 1 {
			if j := strings.IndexByte(mg[1:], ' '); j >= 0 {
				i = j + 1
			}
		}
		if i < 0 || i == len(mg)-1 {
			return nil, fmt.Errorf("merge %d %q is not two space-separated pieces", rank, mg)
		}
		l, r := mg[:i], mg[i+1:]
		key := mergeKey{piece(l), piece(r)}
		if _, dup := m.merges[key]; dup {
			continue // the first rank wins
		}
		m.merges[key] = mergeVal{rank: int32(rank), result: piece(l + r)}
	}
	for b := range 256 {
		s := string(byteToRune[b])
		m.bytePiece[b] = -1
		if id, ok := extra[s]; ok {
			m.bytePiece[b] = id
		}
		m.byteToken[b] = -1
		if id, ok := t.ids[s]; ok {
			m.bytePiece[b] = int32(id)
			m.byteToken[b] = id
		}
	}
	return m, nil
}

type bpeSymbol struct {
	start, end int32 // bytes of the word
	piece      int32 // -1 when the text is no known piece
	prev, next int32
	dead       bool
}

type bpeBigram struct {
	rank, left, right int32
	lp, rp            int32 // the pieces when queued, to detect stale entries
}

func bpeBefore(a, b bpeBigram) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.left < b.left
}

// bpeSession holds scratch space reused across the words of one Encode call.
type bpeSession struct {
	syms  []bpeSymbol
	q     queue[bpeBigram]
	words []string
	buf   []byte
}

func (s *bpeSession) encode(t *Tokenizer, text string, out []int) []int {
	m := t.bpe
	s.words = m.pre.split(text, s.words[:0])
	s.q.before = bpeBefore
	for _, w := range s.words {
		out = s.word(t, m, w, out)
	}
	return out
}

func (s *bpeSession) word(t *Tokenizer, m *bpeModel, w string, out []int) []int {
	if len(w) == 1 {
		if id := m.byteToken[w[0]]; id >= 0 {
			return append(out, id)
		}
	}
	if m.ignoreMerges {
		s.buf = s.buf[:0]
		for i := 0; i < len(w); i++ {
			s.buf = utf8.AppendRune(s.buf, byteToRune[w[i]])
		}
		if id, ok := t.ids[string(s.buf)]; ok {
			return append(out, id)
		}
	}
	s.syms = s.syms[:0]
	for i := 0; i < len(w); i++ {
		next := int32(i + 1)
		if i+1 == len(w) {
			next = -1
		}
		s.syms = append(s.syms, bpeSymbol{start: int32(i), end: int32(i + 1), piece: m.bytePiece[w[i]], prev: int32(i - 1), next: next})
	}
	s.q.reset()
	for i := 1; i < len(s.syms); i++ {
		s.tryAdd(m, int32(i-1), int32(i))
	}
	for s.q.len() > 0 {
		bg := s.q.pop()
		l, r := &s.syms[bg.left], &s.syms[bg.right]
		if l.dead || r.dead || l.next != bg.right || l.piece != bg.lp || r.piece != bg.rp {
			continue
		}
		l.end = r.end
		l.piece = m.merges[mergeKey{bg.lp, bg.rp}].result
		r.dead = true
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = bg.left
		}
		s.tryAdd(m, l.prev, bg.left)
		s.tryAdd(m, bg.left, l.next)
	}
	for i := int32(0); i != -1; i = s.syms[i].next {
		sym := s.syms[i]
		if sym.piece >= 0 && sym.piece < m.nTokens {
			out = append(out, int(sym.piece))
			continue
		}
		// Not a token (a merge result missing from the vocabulary, or a byte with no token): emit
		// its bytes one by one. llama.cpp looks bytes up as one-byte strings here, which loses the
		// non-ASCII ones; the byte-level characters are what the vocabulary holds.
		for j := sym.start; j < sym.end; j++ {
			if id := m.byteToken[w[j]]; id >= 0 {
				out = append(out, id)
			} else if m.fallbackToken >= 0 {
				out = append(out, m.fallbackToken)
			}
		}
	}
	return out
}

func (s *bpeSession) tryAdd(m *bpeModel, left, right int32) {
	if left < 0 || right < 0 {
		return
	}
	lp, rp := s.syms[left].piece, s.syms[right].piece
	if lp < 0 || rp < 0 {
		return
	}
	mv, ok := m.merges[mergeKey{lp, rp}]
	if !ok {
		return
	}
	s.q.push(bpeBigram{rank: mv.rank, left: left, right: right, lp: lp, rp: rp})
}
