package constrain

import (
	"slices"
	"strings"
)

// Acceptor is the incremental state of one JSON value being generated. It accepts only byte
// strings that are prefixes of a JSON value satisfying its Schema, and never a prefix that cannot
// be completed. It is narrower than the schema in a few ways: whitespace runs are limited
// (MaxWhitespace), so are nesting (MaxDepth) and the length of numbers; integers have no fraction
// or exponent; \u escapes of surrogates are refused (raw UTF-8 is accepted); enum members and
// listed keys (with additionalProperties false) must be spelled as in the schema. Whitespace may
// precede and follow the value. An Acceptor is not safe for concurrent use; Clone makes an
// independent copy.
type Acceptor struct {
	s     *Schema
	paths []path
	// scratch and next hold trial states, reused between calls.
	scratch []path
	next    []path
	// arenas hold the frames of trial paths: try allocates from arenas[cur] after emptying it,
	// and Feed, which adopts the trial paths, switches to the other arena, so the frames of
	// a.paths are never overwritten.
	arenas [2][]frame
	cur    int
}

// path is one way of reading the input so far: a stack of frames, the root at the bottom. Several
// paths exist only while anyOf alternatives are all still possible.
type path struct {
	fr []frame
}

type kind uint8

const (
	kRoot    kind = iota
	kValue        // a value not begun yet (whitespace allowed before it)
	kObject       // inside {...}
	kArray        // inside [...]
	kString       // inside "..."; a key when key is set
	kNumber       // inside a number
	kLiteral      // matching one of a set of exact spellings
)

// States of the frames.
const (
	// kRoot
	rootValue uint8 = iota // the value's frame is above
	rootDone               // the value is complete; only whitespace may follow
)

const (
	oOpen  uint8 = iota // after '{'
	oNext               // after ',': a key must follow
	oKey                // the key's frame is above
	oColon              // after the key
	oValue              // the value's frame is above
	oAfter              // after a value: ',' or '}'
)

const (
	aOpen  uint8 = iota // after '['
	aValue              // an item's frame is above
	aAfter              // after an item: ',' or ']'
)

const (
	sChar   uint8 = iota // between characters
	sEscape              // after '\'
	sHex                 // inside \uXXXX
)

const (
	nMinus uint8 = iota
	nZero
	nInt
	nDot
	nFrac
	nE
	nESign
	nExp
)

// frame is one level of the parse. It is a plain value: copying a path copies its state (the
// shared parts, node and literal lists and the key list, are never modified).
type frame struct {
	kind  kind
	st    uint8
	ws    uint8 // whitespace bytes in the current run
	nl    uint8 // line breaks in the current run
	key   bool  // kString: an object key (decoded into text)
	need  uint8 // kString: UTF-8 continuation bytes still expected; kNumber: unused
	lo    byte  // kString: range of the next continuation byte
	hi    byte
	hexN  uint8
	hex   uint16
	depth uint8 // containers below and including this one
	n     *node
	count int // kString: characters; kArray: items; kNumber: bytes; kLiteral: bytes matched
	// kLiteral: the candidates are lits[lo32:hi32], minus properties in seen.
	lits       []literal
	lo32, hi32 int32
	seen       uint64   // kObject: properties present; kLiteral (keys): properties not allowed
	extra      *keyList // kObject: other keys present
	cur        int      // kObject: property of the current key, -1 for an additional one; kLiteral: the match
	val        *node    // kObject: schema of the current value
	text       string   // kString key: the decoded key
	freeKeys   bool     // kObject: keys outside properties are allowed
	// kNumber of a bounded integer: the sign, and the magnitude and count of the digits so far.
	neg    bool
	mag    int64
	digits uint8
}

// keyList is an immutable list of keys, shared between copies of a path.
type keyList struct {
	key  string
	next *keyList
}

func (l *keyList) has(k string) bool {
	for ; l != nil; l = l.next {
		if l.key == k {
			return true
		}
	}
	return false
}

// NewAcceptor returns an Acceptor at the start of a value.
func (s *Schema) NewAcceptor() *Acceptor {
	a := &Acceptor{s: s}
	a.paths = []path{{fr: []frame{{kind: kRoot, st: rootValue}, {kind: kValue, n: s.root}}}}
	return a
}

// Clone returns an independent copy of a.
func (a *Acceptor) Clone() *Acceptor {
	b := &Acceptor{s: a.s}
	b.paths = copyPaths(nil, a.paths, nil)
	return b
}

