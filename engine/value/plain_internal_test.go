package value

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstNotPlain is notPlain's specification, a byte at a time: the index
// of the first byte of w (little-endian) that is not plain, or 8.
func firstNotPlain(w uint64) int {
	for i := range 8 {
		if !plain[byte(w>>(8*i))] {
			return i
		}
	}
	return 8
}

// notPlainIndex is what notPlain's callers read from it: the index of
// the lowest flagged byte, or 8 when none is.
func notPlainIndex(w uint64) int {
	m := notPlain(w)
	if m == 0 {
		return 8
	}
	return bits.TrailingZeros64(m) >> 3
}

// TestNotPlainEveryPair puts every pair of byte values in every pair of
// lanes of a word of plain bytes (so every byte that borrows sits below
// every other value, and every value below it), and random words: the
// lowest byte notPlain flags is always the first byte the table says is
// not plain, and no byte is flagged when all are plain.
func TestNotPlainEveryPair(t *testing.T) {
	const filler = 'a' * ones
	for i := range 8 {
		for j := range 8 {
			if j == i {
				continue
			}
			for a := range 256 {
				for b := range 256 {
					w := uint64(filler)
					w &^= 0xff<<(8*i) | 0xff<<(8*j)
					w |= uint64(a)<<(8*i) | uint64(b)<<(8*j)
					if got, want := notPlainIndex(w), firstNotPlain(w); got != want {
						t.Fatalf("word %#016x: notPlain flags byte %d first, want %d", w, got, want)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		w := r.Uint64()
		// Mostly plain bytes, as strings are: each byte kept with
		// probability 1/4, else folded into 0x20..0x7f.
		for k := range 8 {
			if r.IntN(4) != 0 {
				c := byte(w>>(8*k))%0x60 + 0x20
				w = w&^(0xff<<(8*k)) | uint64(c)<<(8*k)
			}
		}
		if got, want := notPlainIndex(w), firstNotPlain(w); got != want {
			t.Fatalf("word %#016x: notPlain flags byte %d first, want %d", w, got, want)
		}
	}
}
