package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var quantTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K}

// forEachPath runs f with the assembly kernels (when the CPU has them) and with the pure-Go ones.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := useAsm
	defer func() { useAsm = saved }()
	for _, asm := range []bool{true, false} {
		if asm && !hasAsm {
			continue
		}
		useAsm = asm
		name := "go"
		if asm {
			name = "asm"
		}
		t.Run(name, f)
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// f16Exact decodes a half from its layout description, in float64.
func f16Exact(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * m * math.Pow(2, -24)
	case 0x1f:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestF16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		want := f16Exact(uint16(h))
		got := F16ToF32(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("F16ToF32(%#04x) = %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
		if back := F32ToF16(got); back != uint16(h) {
			t.Fatalf("F32ToF16(%v) = %#04x, want %#04x", got, back, h)
		}
	}
	for _, c := range []struct {
		f float32
		h uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00}, {0x1p-24, 0x0001},
		{0x1p-25, 0x0000}, {0x1.8p-25, 0x0001}, {1 + 0x1p-11, 0x3c00}, {1 + 0x1.8p-10, 0x3c02}} {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	// Random values round to the nearest half (ties to even).
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		v := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-25)))
		h := F32ToF16(v)
		d := math.Abs(f16Exact(h) - float64(v))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7fff >= 0x7c00 || (nb^h)&0x8000 != 0 {
				continue
			}
			if dn := math.Abs(f16Exact(nb) - float64(v)); dn < d || (dn == d && h&1 == 1) {
				t.Fatalf("F32ToF16(%v) = %#04x, but %#04x is nearer", v, h, nb)
			}
		}
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {1 + 0x1p-8, 0x3f80}, {1 + 0x1.8p-7, 0x3f82}, {1 + 0x1p-7, 0x3f81}} {
		if got := F32ToBF16(c.f); got != c.h {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
		if got := BF16ToF32(c.h); math.Abs(float64(got-c.f)) > math.Abs(float64(c.f))/128 {
			t.Errorf("BF16ToF32(%#04x) = %v, want about %v", c.h, got, c.f)
		}
	}
	if !math.IsNaN(float64(BF16ToF32(F32ToBF16(float32(math.NaN()))))) {
		t.Error("NaN does not survive BF16")
	}
}

// refDecode decodes one row of type t from the layout description, in float64.
func refDecode(t Type, src []byte, n int) []float64 {
	out := make([]float64, n)
	h := func(b []byte) float64 { return f16Exact(binary.LittleEndian.Uint16(b)) }
	switch t {
	case F32:
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
		}
	case F16:
		for i := range out {
			out[i] = h(src[2*i:])
		}
	case BF16:
		for i := range out {
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16))
		}
	case Q8_0: // {f16 d; int8 qs[32]}
		for i := range out {
			blk := src[34*(i/32):]
			out[i] = h(blk) * float64(int8(blk[2+i%32]))
		}
	case Q4_0: // {f16 d; uint8 qs[16]}: element j low nibble of qs[j], element j+16 high nibble.
		for i := range out {
			blk := src[18*(i/32):]
			j := i % 32
			q := int(blk[2+j%16] & 0xf)
			if j >= 16 {
				q = int(blk[2+j%16] >> 4)
			}
			out[i] = h(blk) * float64(q-8)
		}
	case Q4_K: // {f16 d, dmin; scales[12]; qs[128]}
		for i := range out {
			blk := src[144*(i/256):]
			e := i % 256
			sub := e / 32 // sub-block 0..7
			s := blk[4:16]
			var sc, m int
			if sub < 4 {
				sc, m = int(s[sub]&63), int(s[sub+4]&63)
			} else {
				sc = int(s[sub+4]&15) | int(s[sub-4]>>6)<<4
				m = int(s[sub+4]>>4) | int(s[sub]>>6)<<4
			}
			qb := blk[16+32*(sub/2)+e%32]
			q := int(qb & 0xf)
			if sub%2 == 1 {
				q = int(qb >> 4)
			}
			out[i] = h(blk)*float64(sc)*float64(q) - h(blk[2:])*float64(m)
		}
	case Q6_K: // {ql[128]; qh[64]; int8 scales[16]; f16 d}
		for i := range out {
			blk := src[210*(i/256):]
			e := i % 256
			half, r := e/128, e%128
			k, l := r/32, r%32 // quarter k of the half: ql low (k=0,1) or high (k=2,3) nibbles
			ql := blk[64*half+l+32*(k%2)]
			lo := int(ql & 0xf)
			if k >= 2 {
				lo = int(ql >> 4)
			}
			hi := int(blk[128+32*half+l]>>(2*k)) & 3
			q := lo | hi<<4 - 32
			out[i] = h(blk[208:]) * float64(int8(blk[192+e/16])) * float64(q)
		}
	}
	return out
}