// copyPaths appends deep copies of src to dst, taking frames from alloc (or the heap when nil).
func copyPaths(dst, src []path, alloc func(int) []frame) []path {
	for _, p := range src {
		var fr []frame
		if alloc != nil {
			fr = alloc(len(p.fr))
			copy(fr, p.fr)
		} else {
			fr = slices.Clone(p.fr)
		}
		dst = append(dst, path{fr: fr})
	}
	return dst
}

// alloc returns n frames from the current arena, with room to grow a little in place.
func (a *Acceptor) alloc(n int) []frame {
	ar := a.arenas[a.cur]
	need := n + 8
	if len(ar)+need > cap(ar) {
		// The old array stays alive as long as slices of it do.
		ar = make([]frame, 0, max(2*cap(ar), 8*need))
	}
	s := ar[len(ar) : len(ar)+n : len(ar)+need]
	a.arenas[a.cur] = ar[:len(ar)+need]
	return s
}

// Feed adds p to the input. When p is not an acceptable continuation it returns false and leaves
// the Acceptor unchanged.
func (a *Acceptor) Feed(p []byte) bool {
	if !a.try(p) {
		return false
	}
	a.paths, a.scratch = a.scratch, a.paths
	a.cur = 1 - a.cur
	return true
}

// Accepts reports whether p is an acceptable continuation, without changing the Acceptor.
func (a *Acceptor) Accepts(p []byte) bool { return a.try(p) }

// Try reports whether p is an acceptable continuation and, if so, Remaining after it, without
// changing the Acceptor.
func (a *Acceptor) Try(p []byte) (remaining int, ok bool) {
	if !a.try(p) {
		return 0, false
	}
	return remaining0(a.scratch), true
}

// try feeds p to a copy of the paths in a.scratch and reports whether any survived.
func (a *Acceptor) try(p []byte) bool {
	clear(a.arenas[a.cur]) // drop references held by old frames
	a.arenas[a.cur] = a.arenas[a.cur][:0]
	a.scratch = copyPaths(a.scratch[:0], a.paths, a.alloc)
	for _, b := range p {
		a.next = a.next[:0]
		for _, q := range a.scratch {
			a.next = step(q, b, a.next)
			if len(a.next) > maxPaths {
				a.next = a.next[:maxPaths]
			}
		}
		if len(a.next) == 0 {
			return false
		}
		a.scratch, a.next = a.next, a.scratch
	}
	return len(a.scratch) > 0
}

// Complete reports whether the input so far is a whole value: generation may end here. A
// top-level number is complete although more digits could follow.
func (a *Acceptor) Complete() bool {
	for _, p := range a.paths {
		if complete(p) {
			return true
		}
	}
	return false
}

// Closed reports whether the value is complete and nothing but whitespace can follow.
func (a *Acceptor) Closed() bool {
	for _, p := range a.paths {
		if top := p.fr[len(p.fr)-1]; top.kind == kRoot && top.st == rootDone {
			return true
		}
	}
	return false
}

// Remaining is a close estimate (exact for most states) of the fewest bytes that complete the
// value; 0 when it is complete. The engine uses it to steer towards completion when the token
// budget runs out.
func (a *Acceptor) Remaining() int { return remaining0(a.paths) }

func remaining0(paths []path) int {
	best := infinite
	for _, p := range paths {
		best = min(best, remaining(p))
	}
	return best
}

func complete(p path) bool {
	top := p.fr[len(p.fr)-1]
	switch top.kind {
	case kRoot:
		return top.st == rootDone
	case kNumber:
		return len(p.fr) == 2 && numberCanEnd(&top)
	case kLiteral:
		return len(p.fr) == 2 && exactMatch(&top) >= 0
	}
	return false
}

