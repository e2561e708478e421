package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// classicVocab is the "lower"/"newest" example: byte tokens for every byte plus the merge results.
func classicVocab() Vocab {
	v := Vocab{Model: ModelGPT2, Pre: "gpt2", BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1}
	for b := range 256 {
		v.Tokens = append(v.Tokens, string(byteToRune[b]))
	}
	v.Merges = []string{
		"e r",      // 0
		"l o",      // 1
		"lo w",     // 2
		"e s",      // 3
		"es t",     // 4
		"n e",      // 5
		"ne w",     // 6
		"new est",  // 7
		"low er",   // 8
		"low est",  // 9
		"a a",      // 10
		"x y",      // 11: its result "xy" is deliberately not a token
		"Ġ new",    // 12
		"Ġnew est", // 13
	}
	v.Tokens = append(v.Tokens, "er", "lo", "low", "es", "est", "ne", "new", "newest", "lower", "lowest", "aa", "Ġnew", "Ġnewest")
	return v
}

func TestBPEMergeOrder(t *testing.T) {
	tok := mustNew(t, classicVocab())
	id := func(s string) int {
		i, ok := tok.ID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return i
	}
	cases := []struct {
		in   string
		want []string
	}{
		{"lower", []string{"lower"}},
		{"newest", []string{"newest"}},
		{"lowest", []string{"lowest"}},
		// e+r (rank 0) merges before n+e (rank 5), so "newer" cannot become new+er via "ne"+"wer".
		{"newer", []string{"new", "er"}},
		// Equal ranks: the leftmost pair merges first.
		{"aaa", []string{"aa", "a"}},
		{"aaaa", []string{"aa", "aa"}},
		// "xy" is a merge whose result is not a token: its bytes are emitted one by one.
		{"xy", []string{"x", "y"}},
		// Words are merged separately; the space is Ġ in the byte-level alphabet.
		// new+est (rank 7) beats Ġ+new (rank 12), leaving Ġ alone; in " newer" Ġ+new wins.
		{"lower newest", []string{"lower", "Ġ", "newest"}},
		{" newer", []string{"Ġnew", "er"}},
		{"slower", []string{"s", "lower"}},
		{"lowers", []string{"lower", "s"}},
		{"", nil},
	}
	for _, c := range cases {
		var want []int
		for _, s := range c.want {
			want = append(want, id(s))
		}
		got := tok.Encode(c.in, EncodeOptions{AddSpecial: true})
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v %q", c.in, got, want, c.want)
		}
		if dec := tok.Decode(got); dec != c.in {
			t.Errorf("Decode(Encode(%q)) = %q", c.in, dec)
		}
	}
}

// TestBPEIgnoreMerges checks llama.cpp's ignore_merges for the llama3 pre-tokenizer: a word that is
// itself a token is emitted whole even when no merge path leads to it.
func TestBPEIgnoreMerges(t *testing.T) {
	v := classicVocab()
	v.Tokens = append(v.Tokens, "zz") // no "z z" merge
	zz := len(v.Tokens) - 1
	z := int('z')
	for pre, want := range map[string][]int{"gpt2": {z, z}, "llama3": {zz}} {
		v.Pre = pre
		if got := mustNew(t, v).Encode("zz", EncodeOptions{}); !slices.Equal(got, want) {
			t.Errorf("%s: Encode(zz) = %v, want %v", pre, got, want)
		}
	}
}

func TestByteLevelMapping(t *testing.T) {
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteToRune[b]
		if seen[r] {
			t.Fatalf("rune %U used twice", r)
		}
		seen[r] = true
		if got := byteLevelDecode(string(r)); len(got) != 1 || got[0] != byte(b) {
			t.Fatalf("byte %#x → %q → %v", b, r, got)
		}
	}
	// Spot checks against GPT-2's table.
	for b, r := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', '\t': 'ĉ', 'A': 'A', 0: 'Ā', 0xAD: 'Ń', 0x7F: 'ġ'} {
		if byteToRune[b] != r {
			t.Errorf("byteToRune[%#x] = %q, want %q", b, byteToRune[b], r)
		}
	}
}

func TestBPERoundTripCorpus(t *testing.T) {
	base := byteBPEVocab(t)
	pieces := corpusPieces(t)
	for _, pre := range []string{"gpt2", "llama3", "qwen2", "smollm"} {
		v := base
		v.Pre = pre
		tok := mustNew(t, v)
		ref := newRefBPE(v)
		var nBytes, nToks int
		for _, s := range pieces {
			ids := tok.Encode(s, EncodeOptions{})
			if got := tok.Decode(ids); got != s {
				t.Fatalf("%s: round trip failed for %q:\n got %q", pre, trunc(s), trunc(got))
			}
			// Lines and short paragraphs are checked against the slow reference merge loop; long
			// ones only round-trip, as the reference is quadratic.
			if len(s) < 1000 {
				words := preTokenizers[pre].split(s, nil)
				if want := ref(words); !slices.Equal(ids, want) {
					t.Fatalf("%s: Encode(%q) = %v, reference %v", pre, trunc(s), ids, want)
				}
			}
			nBytes += len(s)
			nToks += len(ids)
		}
		// The learnt merges must actually be used.
		if nToks*5 > nBytes*3 {
			t.Errorf("%s: %d tokens for %d bytes: merges not applied", pre, nToks, nBytes)
		}
		t.Logf("%s: %d bytes → %d tokens", pre, nBytes, nToks)
	}
}

