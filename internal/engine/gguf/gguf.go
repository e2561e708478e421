// Package gguf reads and writes GGUF files (versions 2 and 3), the single-file model format of
// llama.cpp: a header, typed metadata key/value pairs, tensor descriptions, and aligned tensor data.
//
// Open memory-maps a file and validates everything it describes before returning, so that code
// above (internal/engine/llama, internal/engine, internal/llm/catalog) can slice tensor data without
// further bounds checks. A malformed file yields a fault.Unprocessable error naming the field, the
// byte offset and, where there is one, the tensor or key; it never panics. Write produces valid
// version 3 files for fixtures and tests.
//
// gguf imports only internal/engine/tensor (type ids and storage traits) and internal/fault.
package gguf

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/seance-dev/seance/internal/engine/tensor"
)

// ValueType is the type id of a metadata value as stored in a GGUF file.
type ValueType uint32

// The GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64"}

// String returns the GGUF name of the type.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// scalarSize returns the stored size of a fixed-size scalar type, or 0 for strings and arrays.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Data holds the Go value matching Type: uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64, or Array for TypeArray.
type Value struct {
	Type ValueType
	Data any
}

// Array is an array metadata value. Data is a slice of the Go type matching Elem ([]uint8,
// []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string, []uint64, []int64,
// []float64), or []Array when Elem is TypeArray (nested arrays).
type Array struct {
	Elem ValueType
	Data any
}

// Len returns the number of elements of a.
func (a Array) Len() int {
	switch d := a.Data.(type) {
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []uint16:
		return len(d)
	case []int16:
		return len(d)
	case []uint32:
		return len(d)
	case []int32:
		return len(d)
	case []float32:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	case []uint64:
		return len(d)
	case []int64:
		return len(d)
	case []float64:
		return len(d)
	case []Array:
		return len(d)
	}
	return 0
}

// KV is one metadata key/value pair.
type KV struct {
	Key   string
	Value Value
}

// Constructors of metadata values, for writing files.

// Uint8 returns a uint8 value.
func Uint8(v uint8) Value { return Value{TypeUint8, v} }

// Int8 returns an int8 value.
func Int8(v int8) Value { return Value{TypeInt8, v} }

// Uint16 returns a uint16 value.
func Uint16(v uint16) Value { return Value{TypeUint16, v} }

// Int16 returns an int16 value.
func Int16(v int16) Value { return Value{TypeInt16, v} }

// Uint32 returns a uint32 value.
func Uint32(v uint32) Value { return Value{TypeUint32, v} }

// Int32 returns an int32 value.
func Int32(v int32) Value { return Value{TypeInt32, v} }

// Float32 returns a float32 value.
func Float32(v float32) Value { return Value{TypeFloat32, v} }

// Bool returns a bool value.
func Bool(v bool) Value { return Value{TypeBool, v} }

// String returns a string value.
func String(v string) Value { return Value{TypeString, v} }

// Uint64 returns a uint64 value.
func Uint64(v uint64) Value { return Value{TypeUint64, v} }

// Int64 returns an int64 value.
func Int64(v int64) Value { return Value{TypeInt64, v} }

// Float64 returns a float64 value.
func Float64(v float64) Value { return Value{TypeFloat64, v} }

// Strings returns an array-of-strings value.
func Strings(v []string) Value { return Value{TypeArray, Array{TypeString, v}} }

// Float32s returns an array-of-float32 value.
func Float32s(v []float32) Value { return Value{TypeArray, Array{TypeFloat32, v}} }

// Int32s returns an array-of-int32 value.
func Int32s(v []int32) Value { return Value{TypeArray, Array{TypeInt32, v}} }

// Arrays returns a nested array value: an array whose elements are arrays.
func Arrays(v []Array) Value { return Value{TypeArray, Array{TypeArray, v}} }

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	// Dims are the dimensions in GGML order: Dims[0] (ne0) is the contiguous one, so a matrix of
	// R rows and C columns has Dims [C, R].
	Dims []uint64
	Type tensor.Type
	// Offset is the position of the tensor's data from the start of the file (not of the data
	// section), and Size its length in bytes.
	Offset uint64
	Size   uint64
}

// Elements returns the number of elements of the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// ErrNotGGUF is wrapped by the error of Open and Parse for a file that does not start with the GGUF
// magic, so that callers scanning folders can skip such files quietly.
var ErrNotGGUF = errors.New("not a GGUF file")

// DefaultAlignment is the data alignment of a file without general.alignment.
const DefaultAlignment = 32

// File is a parsed GGUF file. Its fields are read-only; slices returned by its methods stay valid
// until Close.
type File struct {
	// Version is the GGUF version (2 or 3).
	Version uint32
	// Meta holds the metadata in file order.
	Meta []KV
	// Tensors holds the tensor infos in file order.
	Tensors []TensorInfo
	// Alignment is the data alignment (general.alignment, default 32).
	Alignment uint64
	// DataOffset is where the tensor data section starts.
	DataOffset uint64
	// Size is the size of the file in bytes.
	Size int64

	meta    map[string]int
	tensors map[string]int
	data    []byte      // the whole file, when mapped or read into memory
	r       io.ReaderAt // otherwise, the source Parse was given
	unmap   func() error
}

