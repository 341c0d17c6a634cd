package jolt

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// cardSpec is one key of a cardinality spec (upstream's
// CardinalityCompositeSpec and CardinalityLeafSpec). A leaf makes the value
// at its key ONE value or MANY (a list); "@" applies that to the parent key.
type cardSpec struct {
	pe   *pathElem
	leaf bool
	many bool

	special *cardSpec // the "@" leaf
	// Literal keys are found by name (literals stays empty), with no
	// wildcard taking a key a literal has: esConflict.
	children[*cardSpec, any]
}

type cardinalityOp struct{ root *cardSpec }

func compileCardinality(o *value.Object, path []any) (*cardinalityOp, error) {
	root, err := newCardComposite(&pathElem{kind: ekLiteral, key: "root", canon: "root"}, o, path)
	if err != nil {
		return nil, err
	}
	return &cardinalityOp{root: root}, nil
}

func parseCardKey(key string, path []any) (*pathElem, error) {
	if strings.Contains(key, "@") {
		return &pathElem{kind: ekAt, key: key, canon: "@"}, nil
	}
	pe, msg := parseKey(key)
	if msg != "" {
		return nil, specErr(path, "%s", msg)
	}
	switch pe.kind {
	case ekLiteral, ekStarAll, ekStarSingle, ekStarDouble, ekStarRegex, ekAmp:
		return pe, nil
	}
	return nil, specErr(path, "key %s is not valid in a cardinality spec", preview(key))
}

func newCardComposite(pe *pathElem, o *value.Object, path []any) (*cardSpec, error) {
	if pe.kind == ekAt {
		return nil, specErr(path, "an @ key cannot have children")
	}
	if o.Len() == 0 {
		return nil, specErr(path, "a key with an empty {} as its value is not valid")
	}
	s := &cardSpec{pe: pe}
	s.strategy = esConflict
	seen := map[string]bool{}
	for i := 0; i < o.Len(); i++ {
		k, rhs := o.At(i)
		cpath := child(path, k)
		cpe, err := parseCardKey(k, cpath)
		if err != nil {
			return nil, err
		}
		var c *cardSpec
		if co, ok := rhs.(*value.Object); ok {
			c, err = newCardComposite(cpe, co, cpath)
			if err != nil {
				return nil, err
			}
		} else {
			c = &cardSpec{pe: cpe, leaf: true}
			switch rhs {
			case "ONE":
			case "MANY":
				c.many = true
			default:
				return nil, specErr(cpath, "cardinality must be \"ONE\" or \"MANY\", got %s", preview(javaString(rhs)))
			}
		}
		if seen[cpe.canon] {
			return nil, specErr(cpath, "duplicate key %s", preview(cpe.canon))
		}
		seen[cpe.canon] = true
		switch cpe.kind {
		case ekLiteral:
			s.addLiteral(cpe.key, c)
		case ekAt:
			s.special = c
		default:
			s.computed = append(s.computed, c)
		}
	}
	slices.SortStableFunc(s.computed, func(a, b *cardSpec) int {
		ra, rb := 2, 2
		if a.pe.kind == ekAmp {
			ra = 1
		}
		if b.pe.kind == ekAmp {
			rb = 1
		}
		if ra != rb {
			return ra - rb
		}
		if len(a.pe.canon) != len(b.pe.canon) {
			return len(b.pe.canon) - len(a.pe.canon)
		}
		return strings.Compare(a.pe.canon, b.pe.canon)
	})
	return s, nil
}

func (op *cardinalityOp) apply(st *state, in any) (any, error) {
	holder := value.ObjectOf("root", in)
	if err := st.push(holder, match{key: "root"}); err != nil {
		return nil, err
	}
	if _, err := op.root.apply(st, "root", in, holder); err != nil {
		return nil, err
	}
	out, _ := holder.Get("root")
	return out, nil
}

// apply runs the spec on one key of parent (an object or an array).
func (s *cardSpec) apply(st *state, key string, in any, parent any) (bool, error) {
	mark := len(st.arena)
	defer func() { st.arena = st.arena[:mark] }()
	m, ok, err := st.matchKey(s.pe, key)
	if err != nil || !ok {
		return false, err
	}
	if s.leaf {
		s.adjust(key, in, parent)
		return true, nil
	}
	if err := st.push(in, m); err != nil {
		return false, err
	}
	if s.special != nil {
		if changed, ok := s.special.adjust(key, in, parent); ok {
			in = changed
		}
	}
	if err := s.process(st, in); err != nil {
		return false, err
	}
	st.pop()
	return true, nil
}

// adjust makes the value at key of parent ONE or MANY. It returns the new
// value and whether it changed anything.
func (s *cardSpec) adjust(key string, in any, parent any) (any, bool) {
	var nv any
	if s.many {
		switch t := in.(type) {
		case []any:
			return t, true
		case nil:
			nv = []any{}
		default:
			nv = []any{t}
		}
	} else {
		l, ok := in.([]any)
		if !ok {
			return in, false
		}
		if len(l) > 0 {
			nv = l[0]
		}
	}
	switch p := parent.(type) {
	case *value.Object:
		p.Set(key, nv)
	case []any:
		if n, err := strconv.Atoi(key); err == nil && n >= 0 && n < len(p) {
			p[n] = nv
		}
	default:
		return in, false
	}
	return nv, true
}

func (s *cardSpec) process(st *state, in any) error {
	switch t := in.(type) {
	case *value.Object:
		for i := 0; i < t.Len(); i++ {
			k, v := t.At(i)
			if err := s.applyKey(st, k, v, t); err != nil {
				return err
			}
		}
	case []any:
		for i, v := range t {
			if err := s.applyKey(st, strconv.Itoa(i), v, t); err != nil {
				return err
			}
		}
	case nil:
	default:
		return s.applyKey(st, javaString(in), nil, nil)
	}
	return nil
}
