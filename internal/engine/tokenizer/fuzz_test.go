package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"", " ", "Once upon a time", "한국어 문장입니다.", "I'm 12345 years\n\n old!!!  ", "<s>a</s>", "<|im_start|>user\nhi<|im_end|>",
	"\xff\xfe\xe2\x82", "tabs\t\tand\r\nCRLF", "😀👋🏽", "▁x", "<tool_call>", "a  \n  b", "ſ'S'ſ",
}

// FuzzEncodeDecodeSPM checks on the stories260K vocabulary that Encode never panics, that Decode
// undoes it for any text the vocabulary can represent (everything but a literal ▁, which decodes as
// a space), and that the heap merge loop agrees with the slow reference.
func FuzzEncodeDecodeSPM(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	tok := stories(f)
	f.Fuzz(func(t *testing.T, s string) {
		withSpecial := tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
		for _, id := range withSpecial {
			if id < 0 || id >= tok.Len() {
				t.Fatalf("id %d out of range", id)
			}
		}
		ids := tok.Encode(s, EncodeOptions{AddSpecial: true})
		if strings.Contains(s, "\u2581") {
			return
		}
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if s != "" && len(s) <= 300 {
			want := append([]int{tok.BOS()}, refSPM(tok, strings.ReplaceAll(" "+s, " ", "\u2581"))...)
			if !slices.Equal(ids, want) {
				t.Fatalf("Encode(%q) = %v, reference %v", s, ids, want)
			}
		}
	})
}

// FuzzEncodeDecodeBPE checks a synthetic byte-level BPE vocabulary with each pre-tokenizer: no panic,
// exact round trip for every input (byte-level BPE can represent any bytes), agreement with the slow
// reference, and, for the regex-defined pre-tokenizers, agreement with the regex.
func FuzzEncodeDecodeBPE(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	v := learnBPE("Once upon a time, there was a little girl. 한국어 문장입니다. 옛날 옛적에 12345 don't\n\n", 60)
	type entry struct {
		tok *Tokenizer
		ref func([]string) []int
		pre string
	}
	var toks []entry
	for _, pre := range []string{"gpt2", "llama3", "qwen2", "smollm"} {
		v.Pre = pre
		toks = append(toks, entry{mustNew(f, v), newRefBPE(v), pre})
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range toks {
			e.tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: true})
			ids := e.tok.Encode(s, EncodeOptions{})
			if got := e.tok.Decode(ids); got != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", e.pre, s, got)
			}
			if len(s) > 300 {
				continue
			}
			var want []int
			for _, f := range e.tok.partition(s, false) {
				if f.tok >= 0 {
					want = append(want, f.tok)
				} else {
					want = append(want, e.ref(preTokenizers[e.pre].split(f.text, nil))...)
				}
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("%s: Encode(%q) = %v, reference %v", e.pre, s, ids, want)
			}
			if re := refPatterns[e.pre]; re != nil {
				got := preTokenizers[e.pre].split(s, nil)
				if want := refSplit(re, s, e.pre != "gpt2"); !slices.Equal(got, want) {
					t.Fatalf("%s: split(%q) = %q, regex %q", e.pre, s, got, want)
				}
			}
		}
	})
}

// FuzzStreamDecoder checks that streamed pieces are always joined to exactly Decode's bytes.
func FuzzStreamDecoder(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	tok := stories(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, EncodeOptions{})
		d := NewStreamDecoder(tok)
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(d.Push(id))
		}
		b.WriteString(d.Flush())
		var want strings.Builder
		for _, id := range ids {
			want.Write(tok.TokenBytes(id))
		}
		if b.String() != want.String() {
			t.Fatalf("streamed %q, want %q", b.String(), want.String())
		}
	})
}
