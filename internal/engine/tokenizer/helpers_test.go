package tokenizer

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/seance-dev/seance/internal/testenv"
)

// sharedDir returns the shared test data folder (see internal/testenv).
func sharedDir(t testing.TB) string {
	t.Helper()
	return testenv.Shared(t)
}

var (
	storiesOnce sync.Once
	storiesTok  *Tokenizer
	storiesErr  error
)

// stories returns the tokenizer of stories260K-f32.gguf, built through FromMetadata.
func stories(t testing.TB) *Tokenizer {
	t.Helper()
	path := filepath.Join(sharedDir(t), "models", "stories260K", "stories260K-f32.gguf")
	storiesOnce.Do(func() {
		md, err := readTestMeta(path)
		if err != nil {
			storiesErr = err
			return
		}
		v, err := FromMetadata(md)
		if err != nil {
			storiesErr = err
			return
		}
		storiesTok, storiesErr = New(v)
	})
	if storiesErr != nil {
		t.Fatal(storiesErr)
	}
	return storiesTok
}

// corpus returns the texts of the Korean seed essays, sorted by file name.
func corpus(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "corpus", "seeds", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no corpus files")
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// corpusPieces returns every line and every paragraph (blank-line separated block) of the corpus.
func corpusPieces(t testing.TB) []string {
	var out []string
	for _, doc := range corpus(t) {
		out = append(out, strings.Split(doc, "\n")...)
		out = append(out, strings.Split(doc, "\n\n")...)
		out = append(out, doc)
	}
	return out
}

var (
	byteBPEOnce sync.Once
	byteBPEVoc  Vocab
)

// byteBPEVocab returns a synthetic byte-level BPE vocabulary: the 256 byte tokens, merges learnt by
// greedy BPE steps on the corpus (most frequent adjacent pair within gpt2 pre-tokenizer words), and a
// few special tokens.
func byteBPEVocab(t testing.TB) Vocab {
	docs := corpus(t)
	byteBPEOnce.Do(func() {
		byteBPEVoc = learnBPE(strings.Join(docs, "\n"), 200)
	})
	return byteBPEVoc
}

// learnBPE trains nMerges merges on text the slow, obvious way: words as symbol lists, count pairs,
// merge the most frequent (ties broken by the pair's text, for determinism).
func learnBPE(text string, nMerges int) Vocab {
	v := Vocab{Model: ModelGPT2, Pre: "gpt2", BOS: -1, EOS: -1, UNK: -1, PAD: -1, EOT: -1, EOM: -1}
	for b := range 256 {
		v.Tokens = append(v.Tokens, string(byteToRune[b]))
	}
	counts := map[string]int{}
	for _, w := range splitGPT2(text, nil) {
		counts[byteLevelEncode(w)]++
	}
	type word struct {
		syms []string
		n    int
	}
	var words []word
	for w, n := range counts {
		var syms []string
		for _, r := range w {
			syms = append(syms, string(r))
		}
		words = append(words, word{syms, n})
	}
	pairs := map[[2]string]int{}
	for range nMerges {
		clear(pairs)
		for _, w := range words {
			for i := 1; i < len(w.syms); i++ {
				pairs[[2]string{w.syms[i-1], w.syms[i]}] += w.n
			}
		}
		var best [2]string
		bestN := 0
		for p, n := range pairs {
			if n > bestN || n == bestN && p[0]+" "+p[1] < best[0]+" "+best[1] {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		v.Merges = append(v.Merges, best[0]+" "+best[1])
		v.Tokens = append(v.Tokens, best[0]+best[1])
		for wi := range words {
			s := words[wi].syms
			var out []string
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, best[0]+best[1])
					i++
				} else {
					out = append(out, s[i])
				}
			}
			words[wi].syms = out
		}
	}
	// Merge results can repeat a token text; keep the vocabulary free of duplicates.
	seen := map[string]bool{}
	var toks []string
	for _, s := range v.Tokens {
		if !seen[s] {
			seen[s] = true
			toks = append(toks, s)
		}
	}
	v.Tokens = toks
	v.Tokens = append(v.Tokens, "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>")
	n := len(v.Tokens)
	v.Types = make([]int32, n)
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.Types[n-4], v.Types[n-3], v.Types[n-2], v.Types[n-1] = TypeControl, TypeControl, TypeControl, TypeUserDefined
	v.EOS = n - 4
	return v
}

func mustNew(t testing.TB, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// byteLevelEncode writes s in the byte→unicode alphabet.
func byteLevelEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}
