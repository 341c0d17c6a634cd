package pipetest

import (
	"fmt"
	"strconv"

	"github.com/nectar-run/nectar/engine/value"
)

// Diff compares got with want and returns one line per difference, each
// starting with its JSON path ($.items[2].sku: want "A", got "B"). With
// subset, objects of got may have keys want does not list (lists must still
// have the same length). Numbers compare by value: 1 and 1.0 are equal.
func Diff(want, got any, subset bool) []string {
	var out []string
	diff("$", want, got, subset, &out)
	return out
}

func diff(path string, want, got any, subset bool, out *[]string) {
	switch w := want.(type) {
	case *value.Object:
		g, ok := got.(*value.Object)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an object, got %s", path, show(got)))
			return
		}
		w.Range(func(k string, wv any) bool {
			gv, ok := g.Get(k)
			if !ok {
				*out = append(*out, fmt.Sprintf("%s: missing (want %s)", childPath(path, k), show(wv)))
				return true
			}
			diff(childPath(path, k), wv, gv, subset, out)
			return true
		})
		if !subset {
			g.Range(func(k string, gv any) bool {
				if !w.Has(k) {
					*out = append(*out, fmt.Sprintf("%s: unexpected (got %s)", childPath(path, k), show(gv)))
				}
				return true
			})
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an array, got %s", path, show(got)))
			return
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], subset, out)
		}
		for i := len(g); i < len(w); i++ {
			*out = append(*out, fmt.Sprintf("%s[%d]: missing (want %s)", path, i, show(w[i])))
		}
		for i := len(w); i < len(g); i++ {
			*out = append(*out, fmt.Sprintf("%s[%d]: unexpected (got %s)", path, i, show(g[i])))
		}
	default:
		if !sameScalar(want, got) {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", path, show(want), show(got)))
		}
	}
}

func sameScalar(a, b any) bool {
	if value.IsNumber(a) && value.IsNumber(b) {
		ia, aInt := a.(int64)
		ib, bInt := b.(int64)
		if aInt && bInt {
			return ia == ib
		}
		fa, _ := value.ToFloat(a)
		fb, _ := value.ToFloat(b)
		return fa == fb
	}
	switch a.(type) {
	case *value.Object, []any:
		return false
	}
	switch b.(type) {
	case *value.Object, []any:
		return false
	}
	return a == b
}

func childPath(path, k string) string {
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return path + "[" + strconv.Quote(k) + "]"
		}
	}
	if k == "" {
		return path + `[""]`
	}
	return path + "." + k
}

// show renders a value in a message: JSON, cut short.
func show(v any) string {
	s, err := value.Encode(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return preview(string(s))
}

func preview(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
