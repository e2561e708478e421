package tokenizer

import (
	"strings"
	"testing"
	"time"
)

// koreanText returns about n bytes of the Korean corpus.
func koreanText(tb testing.TB, n int) string {
	all := strings.Join(corpus(tb), "\n\n")
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(all)
	}
	return b.String()[:n]
}

// TestEncodeLinear guards against quadratic merging: 100 KB of Korean, and 100 KB of one repeated
// letter (a single pre-tokenizer word of 100,000 bytes), must each encode in well under a second.
// The bound is loose (a shared, loaded machine); quadratic code would take minutes.
func TestEncodeLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	spm := stories(t)
	bpe := mustNew(t, byteBPEVocab(t))
	long := koreanText(t, 100_000)
	same := strings.Repeat("a", 100_000)
	for name, c := range map[string]struct {
		tok  *Tokenizer
		text string
	}{
		"spm/korean": {spm, long}, "spm/aaaa": {spm, same}, "bpe/korean": {bpe, long},
		"bpe/aaaa":    {mustNew(t, classicVocab()), same}, // 50,000 merges of "a a" in one word
		"spm/english": {spm, strings.Repeat("Once upon a time, there was a little girl named Lily. ", 2000)},
	} {
		start := time.Now()
		ids := c.tok.Encode(c.text, EncodeOptions{AddSpecial: true})
		d := time.Since(start)
		if c.tok.Decode(ids) != c.text {
			t.Errorf("%s: round trip failed", name)
		}
		if d > 2*time.Second {
			t.Errorf("%s: Encode of %d bytes took %v", name, len(c.text), d)
		}
		t.Logf("%s: %d bytes → %d tokens in %v", name, len(c.text), len(ids), d)
	}
}

func benchEncode(b *testing.B, tok *Tokenizer, text string) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text, EncodeOptions{AddSpecial: true})
	}
}

func BenchmarkEncodeSPMKorean100K(b *testing.B) { benchEncode(b, stories(b), koreanText(b, 100_000)) }

func BenchmarkEncodeSPMEnglish(b *testing.B) {
	benchEncode(b, stories(b), strings.Repeat("Once upon a time, there was a little girl named Lily. ", 2000))
}

func BenchmarkEncodeBPEKorean100K(b *testing.B) {
	benchEncode(b, mustNew(b, byteBPEVocab(b)), koreanText(b, 100_000))
}

func BenchmarkEncodeBPELlama3Korean100K(b *testing.B) {
	v := byteBPEVocab(b)
	v.Pre = "llama3"
	benchEncode(b, mustNew(b, v), koreanText(b, 100_000))
}

func BenchmarkDecodeSPMKorean100K(b *testing.B) {
	tok := stories(b)
	ids := tok.Encode(koreanText(b, 100_000), EncodeOptions{})
	b.ReportAllocs()
	for b.Loop() {
		tok.Decode(ids)
	}
}
