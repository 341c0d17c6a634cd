package jolt

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// defaultKey is one key of a default spec (upstream's defaultr Key, MapKey
// and ArrayKey): it fills in its value where the input has none or null.
type defaultKey struct {
	raw       string   // the key without its [] suffix
	op        defOp    // literal, | alternatives or *
	keys      []string // literal or alternatives
	ints      []int    // the same as indexes, when the parent is an array
	isArray   bool     // key ended in []: its value is an array
	inArray   bool     // the parent is an array: keys are indexes
	maxIndex  int      // largest literal index among the children, -1 if none
	children  []*defaultKey
	literal   any // the default value, when the spec value is not an object
	hasChilds bool
}

type defOp uint8

// The order is the order of application: literals, then |, then *.
const (
	defLiteral defOp = iota
	defOr
	defStar
)

type defaultOp struct {
	mapRoot   *defaultKey
	arrayRoot *defaultKey // nil when the spec's top-level keys are not indexes
}

func compileDefault(o *value.Object, path []any) (*defaultOp, error) {
	mr, err := newDefaultKey("root", o, false, path, true)
	if err != nil {
		return nil, err
	}
	op := &defaultOp{mapRoot: mr}
	// The same spec read as the defaults for a top-level array; it is fine
	// for this to fail, until an array input comes.
	if ar, err := newDefaultKey("root[]", o, false, path, true); err == nil {
		op.arrayRoot = ar
	}
	return op, nil
}

func newDefaultKey(rawKey string, spec any, inArray bool, path []any, root bool) (*defaultKey, error) {
	k := &defaultKey{raw: rawKey, inArray: inArray, maxIndex: -1}
	if strings.HasSuffix(rawKey, "[]") {
		k.isArray = true
		k.raw = strings.ReplaceAll(rawKey, "[]", "")
	}
	switch {
	case strings.Contains(k.raw, "*"):
		if k.raw != "*" {
			return nil, specErr(path, "default key %s is invalid: a * key can hold only *", preview(rawKey))
		}
		k.op = defStar
	case strings.Contains(k.raw, "|"):
		k.op = defOr
		k.keys = strings.Split(k.raw, "|")
		for len(k.keys) > 1 && k.keys[len(k.keys)-1] == "" {
			k.keys = k.keys[:len(k.keys)-1]
		}
	default:
		k.op = defLiteral
		k.keys = []string{k.raw}
	}
	if inArray && k.op != defStar {
		for _, s := range k.keys {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > MaxArrayIndex {
				return nil, specErr(path, "key %s is under an array ([]) key, so it must be an index", preview(rawKey))
			}
			k.ints = append(k.ints, n)
		}
	}
	if o, ok := spec.(*value.Object); ok {
		k.hasChilds = true
		for i := 0; i < o.Len(); i++ {
			ck, cv := o.At(i)
			cpath := path
			if !root || true {
				cpath = child(path, ck)
			}
			c, err := newDefaultKey(ck, cv, k.isArray, cpath, false)
			if err != nil {
				return nil, err
			}
			k.children = append(k.children, c)
			if k.isArray && c.op == defLiteral && c.ints[0] > k.maxIndex {
				k.maxIndex = c.ints[0]
			}
		}
		slices.SortStableFunc(k.children, func(a, b *defaultKey) int {
			if c := cmp.Compare(a.op, b.op); c != 0 {
				return c
			}
			if a.op == defOr {
				if c := cmp.Compare(len(a.keys), len(b.keys)); c != 0 {
					return c
				}
				return strings.Compare(a.raw, b.raw)
			}
			return 0
		})
	} else {
		k.literal = spec
	}
	return k, nil
}

func (op *defaultOp) apply(st *state, in any) (any, error) {
	if in == nil {
		in = value.NewObject(4)
	}
	if l, ok := in.([]any); ok {
		if op.arrayRoot == nil {
			return nil, ErrTopLevelArray
		}
		return op.arrayRoot.applyChildren(l), nil
	}
	return op.mapRoot.applyChildren(in), nil
}

// applyChildren applies the children to the container v and returns v, which
// changes when v is an array that had to grow.
func (k *defaultKey) applyChildren(v any) any {
	if l, ok := v.([]any); ok && k.isArray {
		for len(l) <= k.maxIndex {
			l = append(l, nil)
		}
		v = l
	}
	for _, c := range k.children {
		v = c.applyTo(v)
	}
	return v
}

// applyTo applies this key to one container, returning it (grown, for arrays).
func (k *defaultKey) applyTo(container any) any {
	if k.inArray {
		l, ok := container.([]any)
		if !ok {
			return container
		}
		switch k.op {
		case defStar:
			for i := range l {
				l[i] = k.fill(l[i])
			}
		default:
			for _, n := range k.ints {
				if n < len(l) {
					l[n] = k.fill(l[n])
				}
			}
		}
		return l
	}
	o, ok := container.(*value.Object)
	if !ok {
		return container
	}
	switch k.op {
	case defLiteral:
		v, present := o.Get(k.raw)
		if nv := k.fill(v); !present || !sameRef(nv, v) {
			o.Set(k.raw, nv)
		}
	case defStar:
		for i := 0; i < o.Len(); i++ {
			_, v := o.At(i)
			if nv := k.fill(v); !sameRef(nv, v) {
				o.SetAt(i, nv)
			}
		}
	case defOr:
		for i := 0; i < o.Len(); i++ {
			key, v := o.At(i)
			if !slices.Contains(k.keys, key) {
				continue
			}
			if nv := k.fill(v); !sameRef(nv, v) {
				o.SetAt(i, nv)
			}
		}
	}
	return o
}

// fill returns what should be at a place holding v: the default when v is
// null or missing, else v with the children applied.
func (k *defaultKey) fill(v any) any {
	if !k.hasChilds {
		if v == nil {
			return value.DeepCopy(k.literal)
		}
		return v
	}
	if v == nil {
		if k.isArray {
			v = make([]any, 0, k.maxIndex+1)
		} else {
			v = value.NewObject(len(k.children))
		}
	}
	return k.applyChildren(v)
}

// sameRef reports whether a and b are the same container or both nil; a
// grown array or a new default is not.
func sameRef(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case *value.Object:
		y, ok := b.(*value.Object)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	}
	return false
}
