package jsonpath

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

// evaluate runs the path from start. A definite path returns its one value
// (ok false when missing); an indefinite one returns an array of matches.
func (path *Path) evaluate(start, root any) (any, bool, error) {
	nodes := []any{start}
	for i := range path.segs {
		seg := &path.segs[i]
		var next []any
		leafProps := i == len(path.segs)-1 && seg.kind == segNames && len(seg.names) > 1
		for _, n := range nodes {
			if leafProps {
				next = seg.props(n, next)
				continue
			}
			if seg.deep {
				next = seg.applyDeep(n, root, next)
			} else {
				next = seg.apply(n, root, next)
			}
		}
		nodes = next
	}
	var result any
	found := true
	if path.definite {
		if len(nodes) == 0 {
			result, found = nil, false
		} else {
			result = nodes[0]
		}
	} else {
		if nodes == nil {
			nodes = []any{}
		}
		result = nodes
	}
	for _, call := range path.fns {
		if !found {
			return nil, false, fmt.Errorf("%s() of a missing value", call.name)
		}
		args := make([]any, len(call.args))
		for j := range call.args {
			args[j], _ = call.args[j].value(start, root)
		}
		var err error
		if result, err = applyPathFunc(call.name, result, args); err != nil {
			return nil, false, err
		}
	}
	return result, found, nil
}

