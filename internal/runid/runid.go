// Package runid checks the identifiers seance writes into file names, branch names and logs: run ids
// and agent names. It replaces a bounded-repetition regular expression that was costly to compile
// at start-up, which every sandboxed child (a re-exec of seance) pays.
package runid

// Valid reports whether s is a run id: 1 to 128 letters, digits, '.', '_' or '-', starting with a
// letter or digit.
func Valid(s string) bool { return Name(s, 128) }

// Name reports whether s is 1 to max characters of [A-Za-z0-9._-] starting with a letter or digit.
func Name(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}
