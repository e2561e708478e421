// Package constrain decides, byte by byte, whether generated text can still become a JSON value
// that satisfies a schema. The engine (internal/engine) uses it for constrained decoding of
// response_format json_object and json_schema: a candidate token is kept only when its bytes are an
// acceptable continuation.
//
// A Schema is compiled from a practical subset of JSON Schema (see Compile); an Acceptor is the
// incremental state of one generation. The package imports only the standard library.
package constrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Limits of the acceptor. They keep a model from producing endless whitespace, nesting or digits.
const (
	// MaxWhitespace is the longest run of whitespace bytes accepted between JSON tokens: enough
	// for a line break and the indentation of pretty-printed JSON a few levels deep.
	MaxWhitespace = 12
	// maxLineBreaks is the most line-break bytes (\n, \r) in one whitespace run ("\r\n" or
	// one blank line).
	maxLineBreaks = 2
	// MaxDepth is the deepest nesting of objects and arrays accepted.
	MaxDepth = 32
	// maxNumber is the length after which a number may not grow by optional digits.
	maxNumber = 24
	// maxProperties is the most properties one object schema may list (they are tracked in a bit set).
	maxProperties = 64
	// maxPaths bounds the alternatives (from anyOf) followed at once; further ones are dropped,
	// which narrows what is accepted but never accepts anything invalid.
	maxPaths = 64
)

// infinite is the minimal size of a schema no finite value satisfies.
const infinite = math.MaxInt32

// typeSet is a set of JSON types.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBool
	tInteger
	tNumber // includes integers
	tString
	tArray
	tObject

	tAll = tNull | tBool | tInteger | tNumber | tString | tArray | tObject
)

var typeNames = map[string]typeSet{
	"null": tNull, "boolean": tBool, "integer": tInteger, "number": tNumber,
	"string": tString, "array": tArray, "object": tObject,
}

// literal is one allowed value spelled as exact bytes (an enum member, an object key, true).
type literal struct {
	b    []byte
	prop int  // property index for object keys, else -1
	open bool // a number: complete only when a non-number byte follows
}

// prop is one listed property of an object schema.
type prop struct {
	name   string
	schema *node
	entry  int // bytes of `"name":` plus the value's minimal size
}

// node is a compiled schema.
type node struct {
	ref   *node   // set for a $ref: everything else is unused
	anyOf []*node // set for anyOf: everything else is unused
	lits  []literal
	types typeSet

	props    []prop
	propIdx  map[string]int
	keyLits  []literal // the properties' encoded names, sorted (for additionalProperties false)
	required uint64
	banned   uint64 // properties no finite value satisfies: never started
	addl     *node  // schema of other properties; nil when they are not allowed

	items              *node
	minItems, maxItems int // maxItems < 0: no limit
	minLen, maxLen     int // maxLen < 0: no limit
	// Integer bounds (inclusive), when bounded.
	bounded bool
	lo, hi  int64

	size int // bytes of the shortest value satisfying the node
}

// Schema is a compiled response schema. It is immutable and safe for concurrent use.
type Schema struct {
	root *node
}

// SchemaError reports a schema that cannot be enforced: an unsupported keyword, a malformed
// value or an unsatisfiable combination.
type SchemaError struct {
	// Path is a JSON pointer to the offending schema ("" for the root).
	Path string
	// Keyword is the offending keyword, when there is one.
	Keyword string
	Msg     string
}

// Error returns a message naming the keyword and where it is.
func (e *SchemaError) Error() string {
	where := e.Path
	if where == "" {
		where = "the root"
	}
	if e.Keyword != "" {
		return fmt.Sprintf("schema keyword %q at %s: %s", e.Keyword, where, e.Msg)
	}
	return fmt.Sprintf("schema at %s: %s", where, e.Msg)
}

var (
	anyNode = &node{types: tAll, addl: nil, maxItems: -1, maxLen: -1, size: 1}
	// The literals of booleans and null, sorted.
	boolLits = []literal{{b: []byte("false"), prop: -1}, {b: []byte("true"), prop: -1}}
	nullLits = []literal{{b: []byte("null"), prop: -1}}
)

func init() {
	anyNode.items = anyNode
	anyNode.addl = anyNode
	anyNode.propIdx = map[string]int{}
}

// AnyValue returns a Schema that accepts any JSON value.
func AnyValue() *Schema { return &Schema{root: anyNode} }

