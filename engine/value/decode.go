package value

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects Decode accepts.
const MaxDepth = 10000

// SyntaxError is a JSON syntax error at a byte offset of the input.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// Decode parses one JSON value. Objects become *Object with their key order kept,
// arrays []any, strings string, true/false bool, null nil. Integers become int64
// (uint64 above int64's range, json.Number beyond that, so no digit is ever lost);
// numbers with a fraction or exponent become float64. Trailing data other than
// white space is an error. Decode is safe for concurrent use.
func Decode(data []byte) (any, error) {
	// One copy of the document: every string without escapes in it is then a
	// substring of that copy, which costs no allocation.
	return DecodeString(string(data))
}

// DecodeString is Decode for a string. Strings in the result share memory
// with s.
func DecodeString(s string) (any, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.data = s
	// A string slab sized for the document's strings (a few dozen bytes
	// each), rather than grown from minSlab by doubling.
	d.boxes.strHint = len(s) / 24
	d.structs.size = len(s)
	d.firstSlabs(len(s)) // most documents: one allocation for five slabs
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.errorf("unexpected %s after the value", d.preview())
	}
	return v, nil
}

// decoders keep the scratch stacks (and escape buffer) of finished
// decodes, so that a decode allocates only its result.
var decoders = sync.Pool{New: func() any {
	// Room for the members of a typical object and array up front.
	return &decoder{fields: make([]field, 0, 32), vals: make([]any, 0, 16)}
}}

// maxPooledScratch bounds the stacks a pooled decoder keeps: a huge
// document's are left to the garbage collector.
const maxPooledScratch = 4096

// release returns d to the pool, holding nothing of the document: the
// stacks are cleared to their capacity here, once (a level pops what it
// built without clearing it: the result holds those values anyway, and
// the next push overwrites them), and the slabs, which the result points
// into, are dropped.
func (d *decoder) release() {
	if cap(d.fields) > maxPooledScratch || cap(d.vals) > maxPooledScratch || cap(d.buf) > maxPooledScratch {
		return
	}
	clear(d.fields[:cap(d.fields)])
	clear(d.vals[:cap(d.vals)])
	*d = decoder{fields: d.fields[:0], vals: d.vals[:0], buf: d.buf[:0]}
	decoders.Put(d)
}

type decoder struct {
	data string
	pos  int
	buf  []byte
	// fields and vals are scratch stacks shared by all nesting levels: an
	// object or array collects its members there and is then allocated at its
	// exact size, instead of growing its own slice by appending.
	fields []field
	vals   []any
	// boxes holds the strings and numbers of the result (see slabs),
	// structs its objects and arrays (see structSlabs).
	boxes   slabs
	structs structSlabs
}

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: int64(d.pos), Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) preview() string {
	if d.pos >= len(d.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(d.data[d.pos:])
	return strconv.QuoteRune(r)
}

// skipSpace skips white space. Compact JSON has none between tokens: a
// byte above ' ', which no white space is, returns at once (inlined).
func (d *decoder) skipSpace() {
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return
	}
	d.skipSpaceRun()
}

// next skips white space and returns the byte there, or 0 at the end
// of the input (a 0 byte in the input is never a token either).
func (d *decoder) next() byte {
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return d.data[d.pos]
	}
	d.skipSpaceRun()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) skipSpaceRun() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value reads a value, white space before it skipped.
func (d *decoder) value(depth int) (any, error) {
	switch c := d.next(); {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		s, err := d.string()
		if err != nil {
			return nil, err
		}
		return d.boxes.string(s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	default: // at the end, preview says "end of input"
		return nil, d.errorf("unexpected %s, expected a value", d.preview())
	}
}

func (d *decoder) literal(word string, v any) (any, error) {
	if len(d.data)-d.pos >= len(word) && d.data[d.pos:d.pos+len(word)] == word {
		d.pos += len(word)
		return v, nil
	}
	return nil, d.errorf("invalid literal, expected %s", word)
}

func (d *decoder) object(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.errorf("nesting deeper than %d", MaxDepth)
	}
	d.pos++ // {
	c := d.next()
	if c == '}' {
		d.pos++
		return &Object{}, nil
	}
	base := len(d.fields)
	for {
		if c != '"' {
			return nil, d.errorf("unexpected %s, expected a string key", d.preview())
		}
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if d.next() != ':' {
			return nil, d.errorf("unexpected %s, expected ':' after key", d.preview())
		}
		d.pos++
		// A string member, the commonest, is read here, without value's
		// call and its switch over the other kinds (about 7 instructions
		// a string).
		var v any
		if d.next() == '"' {
			s, err := d.string()
			if err != nil {
				return nil, err
			}
			v = d.boxes.string(s)
		} else if v, err = d.value(depth); err != nil {
			return nil, err
		}
		d.fields = append(d.fields, field{k, v})
		switch d.next() {
		case ',':
			d.pos++
			c = d.next()
		case '}':
			d.pos++
			return d.finishObject(base), nil
		default: // at the end, preview says "end of input"
			return nil, d.errorf("unexpected %s, expected ',' or '}'", d.preview())
		}
	}
}

