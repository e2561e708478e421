package uselite

//go:generate python3 gen_nfkc.py

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The Hangul syllable constants of the Unicode standard (section 3.12).
const (
	hangulS = 0xAC00
	hangulL = 0x1100
	hangulV = 0x1161
	hangulT = 0x11A7
	hangulN = 21 * 28
	hangulC = 19 * hangulN
)

// nfkcData holds the parsed tables of nfkc_tables.go.
type nfkcData struct {
	decomp map[rune][]rune
	ccc    map[rune]uint8
	comp   map[[2]rune]rune
}

var nfkcOnce = sync.OnceValue(func() *nfkcData {
	d := &nfkcData{decomp: map[rune][]rune{}, ccc: map[rune]uint8{}, comp: map[[2]rune]rune{}}
	hex := func(s string) rune {
		v, _ := strconv.ParseUint(s, 16, 32)
		return rune(v)
	}
	for _, e := range strings.Split(nfkdTable, ";") {
		k, v, _ := strings.Cut(e, ":")
		var rs []rune
		for _, f := range strings.Fields(v) {
			rs = append(rs, hex(f))
		}
		d.decomp[hex(k)] = rs
	}
	for _, e := range strings.Split(cccTable, ";") {
		k, v, _ := strings.Cut(e, ":")
		c, _ := strconv.Atoi(v)
		d.ccc[hex(k)] = uint8(c)
	}
	for _, e := range strings.Split(compTable, ";") {
		pair, v, _ := strings.Cut(e, ":")
		a, b, _ := strings.Cut(pair, " ")
		d.comp[[2]rune{hex(a), hex(b)}] = hex(v)
	}
	return d
})

// NormalizeNFKC returns s in Unicode Normalization Form KC, as JavaScript's
// String.prototype.normalize("NFKC") computes it (the tables are Unicode 14). Invalid UTF-8 bytes
// become U+FFFD first.
func NormalizeNFKC(s string) string {
	ascii := true
	for k := 0; k < len(s); k++ {
		if s[k] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := nfkcOnce()

	// Full compatibility decomposition.
	rs := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r >= hangulS && r < hangulS+hangulC:
			i := r - hangulS
			rs = append(rs, hangulL+i/hangulN, hangulV+(i%hangulN)/28)
			if t := i % 28; t != 0 {
				rs = append(rs, hangulT+t)
			}
		case d.decomp[r] != nil:
			rs = append(rs, d.decomp[r]...)
		default:
			rs = append(rs, r)
		}
	}

	// Canonical ordering: a stable sort of each run of non-starters by combining class.
	for i := 1; i < len(rs); i++ {
		c := d.ccc[rs[i]]
		if c == 0 {
			continue
		}
		for j := i; j > 0; j-- {
			p := d.ccc[rs[j-1]]
			if p == 0 || p <= c {
				break
			}
			rs[j-1], rs[j] = rs[j], rs[j-1]
		}
	}

	// Canonical composition.
	out := rs[:0]
	starter := -1 // index in out of the last starter, or -1
	var last uint8
	for _, r := range rs {
		c := d.ccc[r]
		if starter >= 0 {
			s := out[starter]
			// A character is blocked from the starter when a character between them has a class of
			// zero or at least its own.
			blocked := len(out)-1 > starter && (last == 0 || last >= c)
			if !blocked {
				if comp, ok := compose(d, s, r); ok {
					out[starter] = comp
					continue
				}
			}
		}
		if c == 0 {
			starter = len(out)
		}
		last = c
		out = append(out, r)
	}
	return string(out)
}

// compose returns the primary composite of a and b, including Hangul syllables.
func compose(d *nfkcData, a, b rune) (rune, bool) {
	if a >= hangulL && a < hangulL+19 && b >= hangulV && b < hangulV+21 {
		return hangulS + ((a-hangulL)*21+(b-hangulV))*28, true
	}
	if a >= hangulS && a < hangulS+hangulC && (a-hangulS)%28 == 0 && b > hangulT && b < hangulT+28 {
		return a + (b - hangulT), true
	}
	r, ok := d.comp[[2]rune{a, b}]
	return r, ok
}