// AnyObject returns a Schema that accepts any JSON object (response_format json_object).
func AnyObject() *Schema {
	return &Schema{root: &node{types: tObject, addl: anyNode, propIdx: map[string]int{}, maxItems: -1, maxLen: -1, size: 2}}
}

// annotations are keywords that describe but do not constrain; they are ignored.
var annotations = map[string]bool{
	"title": true, "description": true, "$schema": true, "$id": true, "$comment": true,
	"default": true, "examples": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	"$defs": true, "definitions": true,
}

// supported are the constraint keywords Compile enforces.
var supported = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true, "items": true,
	"enum": true, "const": true, "minItems": true, "maxItems": true, "minLength": true, "maxLength": true,
	"$ref": true, "anyOf": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
}

// Compile compiles a JSON Schema. An empty or null schema accepts any JSON value. The subset
// enforced:
//
//   - type: a name or a list of names (null, boolean, integer, number, string, array, object);
//     without type, the kinds of the other keywords present decide (properties → object, ...), and a
//     schema with none accepts any value;
//   - properties, required, additionalProperties (false, true or a schema): keys in any order, each
//     at most once; with additionalProperties false only the listed keys;
//   - items (a schema), minItems, maxItems;
//   - minLength, maxLength (in Unicode code points);
//   - minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers, or draft 4's flags) for
//     "type": "integer" only, with at most 18 digits; on non-integer numbers they are an error;
//   - enum and const of any JSON values (matched by their compact spelling);
//   - anyOf, and $ref to "#" or a JSON pointer inside the document ($defs, definitions);
//   - annotations (title, description, default, examples, $schema, $id, $comment, ...) are ignored.
//
// Any other keyword (format, pattern, multipleOf, oneOf, allOf, ...) is a *SchemaError naming it: a
// constraint is never silently dropped. So is a schema that no value can satisfy.
func Compile(raw []byte) (*Schema, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return AnyValue(), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &SchemaError{Msg: "not valid JSON: " + err.Error()}
	}
	c := &compiler{doc: doc, byPath: map[string]*node{}}
	root, err := c.compile(doc, "")
	if err != nil {
		return nil, err
	}
	if err := c.resolveRefs(); err != nil {
		return nil, err
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	if root.size >= infinite {
		return nil, &SchemaError{Msg: "no finite JSON value satisfies the schema"}
	}
	return &Schema{root: root}, nil
}

type compiler struct {
	doc    any
	byPath map[string]*node // compiled subschemas by JSON pointer, for $ref
	nodes  []*node
	refs   []pendingRef
	// enumChecks are enum/const nodes whose members must be checked against sibling keywords.
	enumChecks []enumCheck
}

type pendingRef struct {
	n    *node
	ref  string
	path string
}

type enumCheck struct {
	n     *node
	check *node // the sibling keywords without enum/const
	path  string
}

func (c *compiler) newNode() *node {
	n := &node{maxItems: -1, maxLen: -1, propIdx: map[string]int{}}
	c.nodes = append(c.nodes, n)
	return n
}

