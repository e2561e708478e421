// Package llama2c converts a model in Karpathy's llama2.c format (a checkpoint .bin plus a tokenizer
// .bin) into a GGUF file the embedded engine runs. It is how a user without the prepared GGUF obtains
// seance's default model: the TinyStories checkpoints are published in this format.
//
// The output matches what llama.cpp's convert-llama2c-to-ggml writes (llama architecture,
// SentencePiece-style vocabulary with ▁ for spaces and byte tokens), except that a shared classifier
// is stored once (tied embeddings) and the context length is the checkpoint's own.
package llama2c

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
)

// Config is the header of a llama2.c checkpoint.
type Config struct {
	Dim, HiddenDim, Layers, Heads, KVHeads, VocabSize, SeqLen int
	// Shared reports whether the classifier shares the token embedding (a positive vocab size in the
	// header).
	Shared bool
}

// Vocab is a llama2.c tokenizer: pieces with scores.
type Vocab struct {
	MaxTokenLength int
	Pieces         []string
	Scores         []float32
}

// ReadVocab reads a llama2.c tokenizer file of n pieces.
func ReadVocab(data []byte, n int) (*Vocab, error) {
	r := bytes.NewReader(data)
	v := &Vocab{}
	var max int32
	if err := binary.Read(r, binary.LittleEndian, &max); err != nil {
		return nil, bad("tokenizer: header: %v", err)
	}
	v.MaxTokenLength = int(max)
	for i := 0; i < n; i++ {
		var score float32
		var length int32
		if err := binary.Read(r, binary.LittleEndian, &score); err != nil {
			return nil, bad("tokenizer: piece %d score: %v", i, err)
		}
		if err := binary.Read(r, binary.LittleEndian, &length); err != nil {
			return nil, bad("tokenizer: piece %d length: %v", i, err)
		}
		if length < 0 || int64(length) > int64(r.Len()) {
			return nil, bad("tokenizer: piece %d length %d exceeds the file", i, length)
		}
		piece := make([]byte, length)
		if _, err := io.ReadFull(r, piece); err != nil {
			return nil, bad("tokenizer: piece %d: %v", i, err)
		}
		v.Pieces = append(v.Pieces, string(piece))
		v.Scores = append(v.Scores, score)
	}
	return v, nil
}

func bad(format string, args ...any) error {
	return fault.New(fault.Unprocessable, "llama2c: "+format, args...)
}

// ReadConfig reads the 7-integer header of a checkpoint.
func ReadConfig(data []byte) (Config, error) {
	if len(data) < 28 {
		return Config{}, bad("checkpoint: %d bytes is too short for a header", len(data))
	}
	h := make([]int32, 7)
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
	}
	c := Config{Dim: int(h[0]), HiddenDim: int(h[1]), Layers: int(h[2]), Heads: int(h[3]), KVHeads: int(h[4]),
		VocabSize: int(h[5]), SeqLen: int(h[6]), Shared: h[5] > 0}
	if c.VocabSize < 0 {
		c.VocabSize = -c.VocabSize
	}
	switch {
	case c.Dim <= 0 || c.HiddenDim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.VocabSize <= 0 || c.SeqLen <= 0:
		return c, bad("checkpoint header %v has a non-positive field", h)
	case c.Dim%c.Heads != 0 || c.Heads%c.KVHeads != 0:
		return c, bad("checkpoint header: dim %d, heads %d, kv heads %d do not divide", c.Dim, c.Heads, c.KVHeads)
	case c.Dim > 1<<16 || c.HiddenDim > 1<<18 || c.Layers > 1024 || c.VocabSize > 1<<20 || c.SeqLen > 1<<22:
		return c, bad("checkpoint header %v is implausibly large", h)
	}
	return c, nil
}