// randomRow returns random stored bytes for a row of n elements of type t, with every f16 scale
// replaced by pick(r).
func randomRow(r *rand.Rand, t Type, n int, pick func(*rand.Rand) uint16) []byte {
	rb, _ := RowBytes(t, n)
	b := make([]byte, rb)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	put := func(off int) { binary.LittleEndian.PutUint16(b[off:], pick(r)) }
	tr, _ := TraitsOf(t)
	for blk := 0; blk < n/tr.BlockSize; blk++ {
		o := blk * tr.BlockBytes
		switch t {
		case F32:
			binary.LittleEndian.PutUint32(b[o:], math.Float32bits(float32(r.NormFloat64())))
		case F16, BF16:
			put(o)
		case Q8_0, Q4_0:
			put(o)
		case Q4_K:
			put(o)
			put(o + 2)
		case Q6_K:
			put(o + 208)
		}
	}
	return b
}

func pow2Half(r *rand.Rand) uint16 { return uint16(15+r.IntN(5)-4) << 10 } // 2^-4 .. 2^0
func anyHalf(r *rand.Rand) uint16  { return F32ToF16(float32(r.Float64()*2 - 1)) }

func TestDequantizeRowExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, typ := range quantTypes {
		t.Run(typ.String(), func(t *testing.T) {
			n := 512
			// With power-of-two scales every product is exact, so ggml's float32 formula and the
			// float64 decoding must agree bit for bit.
			for it := 0; it < 50; it++ {
				src := randomRow(r, typ, n, pow2Half)
				got := make([]float32, n)
				DequantizeRow(typ, src, got)
				want := refDecode(typ, src, n)
				for i := range got {
					if float64(got[i]) != want[i] && !(math.IsNaN(want[i]) && math.IsNaN(float64(got[i]))) {
						t.Fatalf("element %d = %v, want %v", i, got[i], want[i])
					}
				}
			}
			// With arbitrary scales only the float32 rounding of ggml's formula separates them.
			for it := 0; it < 50; it++ {
				src := randomRow(r, typ, n, anyHalf)
				got := make([]float32, n)
				DequantizeRow(typ, src, got)
				want := refDecode(typ, src, n)
				for i := range got {
					if math.IsNaN(want[i]) || math.IsInf(want[i], 0) {
						continue
					}
					if d := math.Abs(float64(got[i]) - want[i]); d > 1e-6*max(1, math.Abs(want[i]))*64 {
						t.Fatalf("element %d = %v, want %v", i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestDequantizeKnownBlocks(t *testing.T) {
	// Q8_0: d = 0.5, qs = -3 then 0, 1, ...
	q8 := make([]byte, 34)
	binary.LittleEndian.PutUint16(q8, 0x3800)
	q8[2] = byte(0xfd)
	for i := 1; i < 32; i++ {
		q8[2+i] = byte(i - 1)
	}
	// Q4_0: d = 2, qs[0] = 0xf0 (element 0 → 0-8, element 16 → 15-8).
	q4 := make([]byte, 18)
	binary.LittleEndian.PutUint16(q4, 0x4000)
	q4[2] = 0xf0
	// Q4_K: d = 1, dmin = 0.5; sub-block 0 scale 3 min 4; sub-block 5 scale 33 (0b100001) min 18
	// (0b010010); element 0 q = 7, element 32+... (sub-block 1) untouched, element 160 (sub 5) q = 9.
	q4k := make([]byte, 144)
	binary.LittleEndian.PutUint16(q4k, 0x3c00)
	binary.LittleEndian.PutUint16(q4k[2:], 0x3800)
	q4k[4+0], q4k[4+4] = 3, 4
	q4k[4+9] = 33&15 | (18&15)<<4 // scales[j+4] for j = 5
	q4k[4+1] |= (33 >> 4) << 6    // scales[j-4]
	q4k[4+5] |= (18 >> 4) << 6    // scales[j]
	q4k[16+0] = 7
	q4k[16+64+0] = 9 << 4 // chunk 2, high nibble → sub-block 5, element 160
	// Q6_K: d = 0.25; scales[0] = -2, scales[12] = 5; element 0: q = 63 (ql low 15, qh bits 0-1 = 3);
	// element 192 (half 1, quarter 2, l 0): q = 0 (ql[64] high nibble 0, qh[32] bits 4-5 = 0).
	q6k := make([]byte, 210)
	binary.LittleEndian.PutUint16(q6k[208:], 0x3400)
	q6k[192], q6k[192+12] = byte(0xfe), 5
	q6k[0] = 0x0f
	q6k[128] = 3
	for _, c := range []struct {
		t    Type
		src  []byte
		n    int
		want map[int]float32
	}{
		{Q8_0, q8, 32, map[int]float32{0: -1.5, 1: 0, 2: 0.5, 31: 15}},
		{Q4_0, q4, 32, map[int]float32{0: -16, 16: 14, 1: -16, 17: -16}},
		{Q4_K, q4k, 256, map[int]float32{0: 3*7 - 2, 1: -2, 160: 33*9 - 9, 161: -9, 32: 0}},
		{Q6_K, q6k, 256, map[int]float32{0: 0.25 * -2 * 31, 1: 0.25 * -2 * -32, 192: 0.25 * 5 * -32}},
	} {
		got := make([]float32, c.n)
		DequantizeRow(c.t, c.src, got)
		for i, w := range c.want {
			if got[i] != w {
				t.Errorf("%v element %d = %v, want %v", c.t, i, got[i], w)
			}
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	// Relative RMS error allowed for Gaussian data.
	tol := map[Type]float64{F32: 0, F16: 1e-3, BF16: 4e-3, Q8_0: 0.01, Q4_0: 0.12, Q4_K: 0.1, Q6_K: 0.03}
	for _, typ := range quantTypes {
		x := randVec(r, 1024)
		x[5] = 0
		b, err := Quantize(typ, x)
		if err != nil {
			t.Fatalf("Quantize(%v): %v", typ, err)
		}
		y := make([]float32, len(x))
		DequantizeRow(typ, b, y)
		var se, sx float64
		for i := range x {
			se += float64(x[i]-y[i]) * float64(x[i]-y[i])
			sx += float64(x[i]) * float64(x[i])
		}
		if rel := math.Sqrt(se / sx); rel > tol[typ] {
			t.Errorf("%v: relative RMS error %.4g > %.4g", typ, rel, tol[typ])
		}
		// A zero block encodes and decodes to zeros.
		tr, _ := TraitsOf(typ)
		z, err := Quantize(typ, make([]float32, tr.BlockSize))
		if err != nil {
			t.Fatal(err)
		}
		zd := make([]float32, tr.BlockSize)
		DequantizeRow(typ, z, zd)
		for i, v := range zd {
			if v != 0 {
				t.Fatalf("%v: zero block decodes to %v at %d", typ, v, i)
			}
		}
	}
	if _, err := Quantize(Q8_0, make([]float32, 31)); err == nil {
		t.Error("Quantize accepted a partial block")
	}
	if _, err := Quantize(Q4_1, make([]float32, 32)); err == nil {
		t.Error("Quantize accepted an unsupported type")
	}
	if _, err := Quantize(Q8_0, append(make([]float32, 31), float32(math.Inf(1)))); err == nil {
		t.Error("Quantize accepted Inf")
	}
}

// checkMatMul compares MatMul against float64 products of the dequantised rows. For quantised
// types the bound is the activation rounding: at most half a quantisation step per element.
func checkMatMul(t *testing.T, p *Pool, typ Type, rows, cols, n int, r *rand.Rand) {
	t.Helper()
	w := randVec(r, rows*cols)
	data, err := Quantize(typ, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	x := randVec(r, n*cols)
	for i := range x {
		x[i] *= float32(1 + 3*(i%7)) // Uneven magnitudes across blocks.
	}
	out := make([]float32, n*rows)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	m.MatMul(p, out, x, n)
	abs := 32
	switch typ {
	case Q4_K, Q6_K:
		abs = 256
	case F32, F16, BF16:
		abs = 0
	}
	row := make([]float32, cols)
	for rr := 0; rr < rows; rr++ {
		m.Row(rr, row)
		for tt := 0; tt < n; tt++ {
			xv := x[tt*cols : (tt+1)*cols]
			var want, mag, bound float64
			for c := range row {
				want += float64(row[c]) * float64(xv[c])
				mag += math.Abs(float64(row[c]) * float64(xv[c]))
			}
			if abs > 0 {
				for b := 0; b < cols/abs; b++ {
					var amax, wsum float64
					for c := b * abs; c < (b+1)*abs; c++ {
						amax = max(amax, math.Abs(float64(xv[c])))
						wsum += math.Abs(float64(row[c]))
					}
					bound += amax / 127 / 2 * wsum * 1.01
				}
			}
			bound += 2e-6*mag + 1e-6
			if got := float64(out[tt*rows+rr]); !(math.Abs(got-want) <= bound) {
				t.Fatalf("%v %d×%d n=%d: out[%d,%d] = %v, want %v ± %.3g", typ, rows, cols, n, tt, rr, got, want, bound)
			}
		}
	}
}

func TestMatMul(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, threads := range []int{1, 2, 3} {
			p := NewPool(threads)
			for _, typ := range quantTypes {
				tr, _ := TraitsOf(typ)
				step := max(tr.BlockSize, 32)
				for _, shape := range [][2]int{{1, 1}, {5, 1}, {37, 3}, {67, 2}, {133, 6}} {
					for _, n := range []int{1, 2, 3, 5} {
						checkMatMul(t, p, typ, shape[0], shape[1]*step, n, r)
					}
				}
				// Odd element counts exercise the kernels' tails for the float types.
				if tr.BlockSize == 1 {
					for _, cols := range []int{1, 7, 9, 33, 45} {
						checkMatMul(t, p, typ, 19, cols, 2, r)
					}
				}
			}
			p.Close()
		}
	})
}

func TestMatMulPromptSized(t *testing.T) {
	// Big enough to quantise the activations in parallel and to span many row tiles.
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		p := NewPool(2)
		defer p.Close()
		for _, typ := range []Type{Q8_0, Q4_K, Q6_K} {
			checkMatMul(t, p, typ, 70, 512, 40, r)
		}
	})
}

func TestMatMulShapePanics(t *testing.T) {
	m, err := NewMatrix(F32, 2, 3, make([]byte, 24))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MatMul accepted a short x")
		}
	}()
	m.MatMul(nil, make([]float32, 2), make([]float32, 2), 1)
}

func TestNewMatrix(t *testing.T) {
	for _, c := range []struct {
		t          Type
		rows, cols int
		bytes      int
		ok         bool
	}{
		{Q8_0, 2, 64, 136, true}, {Q8_0, 2, 64, 135, false}, {Q8_0, 2, 48, 102, false},
		{Q4_1, 1, 32, 20, false}, {Type(99), 1, 1, 4, false}, {Q6_K, 1, 256, 210, true}, {F32, -1, 4, 0, false},
	} {
		_, err := NewMatrix(c.t, c.rows, c.cols, make([]byte, c.bytes))
		if (err == nil) != c.ok {
			t.Errorf("NewMatrix(%v, %d, %d, %d bytes) error = %v, want ok %v", c.t, c.rows, c.cols, c.bytes, err, c.ok)
		}
	}
}

func TestDot(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for n := 0; n < 80; n++ {
			a, b := randVec(r, n), randVec(r, n+3)
			var want, mag float64
			for i := range a {
				want += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := float64(Dot(a, b)); math.Abs(got-want) > 1e-6*mag+1e-7 {
				t.Fatalf("Dot n=%d = %v, want %v", n, got, want)
			}
		}
	})
}

func TestPoolCoversRange(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 3, 7, 64, 1000, 4097} {
			hits := make([]atomic.Int32, n)
			p.Parallel(n, func(lo, hi int) {
				if lo >= hi || lo < 0 || hi > n {
					t.Errorf("bad range [%d, %d) of %d", lo, hi, n)
					return
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("threads %d n %d: index %d covered %d times", threads, n, i, h)
				}
			}
		}
		p.Close()
		p.Close()
		var calls atomic.Int32
		p.Parallel(10, func(lo, hi int) { calls.Add(int32(hi - lo)) }) // Serial after Close.
		if calls.Load() != 10 {
			t.Fatalf("after Close covered %d of 10", calls.Load())
		}
	}
	var nilPool *Pool
	var sum int
	nilPool.Parallel(5, func(lo, hi int) { sum += hi - lo })
	nilPool.Close()
	if sum != 5 || nilPool.Threads() != 1 || (&Pool{}).Threads() != 1 {
		t.Fatal("nil or zero pool does not run serially")
	}
}

func TestPoolConcurrentCallers(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 200; it++ {
				var total atomic.Int64
				p.Parallel(100+g, func(lo, hi int) { total.Add(int64(hi - lo)) })
				if total.Load() != int64(100+g) {
					t.Errorf("covered %d of %d", total.Load(), 100+g)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMeasureReadBandwidth(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		p := NewPool(2)
		defer p.Close()
		start := time.Now()
		bw := MeasureReadBandwidth(p, 4<<20, 20*time.Millisecond)
		el := time.Since(start)
		// At least one timed pass over the 4 MiB buffer, within the time taken.
		if el < 20*time.Millisecond || !(bw >= 4<<20/el.Seconds()) || math.IsInf(bw, 0) {
			t.Fatalf("bandwidth %v bytes/s after %v is implausible", bw, el)
		}
	})
	b := make([]byte, 8*100)
	for i := 0; i < 100; i++ {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(i)*0x0101010101)
	}
	forEachPath(t, func(t *testing.T) {
		for _, n := range []int{0, 8, 128, 256, 800} {
			var w uint64
			for i := 0; i < n/8; i++ {
				w += uint64(i) * 0x0101010101
			}
			if got := sumBytes(b[:n]); got != w {
				t.Fatalf("sumBytes(%d) = %d, want %d", n, got, w)
			}
		}
	})
}
