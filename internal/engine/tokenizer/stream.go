package tokenizer

import "unicode/utf8"

// StreamDecoder turns generated token ids into text as they arrive, holding back the bytes of a UTF-8
// character until the token that completes it arrives (a Korean syllable in a byte-fallback
// vocabulary takes three tokens). Bytes that can never form a character are passed through as they
// are rather than held forever. A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	tok     *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a StreamDecoder for tok.
func NewStreamDecoder(tok *Tokenizer) *StreamDecoder {
	return &StreamDecoder{tok: tok}
}

// Push adds token id and returns the text that is now complete, possibly "".
func (d *StreamDecoder) Push(id int) string {
	d.pending = append(d.pending, d.tok.TokenBytes(id)...)
	n := completePrefix(d.pending)
	if n == 0 {
		return ""
	}
	s := string(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return s
}

// Flush returns whatever is held back (an incomplete character's bytes) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	s := string(d.pending)
	d.pending = d.pending[:0]
	return s
}

// completePrefix returns the length of b without a trailing incomplete (but so far valid) UTF-8
// sequence.
func completePrefix(b []byte) int {
	// A character is at most 4 bytes, so only the last 3 bytes can start an incomplete one.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