// Convert reads a llama2.c checkpoint and tokenizer and writes the GGUF file to w.
func Convert(w io.Writer, checkpoint, tokenizer []byte, name string) error {
	c, err := ReadConfig(checkpoint)
	if err != nil {
		return err
	}
	v, err := ReadVocab(tokenizer, c.VocabSize)
	if err != nil {
		return err
	}
	headSize := c.Dim / c.Heads
	kvDim := c.KVHeads * headSize
	// The checkpoint's float32 arrays, in llama2.c's order.
	type part struct {
		name string
		n    int // elements
	}
	parts := []part{
		{"token_embd", c.VocabSize * c.Dim},
		{"rms_att", c.Layers * c.Dim},
		{"wq", c.Layers * c.Dim * c.Dim},
		{"wk", c.Layers * c.Dim * kvDim},
		{"wv", c.Layers * c.Dim * kvDim},
		{"wo", c.Layers * c.Dim * c.Dim},
		{"rms_ffn", c.Layers * c.Dim},
		{"w1", c.Layers * c.HiddenDim * c.Dim},
		{"w2", c.Layers * c.Dim * c.HiddenDim},
		{"w3", c.Layers * c.HiddenDim * c.Dim},
		{"rms_final", c.Dim},
		{"freq_cis", c.SeqLen * headSize}, // real and imaginary halves; unused (RoPE is recomputed)
	}
	if !c.Shared {
		parts = append(parts, part{"wcls", c.VocabSize * c.Dim})
	}
	arrays := map[string][]byte{}
	off := 28
	for _, p := range parts {
		end := off + 4*p.n
		if end > len(checkpoint) || end < off {
			return bad("checkpoint: %s needs bytes %d..%d, the file has %d", p.name, off, end, len(checkpoint))
		}
		arrays[p.name] = checkpoint[off:end]
		off = end
	}
	if off != len(checkpoint) {
		return bad("checkpoint: %d trailing bytes after the weights (wrong header?)", len(checkpoint)-off)
	}
	layer := func(name string, l, per int) []byte { return arrays[name][4*l*per : 4*(l+1)*per] }
	ts := []gguf.WriteTensor{
		{Name: "token_embd.weight", Dims: []uint64{uint64(c.Dim), uint64(c.VocabSize)}, Type: tensor.F32, Data: arrays["token_embd"]},
		{Name: "output_norm.weight", Dims: []uint64{uint64(c.Dim)}, Type: tensor.F32, Data: arrays["rms_final"]},
	}
	if !c.Shared {
		ts = append(ts, gguf.WriteTensor{Name: "output.weight", Dims: []uint64{uint64(c.Dim), uint64(c.VocabSize)}, Type: tensor.F32, Data: arrays["wcls"]})
	}
	d, h, kv := uint64(c.Dim), uint64(c.HiddenDim), uint64(kvDim)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			gguf.WriteTensor{Name: p + "attn_norm.weight", Dims: []uint64{d}, Type: tensor.F32, Data: layer("rms_att", l, c.Dim)},
			gguf.WriteTensor{Name: p + "attn_q.weight", Dims: []uint64{d, d}, Type: tensor.F32, Data: layer("wq", l, c.Dim*c.Dim)},
			gguf.WriteTensor{Name: p + "attn_k.weight", Dims: []uint64{d, kv}, Type: tensor.F32, Data: layer("wk", l, c.Dim*kvDim)},
			gguf.WriteTensor{Name: p + "attn_v.weight", Dims: []uint64{d, kv}, Type: tensor.F32, Data: layer("wv", l, c.Dim*kvDim)},
			gguf.WriteTensor{Name: p + "attn_output.weight", Dims: []uint64{d, d}, Type: tensor.F32, Data: layer("wo", l, c.Dim*c.Dim)},
			gguf.WriteTensor{Name: p + "ffn_norm.weight", Dims: []uint64{d}, Type: tensor.F32, Data: layer("rms_ffn", l, c.Dim)},
			gguf.WriteTensor{Name: p + "ffn_gate.weight", Dims: []uint64{d, h}, Type: tensor.F32, Data: layer("w1", l, c.HiddenDim*c.Dim)},
			gguf.WriteTensor{Name: p + "ffn_down.weight", Dims: []uint64{h, d}, Type: tensor.F32, Data: layer("w2", l, c.Dim*c.HiddenDim)},
			gguf.WriteTensor{Name: p + "ffn_up.weight", Dims: []uint64{d, h}, Type: tensor.F32, Data: layer("w3", l, c.HiddenDim*c.Dim)},
		)
	}
	for _, t := range ts {
		if err := checkFinite(t.Name, t.Data); err != nil {
			return err
		}
	}
	tokens, types := ggufVocab(v)
	meta := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "general.name", Value: gguf.String(name)},
		{Key: "llama.context_length", Value: gguf.Uint32(uint32(c.SeqLen))},
		{Key: "llama.embedding_length", Value: gguf.Uint32(uint32(c.Dim))},
		{Key: "llama.feed_forward_length", Value: gguf.Uint32(uint32(c.HiddenDim))},
		{Key: "llama.attention.head_count", Value: gguf.Uint32(uint32(c.Heads))},
		{Key: "llama.attention.head_count_kv", Value: gguf.Uint32(uint32(c.KVHeads))},
		{Key: "llama.block_count", Value: gguf.Uint32(uint32(c.Layers))},
		{Key: "llama.rope.dimension_count", Value: gguf.Uint32(uint32(headSize))},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
		{Key: "tokenizer.ggml.model", Value: gguf.String("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Float32s(v.Scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32(0)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
	}
	return gguf.Write(w, meta, ts)
}

// ggufVocab maps llama2.c pieces to GGUF tokens and types the way llama.cpp's converter does: spaces
// become ▁, the BOS/EOS pieces ("\n<s>\n") become "<s>"/"</s>", <0xNN> pieces are byte tokens.
func ggufVocab(v *Vocab) ([]string, []int32) {
	tokens := make([]string, len(v.Pieces))
	types := make([]int32, len(v.Pieces))
	for i, p := range v.Pieces {
		switch {
		case i == 0:
			tokens[i], types[i] = "<unk>", 2
		case i == 1:
			tokens[i], types[i] = "<s>", 3
		case i == 2:
			tokens[i], types[i] = "</s>", 3
		case len(p) == 6 && strings.HasPrefix(p, "<0x") && p[5] == '>':
			tokens[i], types[i] = p, 6
		default:
			tokens[i], types[i] = strings.ReplaceAll(p, " ", "\u2581"), 1
		}
	}
	return tokens, types
}

func checkFinite(name string, data []byte) error {
	for i := 0; i+4 <= len(data); i += 4 {
		f := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return bad("%s: element %d is not finite", name, i/4)
		}
	}
	return nil
}