func TestBPESpecialTokens(t *testing.T) {
	tok := mustNew(t, learnBPE("hello world user assistant\n", 30))
	start, _ := tok.ID("<|im_start|>")
	end, _ := tok.ID("<|im_end|>")
	call, _ := tok.ID("<tool_call>")
	const text = "<|im_start|>user\nhi<tool_call><|im_end|>"

	on := tok.Encode(text, EncodeOptions{ParseSpecial: true})
	if len(on) < 4 || on[0] != start || on[len(on)-1] != end || on[len(on)-2] != call {
		t.Errorf("ParseSpecial on: %v (want %d first, %d %d last)", on, start, call, end)
	}
	off := tok.Encode(text, EncodeOptions{})
	if slices.Contains(off, start) || slices.Contains(off, end) {
		t.Errorf("ParseSpecial off: %v contains control tokens", off)
	}
	// User-defined tokens are ordinary vocabulary and are matched either way, as in llama.cpp.
	if !slices.Contains(off, call) {
		t.Errorf("ParseSpecial off: %v lacks the user-defined token %d", off, call)
	}
	if got := tok.Decode(off); got != text {
		t.Errorf("Decode(off) = %q, want %q", got, text)
	}
	// Control tokens decode to nothing; the user-defined one to its text.
	if got := tok.Decode(on); got != "user\nhi<tool_call>" {
		t.Errorf("Decode(on) = %q", got)
	}
	if !tok.IsEOG(end) || !tok.IsEOG(tok.EOS()) || tok.IsEOG(start) || tok.IsEOG(call) {
		t.Error("IsEOG wrong for chat tokens")
	}
	if !tok.IsControl(start) || tok.IsControl(call) {
		t.Error("IsControl wrong")
	}
	// A normal-typed token named like an end-of-turn marker is promoted to control, as in llama.cpp.
	v0 := learnBPE("x", 0)
	v0.Tokens = append(v0.Tokens, "<end_of_turn>")
	v0.Types = append(v0.Types, TypeNormal)
	tk0 := mustNew(t, v0)
	eot := len(v0.Tokens) - 1
	if !tk0.IsEOG(eot) || !tk0.IsControl(eot) || len(tk0.TokenBytes(eot)) != 0 {
		t.Errorf("<end_of_turn>: IsEOG %v IsControl %v bytes %q", tk0.IsEOG(eot), tk0.IsControl(eot), tk0.TokenBytes(eot))
	}
	// Longest match first: a special token whose text contains another's.
	v := learnBPE("ab", 0)
	v.Tokens = append(v.Tokens, "<|a|>", "<|a|><|a|>")
	v.Types = append(v.Types, TypeControl, TypeControl)
	tk := mustNew(t, v)
	got := tk.Encode("<|a|><|a|><|a|>", EncodeOptions{ParseSpecial: true})
	if want := []int{len(v.Tokens) - 1, len(v.Tokens) - 2}; !slices.Equal(got, want) {
		t.Errorf("longest special first: %v, want %v", got, want)
	}
}

func TestAddSpecial(t *testing.T) {
	v := learnBPE("hello", 5)
	v.BOS, v.AddBOS, v.AddEOS = len(v.Tokens)-3, true, true
	tok := mustNew(t, v)
	got := tok.Encode("hello", EncodeOptions{AddSpecial: true})
	if len(got) < 3 || got[0] != v.BOS || got[len(got)-1] != v.EOS {
		t.Errorf("AddSpecial: %v", got)
	}
	if got2 := tok.Encode("hello", EncodeOptions{}); !slices.Equal(got2, got[1:len(got)-1]) {
		t.Errorf("without AddSpecial: %v", got2)
	}
	if tok.Decode(got) != "hello" {
		t.Errorf("Decode = %q", tok.Decode(got))
	}
}

func TestPreTokenizersMatchRegex(t *testing.T) {
	inputs := []string{
		"Hello world", "I'm don't I'M 'sup", "12345 abc 3.14", "a  b\t\tc   ", "hi\n\nthere  \n  x",
		"Hello!!!\n\nWorld", "안녕하세요, 세계! 2024년", "hi 👋🏽!", "a\xffb\xc3", " \u00a0\u3000x",
	}
	for _, d := range corpus(t) {
		inputs = append(inputs, strings.Split(d, "\n\n")...)
	}
	for _, name := range []string{"gpt2", "llama3", "qwen2"} {
		for _, in := range inputs {
			got := preTokenizers[name].split(in, nil)
			want := refSplit(refPatterns[name], in, name != "gpt2")
			if !slices.Equal(got, want) {
				t.Fatalf("%s: split(%q) = %q, regex %q", name, trunc(in), got, want)
			}
		}
	}
}
