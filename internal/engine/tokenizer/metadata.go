package tokenizer

import (
	"fmt"
	"math"

	"github.com/seance-dev/seance/internal/fault"
)

// Metadata is the part of a GGUF file's key-value metadata that FromMetadata reads. *gguf.File
// satisfies it; the interface is declared here so the tokenizer does not depend on the reader.
type Metadata interface {
	String(key string) (string, bool)
	Bool(key string) (bool, bool)
	Uint(key string) (uint64, bool)
	Strings(key string) ([]string, bool)
	Float32s(key string) ([]float32, bool)
	Int32s(key string) ([]int32, bool)
}

// FromMetadata builds a Vocab from the tokenizer.ggml.* keys of a GGUF file, with llama.cpp's
// defaults for absent keys: a llama vocabulary adds BOS and a space prefix and has BOS 1, EOS 2 and
// UNK 0 unless told otherwise; a gpt2 vocabulary adds nothing (except with the llama3 pre-tokenizer,
// which adds BOS) and has no special ids unless told. Errors are classified fault.Unprocessable.
func FromMetadata(md Metadata) (Vocab, error) {
	v, err := fromMetadata(md)
	if err != nil {
		return Vocab{}, fault.Wrap(err, fault.Unprocessable, "invalid tokenizer metadata")
	}
	return v, nil
}

func fromMetadata(md Metadata) (Vocab, error) {
	const p = "tokenizer.ggml."
	var v Vocab
	var ok bool
	if v.Model, ok = md.String(p + "model"); !ok {
		return v, fmt.Errorf("missing %smodel", p)
	}
	v.Pre, _ = md.String(p + "pre")
	if v.Tokens, ok = md.Strings(p + "tokens"); !ok {
		return v, fmt.Errorf("missing %stokens", p)
	}
	v.Scores, _ = md.Float32s(p + "scores")
	v.Types, _ = md.Int32s(p + "token_type")
	v.Merges, _ = md.Strings(p + "merges")

	v.BOS, v.EOS, v.UNK, v.PAD, v.EOT, v.EOM = -1, -1, -1, -1, -1, -1
	switch v.Model {
	case ModelLlama:
		v.BOS, v.EOS, v.UNK = 1, 2, 0
		v.AddBOS, v.AddSpacePrefix = true, true
	case ModelGPT2:
		switch v.Pre {
		case "llama3", "llama-v3", "llama-bpe", "falcon3":
			v.AddBOS = true
		}
	default:
		return v, fmt.Errorf("unsupported tokenizer model %q", v.Model)
	}
	for _, f := range []struct {
		key string
		dst *int
	}{
		{"bos_token_id", &v.BOS}, {"eos_token_id", &v.EOS}, {"unknown_token_id", &v.UNK},
		{"padding_token_id", &v.PAD}, {"eot_token_id", &v.EOT}, {"eom_token_id", &v.EOM},
	} {
		if id, ok := md.Uint(p + f.key); ok {
			*f.dst = int(min(id, math.MaxInt32))
		}
		// As llama.cpp, an id outside the vocabulary (files write 0xFFFFFFFF for "none") means absent.
		if *f.dst >= len(v.Tokens) {
			*f.dst = -1
		}
	}
	if b, ok := md.Bool(p + "add_bos_token"); ok {
		v.AddBOS = b
	}
	if b, ok := md.Bool(p + "add_eos_token"); ok {
		v.AddEOS = b
	}
	if b, ok := md.Bool(p + "add_space_prefix"); ok {
		v.AddSpacePrefix = b
	}
	if v.AddBOS && v.BOS < 0 {
		v.AddBOS = false
	}
	return v, nil
}
