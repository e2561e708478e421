package tensor

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns a slice of n bytes that ends exactly where an inaccessible page begins, so a
// kernel that reads past the end of its input faults instead of silently reading garbage.
func guarded(t *testing.T, n int) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return mem[size-page-n : size-page : size-page]
}

func guardedFloats(t *testing.T, x []float32) []float32 {
	b := guarded(t, 4*len(x))
	g := unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(x))
	copy(g, x)
	return g
}

func TestKernelsStayInBounds(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, typ := range quantTypes {
			tr, _ := TraitsOf(typ)
			for _, cols := range []int{tr.BlockSize * 8, tr.BlockSize * 3, tr.BlockSize * 8 * 5, 45 / tr.BlockSize * tr.BlockSize} {
				if cols == 0 {
					continue
				}
				for _, rows := range []int{1, 3, 17} {
					data, err := Quantize(typ, randVec(r, rows*cols))
					if err != nil {
						t.Fatal(err)
					}
					g := guarded(t, len(data))
					copy(g, data)
					m, err := NewMatrix(typ, rows, cols, g)
					if err != nil {
						t.Fatal(err)
					}
					for _, n := range []int{1, 2, 5} {
						x := guardedFloats(t, randVec(r, n*cols))
						m.MatMul(nil, make([]float32, n*rows), x, n)
					}
					m.Row(rows-1, make([]float32, cols))
				}
			}
		}
		for n := 1; n < 70; n++ {
			a := guardedFloats(t, randVec(r, n))
			b := guardedFloats(t, randVec(r, n))
			Dot(a, b)
		}
		for _, n := range []int{8, 128, 136, 1024} {
			sumBytes(guarded(t, n))
		}
	})
}
