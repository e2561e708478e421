package llama

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
)

// edit rewrites the model of a spec through change and loads the result.
func edit(t *testing.T, change func(meta []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor)) (*Model, error) {
	t.Helper()
	return editSpec(t, f32Specs()[0], change)
}

func editSpec(t *testing.T, s spec, change func(meta []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor)) (*Model, error) {
	t.Helper()
	f, err := gguf.Open(s.build(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []gguf.WriteTensor
	for _, info := range f.Tensors {
		ts = append(ts, gguf.WriteTensor{Name: info.Name, Dims: info.Dims, Type: info.Type, Data: f.TensorData(info)})
	}
	meta, ts := change(append([]gguf.KV(nil), f.Meta...), ts)
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, ts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return Load(g, Options{})
}

func setMeta(meta []gguf.KV, key string, v *gguf.Value) []gguf.KV {
	var out []gguf.KV
	for _, kv := range meta {
		if kv.Key != key {
			out = append(out, kv)
		}
	}
	if v != nil {
		out = append(out, gguf.KV{Key: key, Value: *v})
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	u32 := func(v uint32) *gguf.Value { x := gguf.Uint32(v); return &x }
	str := func(v string) *gguf.Value { x := gguf.String(v); return &x }
	tests := []struct {
		name   string
		change func([]gguf.KV, []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor)
		code   fault.Code
		want   string
	}{
		{"arch", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "general.architecture", str("gpt2")), ts
		}, fault.Unsupported, `architecture "gpt2" is not supported`},
		{"no arch", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "general.architecture", nil), ts
		}, fault.Unprocessable, "general.architecture is missing"},
		{"missing key", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "llama.block_count", nil), ts
		}, fault.Unprocessable, "metadata llama.block_count is missing"},
		{"key type", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "llama.embedding_length", str("32")), ts
		}, fault.Unprocessable, "metadata llama.embedding_length is missing or not a non-negative integer"},
		{"gqa", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "llama.attention.head_count_kv", u32(3)), ts
		}, fault.Unprocessable, "head_count 4 is not a multiple of head_count_kv 3"},
		{"rope dims", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "llama.rope.dimension_count", u32(9)), ts
		}, fault.Unprocessable, "rope.dimension_count 9 must be even"},
		{"scaling", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setMeta(m, "llama.rope.scaling.type", str("yarn")), ts
		}, fault.Unsupported, `RoPE scaling type "yarn" is not supported`},
		{"missing tensor", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			var out []gguf.WriteTensor
			for _, t := range ts {
				if t.Name != "blk.1.ffn_up.weight" {
					out = append(out, t)
				}
			}
			return m, out
		}, fault.Unprocessable, "tensor blk.1.ffn_up.weight is missing"},
		{"shape", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			for i := range ts {
				if ts[i].Name == "blk.0.ffn_down.weight" {
					ts[i].Dims = []uint64{ts[i].Dims[1], ts[i].Dims[0]}
				}
			}
			return m, ts
		}, fault.Unprocessable, "tensor blk.0.ffn_down.weight has shape [32 48], want [48 32]"},
		{"norm shape", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			for i := range ts {
				if ts[i].Name == "output_norm.weight" {
					ts[i].Dims = []uint64{16, 2}
				}
			}
			return m, ts
		}, fault.Unprocessable, "tensor output_norm.weight has shape [16 2], want [32]"},
		{"quantised shape", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			for i := range ts {
				if ts[i].Name == "blk.0.attn_v.weight" {
					ts[i].Type = tensor.Q5_K
					ts[i].Dims = []uint64{256, 4} // 4 rows of 256 (the shape check runs first)
					ts[i].Data = make([]byte, 4*176)
				}
			}
			return m, ts
		}, fault.Unprocessable, "tensor blk.0.attn_v.weight has shape [256 4], want [32 32]"},
		{"norm type", func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			for i := range ts {
				if ts[i].Name == "blk.1.attn_norm.weight" {
					ts[i].Type = tensor.Q8_0
					ts[i].Data = make([]byte, 34)
				}
			}
			return m, ts
		}, fault.Unprocessable, "tensor blk.1.attn_norm.weight has type Q8_0, want F32, F16 or BF16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := edit(t, tc.change)
			if err == nil {
				t.Fatal("no error")
			}
			if fault.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (%v), want %v containing %q", err, fault.CodeOf(err), tc.code, tc.want)
			}
		})
	}
}

