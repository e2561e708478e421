package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStoriesGolden(t *testing.T) {
	tok := stories(t)
	raw, err := os.ReadFile(filepath.Join(sharedDir(t), "models", "stories260K", "golden-once-upon-a-time.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Prompt           string `json:"prompt"`
		PromptTokens     []int  `json:"prompt_tokens"`
		CompletionText   string `json:"completion_text"`
		CompletionTokens []int  `json:"completion_tokens"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("Once upon a time", EncodeOptions{AddSpecial: true})
	if want := []int{1, 403, 407, 261, 378}; !slices.Equal(got, want) {
		t.Errorf("Encode(Once upon a time) = %v, want %v", got, want)
	}
	if got := tok.Encode(g.Prompt, EncodeOptions{AddSpecial: true}); !slices.Equal(got, g.PromptTokens) {
		t.Errorf("Encode(%q) = %v, want %v", g.Prompt, got, g.PromptTokens)
	}
	if got := tok.Decode(g.CompletionTokens); got != g.CompletionText {
		t.Errorf("Decode(completion) = %q, want %q", got, g.CompletionText)
	}
	// For this story the model's greedy ids are also the canonical tokenization of its text.
	full := tok.Encode(g.Prompt+g.CompletionText, EncodeOptions{AddSpecial: true})
	if want := append(slices.Clone(g.PromptTokens), g.CompletionTokens...); !slices.Equal(full, want) {
		t.Errorf("Encode(prompt+completion) = %v, want %v", full, want)
	}
	if got := tok.Decode(full); got != g.Prompt+g.CompletionText {
		t.Errorf("Decode(Encode(story)) = %q", got)
	}
}

func TestStoriesVocabFacts(t *testing.T) {
	tok := stories(t)
	if tok.Len() != 512 || tok.BOS() != 1 || tok.EOS() != 2 || tok.Model() != ModelLlama {
		t.Fatalf("Len %d BOS %d EOS %d Model %q", tok.Len(), tok.BOS(), tok.EOS(), tok.Model())
	}
	if !tok.IsControl(1) || !tok.IsControl(2) || tok.IsControl(0) || tok.IsControl(403) {
		t.Error("IsControl wrong for <s>, </s>, <unk> or a normal token")
	}
	if !tok.IsEOG(2) || tok.IsEOG(1) || tok.IsEOG(403) || tok.IsEOG(-1) || tok.IsEOG(512) {
		t.Error("IsEOG wrong")
	}
	if id, ok := tok.ID("<0x0A>"); !ok || id != 13 {
		t.Errorf("ID(<0x0A>) = %d, %v", id, ok)
	}
	if _, ok := tok.ID("no such token"); ok {
		t.Error("ID found a missing token")
	}
	if got := string(tok.TokenBytes(13)); got != "\n" {
		t.Errorf("TokenBytes(<0x0A>) = %q", got)
	}
	if got := tok.TokenText(403); got != "▁Once" {
		t.Errorf("TokenText(403) = %q", got)
	}
	if got := string(tok.TokenBytes(403)); got != " Once" {
		t.Errorf("TokenBytes(403) = %q", got)
	}
	for _, id := range []int{-1, 0, 1, 2, 512} {
		if b := tok.TokenBytes(id); len(b) != 0 {
			t.Errorf("TokenBytes(%d) = %q, want nothing", id, b)
		}
	}
	if tok.TokenText(-5) != "" || tok.TokenText(1<<20) != "" {
		t.Error("TokenText out of range not empty")
	}
}

func TestStoriesEncodeCases(t *testing.T) {
	tok := stories(t)
	cases := []struct {
		in   string
		opts EncodeOptions
		want []int
	}{
		{"", EncodeOptions{AddSpecial: true}, []int{1}},
		{"", EncodeOptions{}, []int{}},
		// "\n" gets the space prefix: ▁ then the byte-fallback newline.
		{"\n", EncodeOptions{}, nil},
		// "한" is U+D55C = ED 95 9C: no token covers it, so three byte tokens (id = byte + 3).
		{"한", EncodeOptions{}, nil},
	}
	// Fill expectations that are computed from vocabulary facts rather than typed in.
	sp, ok := tok.ID("▁")
	if !ok {
		t.Fatal("no ▁ token")
	}
	cases[2].want = []int{sp, 13}
	cases[3].want = []int{sp, 0xED + 3, 0x95 + 3, 0x9C + 3}
	for _, c := range cases {
		got := tok.Encode(c.in, c.opts)
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q, %+v) = %v, want %v", c.in, c.opts, got, c.want)
		}
	}
}

// TestStoriesSpecial checks that "<s>" in text is a control token only with ParseSpecial.
func TestStoriesSpecial(t *testing.T) {
	tok := stories(t)
	on := tok.Encode("a<s>b", EncodeOptions{ParseSpecial: true})
	off := tok.Encode("a<s>b", EncodeOptions{})
	if !slices.Contains(on, 1) {
		t.Errorf("ParseSpecial on: %v lacks BOS", on)
	}
	if slices.Contains(off, 1) {
		t.Errorf("ParseSpecial off: %v contains BOS", off)
	}
	if got := tok.Decode(off); got != "a<s>b" {
		t.Errorf("Decode(off) = %q", got)
	}
	// After a special token llama.cpp re-adds the space prefix: a, <s>, ▁b.
	if got := tok.Decode(on); got != "a b" {
		t.Errorf("Decode(on) = %q, want %q", got, "a b")
	}
}

func TestStoriesRoundTripCorpus(t *testing.T) {
	tok := stories(t)
	n := 0
	for _, s := range corpusPieces(t) {
		ids := tok.Encode(s, EncodeOptions{AddSpecial: true})
		if got := tok.Decode(ids); got != s {
			t.Fatalf("round trip failed for %q:\n got %q", trunc(s), trunc(got))
		}
		n++
	}
	t.Logf("%d pieces round-tripped", n)
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// TestStreamDecoderKorean streams a Korean sentence token by token: every piece is valid UTF-8 and
// the pieces join to the text, although each syllable spans three byte-fallback tokens.
func TestStreamDecoderKorean(t *testing.T) {
	tok := stories(t)
	const text = "한국어 문장입니다. Once upon a time, 시간이"
	ids := tok.Encode(text, EncodeOptions{})
	d := NewStreamDecoder(tok)
	var b strings.Builder
	held := 0
	for _, id := range ids {
		s := d.Push(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Push(%d) = %q: not valid UTF-8", id, s)
		}
		if s == "" {
			held++
		}
		b.WriteString(s)
	}
	b.WriteString(d.Flush())
	if got := b.String(); got != " "+text {
		t.Errorf("streamed %q, want %q", got, " "+text)
	}
	if held == 0 {
		t.Error("no token was held back, so the test did not split a character")
	}
}