func (c *compiler) compile(v any, path string) (*node, error) {
	if n, ok := c.byPath[path]; ok {
		return n, nil
	}
	switch s := v.(type) {
	case bool:
		if !s {
			return nil, &SchemaError{Path: path, Msg: "the schema false accepts nothing"}
		}
		n := c.newNode()
		n.types, n.items, n.addl = tAll, anyNode, anyNode
		c.byPath[path] = n
		return n, nil
	case map[string]any:
		n := c.newNode()
		c.byPath[path] = n
		if err := c.fill(n, s, path, true); err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, &SchemaError{Path: path, Msg: "a schema must be an object or a boolean"}
}

// fill compiles the keywords of schema object s into n. withEnum false compiles the sibling
// keywords of an enum only.
func (c *compiler) fill(n *node, s map[string]any, path string, withEnum bool) error {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	constraints := 0
	for _, k := range keys {
		switch {
		case annotations[k]:
		case supported[k]:
			constraints++
		default:
			return &SchemaError{Path: path, Keyword: k, Msg: "is not supported by the embedded engine's constrained decoding"}
		}
	}
	if r, ok := s["$ref"]; ok {
		if constraints > 1 {
			return &SchemaError{Path: path, Keyword: "$ref", Msg: "other constraints beside $ref are not supported"}
		}
		ref, ok := r.(string)
		if !ok {
			return &SchemaError{Path: path, Keyword: "$ref", Msg: "must be a string"}
		}
		c.refs = append(c.refs, pendingRef{n: n, ref: ref, path: path})
		return nil
	}
	if a, ok := s["anyOf"]; ok {
		if constraints > 1 {
			return &SchemaError{Path: path, Keyword: "anyOf", Msg: "other constraints beside anyOf are not supported; move them into each alternative"}
		}
		alts, ok := a.([]any)
		if !ok || len(alts) == 0 {
			return &SchemaError{Path: path, Keyword: "anyOf", Msg: "must be a non-empty array of schemas"}
		}
		for i, alt := range alts {
			an, err := c.compile(alt, fmt.Sprintf("%s/anyOf/%d", path, i))
			if err != nil {
				return err
			}
			n.anyOf = append(n.anyOf, an)
		}
		return nil
	}
	_, hasEnum := s["enum"]
	_, hasConst := s["const"]
	if withEnum && (hasEnum || hasConst) {
		return c.fillEnum(n, s, path, hasEnum, hasConst)
	}

	// The types: given, or inferred from the keywords present.
	if t, ok := s["type"]; ok {
		ts, err := parseTypes(t, path)
		if err != nil {
			return err
		}
		n.types = ts
	} else {
		for _, k := range keys {
			switch k {
			case "properties", "required", "additionalProperties":
				n.types |= tObject
			case "items", "minItems", "maxItems":
				n.types |= tArray
			case "minLength", "maxLength":
				n.types |= tString
			}
		}
		if n.types == 0 {
			n.types = tAll
		}
	}
	if n.types&tNumber != 0 {
		n.types |= tInteger
	}

	// Numbers.
	if err := c.bounds(n, s, path); err != nil {
		return err
	}

	// Strings.
	var err error
	if n.minLen, err = count(s, "minLength", 0, path); err != nil {
		return err
	}
	if n.maxLen, err = count(s, "maxLength", -1, path); err != nil {
		return err
	}
	if n.maxLen >= 0 && n.minLen > n.maxLen {
		if n.types &^= tString; n.types == 0 {
			return &SchemaError{Path: path, Keyword: "minLength", Msg: "is larger than maxLength"}
		}
	}

	// Arrays.
	if n.minItems, err = count(s, "minItems", 0, path); err != nil {
		return err
	}
	if n.maxItems, err = count(s, "maxItems", -1, path); err != nil {
		return err
	}
	n.items = anyNode
	if it, ok := s["items"]; ok {
		if b, ok := it.(bool); ok && !b {
			n.maxItems = 0
		} else if _, ok := it.([]any); ok {
			return &SchemaError{Path: path, Keyword: "items", Msg: "an array of schemas (tuple form) is not supported"}
		} else if n.items, err = c.compile(it, path+"/items"); err != nil {
			return err
		}
	}
	if n.maxItems >= 0 && n.minItems > n.maxItems {
		if n.types &^= tArray; n.types == 0 {
			return &SchemaError{Path: path, Keyword: "minItems", Msg: "is larger than maxItems"}
		}
	}

	// Objects.
	if p, ok := s["properties"]; ok {
		pm, ok := p.(map[string]any)
		if !ok {
			return &SchemaError{Path: path, Keyword: "properties", Msg: "must be an object"}
		}
		names := make([]string, 0, len(pm))
		for name := range pm {
			names = append(names, name)
		}
		sort.Strings(names)
		if len(names) > maxProperties {
			return &SchemaError{Path: path, Keyword: "properties", Msg: fmt.Sprintf("more than %d properties are not supported", maxProperties)}
		}
		for _, name := range names {
			ps, err := c.compile(pm[name], path+"/properties/"+escapePointer(name))
			if err != nil {
				return err
			}
			n.propIdx[name] = len(n.props)
			n.props = append(n.props, prop{name: name, schema: ps})
		}
	}
	n.addl = anyNode
	if a, ok := s["additionalProperties"]; ok {
		if b, ok := a.(bool); ok {
			if !b {
				n.addl = nil
			}
		} else if n.addl, err = c.compile(a, path+"/additionalProperties"); err != nil {
			return err
		}
	}
	if r, ok := s["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return &SchemaError{Path: path, Keyword: "required", Msg: "must be an array of strings"}
		}
		for _, x := range list {
			name, ok := x.(string)
			if !ok {
				return &SchemaError{Path: path, Keyword: "required", Msg: "must be an array of strings"}
			}
			i, listed := n.propIdx[name]
			if !listed {
				if n.addl == nil {
					return &SchemaError{Path: path, Keyword: "required", Msg: fmt.Sprintf("property %q is required but additionalProperties is false and it is not in properties", name)}
				}
				if len(n.props) >= maxProperties {
					return &SchemaError{Path: path, Keyword: "properties", Msg: fmt.Sprintf("more than %d properties are not supported", maxProperties)}
				}
				// A required property that is not listed takes the additionalProperties schema.
				i = len(n.props)
				n.propIdx[name] = i
				n.props = append(n.props, prop{name: name, schema: n.addl})
			}
			n.required |= 1 << uint(i)
		}
	}
	for i, p := range n.props {
		n.keyLits = append(n.keyLits, literal{b: encodeString(p.name), prop: i})
	}
	slices.SortFunc(n.keyLits, func(a, b literal) int { return bytes.Compare(a.b, b.b) })
	return nil
}