// finishObject builds the object whose members sit on the scratch stack
// above base, and pops them.
func (d *decoder) finishObject(base int) *Object {
	members := d.fields[base:]
	if len(members) <= indexThreshold && !repeatsKey(members) {
		// The common case: copied in one move, no lookups while building.
		o := d.structs.object(members)
		d.fields = d.fields[:base]
		return o
	}
	o := &Object{fields: make([]field, 0, len(members))}
	for _, f := range members {
		// A repeated key keeps its first position and its last value, as most decoders do.
		if len(o.fields) < indexThreshold && !o.Has(f.k) {
			o.fields = append(o.fields, f)
		} else {
			o.Set(f.k, f.v)
		}
	}
	if len(o.fields) > indexThreshold && o.idx == nil {
		o.reindex()
	}
	d.fields = d.fields[:base]
	return o
}

// repeatsKey reports whether a key occurs twice in fs (at most
// indexThreshold keys). A key is compared with the ones before it only
// when its hash (keyHash, one of 256) was seen already: distinct keys
// mostly cost a few instructions each, where comparing every pair cost
// n²/2 comparisons.
func repeatsKey(fs []field) bool {
	var seen [4]uint64
	for i := range fs {
		k := fs[i].k
		h := keyHash(k)
		if bit := uint64(1) << (h & 63); seen[h>>6]&bit == 0 {
			seen[h>>6] |= bit
			continue
		}
		for j := 0; j < i; j++ {
			if fs[j].k == k {
				return true
			}
		}
	}
	return false
}

// keyHash is a cheap hash of k in [0, 256): its length and its first,
// middle and last bytes, which tell apart most keys of one object
// (line1, line2; id, order_id).
func keyHash(k string) uint {
	n := uint(len(k))
	if n == 0 {
		return 0
	}
	return (n*151 + uint(k[0])*7 + uint(k[n/2])*3 + uint(k[n-1])*31) & 255
}

func (d *decoder) array(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.errorf("nesting deeper than %d", MaxDepth)
	}
	d.pos++ // [
	if d.next() == ']' {
		d.pos++
		return []any{}, nil
	}
	base := len(d.vals)
	for {
		// A string item read here, as an object's string member is.
		var v any
		if d.next() == '"' {
			s, err := d.string()
			if err != nil {
				return nil, err
			}
			v = d.boxes.string(s)
		} else {
			var err error
			if v, err = d.value(depth); err != nil {
				return nil, err
			}
		}
		d.vals = append(d.vals, v)
		switch d.next() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			v := d.structs.array(d.vals[base:])
			d.vals = d.vals[:base]
			return v, nil
		default: // at the end, preview says "end of input"
			return nil, d.errorf("unexpected %s, expected ',' or ']'", d.preview())
		}
	}
}

// key reads an object key.
func (d *decoder) key() (string, error) { return d.string() }

