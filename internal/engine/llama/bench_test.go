package llama

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/seance-dev/seance/bench/ggufgen"
	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
)

// benchModel writes a random smollm2-135m shaped model of type typ and loads it.
func benchModel(b *testing.B, typ tensor.Type, opts Options) *Model {
	b.Helper()
	path := filepath.Join(b.TempDir(), "m.gguf")
	if err := ggufgen.WriteFile(path, ggufgen.Options{Shape: ggufgen.Shapes["smollm2-135m"], Type: typ, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	m, err := Load(f, opts)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDecode measures one token at positions 128 and 1000 of a smollm2-135m shaped Q8_0
// model, on a two-thread pool, with the float32 and the half-precision KV cache.
func BenchmarkDecode(b *testing.B) {
	for _, half := range []bool{false, true} {
		m := benchModel(b, tensor.Q8_0, Options{HalfCache: half})
		for _, pos := range []int{128, 1000} {
			b.Run(fmt.Sprintf("half=%v/pos=%d", half, pos), func(b *testing.B) {
				p := tensor.NewPool(2)
				defer p.Close()
				st := m.NewState(pos + 1)
				logits := make([]float32, m.Config().Vocab)
				prompt := make([]int, pos)
				for i := range prompt {
					prompt[i] = (i * 37) % 1000
				}
				if err := st.Forward(p, prompt, logits); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					st.Truncate(pos)
					if err := st.Forward(p, []int{42}, logits); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkPrefill measures a 128-token prompt of the same model with several batch sizes.
func BenchmarkPrefill(b *testing.B) {
	for _, bs := range []int{16, 32, 64, 128} {
		m := benchModel(b, tensor.Q8_0, Options{BatchSize: bs})
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) {
			p := tensor.NewPool(2)
			defer p.Close()
			st := m.NewState(512)
			logits := make([]float32, m.Config().Vocab)
			prompt := make([]int, 128)
			for i := range prompt {
				prompt[i] = (i * 37) % 1000
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st.Truncate(0)
				if err := st.Forward(p, prompt, logits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkAttention measures one layer's attention of one new token at position 1000 of a
// smollm2-135m shaped model (a decode step runs 30 of them), on a two-thread pool.
func BenchmarkAttention(b *testing.B) {
	const pos = 1000
	for _, half := range []bool{false, true} {
		m := benchModel(b, tensor.Q8_0, Options{HalfCache: half})
		b.Run(fmt.Sprintf("half=%v", half), func(b *testing.B) {
			p := tensor.NewPool(2)
			defer p.Close()
			st := m.NewState(pos + 1)
			prompt := make([]int, pos+1)
			for i := range prompt {
				prompt[i] = (i * 37) % 1000
			}
			if err := st.Forward(p, prompt, nil); err != nil {
				b.Fatal(err)
			}
			st.Truncate(pos)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st.attention(p, i%m.cfg.Layers, 1)
			}
		})
	}
}
