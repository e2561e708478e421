package uselite

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Piece is one entry of the SentencePiece vocabulary: the piece's text ("▁" marks a word start)
// and its unigram log-probability.
type Piece struct {
	Text  string
	Score float64
}

// reservedPieces is how many leading vocabulary entries (unknown, control and user-defined
// symbols) never take part in segmentation. Piece 0 is the unknown piece.
const reservedPieces = 6

// wordBoundary is SentencePiece's "▁" (U+2581), which stands for a space and marks a word start.
const wordBoundary = '\u2581'

// Tokenizer segments text into the ids of a SentencePiece unigram vocabulary the way the
// TensorFlow.js Universal Sentence Encoder does: NFKC normalisation, "▁" for every space and at the
// start, then the highest-scoring segmentation (Viterbi) over the vocabulary's scores, where a
// character no piece covers becomes the unknown id 0 and runs of unknowns collapse to one.
//
// It reproduces that implementation's choices, including ties going to the piece that starts
// last and an unreachable position counting as score 0. A Tokenizer is immutable and safe for
// concurrent use.
type Tokenizer struct {
	pieces []Piece
	// The piece trie: node 0 is the root, edges maps (node, next rune) to the child node, and
	// ends[node] is the id of the piece ending at node, or -1.
	edges map[trieEdge]int32
	ends  []int32
	// back[id] is how far the backward pass steps for id: the piece's length in UTF-16 code units,
	// as JavaScript's String.length counts it.
	back []int
	// wordLocal reports that every piece has "▁" only as its first rune and no rune outside the
	// Basic Multilingual Plane; then every segmentation cuts before each "▁" (see EncodePrefix).
	wordLocal bool
}

type trieEdge struct {
	node int32
	r    rune
}

// NewTokenizer builds a tokenizer over a vocabulary. Pieces before index 6 are reserved (piece 0 is
// the unknown piece); later pieces must be non-empty. When a piece text repeats, the later entry
// wins, as in the reference implementation.
func NewTokenizer(pieces []Piece) (*Tokenizer, error) {
	if len(pieces) <= reservedPieces {
		return nil, fmt.Errorf("vocabulary has %d pieces, want more than %d", len(pieces), reservedPieces)
	}
	t := &Tokenizer{
		pieces:    append([]Piece(nil), pieces...),
		edges:     map[trieEdge]int32{},
		ends:      []int32{-1},
		back:      make([]int, len(pieces)),
		wordLocal: true,
	}
	for id, p := range t.pieces {
		if !utf8.ValidString(p.Text) {
			return nil, fmt.Errorf("vocabulary piece %d is not valid UTF-8", id)
		}
		// A zero step would never end the backward pass; such a piece is only possible among the
		// reserved entries, which segmentation never produces except for the unknown piece.
		t.back[id] = max(1, len(utf16.Encode([]rune(p.Text))))
		if id < reservedPieces {
			continue
		}
		if p.Text == "" {
			return nil, fmt.Errorf("vocabulary piece %d is empty", id)
		}
		for k, r := range p.Text {
			if (r == wordBoundary && k > 0) || r > 0xFFFF {
				t.wordLocal = false
			}
		}
		t.insert(p.Text, int32(id))
	}
	// EncodePrefix also relies on "▁" alone being a piece, so that a word start is never unknown.
	if b := t.child(0, wordBoundary); b < 0 || t.ends[b] < 0 {
		t.wordLocal = false
	}
	return t, nil
}

func (t *Tokenizer) child(n int32, r rune) int32 {
	if c, ok := t.edges[trieEdge{n, r}]; ok {
		return c
	}
	return -1
}

func (t *Tokenizer) insert(text string, id int32) {
	n := int32(0)
	for _, r := range text {
		c := t.child(n, r)
		if c < 0 {
			c = int32(len(t.ends))
			t.ends = append(t.ends, -1)
			t.edges[trieEdge{n, r}] = c
		}
		n = c
	}
	t.ends[n] = id
}

