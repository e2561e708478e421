//go:build unix

package gguf

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of fd read-only and returns the mapping and the function that unmaps it.
func mapFile(fd *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, nil, errors.New("empty file")
	}
	b, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return unix.Munmap(b) }, nil
}
