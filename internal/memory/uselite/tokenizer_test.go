package uselite

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// stubVocab is the small vocabulary the TensorFlow.js USE tokenizer tests use (test_util.ts in
// tensorflow/tfjs-models), so the expectations below are theirs. It repeats "i" on purpose.
func stubVocab() []Piece {
	raw := []struct {
		s string
		v float64
	}{
		{"�", 0}, {"<s>", 0}, {"</s>", 0}, {"extra_token_id_1", 0}, {"extra_token_id_2", 0},
		{"extra_token_id_3", 0}, {"▁", -2}, {"▁a", -1}, {"▁ç", -2}, {"a", -3}, {".", -1},
		{"▁I", -1}, {"▁like", -1}, {"▁it", -1}, {"I", -2}, {"like", -2}, {"it", -2}, {"l", -3},
		{"i", -3}, {"k", -3}, {"e", -3}, {"i", -3}, {"t", -3},
	}
	pieces := make([]Piece, len(raw))
	for k, r := range raw {
		pieces[k] = Piece{r.s, r.v}
	}
	return pieces
}

func TestTokenizerReferenceCases(t *testing.T) {
	tok, err := NewTokenizer(stubVocab())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want []int32
	}{
		{"Ilikeit.", []int32{11, 15, 16, 10}},
		{"I like it.", []int32{11, 12, 13, 10}},
		{"a😹😹", []int32{7, 0}}, // consecutive unknowns collapse
		{"", nil},
		{"ça", tok.Encode("c\u0327a")}, // NFKC composes the cedilla
	} {
		if got := tok.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := tok.Encode("😹"); len(got) == 0 {
		t.Errorf("Encode(emoji) = %v, want an unknown id", got)
	}
}

func TestTokenizerRealVocab(t *testing.T) {
	m := testModel(t)
	tok := m.Tokenizer()
	if tok.Len() != 8000 {
		t.Fatalf("vocabulary has %d pieces, want 8000", tok.Len())
	}
	ids := tok.Encode("The cat sits on the mat.")
	var pieces []string
	for _, id := range ids {
		pieces = append(pieces, tok.Piece(id))
	}
	// Every piece is a real vocabulary entry, and the pieces spell the text back.
	joined := strings.ReplaceAll(strings.Join(pieces, ""), "▁", " ")
	if joined != " The cat sits on the mat." {
		t.Errorf("pieces %q spell %q", pieces, joined)
	}
	// A duplicated piece text resolves to its last entry, as the reference trie does.
	if got := tok.Encode("”5"); !slices.Contains(got, 4464) {
		t.Errorf("Encode(”5) = %v, want it to use piece 4464 (the last of three entries)", got)
	}
}

func TestNewTokenizerErrors(t *testing.T) {
	if _, err := NewTokenizer(stubVocab()[:5]); err == nil {
		t.Error("a vocabulary of only reserved pieces was accepted")
	}
	bad := append(stubVocab(), Piece{"", -1})
	if _, err := NewTokenizer(bad); err == nil {
		t.Error("an empty piece was accepted")
	}
	bad = append(stubVocab(), Piece{"\xff", -1})
	if _, err := NewTokenizer(bad); err == nil {
		t.Error("an invalid UTF-8 piece was accepted")
	}
	for _, in := range []string{`{}`, `[["a"]]`, `[["a", "b"]]`, `[[1, 2]]`, `[`} {
		if _, err := ParseVocab([]byte(in)); err == nil {
			t.Errorf("ParseVocab(%s) succeeded", in)
		}
	}
}

// TestNormalizeNFKC compares with Node.js's String.prototype.normalize("NFKC") on fixed and random
// strings (testdata/nfkc.json, written by testdata/nfkc_golden.py).
func TestNormalizeNFKC(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "nfkc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases [][2]string `json:"cases"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 400 {
		t.Fatalf("only %d cases", len(g.Cases))
	}
	bad := 0
	for _, c := range g.Cases {
		if got := NormalizeNFKC(c[0]); got != c[1] {
			bad++
			if bad <= 10 {
				t.Errorf("NormalizeNFKC(%+q) = %+q, want %+q", c[0], got, c[1])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(g.Cases))
	}
}

// TestEncodePrefix checks that segmenting a prefix gives the full text's first ids, on long texts
// with runs of spaces, unknown characters, marks after spaces and compatibility characters.
func TestEncodePrefix(t *testing.T) {
	m := testModel(t)
	tok := m.Tokenizer()
	if !tok.wordLocal {
		t.Fatal("the USE-lite vocabulary should allow prefix segmentation")
	}
	words := []string{"the", "cat", "sat", "on", "mat.", "😹😹", "\u0301x", "ﬁne", "Ω", "   ", "naïve", "인공지능", "x²", "…", "tokenization", "\t"}
	rng := uint32(1)
	for n := range 60 {
		var b strings.Builder
		for b.Len() < 200*(n%7+1) {
			rng = rng*1664525 + 1013904223
			b.WriteString(words[rng>>16%uint32(len(words))])
			if rng&1 == 0 {
				b.WriteByte(' ')
			}
		}
		text := b.String()
		full := tok.Encode(text)
		for _, k := range []int{1, 5, MaxTokens, 1000} {
			got, want := tok.EncodePrefix(text, k), full[:min(k, len(full))]
			if !slices.Equal(got, want) {
				t.Fatalf("EncodePrefix(text %d, %d) = %v, want %v", n, k, got, want)
			}
		}
	}
	stub, err := NewTokenizer(stubVocab())
	if err != nil {
		t.Fatal(err)
	}
	if !stub.wordLocal {
		t.Error("the stub vocabulary has \"▁\" and no inner boundaries, so it should allow prefixes")
	}
	noBoundary, err := NewTokenizer(append(stubVocab(), Piece{"a▁b", -1}))
	if err != nil {
		t.Fatal(err)
	}
	if noBoundary.wordLocal {
		t.Error("a piece with an inner \"▁\" must disable prefix segmentation")
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "한국어 문장", "a\u0301\u0323", "\xff\xfe", "😹😹 x", "   ", "ﬁ…"} {
		f.Add(s)
	}
	dir := filepath.Join(sharedDir(f), "models", "use-lite-en")
	pieces := stubVocab()
	if data, err := os.ReadFile(filepath.Join(dir, VocabFile)); err == nil {
		if p, err := ParseVocab(data); err == nil {
			pieces = p
		}
	}
	tok, err := NewTokenizer(pieces)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.Len() {
				t.Fatalf("Encode(%q): id %d out of range", s, id)
			}
		}
		if s != "" && len(ids) == 0 {
			t.Fatalf("Encode(%q) returned no ids", s)
		}
		for _, k := range []int{1, 3, 17} {
			if got, want := tok.EncodePrefix(s, k), ids[:min(k, len(ids))]; !slices.Equal(got, want) {
				t.Fatalf("EncodePrefix(%q, %d) = %v, want %v", s, k, got, want)
			}
		}
		if n := NormalizeNFKC(s); !utf8.ValidString(n) {
			t.Fatalf("NormalizeNFKC(%q) is not valid UTF-8", s)
		}
	})
}
