package ggufgen

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/llama"
	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/engine/tokenizer"
)

// TestTiny generates the tiny shape in every supported type and checks that the file opens, the
// model loads and computes finite logits, and the tokenizer metadata is accepted.
func TestTiny(t *testing.T) {
	for _, typ := range []tensor.Type{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tiny.gguf")
			if err := WriteFile(path, Options{Shape: Shapes["tiny"], Name: "tiny", Type: typ, Seed: 5}); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			info, _ := f.Tensor("blk.1.ffn_down.weight")
			if info.Type != typ || info.Dims[0] != 128 || info.Dims[1] != 64 {
				t.Errorf("ffn_down %+v", info)
			}
			m, err := llama.Load(f, llama.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config()
			if c.Vocab != 512 || c.Layers != 2 || !c.TiedOutput || c.KVHeads != 2 {
				t.Errorf("config %+v", c)
			}
			v, err := tokenizer.FromMetadata(f)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.New(v)
			if err != nil {
				t.Fatal(err)
			}
			ids := tok.Encode("<|im_start|>user\nthe cat\n", tokenizer.EncodeOptions{ParseSpecial: true})
			if len(ids) == 0 || ids[0] != 1 || tok.Decode(ids[1:]) != "user\nthe cat\n" {
				t.Errorf("encode: %v -> %q", ids, tok.Decode(ids))
			}
			if id, ok := tok.ID("Ġthe"); !ok || id < 259 {
				t.Errorf("merged token: %d %v", id, ok)
			}
			if !tok.IsEOG(2) {
				t.Error("<|im_end|> does not end generation")
			}
			logits := make([]float32, c.Vocab)
			if err := m.NewState(16).Forward(nil, ids, logits); err != nil {
				t.Fatal(err)
			}
			var spread float64
			for _, x := range logits {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatal("non-finite logit")
				}
				spread = math.Max(spread, math.Abs(float64(x-logits[0])))
			}
			if spread == 0 {
				t.Error("all logits equal: the weights are not random")
			}
		})
	}
}

// TestDeterministic checks that a seed reproduces the same bytes and another seed does not.
func TestDeterministic(t *testing.T) {
	gen := func(seed uint64) []byte {
		var b bytes.Buffer
		if err := Write(&b, Options{Shape: Shapes["tiny"], Type: tensor.Q8_0, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b, c := gen(1), gen(1), gen(2)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("seed 1 twice equal: %v; seeds 1 and 2 equal: %v", bytes.Equal(a, b), bytes.Equal(a, c))
	}
}

func TestRefuses(t *testing.T) {
	bad := Shapes["tiny"]
	bad.Heads = 3
	small := Shapes["tiny"]
	small.Vocab = 100
	for _, o := range []Options{
		{Shape: Shapes["tiny"], Type: tensor.Q4_K},
		{Shape: bad, Type: tensor.F32},
		{Shape: small, Type: tensor.F32},
		{Shape: Shape{Arch: "gpt2"}, Type: tensor.F32},
	} {
		if err := Write(&bytes.Buffer{}, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestSmolLM2Shape checks the realistic shape's metadata and size without keeping the file.
func TestSmolLM2Shape(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 145 MB")
	}
	path := filepath.Join(t.TempDir(), "smollm2.gguf")
	if err := WriteFile(path, Options{Shape: Shapes["smollm2-135m"], Type: tensor.Q8_0}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := llama.Load(f, llama.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	if c.Dim != 576 || c.Layers != 30 || c.Heads != 9 || c.KVHeads != 3 || c.FFN != 1536 || c.Vocab != 49152 ||
		c.ContextLength != 2048 || c.RopeBase != 100000 || !c.TiedOutput {
		t.Errorf("config %+v", c)
	}
	if p := m.Params(); p < 134e6 || p > 136e6 {
		t.Errorf("%d parameters, want about 134.5M", p)
	}
}