// ParseVocab decodes a vocab.json: a JSON array of [piece, score] pairs.
func ParseVocab(data []byte) ([]Piece, error) {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("vocabulary: %w", err)
	}
	pieces := make([]Piece, len(raw))
	for k, pair := range raw {
		if len(pair) != 2 {
			return nil, fmt.Errorf("vocabulary entry %d has %d fields, want [piece, score]", k, len(pair))
		}
		if err := json.Unmarshal(pair[0], &pieces[k].Text); err != nil {
			return nil, fmt.Errorf("vocabulary entry %d: piece: %w", k, err)
		}
		if err := json.Unmarshal(pair[1], &pieces[k].Score); err != nil {
			return nil, fmt.Errorf("vocabulary entry %d: score: %w", k, err)
		}
	}
	return pieces, nil
}

// Len returns the number of pieces in the vocabulary.
func (t *Tokenizer) Len() int { return len(t.pieces) }

// Piece returns the text of piece id, or "" when id is out of range.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id].Text
}

// EncodePrefix returns the first max ids of Encode(text), or all of them when there are fewer. When
// the vocabulary's pieces carry "▁" only at their start (as USE-lite's do), every segmentation cuts
// before each "▁", and NFKC never joins across a space, so only a prefix of text ending before a
// space needs segmenting: the work is bounded by max, not by the length of text.
func (t *Tokenizer) EncodePrefix(text string, max int) []int32 {
	if max <= 0 {
		return nil
	}
	clip := func(ids []int32) []int32 { return ids[:min(len(ids), max)] }
	if !t.wordLocal {
		return clip(t.Encode(text))
	}
	for budget := 32 * (max + 1); ; budget *= 2 {
		if budget >= len(text) {
			return clip(t.Encode(text))
		}
		cut := strings.LastIndexByte(text[:budget], ' ')
		if cut <= 0 {
			continue
		}
		// The piece after the cut starts with "▁", which is never unknown, so the prefix's ids
		// (including its collapsed unknowns) are the full text's first ids.
		if ids := t.Encode(text[:cut]); len(ids) >= max {
			return ids[:max]
		}
	}
}

// edge is one lattice arc: a piece covering symbols [start, end).
type edge struct {
	start int32
	id    int32
	score float64
}

// Encode returns the piece ids of text. The empty string encodes to no ids. Time and memory grow
// linearly with the length of text; EncodePrefix bounds them when only the first ids matter.
func (t *Tokenizer) Encode(text string) []int32 {
	norm := NormalizeNFKC(text)
	if norm == "" {
		return nil
	}
	symbols := []rune(string(wordBoundary) + strings.ReplaceAll(norm, " ", string(wordBoundary)))
	n := len(symbols)

	// The lattice: ends[e] holds the arcs ending at e, in increasing start order.
	ends := make([][]edge, n+1)
	for i := range n {
		found := false
		node := int32(0)
		for j := i; j < n; j++ {
			node = t.child(node, symbols[j])
			if node < 0 {
				break
			}
			if id := t.ends[node]; id >= 0 {
				ends[j+1] = append(ends[j+1], edge{int32(i), id, t.pieces[id].Score})
				found = true
			}
		}
		if !found {
			ends[i+1] = append(ends[i+1], edge{int32(i), 0, 0})
		}
	}

	// Viterbi forward pass. As in the reference, best 0 means "not reached yet", an unreached
	// start counts as 0, and ties go to the later arc.
	best := make([]float64, n+1)
	words := make([]int32, n+1)
	for e := 1; e <= n; e++ {
		for _, a := range ends[e] {
			s := a.score + best[a.start]
			if best[e] == 0 || s >= best[e] {
				best[e], words[e] = s, a.id
			}
		}
	}

	// Backward pass, stepping by each chosen piece's length, then collapse unknown runs.
	var rev []int32
	for at := n; at > 0; at -= t.back[words[at]] {
		rev = append(rev, words[at])
	}
	ids := make([]int32, 0, len(rev))
	prevUnk := false
	for _, id := range rev {
		if !(prevUnk && id == 0) {
			ids = append(ids, id)
		}
		prevUnk = id == 0
	}
	for a, b := 0, len(ids)-1; a < b; a, b = a+1, b-1 {
		ids[a], ids[b] = ids[b], ids[a]
	}
	return ids
}