// TestUnsupportedWeightType checks that a weight type without kernels is fault.Unsupported.
func TestUnsupportedWeightType(t *testing.T) {
	s := spec{name: "q5k", arch: "llama", dim: 256, layers: 1, heads: 4, kv: 4, ffn: 256, vocab: 8}
	_, err := editSpec(t, s, func(m []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
		for i := range ts {
			if ts[i].Name == "blk.0.attn_v.weight" {
				ts[i].Type = tensor.Q5_K
				ts[i].Data = make([]byte, 256*176)
			}
		}
		return m, ts
	})
	if fault.CodeOf(err) != fault.Unsupported || !strings.Contains(err.Error(), "tensor blk.0.attn_v.weight has type Q5_K") {
		t.Errorf("error %v (%v)", err, fault.CodeOf(err))
	}
}

func TestForwardErrors(t *testing.T) {
	s := f32Specs()[0]
	m := loadSpec(t, &s, Options{})
	vocab := m.Config().Vocab
	st := m.NewState(4)
	logits := make([]float32, vocab)
	if err := st.Forward(nil, []int{1, 2, 3}, logits); err != nil {
		t.Fatal(err)
	}
	err := st.Forward(nil, []int{1, 2}, logits)
	if fault.CodeOf(err) != fault.ContextLength || st.Pos() != 3 {
		t.Errorf("over the context: %v (%v), pos %d", err, fault.CodeOf(err), st.Pos())
	}
	if err := st.Forward(nil, []int{vocab}, logits); fault.CodeOf(err) != fault.Invalid || st.Pos() != 3 {
		t.Errorf("token out of range: %v, pos %d", err, st.Pos())
	}
	if err := st.Forward(nil, []int{-1}, logits); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("negative token: %v", err)
	}
	if err := st.Forward(nil, []int{1}, logits[:3]); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("short logits: %v", err)
	}
	if err := st.Forward(nil, nil, logits); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("no tokens: %v", err)
	}
	// The last slot is still usable, and logits may be skipped.
	if err := st.Forward(nil, []int{5}, nil); err != nil || st.Pos() != 4 {
		t.Errorf("last slot: %v, pos %d", err, st.Pos())
	}
	st.Truncate(10)
	if st.Pos() != 4 {
		t.Errorf("Truncate past the end moved to %d", st.Pos())
	}
	st.Truncate(-1)
	if st.Pos() != 0 {
		t.Errorf("Truncate(-1) left %d", st.Pos())
	}
}

func TestParamsAndFLOPs(t *testing.T) {
	for _, tied := range []bool{false, true} {
		s := f32Specs()[0] // dim 32, 2 layers, 4 heads of 8, ffn 48, vocab 40
		s.tied = tied
		m := loadSpec(t, &s, Options{})
		layer := int64(4*32*32 + 3*32*48 + 2*32)
		mats := 2*(4*32*32+3*32*48) + 40*32
		want := 2*layer + 40*32 + 32
		if !tied {
			want += 40 * 32
		}
		if m.Params() != want {
			t.Errorf("tied %v: Params() = %d, want %d", tied, m.Params(), want)
		}
		if got, wantF := m.FLOPsPerToken(10), int64(2*mats+4*2*10*8*4); got != wantF {
			t.Errorf("tied %v: FLOPsPerToken(10) = %d, want %d", tied, got, wantF)
		}
	}
}
