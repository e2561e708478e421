package gguf

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts is self-consistent and
// survives a write/parse round trip.
func FuzzParse(f *testing.F) {
	meta, tensors := sampleFile(f)
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		f.Fatal(err)
	}
	full := buf.Bytes()
	f.Add(full)
	for _, n := range []int{0, 3, 4, 8, 23, 24, 40, 100, len(full) / 2, len(full) - 1} {
		f.Add(full[:n])
	}
	small := header(3, 1, 1).str("general.alignment").u32(4).u32(8)
	small.str("t").u32(2).u64(2).u64(1).u32(0).u64(0)
	small.pad(int(alignUp(uint64(small.Len()), 8)) - small.Len()).pad(8)
	f.Add(small.Bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(bytes.NewReader(data), int64(len(data)))
		inMemory, err2 := parse(bytes.NewReader(data), int64(len(data)), data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("reader and in-memory parses disagree: %v / %v", err, err2)
		}
		if err != nil {
			if err.Error() != err2.Error() {
				t.Fatalf("reader and in-memory errors differ: %v / %v", err, err2)
			}
			return
		}
		if len(inMemory.Meta) != len(file.Meta) || len(inMemory.Tensors) != len(file.Tensors) {
			t.Fatal("reader and in-memory parses differ")
		}
		var ws []WriteTensor
		for _, info := range file.Tensors {
			if info.Offset%file.Alignment != 0 || info.Offset+info.Size > uint64(len(data)) {
				t.Fatalf("tensor %q: offset %d size %d in a file of %d bytes", info.Name, info.Offset, info.Size, len(data))
			}
			d := file.TensorData(info)
			if uint64(len(d)) != info.Size {
				t.Fatalf("tensor %q: %d bytes of data, size %d", info.Name, len(d), info.Size)
			}
			ws = append(ws, WriteTensor{Name: info.Name, Dims: info.Dims, Type: info.Type, Data: d})
		}
		var out bytes.Buffer
		if err := Write(&out, file.Meta, ws); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		again, err := Parse(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if len(again.Meta) != len(file.Meta) || len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("round trip changed counts")
		}
	})
}
