package jolt

import (
	"slices"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// removeSpec is one key of a remove spec (upstream's RemovrCompositeSpec and
// RemovrLeafSpec). A leaf ("key": "") removes what it matches; a composite
// ("key": {...}) walks into it.
type removeSpec struct {
	pe       *pathElem
	leaf     bool
	children []*removeSpec
}

type removeOp struct{ root *removeSpec }

func compileRemove(o *value.Object, path []any) (*removeOp, error) {
	root, err := newRemoveComposite("root", o, path)
	if err != nil {
		return nil, err
	}
	return &removeOp{root: root}, nil
}

// parseRemoveKey classifies a remove key: *, partial stars, or a literal.
func parseRemoveKey(key string) *pathElem {
	if strings.Contains(key, "*") {
		e, _ := parseStar(key)
		if e != nil {
			return e
		}
	}
	return &pathElem{kind: ekLiteral, key: key, canon: key}
}

func newRemoveComposite(key string, o *value.Object, path []any) (*removeSpec, error) {
	s := &removeSpec{pe: parseRemoveKey(key)}
	for i := 0; i < o.Len(); i++ {
		raw, rhs := o.At(i)
		cpath := child(path, raw)
		for _, k := range strings.Split(raw, "|") {
			switch r := rhs.(type) {
			case *value.Object:
				c, err := newRemoveComposite(k, r, cpath)
				if err != nil {
					return nil, err
				}
				s.children = append(s.children, c)
			case string:
				if strings.TrimSpace(r) != "" {
					return nil, specErr(cpath, "the value of a remove key must be \"\" or an object, got %s", preview(r))
				}
				s.children = append(s.children, &removeSpec{pe: parseRemoveKey(k), leaf: true})
			default:
				return nil, specErr(cpath, "the value of a remove key must be \"\" or an object, got %s", value.TypeName(rhs))
			}
		}
	}
	return s, nil
}

func (op *removeOp) apply(st *state, in any) (any, error) {
	return op.root.processChildren(in), nil
}

// processChildren applies the children to v and returns v (a new slice when
// elements of an array were removed).
func (s *removeSpec) processChildren(v any) any {
	switch t := v.(type) {
	case []any:
		var drop []int
		for _, c := range s.children {
			drop = c.applyToList(t, drop)
		}
		if len(drop) == 0 {
			return t
		}
		slices.Sort(drop)
		drop = slices.Compact(drop)
		out := t[:0]
		j := 0
		for i, x := range t {
			if j < len(drop) && drop[j] == i {
				j++
				continue
			}
			out = append(out, x)
		}
		clear(t[len(out):])
		return out
	case *value.Object:
		var drop []string
		for _, c := range s.children {
			drop = c.applyToObject(t, drop)
		}
		for _, k := range drop {
			t.Delete(k)
		}
		return t
	}
	return v
}

// applyToObject walks into (composite) or collects the keys to remove (leaf).
func (s *removeSpec) applyToObject(o *value.Object, drop []string) []string {
	if s.pe.kind == ekLiteral {
		v, ok := o.Get(s.pe.key)
		if !ok {
			return drop
		}
		if s.leaf {
			return append(drop, s.pe.key)
		}
		if nv := s.processChildren(v); isList(nv) {
			o.Set(s.pe.key, nv)
		}
		return drop
	}
	for i := 0; i < o.Len(); i++ {
		k, v := o.At(i)
		if !s.pe.starMatch(k) {
			continue
		}
		if s.leaf {
			drop = append(drop, k)
		} else if nv := s.processChildren(v); isList(nv) {
			o.SetAt(i, nv)
		}
	}
	return drop
}

// applyToList does the same for an array, where only indexes and * match.
func (s *removeSpec) applyToList(l []any, drop []int) []int {
	switch s.pe.kind {
	case ekLiteral:
		n, ok := nonNegInt(s.pe.key)
		if !ok || n >= len(l) {
			return drop
		}
		if s.leaf {
			return append(drop, n)
		}
		l[n] = s.processChildren(l[n])
	case ekStarAll:
		for i := range l {
			if s.leaf {
				drop = append(drop, i)
			} else {
				l[i] = s.processChildren(l[i])
			}
		}
	}
	return drop
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}
