// Package ggufgen writes GGUF model files of realistic shapes with random weights, for tests and
// benchmarks that need a model of a real size without shipping one: the forward pass costs what a
// real model of that shape costs, while the text it writes is noise.
//
// The files carry a small but valid GPT-2 style tokenizer (special tokens, the 256 byte tokens, a
// few merges, and filler tokens named "t123") and a ChatML chat template.
//
// ggufgen imports internal/engine/gguf and internal/engine/tensor; bench/cmd/ggufgen is its command.
package ggufgen

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
)

// Shape is the architecture and size of a generated model.
type Shape struct {
	Arch                                    string // "llama" or "qwen2"
	Dim, Layers, Heads, KVHeads, FFN, Vocab int
	Context                                 int
	RopeBase                                float64
	RMSEps                                  float64
	Tied                                    bool   // no output tensor: token_embd is the output projection
	Bias                                    bool   // attention q/k/v biases (qwen2)
	RopeFreqs                               bool   // a Llama 3 rope_freqs.weight tensor
	PreTokenizer                            string // tokenizer.ggml.pre
}

// Shapes are the named shapes, after the models they imitate.
var Shapes = map[string]Shape{
	// A few-hundred-kilobyte model for fast tests.
	"tiny": {Arch: "llama", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 128, Vocab: 512,
		Context: 512, RopeBase: 10000, RMSEps: 1e-5, Tied: true, PreTokenizer: "smollm"},
	"smollm2-135m": {Arch: "llama", Dim: 576, Layers: 30, Heads: 9, KVHeads: 3, FFN: 1536, Vocab: 49152,
		Context: 2048, RopeBase: 100000, RMSEps: 1e-5, Tied: true, PreTokenizer: "smollm"},
	"qwen2.5-0.5b": {Arch: "qwen2", Dim: 896, Layers: 24, Heads: 14, KVHeads: 2, FFN: 4864, Vocab: 151936,
		Context: 32768, RopeBase: 1000000, RMSEps: 1e-6, Tied: true, Bias: true, PreTokenizer: "qwen2"},
	"llama3.2-1b": {Arch: "llama", Dim: 2048, Layers: 16, Heads: 32, KVHeads: 8, FFN: 8192, Vocab: 128256,
		Context: 131072, RopeBase: 500000, RMSEps: 1e-5, Tied: true, RopeFreqs: true, PreTokenizer: "llama-bpe"},
}

// ShapeNames returns the names of Shapes, sorted.
func ShapeNames() []string {
	var names []string
	for n := range Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Options choose what Write generates.
type Options struct {
	Shape Shape
	// Name is general.name.
	Name string
	// Type is the type of the 2-D weight tensors: F32, F16, BF16, Q8_0 or Q4_0. Norms and biases
	// are always F32.
	Type tensor.Type
	// Seed makes the weights reproducible.
	Seed uint64
	// Std is the standard deviation of the Gaussian weights (0.02 when zero).
	Std float64
}

// WriteFile writes a generated model to path.
func WriteFile(path string, opts Options) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	return Write(f, opts)
}