// Close releases the file's mapping. Slices returned by TensorData are invalid afterwards.
func (f *File) Close() error {
	if f == nil || f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData returns the stored bytes of a tensor of f. For a file from Open it is a slice of the
// mapping (read-only, valid until Close); for a file from Parse it is read from the source, and nil
// if that read fails.
func (f *File) TensorData(t TensorInfo) []byte {
	if t.Offset+t.Size > uint64(f.Size) || t.Offset+t.Size < t.Offset {
		return nil
	}
	if f.data != nil {
		return f.data[t.Offset : t.Offset+t.Size : t.Offset+t.Size]
	}
	if f.r == nil {
		return nil
	}
	b := make([]byte, t.Size)
	if _, err := f.r.ReadAt(b, int64(t.Offset)); err != nil && !(errors.Is(err, io.EOF) && t.Size == 0) {
		return nil
	}
	return b
}

// Value returns the raw metadata value of key.
func (f *File) Value(key string) (Value, bool) {
	i, ok := f.meta[key]
	if !ok {
		return Value{}, false
	}
	return f.Meta[i].Value, true
}

// Arch returns general.architecture, or "" if absent.
func (f *File) Arch() string {
	s, _ := f.String("general.architecture")
	return s
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Value(key)
	if !ok {
		return "", false
	}
	s, ok := v.Data.(string)
	return s, ok
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Value(key)
	if !ok {
		return false, false
	}
	b, ok := v.Data.(bool)
	return b, ok
}

// Uint returns an integer value of any integer type that is not negative.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	return toUint(v.Data)
}

// Int returns an integer value of any integer type that fits an int64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	return toInt(v.Data)
}

// Float returns a float32 or float64 value, or an integer value converted to float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	switch d := v.Data.(type) {
	case float32:
		return float64(d), true
	case float64:
		return d, true
	}
	if i, ok := toInt(v.Data); ok {
		return float64(i), true
	}
	if u, ok := toUint(v.Data); ok {
		return float64(u), true
	}
	return 0, false
}

// Array returns an array value.
func (f *File) Array(key string) (Array, bool) {
	v, ok := f.Value(key)
	if !ok {
		return Array{}, false
	}
	a, ok := v.Data.(Array)
	return a, ok
}

// Strings returns an array-of-strings value. The slice is shared: do not modify it.
func (f *File) Strings(key string) ([]string, bool) {
	a, ok := f.Array(key)
	if !ok {
		return nil, false
	}
	s, ok := a.Data.([]string)
	return s, ok
}

// Float32s returns an array of float32 (or float64, converted) values. The slice may be shared:
// do not modify it.
func (f *File) Float32s(key string) ([]float32, bool) {
	a, ok := f.Array(key)
	if !ok {
		return nil, false
	}
	switch d := a.Data.(type) {
	case []float32:
		return d, true
	case []float64:
		out := make([]float32, len(d))
		for i, x := range d {
			out[i] = float32(x)
		}
		return out, true
	}
	return nil, false
}

// Int32s returns an array of int32 values; arrays of other integer types are converted when every
// element fits. The slice may be shared: do not modify it.
func (f *File) Int32s(key string) ([]int32, bool) {
	a, ok := f.Array(key)
	if !ok {
		return nil, false
	}
	if d, ok := a.Data.([]int32); ok {
		return d, true
	}
	n := a.Len()
	out := make([]int32, n)
	for i := 0; i < n; i++ {
		x, ok := toInt(elemAt(a, i))
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

func elemAt(a Array, i int) any {
	switch d := a.Data.(type) {
	case []uint8:
		return d[i]
	case []int8:
		return d[i]
	case []uint16:
		return d[i]
	case []int16:
		return d[i]
	case []uint32:
		return d[i]
	case []int32:
		return d[i]
	case []uint64:
		return d[i]
	case []int64:
		return d[i]
	}
	return nil
}

func toUint(x any) (uint64, bool) {
	switch d := x.(type) {
	case uint8:
		return uint64(d), true
	case uint16:
		return uint64(d), true
	case uint32:
		return uint64(d), true
	case uint64:
		return d, true
	}
	if i, ok := toInt(x); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

func toInt(x any) (int64, bool) {
	switch d := x.(type) {
	case int8:
		return int64(d), true
	case int16:
		return int64(d), true
	case int32:
		return int64(d), true
	case int64:
		return d, true
	case uint8:
		return int64(d), true
	case uint16:
		return int64(d), true
	case uint32:
		return int64(d), true
	case uint64:
		if d <= math.MaxInt64 {
			return int64(d), true
		}
	}
	return 0, false
}