// string reads a string; unboxed, so that a key costs no allocation.
func (d *decoder) string() (string, error) {
	// Fast path: no escapes, valid UTF-8, scanned on locals (d.pos is
	// stored once).
	data := d.data
	start := d.pos + 1 // after the opening quote
	pos := start
	// The commonest string, ASCII up to its quote, scanned here a word
	// at a time, inlined: skipPlain's call and its tail cases cost more
	// than the scan of a short string. Within the last eight bytes of the
	// input, or at any other byte that is not plain, the loop below goes
	// on from pos.
	for pos+8 <= len(data) {
		if m := notPlain(load64(data, pos)); m != 0 {
			pos += bits.TrailingZeros64(m) >> 3
			if data[pos] == '"' {
				d.pos = pos + 1
				return data[start:pos], nil
			}
			break
		}
		pos += 8
	}
	for pos < len(data) {
		// Plain ASCII, eight bytes a step.
		pos = skipPlain(data, pos)
		if pos == len(data) {
			break
		}
		c := data[pos]
		if c == '"' {
			d.pos = pos + 1
			return data[start:pos], nil
		}
		if c >= 0x80 {
			if r, size := utf8.DecodeRuneInString(data[pos:]); r != utf8.RuneError || size > 1 {
				pos += size
				continue
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
		pos++
	}
	d.pos = pos
	d.buf = append(d.buf[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(d.buf), nil
		case c < 0x20:
			return "", d.errorf("control character %#02x in string", c)
		case c == '\\':
			if d.pos+1 >= len(d.data) {
				return "", d.errorf("unexpected end of input in string escape")
			}
			e := d.data[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				d.buf = append(d.buf, e)
			case 'b':
				d.buf = append(d.buf, '\b')
			case 'f':
				d.buf = append(d.buf, '\f')
			case 'n':
				d.buf = append(d.buf, '\n')
			case 'r':
				d.buf = append(d.buf, '\r')
			case 't':
				d.buf = append(d.buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.errorf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
						save := d.pos
						d.pos += 2
						var ok2 bool
						r2, ok2 = d.hex4()
						if !ok2 {
							d.pos = save
							r2 = -1
						}
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
					} else {
						if r2 >= 0 {
							d.pos -= 6
						}
						r = utf8.RuneError
					}
				}
				d.buf = utf8.AppendRune(d.buf, r)
			default:
				d.pos--
				return "", d.errorf("invalid escape %s", d.preview())
			}
		case c < 0x80:
			d.buf = append(d.buf, c)
			d.pos++
		default:
			r, size := utf8.DecodeRuneInString(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				d.buf = utf8.AppendRune(d.buf, utf8.RuneError)
			} else {
				d.buf = append(d.buf, d.data[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	return "", d.errorf("unexpected end of input in string")
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// skipDigits returns the index of the first byte of s at or after i
// that is not a decimal digit, or len(s).
func skipDigits(s string, i int) int {
	for i < len(s) && s[i]-'0' <= 9 {
		i++
	}
	return i
}

func (d *decoder) number() (any, error) {
	// The scan works on locals (d.pos is stored once, or where an error
	// is reported), and the integer part's value is read as it goes.
	data, pos := d.data, d.pos
	start := pos
	if data[pos] == '-' {
		pos++
	}
	digits := pos
	var m uint64 // the integer part, wrapped past 19 digits (unused then)
	for pos < len(data) && data[pos]-'0' <= 9 {
		m = m*10 + uint64(data[pos]-'0')
		pos++
	}
	if pos == digits {
		d.pos = pos
		return nil, d.errorf("invalid number, expected a digit")
	}
	if data[digits] == '0' && pos-digits > 1 {
		d.pos = digits + 1
		return nil, d.errorf("invalid number, leading zero")
	}
	isInt := true
	if pos < len(data) && data[pos] == '.' {
		isInt = false
		f := pos + 1
		if pos = skipDigits(data, f); pos == f {
			d.pos = pos
			return nil, d.errorf("invalid number, expected a digit after '.'")
		}
	}
	if pos < len(data) && (data[pos] == 'e' || data[pos] == 'E') {
		isInt = false
		pos++
		if pos < len(data) && (data[pos] == '+' || data[pos] == '-') {
			pos++
		}
		e := pos
		if pos = skipDigits(data, e); pos == e {
			d.pos = pos
			return nil, d.errorf("invalid number, expected a digit in exponent")
		}
	}
	d.pos = pos
	text := data[start:pos]
	if isInt {
		if len(text) < 19 { // fits int64 for sure: m is the value
			n := int64(m)
			if start != digits {
				n = -n
			}
			return d.boxes.int64(n), nil
		}
		s := text
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return d.boxes.int64(n), nil
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
		return json.Number(s), nil
	}
	if f, ok := exactDecimal(text); ok {
		return d.boxes.float64(f), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return json.Number(text), nil
	}
	return d.boxes.float64(f), nil
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactDecimal reads a valid JSON number with a fraction and no exponent
// (-123.45) of at most 15 digits, without strconv: its digits make an
// integer m below 2^53 and it is m / 10^k with 10^k exact, so one float
// division, correctly rounded, gives what ParseFloat gives (Clinger's fast
// path, which ParseFloat takes too after reading the text more slowly).
// It reports false for anything else.
func exactDecimal(text string) (float64, bool) {
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	if len(text) > 16 { // 15 digits and the point
		return 0, false
	}
	var m uint64
	frac := -1
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
		case c == '.' && frac < 0:
			frac = len(text) - i - 1
		default:
			return 0, false // an exponent
		}
	}
	if frac < 0 {
		return 0, false
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}
