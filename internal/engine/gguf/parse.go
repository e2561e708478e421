package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/fault"
)

const (
	magic = 0x46554747 // "GGUF" read as a little-endian uint32

	maxDims       = 4  // GGML_MAX_DIMS
	maxArrayDepth = 16 // nested arrays deeper than this are refused
	windowSize    = 64 << 10
)

// Parse reads and validates a GGUF file of size bytes from r. Tensor data is not read until
// TensorData asks for it. Errors are fault.Unprocessable and name the offending field and offset.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	return parse(r, size, nil)
}

func parse(r io.ReaderAt, size int64, data []byte) (*File, error) {
	d := &decoder{r: r, size: size, data: data}
	f, err := d.file()
	if err != nil {
		return nil, err
	}
	if data != nil {
		f.data = data
	} else {
		f.r = r
	}
	return f, nil
}

// decoder reads little-endian fields at a moving offset, either straight from data or through a
// window read from r.
type decoder struct {
	r    io.ReaderAt
	size int64
	off  int64
	data []byte

	win    []byte
	winOff int64
}

// formatError returns the classified error for a malformed file.
func formatError(off int64, format string, args ...any) error {
	return fault.New(fault.Unprocessable, "gguf: offset %d: %s", off, fmt.Sprintf(format, args...))
}

// take returns the next n bytes and advances. The result is valid until the next call.
func (d *decoder) take(n int64, what string) ([]byte, error) {
	if n < 0 || n > d.size-d.off {
		return nil, formatError(d.off, "%s: need %d bytes, only %d left in the file", what, n, d.size-d.off)
	}
	off := d.off
	d.off += n
	if d.data != nil {
		return d.data[off : off+n], nil
	}
	if off >= d.winOff && off+n <= d.winOff+int64(len(d.win)) {
		return d.win[off-d.winOff : off-d.winOff+n], nil
	}
	if n > windowSize {
		b := make([]byte, n)
		if k, err := d.r.ReadAt(b, off); k < len(b) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fault.Wrap(err, fault.Unprocessable, "gguf: offset %d: read %s", off, what)
		}
		return b, nil
	}
	w := int64(windowSize)
	if w > d.size-off {
		w = d.size - off
	}
	if cap(d.win) < int(w) {
		d.win = make([]byte, windowSize)
	}
	d.win = d.win[:w]
	if k, err := d.r.ReadAt(d.win, off); k < int(n) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fault.Wrap(err, fault.Unprocessable, "gguf: offset %d: read %s", off, what)
	}
	d.winOff = off
	return d.win[:n], nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (d *decoder) str(what string) (string, error) {
	start := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(d.size-d.off) {
		return "", formatError(start, "%s: length %d runs past the end of the file (%d bytes left)", what, n, d.size-d.off)
	}
	b, err := d.take(int64(n), what)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (d *decoder) left() uint64 { return uint64(d.size - d.off) }

func (d *decoder) file() (*File, error) {
	m, err := d.u32("magic")
	if err != nil {
		return nil, fault.Wrap(ErrNotGGUF, fault.Unprocessable, "gguf: file of %d bytes is too short for a header", d.size)
	}
	if m != magic {
		return nil, fault.Wrap(ErrNotGGUF, fault.Unprocessable, "gguf: offset 0: bad magic %#08x (want \"GGUF\")", m)
	}
	f := &File{Size: d.size, Alignment: DefaultAlignment}
	if f.Version, err = d.u32("version"); err != nil {
		return nil, err
	}
	switch {
	case f.Version == 1:
		return nil, formatError(4, "unsupported version 1 (only GGUF versions 2 and 3 are supported; convert the file again)")
	case f.Version != 2 && f.Version != 3:
		hint := ""
		if f.Version&0xFFFF == 0 {
			hint = " (a big-endian file?)"
		}
		return nil, formatError(4, "unsupported version %d%s (only versions 2 and 3 are supported)", f.Version, hint)
	}
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := d.u64("metadata count")
	if err != nil {
		return nil, err
	}
	// Every tensor info takes at least 24 bytes and every pair at least 13: counts beyond that
	// cannot be honest, and are refused before anything is allocated for them.
	if nTensors > d.left()/24 {
		return nil, formatError(8, "tensor count %d is impossible in a file of %d bytes", nTensors, d.size)
	}
	if nKV > d.left()/13 {
		return nil, formatError(16, "metadata count %d is impossible in a file of %d bytes", nKV, d.size)
	}

	f.Meta = make([]KV, 0, nKV)
	f.meta = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		start := d.off
		key, err := d.str(fmt.Sprintf("metadata key #%d", i))
		if err != nil {
			return nil, err
		}
		if _, dup := f.meta[key]; dup {
			return nil, formatError(start, "duplicate metadata key %q", key)
		}
		typOff := d.off
		t, err := d.u32(fmt.Sprintf("type of metadata %q", key))
		if err != nil {
			return nil, err
		}
		v, err := d.value(ValueType(t), key, typOff, 0)
		if err != nil {
			return nil, err
		}
		f.meta[key] = len(f.Meta)
		f.Meta = append(f.Meta, KV{Key: key, Value: v})
	}
	if v, ok := f.Value("general.alignment"); ok {
		a, isU32 := v.Data.(uint32)
		if !isU32 {
			return nil, formatError(0, "general.alignment has type %v, want uint32", v.Type)
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, formatError(0, "general.alignment %d is not a power of two", a)
		}
		f.Alignment = uint64(a)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tensors = make(map[string]int, nTensors)
	rel := make([]uint64, 0, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		start := d.off
		info, off, err := d.tensorInfo(i)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tensors[info.Name]; dup {
			return nil, formatError(start, "duplicate tensor name %q", info.Name)
		}
		if off%f.Alignment != 0 {
			return nil, formatError(start, "tensor %q: data offset %d is not a multiple of the alignment %d", info.Name, off, f.Alignment)
		}
		f.tensors[info.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, info)
		rel = append(rel, off)
	}

	f.DataOffset = alignUp(uint64(d.off), f.Alignment)
	if nTensors > 0 && f.DataOffset > uint64(d.size) {
		return nil, formatError(d.off, "tensor data section would start at %d, past the end of the file (%d bytes)", f.DataOffset, d.size)
	}
	dataLen := uint64(d.size) - min(f.DataOffset, uint64(d.size))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if rel[i] > dataLen || t.Size > dataLen-rel[i] {
			return nil, formatError(int64(f.DataOffset), "tensor %q: data [%d, %d) of the data section runs past its end (%d bytes)",
				t.Name, rel[i], rel[i]+t.Size, dataLen)
		}
		t.Offset = f.DataOffset + rel[i]
	}
	if err := checkOverlap(f.Tensors); err != nil {
		return nil, err
	}
	return f, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// checkOverlap refuses tensors whose data overlap.
func checkOverlap(ts []TensorInfo) error {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ts[idx[a]].Offset < ts[idx[b]].Offset })
	for k := 1; k < len(idx); k++ {
		p, q := ts[idx[k-1]], ts[idx[k]]
		if p.Size > 0 && q.Size > 0 && p.Offset+p.Size > q.Offset {
			return formatError(int64(q.Offset), "tensor %q overlaps tensor %q", q.Name, p.Name)
		}
	}
	return nil
}