// fillEnum compiles enum/const: the allowed values are literals, filtered by the sibling keywords.
func (c *compiler) fillEnum(n *node, s map[string]any, path string, hasEnum, hasConst bool) error {
	var members []any
	if hasEnum {
		list, ok := s["enum"].([]any)
		if !ok || len(list) == 0 {
			return &SchemaError{Path: path, Keyword: "enum", Msg: "must be a non-empty array"}
		}
		members = list
	}
	if hasConst {
		if hasEnum {
			// Both: the const must also be an enum member.
			cb, _ := marshalCompact(s["const"])
			keep := false
			for _, m := range members {
				if mb, _ := marshalCompact(m); bytes.Equal(mb, cb) {
					keep = true
				}
			}
			if !keep {
				return &SchemaError{Path: path, Keyword: "const", Msg: "is not one of enum"}
			}
		}
		members = []any{s["const"]}
	}
	seen := map[string]bool{}
	for _, m := range members {
		b, err := marshalCompact(m)
		if err != nil {
			return &SchemaError{Path: path, Keyword: "enum", Msg: err.Error()}
		}
		if seen[string(b)] {
			continue
		}
		seen[string(b)] = true
		n.lits = append(n.lits, literal{b: b, prop: -1, open: b[0] == '-' || b[0] >= '0' && b[0] <= '9'})
	}
	slices.SortFunc(n.lits, func(a, b literal) int { return bytes.Compare(a.b, b.b) })
	// The sibling keywords still constrain: members that break them are dropped after compiling.
	check := c.newNode()
	if err := c.fill(check, s, path, false); err != nil {
		return err
	}
	c.enumChecks = append(c.enumChecks, enumCheck{n: n, check: check, path: path})
	return nil
}

func (c *compiler) resolveRefs() error {
	for i := 0; i < len(c.refs); i++ { // compiling a target may add refs
		r := c.refs[i]
		target, err := c.lookup(r.ref, r.path)
		if err != nil {
			return err
		}
		r.n.ref = target
	}
	// A cycle of references with nothing in between describes no value.
	for _, r := range c.refs {
		n, steps := r.n, 0
		for n.ref != nil {
			if n = n.ref; steps > len(c.refs) {
				return &SchemaError{Path: r.path, Keyword: "$ref", Msg: "references form a cycle"}
			}
			steps++
		}
	}
	return nil
}

// lookup compiles the subschema a local reference points to.
func (c *compiler) lookup(ref, path string) (*node, error) {
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return nil, &SchemaError{Path: path, Keyword: "$ref", Msg: fmt.Sprintf("only local references (#/...) are supported, got %q", ref)}
	}
	ptr := strings.TrimPrefix(ref, "#")
	v := c.doc
	if ptr != "" {
		for _, seg := range strings.Split(ptr[1:], "/") {
			seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
			switch x := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = x[seg]; !ok {
					return nil, &SchemaError{Path: path, Keyword: "$ref", Msg: fmt.Sprintf("%q points to nothing", ref)}
				}
			case []any:
				i, err := strconv.Atoi(seg)
				if err != nil || i < 0 || i >= len(x) {
					return nil, &SchemaError{Path: path, Keyword: "$ref", Msg: fmt.Sprintf("%q points to nothing", ref)}
				}
				v = x[i]
			default:
				return nil, &SchemaError{Path: path, Keyword: "$ref", Msg: fmt.Sprintf("%q points to nothing", ref)}
			}
		}
	}
	return c.compile(v, ptr)
}

