package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/testenv"
)

// sharedDir returns the shared test data folder (see internal/testenv).
func sharedDir(t *testing.T) string {
	t.Helper()
	return testenv.Shared(t)
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// sampleFile returns metadata of every value type and three tensors of different types.
func sampleFile(t testing.TB) ([]KV, []WriteTensor) {
	meta := []KV{
		{"general.architecture", String("llama")},
		{"u8", Uint8(200)}, {"i8", Int8(-100)}, {"u16", Uint16(60000)}, {"i16", Int16(-30000)},
		{"u32", Uint32(4000000000)}, {"i32", Int32(-2000000000)}, {"f32", Float32(1.5)},
		{"bool", Bool(true)}, {"str", String("héllo")}, {"u64", Uint64(1 << 60)},
		{"i64", Int64(-1 << 60)}, {"f64", Float64(math.Pi)},
		{"strs", Strings([]string{"a", "", "ccc"})},
		{"f32s", Float32s([]float32{1, -2, 3.25})},
		{"i32s", Int32s([]int32{1, -2, 3})},
		{"u8s", Value{TypeArray, Array{TypeUint8, []uint8{1, 2, 3}}}},
		{"i8s", Value{TypeArray, Array{TypeInt8, []int8{-1, 2}}}},
		{"u16s", Value{TypeArray, Array{TypeUint16, []uint16{1, 65535}}}},
		{"i16s", Value{TypeArray, Array{TypeInt16, []int16{-1, 2}}}},
		{"u32s", Value{TypeArray, Array{TypeUint32, []uint32{7}}}},
		{"bools", Value{TypeArray, Array{TypeBool, []bool{true, false}}}},
		{"u64s", Value{TypeArray, Array{TypeUint64, []uint64{1 << 63}}}},
		{"i64s", Value{TypeArray, Array{TypeInt64, []int64{-5}}}},
		{"f64s", Value{TypeArray, Array{TypeFloat64, []float64{0.5}}}},
		{"empty", Value{TypeArray, Array{TypeInt32, []int32{}}}},
		{"nested", Arrays([]Array{{TypeString, []string{"x", "y"}}, {TypeArray, []Array{{TypeInt32, []int32{9}}}}})},
	}
	f16, err := tensor.Quantize(tensor.F16, []float32{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	q8 := make([]float32, 64)
	for i := range q8 {
		q8[i] = float32(i) - 30
	}
	q8b, err := tensor.Quantize(tensor.Q8_0, q8)
	if err != nil {
		t.Fatal(err)
	}
	tensors := []WriteTensor{
		{Name: "a", Dims: []uint64{3, 2}, Type: tensor.F32, Data: f32bytes([]float32{1, 2, 3, 4, 5, 6})},
		{Name: "b", Dims: []uint64{6}, Type: tensor.F16, Data: f16},
		{Name: "c", Dims: []uint64{32, 2}, Type: tensor.Q8_0, Fill: func(dst []byte) error { copy(dst, q8b); return nil }},
	}
	return meta, tensors
}

func TestRoundTrip(t *testing.T) {
	meta, tensors := sampleFile(t)
	for _, align := range []uint32{0, 64, 1} {
		m := meta
		if align != 0 {
			m = append(append([]KV(nil), meta...), KV{"general.alignment", Uint32(align)})
		}
		var buf bytes.Buffer
		if err := Write(&buf, m, tensors); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "x.gguf")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		opened, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []*File{opened, parsed} {
			if f.Version != 3 {
				t.Errorf("version %d", f.Version)
			}
			wantAlign := uint64(32)
			if align != 0 {
				wantAlign = uint64(align)
			}
			if f.Alignment != wantAlign || f.DataOffset%wantAlign != 0 {
				t.Errorf("alignment %d, data offset %d, want alignment %d", f.Alignment, f.DataOffset, wantAlign)
			}
			if !reflect.DeepEqual(f.Meta, m) {
				t.Errorf("metadata differs:\n got %v\nwant %v", f.Meta, m)
			}
			if len(f.Tensors) != len(tensors) {
				t.Fatalf("%d tensors", len(f.Tensors))
			}
			for i, wt := range tensors {
				info, ok := f.Tensor(wt.Name)
				if !ok || info.Name != wt.Name || info.Type != wt.Type || !reflect.DeepEqual(info.Dims, wt.Dims) {
					t.Errorf("tensor %d: %+v", i, info)
				}
				if info.Offset%wantAlign != 0 {
					t.Errorf("tensor %q at unaligned offset %d", wt.Name, info.Offset)
				}
				want := wt.Data
				if want == nil {
					want = make([]byte, info.Size)
					_ = wt.Fill(want)
				}
				if got := f.TensorData(info); !bytes.Equal(got, want) {
					t.Errorf("tensor %q data differs", wt.Name)
				}
			}
		}
		if err := opened.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestLargeValues reads values larger than the decoder's read window through a ReaderAt.
func TestLargeValues(t *testing.T) {
	long := strings.Repeat("ab", 100<<10)
	nums := make([]uint32, 70000)
	for i := range nums {
		nums[i] = uint32(i * 7)
	}
	meta := []KV{{"long", String(long)}, {"nums", Value{TypeArray, Array{TypeUint32, nums}}}, {"after", Uint8(9)}}
	var buf bytes.Buffer
	if err := Write(&buf, meta, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Meta, meta) {
		t.Error("large values differ after a round trip")
	}
	// A reader that holds less than the size it was given fails in the long read, precisely.
	_, err = Parse(bytes.NewReader(buf.Bytes()[:1000]), int64(buf.Len()))
	if err == nil || !strings.Contains(err.Error(), `read metadata "long"`) || fault.CodeOf(err) != fault.Unprocessable {
		t.Errorf("short reader: %v", err)
	}
}

func TestAccessors(t *testing.T) {
	meta, tensors := sampleFile(t)
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch() != "llama" {
		t.Errorf("arch %q", f.Arch())
	}
	if v, ok := f.Uint("u32"); !ok || v != 4000000000 {
		t.Errorf("Uint(u32) = %v %v", v, ok)
	}
	if _, ok := f.Uint("i8"); ok {
		t.Error("Uint of a negative int8 succeeded")
	}
	if v, ok := f.Int("i8"); !ok || v != -100 {
		t.Errorf("Int(i8) = %v %v", v, ok)
	}
	if _, ok := f.Int("str"); ok {
		t.Error("Int of a string succeeded")
	}
	if v, ok := f.Float("f32"); !ok || v != 1.5 {
		t.Errorf("Float(f32) = %v %v", v, ok)
	}
	if v, ok := f.Float("u16"); !ok || v != 60000 {
		t.Errorf("Float(u16) = %v %v", v, ok)
	}
	if v, ok := f.Bool("bool"); !ok || !v {
		t.Errorf("Bool = %v %v", v, ok)
	}
	if v, ok := f.String("str"); !ok || v != "héllo" {
		t.Errorf("String = %q %v", v, ok)
	}
	if v, ok := f.Strings("strs"); !ok || !reflect.DeepEqual(v, []string{"a", "", "ccc"}) {
		t.Errorf("Strings = %q %v", v, ok)
	}
	if v, ok := f.Float32s("f64s"); !ok || !reflect.DeepEqual(v, []float32{0.5}) {
		t.Errorf("Float32s(f64s) = %v %v", v, ok)
	}
	if v, ok := f.Int32s("u16s"); !ok || !reflect.DeepEqual(v, []int32{1, 65535}) {
		t.Errorf("Int32s(u16s) = %v %v", v, ok)
	}
	if _, ok := f.Int32s("u64s"); ok {
		t.Error("Int32s of an out-of-range uint64 array succeeded")
	}
	if _, ok := f.String("missing"); ok {
		t.Error("String of a missing key succeeded")
	}
	if _, ok := f.Tensor("missing"); ok {
		t.Error("Tensor of a missing name succeeded")
	}
	if a, ok := f.Array("nested"); !ok || a.Len() != 2 {
		t.Errorf("nested array: %v %v", a, ok)
	}
}

func TestStories260K(t *testing.T) {
	path := filepath.Join(sharedDir(t), "models", "stories260K", "stories260K-f32.gguf")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != 48 || len(f.Meta) != 19 || f.Arch() != "llama" {
		t.Fatalf("%d tensors, %d keys, arch %q", len(f.Tensors), len(f.Meta), f.Arch())
	}
	if toks, ok := f.Strings("tokenizer.ggml.tokens"); !ok || len(toks) != 512 || toks[1] != "<s>" {
		t.Errorf("tokens: %d %v", len(toks), ok)
	}
	if n, ok := f.Uint("llama.block_count"); !ok || n != 5 {
		t.Errorf("block_count %d %v", n, ok)
	}
	info, ok := f.Tensor("token_embd.weight")
	if !ok || info.Type != tensor.F32 || !reflect.DeepEqual(info.Dims, []uint64{64, 512}) {
		t.Fatalf("token_embd: %+v", info)
	}
	if len(f.TensorData(info)) != 64*512*4 {
		t.Errorf("token_embd data %d bytes", len(f.TensorData(info)))
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.gguf"))
	if fault.CodeOf(err) != fault.NotFound {
		t.Errorf("err %v, code %v", err, fault.CodeOf(err))
	}
}

// raw builds a GGUF byte stream field by field, so tests can write what Write refuses to.
type raw struct{ bytes.Buffer }

func (r *raw) u32(v uint32) *raw { _ = binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) u64(v uint64) *raw { _ = binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }
func (r *raw) pad(n int) *raw    { r.Write(make([]byte, n)); return r }

func header(version uint32, nTensors, nKV uint64) *raw {
	r := &raw{}
	r.u32(magic).u32(version).u64(nTensors).u64(nKV)
	return r
}

// oneTensor returns a file with one F32 tensor of dims at relative offset off, data bytes long.
func oneTensor(dims []uint64, typ uint32, off uint64, data int) *raw {
	r := header(3, 1, 0)
	r.str("t").u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	r.u32(typ).u64(off)
	r.pad(int(alignUp(uint64(r.Len()), 32)) - r.Len())
	return r.pad(data)
}

func TestCorrupt(t *testing.T) {
	valid := func() []byte {
		meta, tensors := sampleFile(t)
		var buf bytes.Buffer
		if err := Write(&buf, meta, tensors); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	patch := func(off int, b ...byte) []byte {
		out := append([]byte(nil), valid...)
		copy(out[off:], b)
		return out
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short for a header"},
		{"magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"v1", header(1, 0, 0).Bytes(), "unsupported version 1"},
		{"v4", header(4, 0, 0).Bytes(), "unsupported version 4"},
		{"big-endian", header(0x03000000, 0, 0).Bytes(), "big-endian"},
		{"tensor count", header(3, 1<<40, 0).Bytes(), "tensor count 1099511627776 is impossible"},
		{"kv count", header(3, 0, 1<<40).Bytes(), "metadata count 1099511627776 is impossible"},
		{"key length", header(3, 0, 1).u64(1 << 50).pad(8).Bytes(), "metadata key #0: length 1125899906842624 runs past"},
		{"value type", header(3, 0, 1).str("k").u32(13).pad(8).Bytes(), `metadata "k": unknown value type 13`},
		{"array type", header(3, 0, 1).str("k").u32(9).u32(77).u64(1).pad(8).Bytes(), `metadata "k": unknown array element type 77`},
		{"array count", header(3, 0, 1).str("k").u32(9).u32(4).u64(1 << 40).pad(8).Bytes(), `metadata "k": array of 1099511627776 uint32 elements runs past`},
		{"string value", header(3, 0, 1).str("k").u32(8).u64(100).pad(8).Bytes(), `metadata "k": length 100 runs past`},
		{"duplicate key", header(3, 0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).Bytes(), `duplicate metadata key "k"`},
		{"alignment type", header(3, 0, 1).str("general.alignment").u32(10).u64(32).Bytes(), "general.alignment has type uint64"},
		{"alignment value", header(3, 0, 1).str("general.alignment").u32(4).u32(24).Bytes(), "general.alignment 24 is not a power of two"},
		{"ndims", header(3, 1, 0).str("t").u32(5).pad(64).Bytes(), `tensor "t": 5 dimensions`},
		{"dims overflow", header(3, 1, 0).str("t").u32(3).u64(1 << 32).u64(1 << 32).u64(1 << 32).pad(32).Bytes(), `tensor "t": element count overflows`},
		{"tensor type", oneTensor([]uint64{4}, 99, 0, 16).Bytes(), `tensor "t": unknown tensor type 99`},
		{"block size", oneTensor([]uint64{31}, uint32(tensor.Q8_0), 0, 64).Bytes(), `tensor "t": first dimension 31 is not a multiple of the Q8_0 block size 32`},
		{"unaligned", oneTensor([]uint64{4}, 0, 8, 64).Bytes(), `tensor "t": data offset 8 is not a multiple of the alignment 32`},
		{"past end", oneTensor([]uint64{16}, 0, 0, 32).Bytes(), `tensor "t": data [0, 64) of the data section runs past its end (32 bytes)`},
		{"duplicate tensor", func() []byte {
			r := header(3, 2, 0)
			r.str("t").u32(1).u64(4).u32(0).u64(0)
			r.str("t").u32(1).u64(4).u32(0).u64(32)
			return r.pad(128).Bytes()
		}(), `duplicate tensor name "t"`},
		{"overlap", func() []byte {
			r := header(3, 2, 0)
			r.str("t").u32(1).u64(16).u32(0).u64(0)
			r.str("u").u32(1).u64(4).u32(0).u64(32)
			return r.pad(128).Bytes()
		}(), `tensor "u" overlaps tensor "t"`},
		{"patched version", patch(4, 1), "unsupported version 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if c := fault.CodeOf(err); c != fault.Unprocessable {
				t.Errorf("code %v", c)
			}
		})
	}
	_, err := Parse(bytes.NewReader([]byte("nope")), 4)
	if !errors.Is(err, ErrNotGGUF) {
		t.Errorf("bad magic error %v does not wrap ErrNotGGUF", err)
	}
}

// TestTruncated checks that every truncation of a valid file fails cleanly with a precise error.
func TestTruncated(t *testing.T) {
	meta, tensors := sampleFile(t)
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	f, err := Parse(bytes.NewReader(full), int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	end := int(last.Offset + last.Size)
	for n := 0; n < end; n++ {
		_, err := Parse(bytes.NewReader(full[:n]), int64(n))
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(full))
		}
		if fault.CodeOf(err) != fault.Unprocessable || !strings.Contains(err.Error(), "gguf: ") {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// Padding after the last tensor is optional.
	if _, err := Parse(bytes.NewReader(full[:end]), int64(end)); err != nil {
		t.Errorf("file without final padding: %v", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	tests := []struct {
		name    string
		meta    []KV
		tensors []WriteTensor
	}{
		{"size", nil, []WriteTensor{{Name: "a", Dims: []uint64{4}, Type: tensor.F32, Data: make([]byte, 15)}}},
		{"dup tensor", nil, []WriteTensor{{Name: "a", Dims: []uint64{1}, Type: tensor.F32, Data: make([]byte, 4)}, {Name: "a", Dims: []uint64{1}, Type: tensor.F32, Data: make([]byte, 4)}}},
		{"fill error", nil, []WriteTensor{{Name: "a", Dims: []uint64{1}, Type: tensor.F32, Fill: func([]byte) error { return errors.New("boom") }}}},
		{"dup key", []KV{{"k", Uint8(1)}, {"k", Uint8(2)}}, nil},
		{"type mismatch", []KV{{"k", Value{TypeUint32, "x"}}}, nil},
		{"array mismatch", []KV{{"k", Value{TypeArray, Array{TypeInt32, []string{"x"}}}}}, nil},
		{"alignment", []KV{{"general.alignment", Uint32(3)}}, nil},
		{"block", nil, []WriteTensor{{Name: "a", Dims: []uint64{16}, Type: tensor.Q8_0, Data: make([]byte, 17)}}},
	}
	for _, tc := range tests {
		if err := Write(&bytes.Buffer{}, tc.meta, tc.tensors); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestVersion2(t *testing.T) {
	meta, tensors := sampleFile(t)
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[4:], 2)
	f, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || len(f.Tensors) != len(tensors) || len(f.Meta) != len(meta) {
		t.Errorf("version %d, %d tensors, %d keys", f.Version, len(f.Tensors), len(f.Meta))
	}
}