func (d *decoder) tensorInfo(i uint64) (TensorInfo, uint64, error) {
	var t TensorInfo
	name, err := d.str(fmt.Sprintf("name of tensor #%d", i))
	if err != nil {
		return t, 0, err
	}
	t.Name = name
	nOff := d.off
	n, err := d.u32(fmt.Sprintf("tensor %q: dimension count", name))
	if err != nil {
		return t, 0, err
	}
	if n == 0 || n > maxDims {
		return t, 0, formatError(nOff, "tensor %q: %d dimensions (want 1 to %d)", name, n, maxDims)
	}
	t.Dims = make([]uint64, n)
	elems := uint64(1)
	for j := range t.Dims {
		dOff := d.off
		v, err := d.u64(fmt.Sprintf("tensor %q: dimension %d", name, j))
		if err != nil {
			return t, 0, err
		}
		if v > math.MaxInt64 {
			return t, 0, formatError(dOff, "tensor %q: dimension %d is %d, too large", name, j, v)
		}
		hi, lo := bits.Mul64(elems, v)
		if hi != 0 || lo > math.MaxInt64 {
			return t, 0, formatError(dOff, "tensor %q: element count overflows (dims %v)", name, t.Dims[:j+1])
		}
		elems = lo
		t.Dims[j] = v
	}
	tOff := d.off
	typ, err := d.u32(fmt.Sprintf("tensor %q: type", name))
	if err != nil {
		return t, 0, err
	}
	t.Type = tensor.Type(typ)
	tr, ok := tensor.TraitsOf(t.Type)
	if !ok {
		return t, 0, formatError(tOff, "tensor %q: unknown tensor type %d", name, typ)
	}
	if t.Dims[0]%uint64(tr.BlockSize) != 0 {
		return t, 0, formatError(nOff, "tensor %q: first dimension %d is not a multiple of the %v block size %d", name, t.Dims[0], t.Type, tr.BlockSize)
	}
	hi, size := bits.Mul64(elems/uint64(tr.BlockSize), uint64(tr.BlockBytes))
	if hi != 0 || size > math.MaxInt64 {
		return t, 0, formatError(nOff, "tensor %q: data size overflows (dims %v, %v)", name, t.Dims, t.Type)
	}
	t.Size = size
	off, err := d.u64(fmt.Sprintf("tensor %q: data offset", name))
	if err != nil {
		return t, 0, err
	}
	return t, off, nil
}

