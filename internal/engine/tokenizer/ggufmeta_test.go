package tokenizer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// testMeta is a test-only reader of GGUF metadata (the key-value section only), so the tokenizer's
// tests do not depend on the gguf package. It implements Metadata.
type testMeta map[string]any

func readTestMeta(path string) (testMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &metaReader{r: bufio.NewReader(f)}
	if magic := r.u32(); magic != 0x46554747 { // "GGUF" little-endian
		return nil, fmt.Errorf("%s: not a GGUF file", path)
	}
	if ver := r.u32(); ver < 2 || ver > 3 {
		return nil, fmt.Errorf("%s: GGUF version %d", path, ver)
	}
	r.u64() // tensor count
	n := r.u64()
	m := testMeta{}
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := r.str()
		m[k] = r.value(r.u32())
	}
	return m, r.err
}

type metaReader struct {
	r   io.Reader
	err error
}

func (r *metaReader) read(n int) []byte {
	b := make([]byte, n)
	if r.err == nil {
		_, r.err = io.ReadFull(r.r, b)
	}
	return b
}

func (r *metaReader) u32() uint32 { return binary.LittleEndian.Uint32(r.read(4)) }
func (r *metaReader) u64() uint64 { return binary.LittleEndian.Uint64(r.read(8)) }

func (r *metaReader) str() string {
	n := r.u64()
	if n > 1<<20 {
		r.err = fmt.Errorf("string of %d bytes", n)
		return ""
	}
	return string(r.read(int(n)))
}

func (r *metaReader) value(t uint32) any {
	switch t {
	case 0, 1, 7:
		b := r.read(1)[0]
		if t == 7 {
			return b != 0
		}
		return uint64(b)
	case 2, 3:
		return uint64(binary.LittleEndian.Uint16(r.read(2)))
	case 4:
		return uint64(r.u32())
	case 5:
		return int32(r.u32())
	case 6:
		return math.Float32frombits(r.u32())
	case 8:
		return r.str()
	case 10, 11:
		return r.u64()
	case 12:
		return math.Float64frombits(r.u64())
	case 9:
		et, n := r.u32(), r.u64()
		if n > 1<<24 {
			r.err = fmt.Errorf("array of %d elements", n)
			return nil
		}
		switch et {
		case 8:
			out := make([]string, n)
			for i := range out {
				out[i] = r.str()
			}
			return out
		case 6:
			out := make([]float32, n)
			for i := range out {
				out[i] = math.Float32frombits(r.u32())
			}
			return out
		case 5:
			out := make([]int32, n)
			for i := range out {
				out[i] = int32(r.u32())
			}
			return out
		}
		out := make([]any, n)
		for i := range out {
			out[i] = r.value(et)
		}
		return out
	}
	r.err = fmt.Errorf("unknown GGUF value type %d", t)
	return nil
}

func (m testMeta) String(k string) (string, bool)      { v, ok := m[k].(string); return v, ok }
func (m testMeta) Bool(k string) (bool, bool)          { v, ok := m[k].(bool); return v, ok }
func (m testMeta) Uint(k string) (uint64, bool)        { v, ok := m[k].(uint64); return v, ok }
func (m testMeta) Strings(k string) ([]string, bool)   { v, ok := m[k].([]string); return v, ok }
func (m testMeta) Float32s(k string) ([]float32, bool) { v, ok := m[k].([]float32); return v, ok }
func (m testMeta) Int32s(k string) ([]int32, bool)     { v, ok := m[k].([]int32); return v, ok }
