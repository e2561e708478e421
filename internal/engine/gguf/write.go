package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/seance-dev/seance/internal/engine/tensor"
)

// WriteTensor is a tensor to write: its name, dimensions in GGML order (ne0 first), type and
// stored bytes, which must be exactly the size the dimensions and type call for.
type WriteTensor struct {
	Name string
	Dims []uint64
	Type tensor.Type
	Data []byte
	// Fill, when Data is nil, produces the data into a buffer of the right size when the tensor is
	// written, so that large files need memory for one tensor at a time.
	Fill func(dst []byte) error
}

// Write writes a version 3 GGUF file holding meta and tensors, in order. The data alignment is
// general.alignment when meta sets it (as a uint32), 32 otherwise. Write checks what it is given
// (value types, duplicate names, data sizes) and fails rather than write a file Open would refuse.
func Write(w io.Writer, meta []KV, tensors []WriteTensor) error {
	align := uint64(DefaultAlignment)
	keys := make(map[string]bool, len(meta))
	for _, kv := range meta {
		if keys[kv.Key] {
			return fmt.Errorf("gguf: write: duplicate metadata key %q", kv.Key)
		}
		keys[kv.Key] = true
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.Data.(uint32)
			if !ok || kv.Value.Type != TypeUint32 || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("gguf: write: general.alignment must be a uint32 power of two")
			}
			align = uint64(a)
		}
	}
	names := make(map[string]bool, len(tensors))
	offsets := make([]uint64, len(tensors))
	sizes := make([]uint64, len(tensors))
	var off uint64
	for i, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) == 0 || len(t.Dims) > maxDims {
			return fmt.Errorf("gguf: write: tensor %q has %d dimensions", t.Name, len(t.Dims))
		}
		n := uint64(1)
		for _, d := range t.Dims {
			n *= d
		}
		if t.Dims[0] > math.MaxInt32 {
			return fmt.Errorf("gguf: write: tensor %q: first dimension too large", t.Name)
		}
		rb, err := tensor.RowBytes(t.Type, int(t.Dims[0]))
		if err != nil {
			return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
		}
		want := uint64(rb)
		if t.Dims[0] > 0 {
			want = uint64(rb) * (n / t.Dims[0])
		}
		if t.Data == nil && t.Fill != nil {
			// Checked when filled.
		} else if uint64(len(t.Data)) != want {
			return fmt.Errorf("gguf: write: tensor %q: %v %v needs %d bytes, have %d", t.Name, t.Type, t.Dims, want, len(t.Data))
		}
		offsets[i], sizes[i] = off, want
		off = alignUp(off+want, align)
	}

	e := &encoder{w: bufio.NewWriterSize(w, 1<<20)}
	e.u32(magic)
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(meta)))
	for _, kv := range meta {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		if err := e.value(kv.Value); err != nil {
			return fmt.Errorf("gguf: write: metadata %q: %w", kv.Key, err)
		}
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(offsets[i])
	}
	e.pad(align)
	var buf []byte
	for i, t := range tensors {
		data := t.Data
		if data == nil && t.Fill != nil {
			size := int(sizes[i])
			if cap(buf) < size {
				buf = make([]byte, size)
			}
			data = buf[:size]
			if err := t.Fill(data); err != nil {
				return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
			}
		}
		e.write(data)
		e.pad(align)
	}
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

type encoder struct {
	w   *bufio.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *encoder) write(b []byte) {
	if e.err != nil {
		return
	}
	k, err := e.w.Write(b)
	e.n += uint64(k)
	e.err = err
}

func (e *encoder) u8(v uint8) { e.write([]byte{v}) }

