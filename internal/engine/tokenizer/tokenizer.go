// Package tokenizer turns text into token ids and back for the embedded engine. It implements the two
// vocabulary kinds GGUF models carry: SentencePiece-style vocabularies ("llama": score-ordered merges
// with <0xNN> byte fallback) and GPT-2 byte-level BPE ("gpt2": ranked merges over a byte→unicode
// mapping, after a pre-tokenizer chosen by tokenizer.ggml.pre). The algorithms follow llama.cpp's
// llama-vocab.cpp so that prompts tokenize to the same ids as there.
//
// The package reads no files: internal/engine builds a Vocab from GGUF metadata (see FromMetadata) and
// calls New. It imports only the standard library and internal/fault.
//
// A Tokenizer is immutable after New and safe for concurrent use.
package tokenizer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// Token types, as stored in tokenizer.ggml.token_type.
const (
	TypeUndefined   int32 = 0
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// Vocabulary kinds, as stored in tokenizer.ggml.model.
const (
	ModelLlama = "llama" // SentencePiece-style
	ModelGPT2  = "gpt2"  // byte-level BPE
)

// Vocab is a model's vocabulary as GGUF stores it. New never modifies its slices; the Tokenizer keeps
// Tokens, so the caller must not change that slice afterwards.
type Vocab struct {
	// Model is "llama" (SentencePiece-style) or "gpt2" (byte-level BPE), as tokenizer.ggml.model.
	Model string
	// Pre names the pre-tokenizer of a gpt2 vocabulary, as tokenizer.ggml.pre: "default", "gpt2",
	// "llama3" (or "llama-bpe"), "qwen2", "smollm" and a few aliases. It is ignored for llama.
	Pre string
	// Tokens holds each token's text; the index is the token id.
	Tokens []string
	// Scores holds SentencePiece merge scores; nil means all zero.
	Scores []float32
	// Types holds each token's type (TypeNormal, TypeControl, ...); nil means all normal.
	Types []int32
	// Merges holds "left right" pairs in rank order (gpt2 only).
	Merges []string
	// BOS, EOS, UNK, PAD, EOT and EOM are special token ids, -1 when absent.
	BOS, EOS, UNK, PAD, EOT, EOM int
	// AddBOS and AddEOS say whether Encode with AddSpecial adds BOS and EOS.
	AddBOS, AddEOS bool
	// AddSpacePrefix says whether a llama vocabulary prefixes text with a space (▁).
	AddSpacePrefix bool
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS and/or EOS as the vocabulary asks (Vocab.AddBOS, Vocab.AddEOS).
	AddSpecial bool
	// ParseSpecial recognises the texts of control tokens (such as "<|im_start|>") inside the text
	// and emits their ids. Rendered chat templates need it; untrusted text may be encoded without it,
	// so that a user cannot forge control tokens. User-defined tokens are recognised either way, as
	// llama.cpp and Hugging Face tokenizers do: they are ordinary vocabulary, not control.
	ParseSpecial bool
}

type kind uint8

const (
	kindSPM kind = iota
	kindBPE
)

// Tokenizer encodes and decodes text with one vocabulary.
type Tokenizer struct {
	v     Vocab
	kind  kind
	types []int32
	ids   map[string]int
	// bytes holds what each token contributes to decoded text.
	bytes [][]byte
	// special lists the tokens split out before the tokenizer proper, longest text first.
	special []int
	eog     []bool

	// SentencePiece.
	scores  []float32
	byteTok [256]int // token for each byte in byte fallback, -1 when none

	// Byte-level BPE.
	bpe *bpeModel
}

// eogNames are the texts of tokens that end generation even when the vocabulary does not name them as
// EOS, EOT or EOM (the same list llama.cpp uses).
var eogNames = map[string]bool{
	"<|eot_id|>":         true,
	"<|im_end|>":         true,
	"<|end|>":            true,
	"<end_of_turn>":      true,
	"<|endoftext|>":      true,
	"<|eom_id|>":         true,
	"<EOT>":              true,
	"_<EOT>":             true,
	"<|end_of_text|>":    true,
	"<end_of_utterance>": true,
}

// New validates v and builds a Tokenizer. Errors are classified fault.Unprocessable: a bad vocabulary
// means a corrupt or unsupported model file.
func New(v Vocab) (*Tokenizer, error) {
	t, err := build(v)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "invalid tokenizer vocabulary")
	}
	return t, nil
}

