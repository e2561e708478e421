package gguf

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/seance-dev/seance/internal/fault"
)

// Open maps the GGUF file at path into memory (or reads it, where mapping fails) and parses and
// validates it. A missing file is fault.NotFound; a malformed one fault.Unprocessable. The caller
// must Close the file when its tensors are no longer used.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		code := fault.Unprocessable
		if os.IsNotExist(err) {
			code = fault.NotFound
		}
		return nil, fault.Wrap(err, code, "gguf: open model file")
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "gguf: stat model file")
	}
	if !st.Mode().IsRegular() {
		return nil, fault.New(fault.Unprocessable, "gguf: %s is not a regular file", st.Name())
	}
	size := st.Size()
	if size != int64(int(size)) {
		return nil, fault.New(fault.Unprocessable, "gguf: file of %d bytes is too large for this platform", size)
	}
	data, unmap, err := mapFile(fd, size)
	if err != nil {
		// Mapping can fail on some file systems; reading the file is slower but equivalent.
		data = make([]byte, size)
		if _, err := io.ReadFull(fd, data); err != nil {
			return nil, fault.Wrap(err, fault.Unprocessable, "gguf: read model file")
		}
		unmap = func() error { return nil }
	}
	f, err := parse(bytes.NewReader(data), size, data)
	if err != nil {
		_ = unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}