func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.write(e.buf[:2])
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.write(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.write(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.write([]byte(s))
}

func (e *encoder) pad(align uint64) {
	if k := alignUp(e.n, align) - e.n; k > 0 {
		e.write(make([]byte, k))
	}
}

func mismatch(t ValueType, v any) error {
	return fmt.Errorf("value of type %v holds %T", t, v)
}

func (e *encoder) value(v Value) error {
	ok := true
	switch v.Type {
	case TypeUint8:
		var x uint8
		x, ok = v.Data.(uint8)
		e.u8(x)
	case TypeInt8:
		var x int8
		x, ok = v.Data.(int8)
		e.u8(uint8(x))
	case TypeBool:
		var x bool
		x, ok = v.Data.(bool)
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case TypeUint16:
		var x uint16
		x, ok = v.Data.(uint16)
		e.u16(x)
	case TypeInt16:
		var x int16
		x, ok = v.Data.(int16)
		e.u16(uint16(x))
	case TypeUint32:
		var x uint32
		x, ok = v.Data.(uint32)
		e.u32(x)
	case TypeInt32:
		var x int32
		x, ok = v.Data.(int32)
		e.u32(uint32(x))
	case TypeFloat32:
		var x float32
		x, ok = v.Data.(float32)
		e.u32(math.Float32bits(x))
	case TypeUint64:
		var x uint64
		x, ok = v.Data.(uint64)
		e.u64(x)
	case TypeInt64:
		var x int64
		x, ok = v.Data.(int64)
		e.u64(uint64(x))
	case TypeFloat64:
		var x float64
		x, ok = v.Data.(float64)
		e.u64(math.Float64bits(x))
	case TypeString:
		var x string
		x, ok = v.Data.(string)
		e.str(x)
	case TypeArray:
		a, isArr := v.Data.(Array)
		if !isArr {
			return mismatch(v.Type, v.Data)
		}
		return e.array(a)
	default:
		return fmt.Errorf("unknown value type %d", uint32(v.Type))
	}
	if !ok {
		return mismatch(v.Type, v.Data)
	}
	return nil
}

func (e *encoder) array(a Array) error {
	e.u32(uint32(a.Elem))
	e.u64(uint64(a.Len()))
	ok := true
	switch a.Elem {
	case TypeUint8:
		var d []uint8
		d, ok = a.Data.([]uint8)
		e.write(d)
	case TypeInt8:
		var d []int8
		if d, ok = a.Data.([]int8); ok {
			for _, x := range d {
				e.u8(uint8(x))
			}
		}
	case TypeBool:
		var d []bool
		if d, ok = a.Data.([]bool); ok {
			for _, x := range d {
				if x {
					e.u8(1)
				} else {
					e.u8(0)
				}
			}
		}
	case TypeUint16:
		var d []uint16
		if d, ok = a.Data.([]uint16); ok {
			for _, x := range d {
				e.u16(x)
			}
		}
	case TypeInt16:
		var d []int16
		if d, ok = a.Data.([]int16); ok {
			for _, x := range d {
				e.u16(uint16(x))
			}
		}
	case TypeUint32:
		var d []uint32
		if d, ok = a.Data.([]uint32); ok {
			for _, x := range d {
				e.u32(x)
			}
		}
	case TypeInt32:
		var d []int32
		if d, ok = a.Data.([]int32); ok {
			for _, x := range d {
				e.u32(uint32(x))
			}
		}
	case TypeFloat32:
		var d []float32
		if d, ok = a.Data.([]float32); ok {
			for _, x := range d {
				e.u32(math.Float32bits(x))
			}
		}
	case TypeUint64:
		var d []uint64
		if d, ok = a.Data.([]uint64); ok {
			for _, x := range d {
				e.u64(x)
			}
		}
	case TypeInt64:
		var d []int64
		if d, ok = a.Data.([]int64); ok {
			for _, x := range d {
				e.u64(uint64(x))
			}
		}
	case TypeFloat64:
		var d []float64
		if d, ok = a.Data.([]float64); ok {
			for _, x := range d {
				e.u64(math.Float64bits(x))
			}
		}
	case TypeString:
		var d []string
		if d, ok = a.Data.([]string); ok {
			for _, x := range d {
				e.str(x)
			}
		}
	case TypeArray:
		var d []Array
		if d, ok = a.Data.([]Array); ok {
			for _, x := range d {
				if err := e.array(x); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("unknown array element type %d", uint32(a.Elem))
	}
	if !ok {
		return fmt.Errorf("array of %v holds %T", a.Elem, a.Data)
	}
	return nil
}