// finish flattens anyOf, filters enum members, computes minimal sizes and checks
// satisfiability.
func (c *compiler) finish() error {
	for _, n := range c.nodes {
		if n.anyOf != nil {
			n.anyOf = flatten(n, nil, map[*node]bool{})
		}
	}
	c.sizes()
	for _, e := range c.enumChecks {
		probe := &Schema{root: e.check}
		kept := e.n.lits[:0]
		for _, l := range e.n.lits {
			a := probe.NewAcceptor()
			if a.Feed(l.b) && a.Complete() {
				kept = append(kept, l)
			}
		}
		e.n.lits = kept
		if len(kept) == 0 {
			return &SchemaError{Path: e.path, Keyword: "enum", Msg: "no member satisfies the other keywords of the schema"}
		}
	}
	c.sizes()
	// Parts no finite value satisfies are pruned, so that the acceptor never starts what it
	// cannot finish.
	for _, n := range c.nodes {
		for i, p := range n.props {
			if p.schema.size >= infinite {
				if n.required&(1<<uint(i)) != 0 {
					return &SchemaError{Msg: fmt.Sprintf("required property %q cannot be satisfied by any finite value", p.name)}
				}
				n.banned |= 1 << uint(i)
			}
		}
		if n.addl != nil && n.addl.size >= infinite {
			n.addl = nil
		}
		if n.items != nil && n.items.size >= infinite {
			n.maxItems = 0
		}
		if n.anyOf != nil {
			alts := n.anyOf[:0]
			for _, a := range n.anyOf {
				if a.size < infinite {
					alts = append(alts, a)
				}
			}
			n.anyOf = alts
		}
	}
	return nil
}

// flatten lists the schemas an anyOf can finally be, following references and nested anyOf, each
// once. An alternative that leads back to an anyOf being expanded adds nothing and is dropped, so
// the acceptor never loops.
func flatten(n *node, out []*node, seen map[*node]bool) []*node {
	if seen[n] {
		return out
	}
	seen[n] = true
	switch {
	case n.ref != nil:
		return flatten(n.ref, out, seen)
	case n.anyOf != nil:
		for _, a := range n.anyOf {
			out = flatten(a, out, seen)
		}
		return out
	}
	return append(out, n)
}

// sizes computes every node's minimal value size by iterating to a fixed point (references may
// form cycles).
func (c *compiler) sizes() {
	for _, n := range c.nodes {
		n.size = infinite
	}
	for changed, round := true, 0; changed && round <= len(c.nodes)+1; round++ {
		changed = false
		// Children are created after their parents: backwards, a tree settles in one round.
		for _, n := range slices.Backward(c.nodes) {
			if s := n.minSize(); s < n.size {
				n.size, changed = s, true
			}
		}
	}
	for _, n := range c.nodes {
		for i := range n.props {
			n.props[i].entry = add(len(encodeString(n.props[i].name))+1, n.props[i].schema.size)
		}
	}
}

// add adds sizes, saturating at infinite.
func add(a, b int) int {
	if a >= infinite || b >= infinite || a+b >= infinite {
		return infinite
	}
	return a + b
}

func mul(a, k int) int {
	if k == 0 {
		return 0
	}
	if a >= infinite || a > infinite/k {
		return infinite
	}
	return a * k
}

// minSize computes the node's minimal size from its children's current sizes.
func (n *node) minSize() int {
	switch {
	case n.ref != nil:
		return n.ref.size
	case n.anyOf != nil:
		best := infinite
		for _, a := range n.anyOf {
			best = min(best, a.size)
		}
		return best
	case n.lits != nil:
		best := infinite
		for _, l := range n.lits {
			best = min(best, len(l.b))
		}
		return best
	}
	best := infinite
	if n.types&(tInteger|tNumber) != 0 {
		best = 1
		if n.bounded && (n.lo > 0 || n.hi < 0) {
			// The shortest number in range is the one nearest zero.
			best = len(strconv.FormatInt(n.lo, 10))
			if n.hi < 0 {
				best = len(strconv.FormatInt(n.hi, 10))
			}
		}
	}
	if n.types&(tNull|tBool) != 0 {
		best = min(best, 4)
	}
	if n.types&tString != 0 {
		best = min(best, 2+n.minLen)
	}
	if n.types&tArray != 0 {
		s := 2
		if n.minItems > 0 {
			s = add(s, add(mul(n.items.size, n.minItems), n.minItems-1))
		}
		best = min(best, s)
	}
	if n.types&tObject != 0 {
		s := 2
		k := 0
		for i, p := range n.props {
			if n.required&(1<<uint(i)) != 0 {
				s = add(s, add(len(encodeString(p.name))+1, p.schema.size))
				k++
			}
		}
		if k > 1 {
			s = add(s, k-1)
		}
		best = min(best, s)
	}
	return best
}