func isWS(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// space counts whitespace byte b in f's run and reports whether it is allowed.
func space(f *frame, b byte) bool {
	if f.ws >= MaxWhitespace {
		return false
	}
	if b == '\n' || b == '\r' {
		if f.nl >= maxLineBreaks {
			return false
		}
		f.nl++
	}
	f.ws++
	return true
}

// step feeds byte b to path p (which it may modify) and appends the surviving paths to out.
func step(p path, b byte, out []path) []path {
	for {
		i := len(p.fr) - 1
		f := &p.fr[i]
		switch f.kind {
		case kRoot:
			if f.st == rootDone && isWS(b) && space(f, b) {
				return append(out, p)
			}
			return out

		case kValue:
			if isWS(b) {
				if space(f, b) {
					return append(out, p)
				}
				return out
			}
			n := f.n
			for n.ref != nil {
				n = n.ref
			}
			if n.anyOf != nil { // flattened: no alternative is a reference or an anyOf
				for _, alt := range n.anyOf {
					q := path{fr: slices.Clone(p.fr)}
					q.fr[i].n = alt
					out = step(q, b, out)
				}
				return out
			}
			depth := uint8(0)
			if i > 0 {
				depth = p.fr[i-1].depth
			}
			switch {
			case n.lits != nil:
				*f = frame{kind: kLiteral, n: n, lits: n.lits, hi32: int32(len(n.lits)), depth: depth}
				continue
			case b == '{' && n.types&tObject != 0 && depth < MaxDepth:
				*f = frame{kind: kObject, st: oOpen, n: n, seen: n.banned, freeKeys: n.addl != nil, depth: depth + 1}
			case b == '[' && n.types&tArray != 0 && depth < MaxDepth:
				*f = frame{kind: kArray, st: aOpen, n: n, depth: depth + 1}
			case b == '"' && n.types&tString != 0:
				*f = frame{kind: kString, n: n, depth: depth}
			case (b == '-' || b >= '0' && b <= '9') && n.types&(tInteger|tNumber) != 0:
				*f = frame{kind: kNumber, n: n, depth: depth, count: 1}
				switch {
				case b == '-':
					f.st, f.neg = nMinus, true
				case b == '0':
					f.st, f.digits = nZero, 1
				default:
					f.st, f.mag, f.digits = nInt, int64(b-'0'), 1
				}
				if n.bounded && reach(f) < 0 {
					return out
				}
			case (b == 't' || b == 'f') && n.types&tBool != 0:
				*f = frame{kind: kLiteral, n: n, lits: boolLits, hi32: int32(len(boolLits)), depth: depth}
				continue
			case b == 'n' && n.types&tNull != 0:
				*f = frame{kind: kLiteral, n: n, lits: nullLits, hi32: int32(len(nullLits)), depth: depth}
				continue
			default:
				return out
			}
			return append(out, p)

		case kString:
			ok, closed := stringByte(f, b)
			if !ok || closed && !pop(&p) {
				return out
			}
			return append(out, p)

		case kNumber:
			if ok, more := numberByte(f, b); more {
				if !ok {
					return out
				}
				return append(out, p)
			}
			if !numberCanEnd(f) || !pop(&p) {
				return out
			}
			continue // b belongs to the enclosing frame

		case kLiteral:
			switch literalByte(f, b) {
			case litMore:
				return append(out, p)
			case litDone:
				if !pop(&p) {
					return out
				}
				return append(out, p)
			case litEnded:
				if !pop(&p) {
					return out
				}
				continue
			}
			return out

		case kObject:
			if isWS(b) {
				if space(f, b) {
					return append(out, p)
				}
				return out
			}
			f.ws, f.nl = 0, 0
			n := f.n
			switch f.st {
			case oOpen, oAfter:
				switch {
				case b == '}':
					if f.seen&n.required != n.required || !pop(&p) {
						return out
					}
					return append(out, p)
				case b == ',' && f.st == oAfter && canAddKey(f):
					f.st = oNext
					return append(out, p)
				case b == '"' && f.st == oOpen && canAddKey(f):
					if startKey(&p) {
						return append(out, p)
					}
					continue
				}
				return out
			case oNext:
				if b != '"' {
					return out
				}
				if startKey(&p) {
					return append(out, p)
				}
				continue
			case oColon:
				if b != ':' {
					return out
				}
				f.st = oValue
				p.fr = append(p.fr, frame{kind: kValue, n: f.val, depth: f.depth})
				return append(out, p)
			}
			return out

		case kArray:
			if isWS(b) {
				if space(f, b) {
					return append(out, p)
				}
				return out
			}
			f.ws, f.nl = 0, 0
			n := f.n
			switch {
			case b == ']':
				if f.st == aValue || f.count < n.minItems || !pop(&p) {
					return out
				}
				return append(out, p)
			case f.st == aOpen:
				if n.maxItems == 0 {
					return out
				}
				f.st, f.count = aValue, f.count+1
				p.fr = append(p.fr, frame{kind: kValue, n: n.items, depth: f.depth})
				continue // b begins the item
			case f.st == aAfter && b == ',':
				if n.maxItems >= 0 && f.count >= n.maxItems {
					return out
				}
				f.st, f.count = aValue, f.count+1
				p.fr = append(p.fr, frame{kind: kValue, n: n.items, depth: f.depth})
				return append(out, p)
			}
			return out
		}
		return out
	}
}

// canAddKey reports whether another key may begin in object frame f.
func canAddKey(f *frame) bool {
	if f.freeKeys {
		return true
	}
	all := uint64(1)<<uint(len(f.n.props)) - 1
	return f.seen&all != all
}

// startKey pushes the frame of a key in the object on top of p, on its opening quote. It reports
// whether the quote is consumed (a free key's string frame starts open) or must be fed to the new
// frame (a listed key's spelling includes it).
func startKey(p *path) bool {
	f := &p.fr[len(p.fr)-1]
	f.st = oKey
	if f.freeKeys {
		p.fr = append(p.fr, frame{kind: kString, key: true, depth: f.depth})
		return true
	}
	p.fr = append(p.fr, frame{kind: kLiteral, lits: f.n.keyLits, hi32: int32(len(f.n.keyLits)), seen: f.seen, depth: f.depth})
	return false
}

// pop ends the top frame, whose value is complete, and tells the frame below. It reports false
// when the frame below rejects it (a duplicate key).
func pop(p *path) bool {
	done := p.fr[len(p.fr)-1]
	p.fr = p.fr[:len(p.fr)-1]
	f := &p.fr[len(p.fr)-1]
	switch f.kind {
	case kRoot:
		f.st = rootDone
	case kArray:
		f.st = aAfter
	case kObject:
		if f.st == oValue {
			f.st = oAfter
			return true
		}
		// A key.
		n := f.n
		if done.kind == kLiteral {
			i := done.lits[done.cur].prop
			f.seen |= 1 << uint(i)
			f.cur, f.val = i, n.props[i].schema
		} else {
			if i, ok := n.propIdx[done.text]; ok {
				if f.seen&(1<<uint(i)) != 0 {
					return false
				}
				f.seen |= 1 << uint(i)
				f.cur, f.val = i, n.props[i].schema
			} else {
				if f.extra.has(done.text) {
					return false
				}
				f.extra = &keyList{key: done.text, next: f.extra}
				f.cur, f.val = -1, n.addl
			}
		}
		f.st = oColon
	}
	return true
}

// stringByte feeds b to string frame f and reports whether it is accepted and whether it was the
// closing quote.
func stringByte(f *frame, b byte) (ok, closed bool) {
	n := f.n
	switch f.st {
	case sEscape:
		var r byte
		switch b {
		case '"', '\\', '/':
			r = b
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			f.st, f.hexN, f.hex = sHex, 0, 0
			return true, false
		default:
			return false, false
		}
		if f.key {
			f.text += string(rune(r))
		}
		f.st = sChar
		return true, false
	case sHex:
		var d uint16
		switch {
		case b >= '0' && b <= '9':
			d = uint16(b - '0')
		case b >= 'a' && b <= 'f':
			d = uint16(b-'a') + 10
		case b >= 'A' && b <= 'F':
			d = uint16(b-'A') + 10
		default:
			return false, false
		}
		// Surrogates (\uD800-\uDFFF) are refused: a lone one is not a character, and raw UTF-8
		// says the same.
		if f.hexN == 1 && f.hex == 0xD && d >= 8 {
			return false, false
		}
		f.hex = f.hex<<4 | d
		if f.hexN++; f.hexN == 4 {
			if f.key {
				f.text += string(rune(f.hex))
			}
			f.st = sChar
		}
		return true, false
	}
	if f.need > 0 {
		if b < f.lo || b > f.hi {
			return false, false
		}
		f.need--
		f.lo, f.hi = 0x80, 0xBF
		if f.key {
			f.text += string(b)
		}
		return true, false
	}
	maxLen := -1
	if n != nil {
		maxLen = n.maxLen
	}
	if b == '"' {
		if n != nil && f.count < n.minLen {
			return false, false
		}
		return true, true
	}
	if b < 0x20 {
		return false, false
	}
	if maxLen >= 0 && f.count >= maxLen {
		return false, false
	}
	switch {
	case b == '\\':
		f.st = sEscape
		f.count++
		return true, false
	case b < 0x80:
	case b >= 0xC2 && b <= 0xDF:
		f.need, f.lo, f.hi = 1, 0x80, 0xBF
	case b == 0xE0:
		f.need, f.lo, f.hi = 2, 0xA0, 0xBF
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		f.need, f.lo, f.hi = 2, 0x80, 0xBF
	case b == 0xED:
		f.need, f.lo, f.hi = 2, 0x80, 0x9F
	case b == 0xF0:
		f.need, f.lo, f.hi = 3, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		f.need, f.lo, f.hi = 3, 0x80, 0xBF
	case b == 0xF4:
		f.need, f.lo, f.hi = 3, 0x80, 0x8F
	default:
		return false, false
	}
	f.count++
	if f.key {
		f.text += string(b)
	}
	return true, false
}

// numberByte feeds b to number frame f. more is false when b is not part of the number (the
// caller then ends the number); ok is false when b is refused.
func numberByte(f *frame, b byte) (ok, more bool) {
	digit := b >= '0' && b <= '9'
	float := f.n.types&tNumber != 0
	if numberEnds(f.st) && f.count >= maxNumber {
		return false, false // long enough: only an end may follow
	}
	if f.n.bounded && digit {
		if f.st == nZero || f.digits >= maxBoundedDigits {
			return false, false
		}
		g := *f
		g.mag, g.digits = f.mag*10+int64(b-'0'), f.digits+1
		if reach(&g) < 0 {
			return false, true // no number in range begins so
		}
		f.mag, f.digits = g.mag, g.digits
	}
	switch f.st {
	case nMinus:
		switch {
		case b == '0':
			f.st = nZero
		case digit:
			f.st = nInt
		default:
			return false, true
		}
	case nZero, nInt:
		switch {
		case digit && f.st == nInt:
		case b == '.' && float:
			f.st = nDot
		case (b == 'e' || b == 'E') && float:
			f.st = nE
		default:
			return false, false
		}
	case nDot, nFrac:
		switch {
		case digit:
			f.st = nFrac
		case (b == 'e' || b == 'E') && f.st == nFrac:
			f.st = nE
		case f.st == nFrac:
			return false, false
		default:
			return false, true
		}
	case nE:
		switch {
		case b == '+' || b == '-':
			f.st = nESign
		case digit:
			f.st = nExp
		default:
			return false, true
		}
	case nESign, nExp:
		switch {
		case digit:
			f.st = nExp
		case f.st == nExp:
			return false, false
		default:
			return false, true
		}
	}
	f.count++
	return true, true
}

func numberEnds(st uint8) bool {
	return st == nZero || st == nInt || st == nFrac || st == nExp
}

// numberCanEnd reports whether number frame f may end here.
func numberCanEnd(f *frame) bool {
	return numberEnds(f.st) && (!f.n.bounded || reach(f) == 0)
}

// reach returns how many more digits a bounded integer's frame needs at least to lie within its
// bounds (0 when it does), or -1 when no continuation does.
func reach(f *frame) int {
	n := f.n
	for j := 0; int(f.digits)+j <= maxBoundedDigits; j++ {
		var lo, hi int64 // magnitudes reachable with j more digits
		switch {
		case f.digits == 0: // just "-"
			if j == 0 {
				continue
			}
			lo, hi = pow10[j-1], pow10[j]-1
			if j == 1 {
				lo = 0
			}
		case f.mag == 0: // a leading zero: nothing may follow
			if j > 0 {
				return -1
			}
		default:
			lo, hi = f.mag*pow10[j], f.mag*pow10[j]+pow10[j]-1
		}
		if f.neg {
			lo, hi = -hi, -lo
		}
		if lo <= n.hi && hi >= n.lo {
			return j
		}
	}
	return -1
}

const (
	litRefused = iota
	litMore    // consumed, more to come
	litDone    // consumed, and it completed a self-delimiting literal
	litEnded   // not consumed: a number literal ended before it
)

// literalByte feeds b to literal frame f.
func literalByte(f *frame, b byte) int {
	m := f.count
	lo, hi := -1, -1
	for i := f.lo32; i < f.hi32; i++ {
		l := f.lits[i].b
		if len(l) > m && l[m] == b {
			if lo < 0 {
				lo = int(i)
			}
			hi = int(i) + 1
		}
	}
	if lo >= 0 {
		// Some candidate in range must still be allowed (keys already present are not).
		alive := false
		for i := lo; i < hi; i++ {
			if allowed(f, i) {
				alive = true
				break
			}
		}
		if alive {
			f.lo32, f.hi32, f.count = int32(lo), int32(hi), m+1
			if j := exactMatch(f); j >= 0 && !f.lits[j].open {
				f.cur = j
				return litDone
			}
			return litMore
		}
	}
	if j := exactMatch(f); j >= 0 && f.lits[j].open {
		f.cur = j
		return litEnded
	}
	return litRefused
}

func allowed(f *frame, i int) bool {
	p := f.lits[i].prop
	return p < 0 || f.seen&(1<<uint(p)) == 0
}

// exactMatch returns the allowed candidate matched in full, or -1. It sorts first in the range.
func exactMatch(f *frame) int {
	if f.lo32 < f.hi32 && len(f.lits[f.lo32].b) == f.count && allowed(f, int(f.lo32)) {
		return int(f.lo32)
	}
	return -1
}

// remaining estimates the fewest bytes completing path p.
func remaining(p path) int {
	total := 0
	for i := 0; i < len(p.fr); i++ {
		f := &p.fr[i]
		switch f.kind {
		case kValue:
			n := f.n
			for n.ref != nil {
				n = n.ref
			}
			total = add(total, n.size)
		case kString:
			r := 1 + int(f.need)
			switch f.st {
			case sEscape:
				r++
			case sHex:
				r += int(4 - f.hexN)
			}
			if f.n != nil && f.count < f.n.minLen {
				r += f.n.minLen - f.count
			}
			total = add(total, r)
		case kNumber:
			switch {
			case f.n.bounded:
				total = add(total, reach(f))
			case !numberEnds(f.st):
				total = add(total, 1)
			}
		case kLiteral:
			best := infinite
			for j := f.lo32; j < f.hi32; j++ {
				if allowed(f, int(j)) {
					best = min(best, len(f.lits[j].b)-f.count)
				}
			}
			total = add(total, best)
		case kObject:
			total = add(total, objectRemaining(p, i))
			if f.st == oKey {
				i++ // the key frame is counted above
			}
		case kArray:
			n := f.n
			r := 1
			if f.st == aOpen {
				if n.minItems > 0 {
					r = add(r, add(mul(n.items.size, n.minItems), n.minItems-1))
				}
			} else if k := n.minItems - f.count; k > 0 {
				r = add(r, mul(add(n.items.size, 1), k))
			}
			total = add(total, r)
		}
	}
	return total
}

// objectRemaining estimates the bytes the object frame at p.fr[i] still needs, including its
// current key when one is being written (but not its current value's frame).
func objectRemaining(p path, i int) int {
	f := &p.fr[i]
	n := f.n
	missing := n.required &^ f.seen
	// after is what follows a value when the properties in miss are still missing.
	after := func(miss uint64) int {
		if miss == 0 {
			return 1
		}
		return add(1, rest(n, miss))
	}
	switch f.st {
	case oOpen:
		if missing == 0 {
			return 1
		}
		return rest(n, missing)
	case oAfter, oValue:
		return after(missing)
	case oColon:
		return add(1, add(f.val.size, after(missing)))
	case oNext:
		if missing != 0 {
			return rest(n, missing)
		}
		best := infinite
		for j, pr := range n.props {
			if f.seen&(1<<uint(j)) == 0 {
				best = min(best, pr.entry)
			}
		}
		if n.addl != nil {
			best = min(best, add(3, n.addl.size))
		}
		return add(best, 1)
	case oKey:
		k := &p.fr[i+1]
		if k.kind == kString { // an additional key
			r := 1 + int(k.need)
			if k.st == sEscape {
				r++
			} else if k.st == sHex {
				r += int(4 - k.hexN)
			}
			best := add(r, add(1, add(n.addl.size, after(missing))))
			if k.st == sChar && k.need == 0 {
				// The key may still become a listed property.
				for j, pr := range n.props {
					if f.seen&(1<<uint(j)) == 0 && strings.HasPrefix(pr.name, k.text) {
						r := add(len(pr.name)-len(k.text)+2, add(pr.schema.size, after(missing&^(1<<uint(j)))))
						best = min(best, r)
					}
				}
			}
			return best
		}
		best := infinite
		for j := k.lo32; j < k.hi32; j++ {
			if !allowed(k, int(j)) {
				continue
			}
			pi := k.lits[j].prop
			r := add(len(k.lits[j].b)-k.count+1, add(n.props[pi].schema.size, after(missing&^(1<<uint(pi)))))
			best = min(best, r)
		}
		return best
	}
	return 0
}

// rest is the size of `"a":x,"b":y}` for the properties in miss.
func rest(n *node, miss uint64) int {
	r, k := 1, 0
	for j, pr := range n.props {
		if miss&(1<<uint(j)) != 0 {
			r = add(r, pr.entry)
			k++
		}
	}
	return add(r, k-1)
}