func build(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("no tokens")
	}
	t := &Tokenizer{v: v, ids: make(map[string]int, n)}
	switch v.Model {
	case ModelLlama:
		t.kind = kindSPM
	case ModelGPT2:
		t.kind = kindBPE
	default:
		return nil, fmt.Errorf("unsupported tokenizer model %q (want %q or %q)", v.Model, ModelLlama, ModelGPT2)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("%d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("%d token types for %d tokens", len(v.Types), n)
	}
	t.types = make([]int32, n)
	for i := range t.types {
		t.types[i] = TypeNormal
		if v.Types != nil {
			ty := v.Types[i]
			if ty < TypeUndefined || ty > TypeByte {
				return nil, fmt.Errorf("token %d has unknown type %d", i, ty)
			}
			t.types[i] = ty
		}
	}
	t.scores = make([]float32, n)
	copy(t.scores, v.Scores)
	for _, s := range []struct {
		name string
		id   int
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}, {"PAD", v.PAD}, {"EOT", v.EOT}, {"EOM", v.EOM}} {
		if s.id < -1 || s.id >= n {
			return nil, fmt.Errorf("%s token id %d out of range [0, %d)", s.name, s.id, n)
		}
	}
	if v.AddBOS && v.BOS < 0 {
		return nil, fmt.Errorf("vocabulary asks to add BOS but has no BOS token")
	}
	if v.AddEOS && v.EOS < 0 {
		return nil, fmt.Errorf("vocabulary asks to add EOS but has no EOS token")
	}
	for i, s := range v.Tokens {
		// Later duplicates win, as in llama.cpp's token_to_id map.
		t.ids[s] = i
	}

	t.bytes = make([][]byte, n)
	t.eog = make([]bool, n)
	for i, s := range v.Tokens {
		if eogNames[s] {
			// As llama.cpp: a token named like an end-of-turn marker ends generation and is
			// treated as control whatever type the file gives it.
			t.types[i] = TypeControl
			t.eog[i] = true
		}
		t.bytes[i] = t.pieceBytes(i, s)
		ty := t.types[i]
		if (ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown) && s != "" {
			t.special = append(t.special, i)
		}
	}
	for _, id := range []int{v.EOS, v.EOT, v.EOM} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	slices.SortStableFunc(t.special, func(a, b int) int {
		return len(v.Tokens[b]) - len(v.Tokens[a])
	})

	switch t.kind {
	case kindSPM:
		for b := range 256 {
			t.byteTok[b] = t.findByteToken(byte(b))
		}
	case kindBPE:
		m, err := newBPEModel(t, v)
		if err != nil {
			return nil, err
		}
		t.bpe = m
	}
	// Only Tokens is needed after construction; let the rest be collected.
	t.v.Scores, t.v.Types, t.v.Merges = nil, nil, nil
	return t, nil
}

// findByteToken returns the SentencePiece byte-fallback token for b: "<0xNN>", else a token whose text
// is that single byte, else UNK, else -1.
func (t *Tokenizer) findByteToken(b byte) int {
	if id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
		return id
	}
	if id, ok := t.ids[string([]byte{b})]; ok {
		return id
	}
	return t.v.UNK
}

// pieceBytes returns the bytes token id (text s) contributes to decoded text: nothing for control,
// unknown, unused and undefined tokens; the byte for byte tokens; the raw text for user-defined tokens;
// the unescaped text (▁→space, or byte-level mapping undone) for normal tokens.
func (t *Tokenizer) pieceBytes(id int, s string) []byte {
	switch t.types[id] {
	case TypeNormal:
		if t.kind == kindSPM {
			return []byte(strings.ReplaceAll(s, "\u2581", " "))
		}
		return byteLevelDecode(s)
	case TypeUserDefined:
		return []byte(s)
	case TypeByte:
		if b, ok := parseByteToken(s); ok {
			return []byte{b}
		}
		return []byte(s)
	}
	return nil
}

// parseByteToken parses "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

// Len returns the number of tokens in the vocabulary.
func (t *Tokenizer) Len() int { return len(t.v.Tokens) }

// BOS returns the beginning-of-sequence token id, or -1.
func (t *Tokenizer) BOS() int { return t.v.BOS }

// EOS returns the end-of-sequence token id, or -1.
func (t *Tokenizer) EOS() int { return t.v.EOS }

// Model returns the vocabulary kind, "llama" or "gpt2".
func (t *Tokenizer) Model() string { return t.v.Model }

