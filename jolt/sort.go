package jolt

import (
	"slices"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

// sortOp sorts the keys of every object, recursively (upstream's Sortr). Keys
// starting with "~" come first; otherwise keys sort as Java strings
// (UTF-16 code units). Arrays keep their order; their elements are sorted.
type sortOp struct{}

func (sortOp) apply(st *state, in any) (any, error) {
	if depthExceeds(in, MaxDepth) {
		return nil, ErrTooDeep
	}
	return sortValue(in), nil
}

func sortValue(v any) any {
	switch t := v.(type) {
	case *value.Object:
		keys := slices.Clone(t.Keys())
		slices.SortFunc(keys, compareJSONKeys)
		o := value.NewObject(len(keys))
		for _, k := range keys {
			x, _ := t.Get(k)
			o.Set(k, sortValue(x))
		}
		return o
	case []any:
		return value.MapArray(t, sortValue)
	}
	return v
}

func compareJSONKeys(a, b string) int {
	at := len(a) > 0 && a[0] == '~'
	bt := len(b) > 0 && b[0] == '~'
	switch {
	case at && !bt:
		return -1
	case bt && !at:
		return 1
	}
	return compareUTF16(a, b)
}

// compareUTF16 orders strings as Java's String.compareTo does.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16First(ra), utf16First(rb)
			if ua != ub {
				return int(ua) - int(ub)
			}
			return int(utf16Second(ra)) - int(utf16Second(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

func utf16First(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

func utf16Second(r rune) rune {
	if r < 0x10000 {
		return 0
	}
	return 0xDC00 + (r-0x10000)&0x3FF
}
