//go:build !unix

package gguf

import (
	"errors"
	"os"
)

// mapFile is not available on this platform; Open reads the file instead.
func mapFile(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errors.New("memory mapping not supported")
}
