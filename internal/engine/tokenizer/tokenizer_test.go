package tokenizer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/fault"
)

// TestSPMMatchesReference checks the heap-based SentencePiece merge loop against the slow one on
// the corpus lines (Korean through byte fallback, plus the English in the essays) and on English.
func TestSPMMatchesReference(t *testing.T) {
	tok := stories(t)
	inputs := []string{
		"Once upon a time, there was a little girl named Lily.",
		"She loved to play outside in the park. One day, she saw a big, red ball.",
		"  leading and trailing spaces  ", "tabs\tand\nnewlines\r\n", "I'm 42 years old!",
	}
	for _, d := range corpus(t) {
		inputs = append(inputs, strings.Split(d, "\n")...)
	}
	for _, in := range inputs {
		got := tok.Encode(in, EncodeOptions{})
		if in == "" {
			continue // no fragment, so no space prefix: [] (checked in TestStoriesEncodeCases)
		}
		want := refSPM(tok, strings.ReplaceAll(" "+in, " ", "\u2581"))
		if !slices.Equal(got, want) {
			t.Fatalf("Encode(%q) = %v, reference %v", trunc(in), got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	good := func() Vocab {
		return Vocab{Model: ModelLlama, Tokens: []string{"<unk>", "<s>", "</s>", "a"}, BOS: 1, EOS: 2, UNK: 0, PAD: -1, EOT: -1, EOM: -1}
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("good vocabulary: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Vocab)
		want string
	}{
		{"no tokens", func(v *Vocab) { v.Tokens = nil }, "no tokens"},
		{"bad model", func(v *Vocab) { v.Model = "bert" }, `unsupported tokenizer model "bert"`},
		{"scores length", func(v *Vocab) { v.Scores = []float32{0} }, "1 scores for 4 tokens"},
		{"types length", func(v *Vocab) { v.Types = []int32{1, 1} }, "2 token types for 4 tokens"},
		{"bad type", func(v *Vocab) { v.Types = []int32{2, 3, 3, 9} }, "token 3 has unknown type 9"},
		{"BOS range", func(v *Vocab) { v.BOS = 4 }, "BOS token id 4 out of range"},
		{"EOT range", func(v *Vocab) { v.EOT = -2 }, "EOT token id -2 out of range"},
		{"add BOS without BOS", func(v *Vocab) { v.BOS, v.AddBOS = -1, true }, "no BOS token"},
		{"add EOS without EOS", func(v *Vocab) { v.EOS, v.AddEOS = -1, true }, "no EOS token"},
		{"bad pre", func(v *Vocab) { v.Model, v.Pre = ModelGPT2, "tekken" }, `unsupported pre-tokenizer "tekken"`},
		{"bad merge", func(v *Vocab) { v.Model, v.Merges = ModelGPT2, []string{"a b", "ab"} }, `merge 1 "ab"`},
		{"merge trailing space", func(v *Vocab) { v.Model, v.Merges = ModelGPT2, []string{"a "} }, `merge 0`},
	}
	for _, c := range cases {
		v := good()
		c.edit(&v)
		_, err := New(v)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q lacks %q", c.name, err, c.want)
		}
		if fault.CodeOf(err) != fault.Unprocessable {
			t.Errorf("%s: code %v, want %v", c.name, fault.CodeOf(err), fault.Unprocessable)
		}
	}
}

func TestFromMetadataGPT2(t *testing.T) {
	md := testMeta{
		"tokenizer.ggml.model":            "gpt2",
		"tokenizer.ggml.pre":              "llama-bpe",
		"tokenizer.ggml.tokens":           []string{"a", "b", "ab", "<|begin_of_text|>", "<|eot_id|>"},
		"tokenizer.ggml.token_type":       []int32{1, 1, 1, 3, 3},
		"tokenizer.ggml.merges":           []string{"a b"},
		"tokenizer.ggml.bos_token_id":     uint64(3),
		"tokenizer.ggml.eos_token_id":     uint64(4),
		"tokenizer.ggml.padding_token_id": uint64(0xFFFFFFFF),
	}
	v, err := FromMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	if v.BOS != 3 || v.EOS != 4 || v.PAD != -1 || v.UNK != -1 || v.EOT != -1 || !v.AddBOS || v.AddEOS || v.AddSpacePrefix {
		t.Errorf("FromMetadata = %+v", v)
	}
	tok := mustNew(t, v)
	if got := tok.Encode("ab", EncodeOptions{AddSpecial: true}); !slices.Equal(got, []int{3, 2}) {
		t.Errorf("Encode = %v", got)
	}
	md["tokenizer.ggml.add_bos_token"] = false
	if v, _ := FromMetadata(md); v.AddBOS {
		t.Error("add_bos_token=false ignored")
	}
	delete(md, "tokenizer.ggml.tokens")
	if _, err := FromMetadata(md); err == nil || fault.CodeOf(err) != fault.Unprocessable {
		t.Errorf("missing tokens: %v", err)
	}
	if _, err := FromMetadata(testMeta{}); err == nil {
		t.Error("empty metadata: no error")
	}
}

func TestStreamDecoderBytes(t *testing.T) {
	v := Vocab{Model: ModelLlama, BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1}
	for b := range 256 {
		v.Tokens = append(v.Tokens, fmt.Sprintf("<0x%02X>", b))
		v.Types = append(v.Types, TypeByte)
	}
	tok := mustNew(t, v)
	push := func(d *StreamDecoder, bs ...byte) []string {
		var out []string
		for _, b := range bs {
			out = append(out, d.Push(int(b)))
		}
		return out
	}
	d := NewStreamDecoder(tok)
	// "€" is E2 82 AC: nothing until the third byte.
	if got := push(d, 'a', 0xE2, 0x82, 0xAC, 'b'); !slices.Equal(got, []string{"a", "", "", "€", "b"}) {
		t.Errorf("euro: %q", got)
	}
	// A 4-byte emoji then an incomplete tail that Flush returns.
	if got := push(d, 0xF0, 0x9F, 0x98, 0x80, 0xED, 0x95); !slices.Equal(got, []string{"", "", "", "😀", "", ""}) {
		t.Errorf("emoji: %q", got)
	}
	if got := d.Flush(); got != "\xED\x95" {
		t.Errorf("Flush = %q", got)
	}
	if got := d.Flush(); got != "" {
		t.Errorf("second Flush = %q", got)
	}
	// Bytes that can never be valid are passed through rather than held.
	if got := push(d, 0xFF, 'x', 0x80); !slices.Equal(got, []string{"\xFF", "x", "\x80"}) {
		t.Errorf("invalid: %q", got)
	}
	// A lead byte interrupted by ASCII: both come out when the ASCII arrives.
	if got := push(d, 0xE2, 'y'); !slices.Equal(got, []string{"", "\xE2y"}) {
		t.Errorf("interrupted: %q", got)
	}
	if tok.Decode([]int{0xE2, 0x82, 0xAC}) != "€" || !utf8.ValidString(tok.Decode([]int{0xE2, 0x82, 0xAC})) {
		t.Error("Decode of byte tokens")
	}
}

func TestDecodeSkips(t *testing.T) {
	tok := stories(t)
	once := tok.Encode("Once", EncodeOptions{})
	ids := append([]int{-1, 1, 1 << 30}, once...)
	ids = append(ids, 2, 0)
	if got := tok.Decode(ids); got != "Once" {
		t.Errorf("Decode(%v) = %q", ids, got)
	}
	// Leading space is removed only from the first text token.
	two := tok.Encode("a b", EncodeOptions{})
	if got := tok.Decode(append(slices.Clone(two), two...)); got != "a b a b" {
		t.Errorf("Decode twice = %q", got)
	}
}

func TestPartition(t *testing.T) {
	v := learnBPE("x", 0)
	tok := mustNew(t, v)
	id := func(s string) int { i, _ := tok.ID(s); return i }
	got := tok.partition("A<|im_start|>B<|im_end|><|im_end|>C", true)
	want := []fragment{{-1, "A"}, {id("<|im_start|>"), ""}, {-1, "B"}, {id("<|im_end|>"), ""}, {id("<|im_end|>"), ""}, {-1, "C"}}
	if !slices.Equal(got, want) {
		t.Errorf("partition = %+v, want %+v", got, want)
	}
	if got := tok.partition("", true); len(got) != 0 {
		t.Errorf("partition(\"\") = %+v", got)
	}
	if got := tok.partition("<|im_start|>", false); !slices.Equal(got, []fragment{{-1, "<|im_start|>"}}) {
		t.Errorf("partition off = %+v", got)
	}
}

func TestErrorsAreFault(t *testing.T) {
	_, err := New(Vocab{})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.Unprocessable {
		t.Errorf("New(Vocab{}) = %v", err)
	}
}

// TestConcurrentUse runs Encode and Decode from several goroutines; with -race it checks that a
// Tokenizer shares no mutable state between calls.
func TestConcurrentUse(t *testing.T) {
	toks := []*Tokenizer{stories(t), mustNew(t, classicVocab())}
	const text = "Once upon a time, 한국어 lower newest"
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 4 {
		wg.Go(func() {
			tok := toks[i%2]
			for range 50 {
				if got := tok.Decode(tok.Encode(text, EncodeOptions{AddSpecial: true})); got != text {
					errs <- got
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent round trip = %q", got)
	}
}
