// Package text holds small helpers for the text Nectar puts in messages and
// the names it checks: Preview, Distance (for "did you mean"), IsName. It
// imports only the standard library, so any package can use it.
package text

import "unicode/utf8"

// Ellipsis marks where Preview cut a string.
const Ellipsis = "…"

// Preview returns s if it is at most max bytes long; otherwise the longest
// prefix of at most max bytes that ends on a rune boundary, followed by
// Ellipsis. It never splits a UTF-8 sequence of s. Bytes that are not valid
// UTF-8 are kept as they are (callers quote with %q where that matters).
func Preview(s string, max int) string {
	if max < 0 {
		max = 0
	}
	if len(s) <= max {
		return s
	}
	cut := max
	// If s[cut] continues a rune that starts before it, cut before that rune.
	// A rune is at most utf8.UTFMax bytes, so look back no further; bytes
	// that are not part of a valid rune are left as they are.
	for p := cut - 1; p >= 0 && p > cut-utf8.UTFMax; p-- {
		if utf8.RuneStart(s[p]) {
			if _, size := utf8.DecodeRuneInString(s[p:]); size > 1 && p+size > cut {
				cut = p
			}
			break
		}
	}
	return s[:cut] + Ellipsis
}