// value reads a value of type t for key; off is where its type id was stored (for messages).
func (d *decoder) value(t ValueType, key string, off int64, depth int) (Value, error) {
	what := fmt.Sprintf("metadata %q", key)
	if t == TypeArray {
		a, err := d.array(key, depth)
		if err != nil {
			return Value{}, err
		}
		return Value{TypeArray, a}, nil
	}
	if t == TypeString {
		s, err := d.str(what)
		if err != nil {
			return Value{}, err
		}
		return Value{TypeString, s}, nil
	}
	n := t.scalarSize()
	if n == 0 {
		return Value{}, formatError(off, "%s: unknown value type %d", what, uint32(t))
	}
	b, err := d.take(int64(n), what)
	if err != nil {
		return Value{}, err
	}
	var v any
	switch t {
	case TypeUint8:
		v = b[0]
	case TypeInt8:
		v = int8(b[0])
	case TypeBool:
		v = b[0] != 0
	case TypeUint16:
		v = binary.LittleEndian.Uint16(b)
	case TypeInt16:
		v = int16(binary.LittleEndian.Uint16(b))
	case TypeUint32:
		v = binary.LittleEndian.Uint32(b)
	case TypeInt32:
		v = int32(binary.LittleEndian.Uint32(b))
	case TypeFloat32:
		v = math.Float32frombits(binary.LittleEndian.Uint32(b))
	case TypeUint64:
		v = binary.LittleEndian.Uint64(b)
	case TypeInt64:
		v = int64(binary.LittleEndian.Uint64(b))
	case TypeFloat64:
		v = math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return Value{t, v}, nil
}

func (d *decoder) array(key string, depth int) (Array, error) {
	what := fmt.Sprintf("metadata %q", key)
	start := d.off
	if depth >= maxArrayDepth {
		return Array{}, formatError(start, "%s: arrays nested deeper than %d", what, maxArrayDepth)
	}
	et, err := d.u32(what + " element type")
	if err != nil {
		return Array{}, err
	}
	elem := ValueType(et)
	cOff := d.off
	n, err := d.u64(what + " element count")
	if err != nil {
		return Array{}, err
	}
	minSize := uint64(elem.scalarSize())
	switch elem {
	case TypeString:
		minSize = 8
	case TypeArray:
		minSize = 12
	}
	if minSize == 0 {
		return Array{}, formatError(start, "%s: unknown array element type %d", what, et)
	}
	if n > d.left()/minSize {
		return Array{}, formatError(cOff, "%s: array of %d %v elements runs past the end of the file (%d bytes left)", what, n, elem, d.left())
	}
	switch elem {
	case TypeString:
		out := make([]string, n)
		for i := range out {
			if out[i], err = d.str(fmt.Sprintf("%s element %d", what, i)); err != nil {
				return Array{}, err
			}
		}
		return Array{elem, out}, nil
	case TypeArray:
		out := make([]Array, n)
		for i := range out {
			if out[i], err = d.array(fmt.Sprintf("%s[%d]", key, i), depth+1); err != nil {
				return Array{}, err
			}
		}
		return Array{elem, out}, nil
	}
	b, err := d.take(int64(n*minSize), what)
	if err != nil {
		return Array{}, err
	}
	le := binary.LittleEndian
	switch elem {
	case TypeUint8:
		return Array{elem, append([]uint8(nil), b...)}, nil
	case TypeInt8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(b[i])
		}
		return Array{elem, out}, nil
	case TypeBool:
		out := make([]bool, n)
		for i := range out {
			out[i] = b[i] != 0
		}
		return Array{elem, out}, nil
	case TypeUint16:
		out := make([]uint16, n)
		for i := range out {
			out[i] = le.Uint16(b[2*i:])
		}
		return Array{elem, out}, nil
	case TypeInt16:
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(le.Uint16(b[2*i:]))
		}
		return Array{elem, out}, nil
	case TypeUint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = le.Uint32(b[4*i:])
		}
		return Array{elem, out}, nil
	case TypeInt32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(le.Uint32(b[4*i:]))
		}
		return Array{elem, out}, nil
	case TypeFloat32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return Array{elem, out}, nil
	case TypeUint64:
		out := make([]uint64, n)
		for i := range out {
			out[i] = le.Uint64(b[8*i:])
		}
		return Array{elem, out}, nil
	case TypeInt64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
		return Array{elem, out}, nil
	default: // TypeFloat64
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return Array{elem, out}, nil
	}
}
