package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkAttention measures the attention kernels of one query head over 1000 cached positions
// of a SmolLM2-135M-shaped cache (head size 64, 3 KV heads per row); ns/op is per position.
func BenchmarkAttention(b *testing.B) {
	const npos, hd, stride = 1000, 64, 192
	r := rand.New(rand.NewPCG(1, 2))
	k := randHalfs(r, npos*stride)
	kf := randVec(r, npos*stride)
	q := randVec(r, hd)
	for i := range q {
		q[i] = RoundHalf(q[i])
	}
	out := make([]float32, npos)
	ms, vs := make([]float32, npos), make([]float32, npos)
	for j := range vs {
		ms[j], vs[j] = 1, 0.5
	}
	ms[0], ms[500] = 0, 0.75
	acc := make([]float32, hd)
	b.Run("HalfScores", func(b *testing.B) {
		for range b.N / npos {
			HalfScores(out, q, k, stride, 0.125)
		}
	})
	b.Run("HalfAccumulate", func(b *testing.B) {
		for range b.N / npos {
			clear(acc)
			HalfAccumulate(acc, k, stride, ms, vs)
		}
	})
	b.Run("Scores", func(b *testing.B) {
		for range b.N / npos {
			Scores(out, q, kf, stride, 0.125)
		}
	})
	b.Run("ExpSum", func(b *testing.B) {
		for range b.N / npos {
			ExpSum(out, 1)
		}
	})
}