// TokenText returns the stored text of token id (for example "▁Once", "<0x0A>" or "<|im_end|>"), or ""
// when id is out of range.
func (t *Tokenizer) TokenText(id int) string {
	if id < 0 || id >= len(t.v.Tokens) {
		return ""
	}
	return t.v.Tokens[id]
}

// TokenBytes returns the raw bytes token id contributes to decoded text: a byte-fallback token gives
// its byte, a byte-level BPE token its original bytes, a SentencePiece token its text with ▁ turned
// into a space. Control, unknown and unused tokens and out-of-range ids give nothing. The bytes of one
// token need not be valid UTF-8 (a character may span tokens); see StreamDecoder. The result must not
// be modified.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.bytes) {
		return nil
	}
	return t.bytes[id]
}

// ID returns the id of the token whose text is exactly text.
func (t *Tokenizer) ID(text string) (int, bool) {
	id, ok := t.ids[text]
	return id, ok
}

// IsControl reports whether id is a control token (such as BOS, EOS or "<|im_start|>").
func (t *Tokenizer) IsControl(id int) bool {
	return id >= 0 && id < len(t.types) && t.types[id] == TypeControl
}

// IsEOG reports whether id ends generation: EOS, EOT, EOM, or a token named like "<|eot_id|>",
// "<|im_end|>", "<|endoftext|>" or "<end_of_turn>" (such tokens count as control tokens whatever type
// the vocabulary gives them, as in llama.cpp).
func (t *Tokenizer) IsEOG(id int) bool {
	return id >= 0 && id < len(t.eog) && t.eog[id]
}

// Encode returns the token ids of text. It never fails: bytes that no token covers are encoded with
// byte-fallback tokens, or UNK, or dropped when the vocabulary has neither.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) []int {
	out := make([]int, 0, len(text)/3+2)
	if opts.AddSpecial && t.v.AddBOS {
		out = append(out, t.v.BOS)
	}
	frags := t.partition(text, opts.ParseSpecial)
	switch t.kind {
	case kindSPM:
		// As in llama.cpp, raw text gets the space prefix at the start and after each special token.
		prevSpecial := true
		var sess spmSession
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			s := f.text
			if t.v.AddSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = sess.encode(t, strings.ReplaceAll(s, " ", "\u2581"), out)
			prevSpecial = false
		}
	case kindBPE:
		var sess bpeSession
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			out = sess.encode(t, f.text, out)
		}
	}
	if opts.AddSpecial && t.v.AddEOS {
		out = append(out, t.v.EOS)
	}
	return out
}

// Decode returns the text of ids. Control and unknown tokens produce nothing; out-of-range ids are
// skipped. For a vocabulary that adds a space prefix, the one leading space of the first text token is
// removed (after any leading BOS or other control tokens), so that Decode undoes Encode. The result is
// the tokens' bytes joined and need not be valid UTF-8 when ids end inside a character.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	strip := t.kind == kindSPM && t.v.AddSpacePrefix
	for _, id := range ids {
		p := t.TokenBytes(id)
		if len(p) == 0 {
			continue
		}
		if strip {
			strip = false
			if p[0] == ' ' {
				p = p[1:]
			}
		}
		b.Write(p)
	}
	return b.String()
}

// fragment is a piece of Encode's input: either a special token (tok >= 0) or raw text.
type fragment struct {
	tok  int
	text string
}

// partition splits text around the special tokens that Encode must emit as such, longest token text
// first, as llama.cpp's tokenizer_st_partition does. Control and unknown tokens are split out only when
// parseSpecial is set; user-defined tokens always.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{tok: -1, text: text}}
	if text == "" {
		return nil
	}
	for _, id := range t.special {
		ty := t.types[id]
		if !parseSpecial && ty != TypeUserDefined {
			continue
		}
		st := t.v.Tokens[id]
		var next []fragment
		changed := false
		for fi, f := range frags {
			if f.tok >= 0 || !strings.Contains(f.text, st) {
				if changed {
					next = append(next, f)
				}
				continue
			}
			if !changed {
				changed = true
				next = make([]fragment, 0, len(frags)+4)
				next = append(next, frags[:fi]...)
			}
			s := f.text
			for {
				i := strings.Index(s, st)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{tok: -1, text: s[:i]})
				}
				next = append(next, fragment{tok: id})
				s = s[i+len(st):]
			}
			if s != "" {
				next = append(next, fragment{tok: -1, text: s})
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}