func (seg *jpSegment) apply(n, root any, out []any) []any {
	switch seg.kind {
	case segNames:
		if o, ok := n.(*value.Object); ok {
			for _, name := range seg.names {
				if v, ok := o.Get(name); ok {
					out = append(out, v)
				}
			}
		}
	case segWildcard:
		switch t := n.(type) {
		case *value.Object:
			t.Range(func(_ string, v any) bool { out = append(out, v); return true })
		case []any:
			out = append(out, t...)
		}
	case segIndexes:
		if a, ok := n.([]any); ok {
			for _, i := range seg.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segSlice:
		if a, ok := n.([]any); ok {
			out = seg.slice(a, out)
		}
	case segFilter:
		switch t := n.(type) {
		case []any:
			for _, x := range t {
				if seg.filter.eval(x, root) {
					out = append(out, x)
				}
			}
		case *value.Object:
			if seg.filter.eval(t, root) {
				out = append(out, t)
			}
		}
	}
	return out
}

// props applies ['a', 'b'] as the last step, as Jayway does: each object
// gives one object holding those of the properties it has. A deep scan
// (..['a', 'b']) gives the objects, n or below it, that have all of them.
func (seg *jpSegment) props(n any, out []any) []any {
	pick := func(o *value.Object, all bool) {
		p := value.NewObject(len(seg.names))
		for _, name := range seg.names {
			if v, ok := o.Get(name); ok {
				p.Set(name, v)
			} else if all {
				return
			}
		}
		out = append(out, p)
	}
	if !seg.deep {
		if o, ok := n.(*value.Object); ok {
			pick(o, false)
		}
		return out
	}
	visit := func(x any) {
		if o, ok := x.(*value.Object); ok {
			pick(o, true)
		}
	}
	visit(n)
	walkChildren(n, visit)
	return out
}

func (seg *jpSegment) slice(a []any, out []any) []any {
	n := len(a)
	norm := func(i, def int, has bool) int {
		if !has {
			return def
		}
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	if seg.step > 0 {
		for i := norm(seg.start, 0, seg.hasStart); i < norm(seg.end, n, seg.hasEnd); i += seg.step {
			out = append(out, a[i])
		}
		return out
	}
	start, end := n-1, -1
	if seg.hasStart {
		start = min(norm(seg.start, 0, true), n-1)
	}
	if seg.hasEnd {
		end = norm(seg.end, 0, true)
	}
	for i := start; i > end && i >= 0; i += seg.step {
		out = append(out, a[i])
	}
	return out
}

// applyDeep applies the segment at n and at every container below it, in
// document order as Jayway does. A deep filter or wildcard selects every
// matching descendant once.
func (seg *jpSegment) applyDeep(n, root any, out []any) []any {
	if seg.kind == segFilter || seg.kind == segWildcard {
		walkChildren(n, func(c any) {
			if seg.kind == segWildcard || seg.filter.eval(c, root) {
				out = append(out, c)
			}
		})
		return out
	}
	out = seg.apply(n, root, out)
	switch t := n.(type) {
	case *value.Object:
		t.Range(func(_ string, v any) bool { out = seg.applyDeep(v, root, out); return true })
	case []any:
		for _, v := range t {
			out = seg.applyDeep(v, root, out)
		}
	}
	return out
}

// walkChildren calls fn for every descendant of n, parents before children.
func walkChildren(n any, fn func(any)) {
	switch t := n.(type) {
	case *value.Object:
		t.Range(func(_ string, v any) bool { fn(v); walkChildren(v, fn); return true })
	case []any:
		for _, v := range t {
			fn(v)
			walkChildren(v, fn)
		}
	}
}

// applyPathFunc applies a function ending a path to the path's value v, with
// the values of its arguments, as Jayway's functions do.
func applyPathFunc(fn string, v any, args []any) (any, error) {
	switch fn {
	case "append":
		a, ok := v.([]any)
		if !ok {
			return v, nil
		}
		return append(append([]any(nil), a...), args...), nil
	case "concat":
		var b strings.Builder
		if a, ok := v.([]any); ok {
			for _, x := range a {
				if s, ok := x.(string); ok {
					b.WriteString(s)
				}
			}
		}
		for _, x := range args {
			b.Write(value.AppendText(nil, x))
		}
		return b.String(), nil
	case "index":
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("index() of %s", value.TypeName(v))
		}
		i := int(args[0].(int64))
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, nil
		}
		return a[i], nil
	case "length", "size":
		switch t := v.(type) {
		case []any:
			return int64(len(t)), nil
		case *value.Object:
			return int64(t.Len()), nil
		case string:
			return int64(utf8.RuneCountInString(t)), nil
		}
		return nil, fmt.Errorf("length() of %s", value.TypeName(v))
	case "keys":
		o, ok := v.(*value.Object)
		if !ok {
			return nil, fmt.Errorf("keys() of %s", value.TypeName(v))
		}
		out := make([]any, 0, o.Len())
		for _, k := range o.Keys() {
			out = append(out, k)
		}
		return out, nil
	case "first", "last":
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s() of %s", fn, value.TypeName(v))
		}
		if len(a) == 0 {
			return nil, nil
		}
		if fn == "first" {
			return a[0], nil
		}
		return a[len(a)-1], nil
	}
	// The numeric functions take the numbers of an array, and their
	// arguments (an array argument gives its numbers), as Jayway does.
	var nums []float64
	add := func(x any) {
		if f, ok := value.ToFloat(x); ok && value.IsNumber(x) {
			nums = append(nums, f)
		}
	}
	a, isArray := v.([]any)
	if !isArray && len(args) == 0 {
		return nil, fmt.Errorf("%s() of %s", fn, value.TypeName(v))
	}
	for _, x := range a {
		add(x)
	}
	for _, x := range args {
		if xs, ok := x.([]any); ok {
			for _, y := range xs {
				add(y)
			}
		} else {
			add(x)
		}
	}
	if len(nums) == 0 {
		return nil, fmt.Errorf("%s() of an array without numbers", fn)
	}
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, f := range nums {
		sum += f
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	mean := sum / float64(len(nums))
	switch fn {
	case "min":
		return lo, nil
	case "max":
		return hi, nil
	case "sum":
		return sum, nil
	case "avg":
		return mean, nil
	}
	sq := 0.0 // stddev: population standard deviation, as Jayway
	for _, f := range nums {
		sq += (f - mean) * (f - mean)
	}
	return math.Sqrt(sq / float64(len(nums))), nil
}
