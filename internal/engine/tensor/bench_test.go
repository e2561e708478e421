package tensor

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomMatrix returns a rows×cols matrix of random valid blocks (random quants, scales near 0.01)
// without running the slow reference quantiser over millions of values.
func randomMatrix(tb testing.TB, typ Type, rows, cols int) *Matrix {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
	var data []byte
	for i := 0; i < rows; i++ {
		data = append(data, randomRow(r, typ, cols, func(r *rand.Rand) uint16 {
			return F32ToF16(float32(0.005 + 0.01*r.Float64()))
		})...)
	}
	if typ == F32 {
		for i := 0; i+4 <= len(data); i += 4 {
			binary.LittleEndian.PutUint32(data[i:], 0x3c000000|uint32(r.IntN(1<<20)))
		}
	}
	m, err := NewMatrix(typ, rows, cols, data)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func benchMatMul(b *testing.B, typ Type, rows, cols, n, threads int) {
	m := randomMatrix(b, typ, rows, cols)
	p := NewPool(threads)
	defer p.Close()
	x := randVec(rand.New(rand.NewPCG(1, 1)), n*cols)
	out := make([]float32, n*rows)
	b.SetBytes(int64(len(m.Data)))
	b.ResetTimer()
	for range b.N {
		m.MatMul(p, out, x, n)
	}
	if n > 1 {
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
	}
}

// BenchmarkMatVec reports weight bytes streamed per second (MB/s) for generation-shaped products.
func BenchmarkMatVec(b *testing.B) {
	for _, c := range []struct {
		typ        Type
		rows, cols int
	}{
		{Q8_0, 576, 1536}, {Q8_0, 1536, 576}, {Q8_0, 49152, 576}, {Q4_0, 49152, 576},
		{Q4_K, 49152, 768}, {Q6_K, 49152, 768}, {F16, 8192, 576}, {BF16, 8192, 576}, {F32, 8192, 576},
	} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/%dx%d/t%d", c.typ, c.rows, c.cols, threads), func(b *testing.B) {
				benchMatMul(b, c.typ, c.rows, c.cols, 1, threads)
			})
		}
	}
}

// BenchmarkMatVecPureGo is BenchmarkMatVec for the pure-Go kernels, the fallback without AVX2.
func BenchmarkMatVecPureGo(b *testing.B) {
	saved := useAsm
	useAsm = false
	defer func() { useAsm = saved }()
	for _, typ := range []Type{Q8_0, Q4_0, Q4_K, Q6_K, F16, F32} {
		b.Run(fmt.Sprintf("%v/8192x768/t1", typ), func(b *testing.B) { benchMatMul(b, typ, 8192, 768, 1, 1) })
	}
}

// BenchmarkMatMul reports prompt-shaped products: many vectors against one matrix.
func BenchmarkMatMul(b *testing.B) {
	for _, typ := range []Type{Q8_0, Q4_K, Q6_K, F32} {
		b.Run(fmt.Sprintf("%v/1536x768/n64/t2", typ), func(b *testing.B) {
			benchMatMul(b, typ, 1536, 768, 64, 2)
		})
	}
}

// BenchmarkSmolLM2Generation runs the matrix-vector products of one generated token of a
// SmolLM2-135M-shaped Q8_0 model (30 layers of q, k, v, o, gate, up, down plus the 49152-row
// output) on 2 threads, and reports weight bytes per second against MeasureReadBandwidth on the
// same pool: the ratio the project's bar is stated in.
func BenchmarkSmolLM2Generation(b *testing.B) {
	const layers, dim, kvDim, ffn, vocab = 30, 576, 192, 1536, 49152
	p := NewPool(2)
	defer p.Close()
	type prod struct {
		m    *Matrix
		x, y []float32
	}
	var prods []prod
	var total int64
	add := func(rows, cols int) {
		m := randomMatrix(b, Q8_0, rows, cols)
		prods = append(prods, prod{m, randVec(rand.New(rand.NewPCG(2, 2)), cols), make([]float32, rows)})
		total += int64(len(m.Data))
	}
	for range layers {
		add(dim, dim)
		add(kvDim, dim)
		add(kvDim, dim)
		add(dim, dim)
		add(ffn, dim)
		add(ffn, dim)
		add(dim, ffn)
	}
	add(vocab, dim)
	b.SetBytes(total)
	token := func() {
		for _, q := range prods {
			q.m.MatVec(p, q.y, q.x)
		}
	}
	b.ResetTimer()
	for range b.N {
		token()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")

	// The ratio to the read bandwidth, from rounds that each probe the bandwidth and then generate
	// for the same time, so that load from other processes on a shared machine hits both sides of a
	// round alike; the median round is reported.
	buf := make([]byte, 512<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	var ratios, bws, rates []float64
	for range 7 {
		bw := measureReadBandwidth(p, buf, 300*time.Millisecond)
		start, n := time.Now(), 0
		for time.Since(start) < 300*time.Millisecond {
			token()
			n++
		}
		rate := float64(total) * float64(n) / time.Since(start).Seconds()
		ratios, bws, rates = append(ratios, rate/bw), append(bws, bw), append(rates, rate)
	}
	median := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(median(bws)/1e9, "readGB/s")
	b.ReportMetric(median(rates)/1e9, "weightGB/s")
	b.ReportMetric(median(ratios), "ratio")
}

// BenchmarkReadBandwidth reports MeasureReadBandwidth for 1 and 2 threads.
func BenchmarkReadBandwidth(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			var bw float64
			for range b.N {
				bw = MeasureReadBandwidth(p, 512<<20, time.Second)
			}
			b.ReportMetric(bw/1e9, "GB/s")
		})
	}
}

// BenchmarkPoolParallel measures the fixed cost of one Parallel call that hands work to a worker.
func BenchmarkPoolParallel(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var sink [64]int
	for range b.N {
		p.Parallel(64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sink[i]++
			}
		})
	}
}

// BenchmarkKernelQ8_0InCache runs the Q8_0 row kernel on 8 rows that stay in L1: its compute
// ceiling, to compare with the streaming figures of BenchmarkMatVec.
func BenchmarkKernelQ8_0InCache(b *testing.B) {
	m := randomMatrix(b, Q8_0, 8, 576)
	a := new(actQ8)
	a.quantize(nil, randVec(rand.New(rand.NewPCG(1, 1)), 576), 1, qk8_0)
	out := make([]float32, 8)
	b.SetBytes(int64(len(m.Data)))
	for range b.N {
		rowsQ8_0(m.Data, a.q, a.d, out)
	}
}