// maxBoundedDigits is the most digits of a bounded integer: its value fits an int64.
const maxBoundedDigits = 18

// bounds compiles minimum, maximum, exclusiveMinimum and exclusiveMaximum (numbers, or draft 4's
// flags), which are enforced on integers only.
func (c *compiler) bounds(n *node, s map[string]any, path string) error {
	lo := new(big.Rat).SetInt64(-(pow10[maxBoundedDigits] - 1))
	hi := new(big.Rat).SetInt64(pow10[maxBoundedDigits] - 1)
	first := ""
	for _, k := range []string{"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} {
		v, ok := s[k]
		if !ok {
			continue
		}
		if _, flag := v.(bool); flag && strings.HasPrefix(k, "exclusive") {
			continue // draft 4: a flag read with minimum or maximum
		}
		num, _ := v.(json.Number)
		r, ok := new(big.Rat).SetString(string(num))
		if !ok {
			return &SchemaError{Path: path, Keyword: k, Msg: "must be a number"}
		}
		if first == "" {
			first = k
		}
		excl := strings.HasPrefix(k, "exclusive")
		if k == "minimum" || k == "maximum" {
			flag, _ := s["exclusive"+strings.ToUpper(k[:1])+k[1:]].(bool)
			excl = flag
		}
		one := big.NewRat(1, 1)
		if k == "minimum" || k == "exclusiveMinimum" {
			b := ratCeil(r)
			if excl && b.Cmp(r) == 0 {
				b.Add(b, one)
			}
			if b.Cmp(lo) > 0 {
				lo = b
			}
		} else {
			b := ratFloor(r)
			if excl && b.Cmp(r) == 0 {
				b.Sub(b, one)
			}
			if b.Cmp(hi) < 0 {
				hi = b
			}
		}
	}
	if first == "" || n.types&(tInteger|tNumber) == 0 {
		return nil
	}
	if n.types&tNumber != 0 {
		return &SchemaError{Path: path, Keyword: first, Msg: `is enforced for "type": "integer" only`}
	}
	if lo.Cmp(hi) > 0 {
		if n.types &^= tInteger; n.types == 0 {
			return &SchemaError{Path: path, Keyword: first, Msg: "no integer lies within the bounds"}
		}
		return nil
	}
	n.bounded = true
	n.lo, n.hi = lo.Num().Int64(), hi.Num().Int64()
	return nil
}

var pow10 = func() (p [maxBoundedDigits + 1]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func ratFloor(r *big.Rat) *big.Rat {
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive divisor
	return new(big.Rat).SetInt(q)
}

func ratCeil(r *big.Rat) *big.Rat {
	f := ratFloor(r)
	if f.Cmp(r) != 0 {
		f.Add(f, big.NewRat(1, 1))
	}
	return f
}

func parseTypes(t any, path string) (typeSet, error) {
	var names []any
	switch x := t.(type) {
	case string:
		names = []any{x}
	case []any:
		names = x
	default:
		return 0, &SchemaError{Path: path, Keyword: "type", Msg: "must be a type name or an array of them"}
	}
	var ts typeSet
	for _, v := range names {
		s, _ := v.(string)
		bit, ok := typeNames[s]
		if !ok {
			return 0, &SchemaError{Path: path, Keyword: "type", Msg: fmt.Sprintf("unknown type %v", v)}
		}
		ts |= bit
	}
	if ts == 0 {
		return 0, &SchemaError{Path: path, Keyword: "type", Msg: "an empty list of types accepts nothing"}
	}
	return ts, nil
}

// count reads a non-negative integer keyword, or returns def when it is absent.
func count(s map[string]any, key string, def int, path string) (int, error) {
	v, ok := s[key]
	if !ok {
		return def, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, &SchemaError{Path: path, Keyword: key, Msg: "must be a non-negative integer"}
	}
	f, err := num.Float64()
	if err != nil || f < 0 || f != math.Trunc(f) {
		return 0, &SchemaError{Path: path, Keyword: key, Msg: "must be a non-negative integer"}
	}
	if f > 1<<20 {
		f = 1 << 20 // beyond any generation; keeps size arithmetic small
	}
	return int(f), nil
}

// encodeString spells s as a JSON string the way the acceptor expects keys: quotes, backslash and
// control characters escaped, everything else as is.
func encodeString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// marshalCompact spells a decoded JSON value compactly, numbers as written in the schema.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
