package value

import "math/bits"

// plain marks the bytes a JSON string holds as they are, in the decoder's
// input and in the encoder's output alike: ASCII, not a quote, a backslash
// or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// SWAR constants: a byte repeated in each of a word's eight bytes.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipPlain returns the index of the first byte of s at or after i that
// is not plain (see plain), or len(s). It tests eight bytes a step
// (SWAR): a word whose bytes are all plain costs a dozen instructions
// where the table costs four or five a byte.
func skipPlain(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := notPlain(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if len(s)-i >= 4 {
		// Four to seven bytes left: two four-byte halves that overlap,
		// [i, i+4) low and [len-4, len) high, in one word. Both hold only
		// bytes of s at or after i, in order, so the lowest flagged byte is
		// still the first that is not plain.
		m := notPlain(uint64(load32(s, i)) | uint64(load32(s, len(s)-4))<<32)
		if m == 0 {
			return len(s)
		}
		if p := bits.TrailingZeros64(m) >> 3; p < 4 {
			return i + p
		}
		return len(s) - 8 + bits.TrailingZeros64(m)>>3
	}
	for i < len(s) && plain[s[i]] {
		i++
	}
	return i
}

// notPlain returns a word whose lowest set bit is the high bit of the
// first byte of w (little-endian) that is not plain, or 0 when all are
// plain. Each test is the classic "has a byte less than n": the
// subtraction borrows only out of a byte that matches, so bits above the
// first match may be wrong but the lowest one never is.
//
// The tests need no "&^ w" (the classic form's guard against a byte of
// 0x80 or more, whose high bit survives the subtraction): such a byte is
// flagged by w itself, which is or'ed in, so the guard would only clear a
// bit that is set anyway. Without a borrow into it, a byte b of w below
// 0x80 sets its high bit in b-0x20 only when b < 0x20, in (b^'"')-1 only
// when b == '"' and in (b^'\\')-1 only when b == '\\' (b^c is below 0x80
// too, and 0 only when b == c); and only such a byte borrows. Three
// subtractions, two exclusive ors, three ors and an and: six instructions
// fewer a word than with the guards (amd64 v1 has no and-not).
func notPlain(w uint64) uint64 {
	ctl := w - 0x20*ones                   // a byte below 0x20
	quote := (w ^ '"'*ones) - ones         // a byte equal to '"'
	bsl := (w ^ '\\'*ones) - ones          // a byte equal to '\\'
	return (ctl | quote | bsl | w) & highs // w: a byte of 0x80 or more
}

// load32 reads the four bytes of s at i as a little-endian word.
func load32(s string, i int) uint32 {
	s = s[i : i+4]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// load64 reads the eight bytes of s at i as a little-endian word (one
// load: the compiler combines the byte loads).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