// Write writes a generated model to w. Tensors are generated one at a time, so memory stays near the
// size of the largest tensor.
func Write(w io.Writer, opts Options) error {
	s := opts.Shape
	if s.Arch != "llama" && s.Arch != "qwen2" {
		return fmt.Errorf("ggufgen: architecture %q (want llama or qwen2)", s.Arch)
	}
	if s.Dim <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.FFN <= 0 || s.Context <= 0 ||
		s.Dim%s.Heads != 0 || s.Heads%s.KVHeads != 0 {
		return fmt.Errorf("ggufgen: inconsistent shape %+v", s)
	}
	if _, err := tensor.Quantize(opts.Type, make([]float32, 256)); err != nil {
		return fmt.Errorf("ggufgen: weight type %v: %w", opts.Type, err)
	}
	std := opts.Std
	if std == 0 {
		std = 0.02
	}
	tokens, types, merges := vocabulary(s.Vocab)
	if tokens == nil {
		return fmt.Errorf("ggufgen: vocabulary of %d is too small (at least %d)", s.Vocab, minVocab)
	}
	a := s.Arch + "."
	hd := s.Dim / s.Heads
	meta := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(s.Arch)},
		{Key: "general.name", Value: gguf.String(opts.Name)},
		{Key: "general.file_type", Value: gguf.Uint32(fileType(opts.Type))},
		{Key: a + "context_length", Value: gguf.Uint32(uint32(s.Context))},
		{Key: a + "embedding_length", Value: gguf.Uint32(uint32(s.Dim))},
		{Key: a + "block_count", Value: gguf.Uint32(uint32(s.Layers))},
		{Key: a + "feed_forward_length", Value: gguf.Uint32(uint32(s.FFN))},
		{Key: a + "attention.head_count", Value: gguf.Uint32(uint32(s.Heads))},
		{Key: a + "attention.head_count_kv", Value: gguf.Uint32(uint32(s.KVHeads))},
		{Key: a + "attention.layer_norm_rms_epsilon", Value: gguf.Float32(float32(s.RMSEps))},
		{Key: a + "rope.freq_base", Value: gguf.Float32(float32(s.RopeBase))},
		{Key: a + "rope.dimension_count", Value: gguf.Uint32(uint32(hd))},
		{Key: a + "vocab_size", Value: gguf.Uint32(uint32(s.Vocab))},
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String(s.PreTokenizer)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.Strings(merges)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(idIMStart)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(idIMEnd)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32(idEndOfText)},
		{Key: "tokenizer.ggml.padding_token_id", Value: gguf.Uint32(idEndOfText)},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(false)},
		{Key: "tokenizer.chat_template", Value: gguf.String(chatML)},
	}

	var ts []gguf.WriteTensor
	seed := opts.Seed
	matrix := func(name string, rows, cols int) {
		seed++
		sd := seed
		ts = append(ts, gguf.WriteTensor{
			Name: name, Dims: []uint64{uint64(cols), uint64(rows)}, Type: opts.Type,
			Fill: func(dst []byte) error { return fillGaussian(dst, opts.Type, rows*cols, std, sd) },
		})
	}
	vector := func(name string, n int, value func(i int) float32) {
		x := make([]float32, n)
		for i := range x {
			x[i] = value(i)
		}
		data, _ := tensor.Quantize(tensor.F32, x)
		ts = append(ts, gguf.WriteTensor{Name: name, Dims: []uint64{uint64(n)}, Type: tensor.F32, Data: data})
	}
	one := func(int) float32 { return 1 }
	matrix("token_embd.weight", s.Vocab, s.Dim)
	vector("output_norm.weight", s.Dim, one)
	if !s.Tied {
		matrix("output.weight", s.Vocab, s.Dim)
	}
	if s.RopeFreqs {
		// Llama 3.1's scaling (factor 32, low 1, high 4, original context 8192), as llama.cpp stores it.
		vector("rope_freqs.weight", hd/2, func(i int) float32 {
			freq := math.Pow(s.RopeBase, -2*float64(i)/float64(hd))
			wave := 2 * math.Pi / freq
			switch {
			case wave < 8192/4.0:
				return 1
			case wave > 8192/1.0:
				return 32
			}
			smooth := (8192/wave - 1) / (4 - 1)
			return float32(1 / ((1-smooth)/32 + smooth))
		})
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 99))
	bias := func(int) float32 { return float32(rng.NormFloat64() * std) }
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		vector(p+"attn_norm.weight", s.Dim, one)
		matrix(p+"attn_q.weight", s.Dim, s.Dim)
		matrix(p+"attn_k.weight", s.KVHeads*hd, s.Dim)
		matrix(p+"attn_v.weight", s.KVHeads*hd, s.Dim)
		if s.Bias {
			vector(p+"attn_q.bias", s.Dim, bias)
			vector(p+"attn_k.bias", s.KVHeads*hd, bias)
			vector(p+"attn_v.bias", s.KVHeads*hd, bias)
		}
		matrix(p+"attn_output.weight", s.Dim, s.Dim)
		vector(p+"ffn_norm.weight", s.Dim, one)
		matrix(p+"ffn_gate.weight", s.FFN, s.Dim)
		matrix(p+"ffn_up.weight", s.FFN, s.Dim)
		matrix(p+"ffn_down.weight", s.Dim, s.FFN)
	}
	return gguf.Write(w, meta, ts)
}

// fillGaussian writes n N(0, std²) values, encoded as typ, into dst.
func fillGaussian(dst []byte, typ tensor.Type, n int, std float64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
	b, err := tensor.Quantize(typ, x)
	if err != nil {
		return err
	}
	if len(b) != len(dst) {
		return fmt.Errorf("encoded %d bytes for a %d-byte tensor", len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// fileType returns llama.cpp's general.file_type for a model mostly of type t.
func fileType(t tensor.Type) uint32 {
	switch t {
	case tensor.F16:
		return 1
	case tensor.Q4_0:
		return 2
	case tensor.Q8_0:
		return 7
	case tensor.BF16:
		return 32
	}
	return 0
}

// The special tokens, first in the vocabulary as in SmolLM2's.
const (
	idEndOfText = 0
	idIMStart   = 1
	idIMEnd     = 2
)

const chatML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// someMerges are a few English merges, written in GPT-2's byte-level alphabet (Ġ is a space).
var someMerges = []string{"Ġ t", "h e", "i n", "e r", "a n", "o n", "Ġt he", "Ġ a", "r e", "e n",
	"a t", "o r", "Ġ s", "e s", "Ġ w", "i s", "Ġ o", "i t", "Ġ c", "n d"}

// minVocab is the least vocabulary that holds the special, byte and merged tokens.
var minVocab = 3 + 256 + len(someMerges)

// vocabulary returns n tokens, their types and the merges, or nils when n is below minVocab.
func vocabulary(n int) (tokens []string, types []int32, merges []string) {
	if n < minVocab {
		return nil, nil, nil
	}
	tokens = append(tokens, "<|endoftext|>", "<|im_start|>", "<|im_end|>")
	types = append(types, 3, 3, 3)
	for _, r := range byteAlphabet() {
		tokens = append(tokens, string(r))
		types = append(types, 1)
	}
	seen := map[string]bool{}
	for _, t := range tokens {
		seen[t] = true
	}
	for _, m := range someMerges {
		merged := strings.Replace(m, " ", "", 1)
		if !seen[merged] {
			seen[merged] = true
			tokens = append(tokens, merged)
			types = append(types, 1)
		}
		merges = append(merges, m)
	}
	for i := len(tokens); i < n; i++ {
		tokens = append(tokens, fmt.Sprintf("t%d", i))
		types = append(types, 1)
	}
	return tokens, types, merges
}

// byteAlphabet returns GPT-2's byte→unicode mapping: printable bytes stand for themselves, the
// others for code points from 256 up.
func byteAlphabet() [256]rune {
	var out [256]rune
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			out[b] = rune(b)
		} else {
			out[b] = next
			next++
		}
	}
	return out
}
