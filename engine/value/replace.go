package value

// Replace returns v with values below it replaced, sharing every object and
// list that holds no replacement: v itself is never changed, and a value
// without any replacement comes back as it is, without a copy.
//
// f sees each value before its members, with the key it has in its object
// ("" for v itself and for list elements). When f returns true its result
// takes the value's place and Replace does not look inside it; otherwise
// Replace goes on into the members of an object or a list.
//
// engine.Mask, the one masking walk of Nectar (log lines, the log
// connector, the execution history), is built on it.
func Replace(v any, f func(key string, v any) (any, bool)) any {
	return replace("", v, f)
}

func replace(k string, v any, f func(string, any) (any, bool)) any {
	if nv, ok := f(k, v); ok {
		return nv
	}
	switch t := v.(type) {
	case *Object:
		var out *Object
		for i := range t.Len() {
			ck, c := t.At(i)
			nc := replace(ck, c, f)
			if out == nil && !unchanged(nc, c) {
				out = t.Clone()
			}
			if out != nil {
				out.SetAt(i, nc)
			}
		}
		if out == nil {
			return t
		}
		return out
	case []any:
		var out []any
		for i, c := range t {
			nc := replace("", c, f)
			if out == nil && !unchanged(nc, c) {
				out = append([]any(nil), t...)
			}
			if out != nil {
				out[i] = nc
			}
		}
		if out == nil {
			return t
		}
		return out
	}
	return v
}

// unchanged reports whether a, which replace made of b, is b: the same
// object or list (by identity), or an equal scalar (the value model's
// scalars are comparable).
func unchanged(a, b any) bool {
	switch x := a.(type) {
	case *Object:
		y, ok := b.(*Object)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	switch b.(type) {
	case *Object, []any, string:
		return false
	}
	return a == b
}

// Same reports whether a is b as far as Replace can tell: the same object
// or list, or an equal scalar. A caller of Replace uses it to learn whether
// anything was replaced.
func Same(a, b any) bool { return unchanged(a, b) }
