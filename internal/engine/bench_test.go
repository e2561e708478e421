package engine

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/seance-dev/seance/bench/ggufgen"
	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/tensor"
)

// benchModel writes (once per machine, cached in the temp folder) a random-weight GGUF of a named
// shape and weight type, and returns its path.
func benchModel(b *testing.B, shape string, typ tensor.Type) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), "seance-bench-"+shape+"-"+typ.String()+"-seed1.gguf")
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if f, err := gguf.Open(path); err == nil {
			f.Close()
			return path
		}
	}
	tmp := path + ".tmp"
	if err := ggufgen.WriteFile(tmp, ggufgen.Options{Shape: ggufgen.Shapes[shape], Name: shape, Type: typ, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// weightBytesPerToken is what one generated token streams from memory: every matrix of the forward
// pass (the embedding table once, as the output projection when tied; the single embedding row of
// the input is negligible).
func weightBytesPerToken(b *testing.B, path string) float64 {
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	_, hasOutput := f.Tensor("output.weight")
	var n uint64
	for _, t := range f.Tensors {
		if len(t.Dims) < 2 || (hasOutput && t.Name == "token_embd.weight") {
			continue
		}
		n += t.Size
	}
	return float64(n)
}

// BenchmarkSmolLM2Q8 measures the embedded engine on a random-weight Q8_0 model with the shape of
// SmolLM2-135M, with 2 threads: prompt tokens/s, generation tokens/s, the weight bytes streamed per
// second while generating, and their ratio to the machine's read bandwidth measured in the same run
// (a probe and a generation alternate in each iteration; the medians are reported).
//
//	go test -run '^$' -bench SmolLM2Q8 -benchtime 5x ./internal/engine/
func BenchmarkSmolLM2Q8(b *testing.B) {
	const threads, promptLen, genLen = 2, 128, 64
	path := benchModel(b, "smollm2-135m", tensor.Q8_0)
	// SEANCE_BENCH_CACHE=f32 measures the float32 KV cache instead of the default half precision.
	m, err := Open(path, Options{Threads: threads, Float32Cache: os.Getenv("SEANCE_BENCH_CACHE") == "f32"})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	perToken := weightBytesPerToken(b, path)
	rng := rand.New(rand.NewPCG(1, 2))
	prompt := make([]int, promptLen)
	for i := range prompt {
		prompt[i] = 300 + rng.IntN(m.net.Config().Vocab-300)
	}
	probe := tensor.NewPool(threads)
	defer probe.Close()
	var promptTPS, genTPS, weightBW, readBW, ratio []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bw := tensor.MeasureReadBandwidth(probe, 512<<20, 500*time.Millisecond)
		res, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxTokens: genLen, IgnoreEOG: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		gen := res.Duration - res.PromptDuration
		ptps := float64(promptLen) / res.PromptDuration.Seconds()
		// genLen tokens are sampled; genLen-1 forward passes follow the prompt's.
		gtps := float64(genLen-1) / gen.Seconds()
		promptTPS = append(promptTPS, ptps)
		genTPS = append(genTPS, gtps)
		weightBW = append(weightBW, gtps*perToken)
		readBW = append(readBW, bw)
		ratio = append(ratio, gtps*perToken/bw)
	}
	b.StopTimer()
	b.ReportMetric(median(promptTPS), "prompt_tok/s")
	b.ReportMetric(median(genTPS), "gen_tok/s")
	b.ReportMetric(median(weightBW)/1e9, "weight_GB/s")
	b.ReportMetric(median(readBW)/1e9, "read_GB/s")
	b.ReportMetric(median(ratio), "bw_ratio")
	b.ReportMetric(perToken/1e6, "MB/token")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
