package jolt

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// shiftSpec is one key of a shift spec: a composite (its value is an object
// of further keys) or a leaf (its value is one or more output paths).
type shiftSpec struct {
	pe *pathElem

	// composite
	special []*shiftSpec // @, $, #, @(..): applied whenever the parent matches
	children[*shiftSpec, *value.Object]

	// leaf
	leaf    bool
	writers []*pathWriter
}

type shiftOp struct {
	root *shiftSpec
	// rootKeys > 0 when every output path starts with an object key: the
	// output object is then made up front with room for that many keys.
	rootKeys int
	// inputKeys is set when an output path starts with a key taken from
	// the input ("*": "&" copies every key): the output object then gets
	// room for at least as many keys as the input has, not growing by
	// doubling as they are written.
	inputKeys bool
	// copyWrites is set when the next stage of a chain changes the output
	// in place: each value is then copied as it is written, and the output
	// shares nothing with the input. Otherwise values are written by
	// reference (see state.share).
	copyWrites bool
	// plan is the fast path for a one-level shift of renames (renamePlan);
	// nil when the spec has another shape.
	plan *renamePlan
}

func compileShift(o *value.Object, path []any) (*shiftOp, error) {
	root, err := newShiftComposite(&pathElem{kind: ekLiteral, key: "root", canon: "root"}, o, path)
	if err != nil {
		return nil, err
	}
	op := &shiftOp{root: root}
	keys := map[string]bool{}
	objectRoot := true
	root.walkWriters(func(w *pathWriter) {
		if len(w.types) < 2 || w.types[1] != stMap {
			objectRoot = false
			return
		}
		keys[w.elems[1].canon] = true
		if w.elems[1].kind != ekLiteral {
			op.inputKeys = true
		}
	})
	if objectRoot {
		op.rootKeys = max(len(keys), 1)
	}
	op.plan = compileRenamePlan(root)
	return op, nil
}

func (s *shiftSpec) walkWriters(fn func(*pathWriter)) {
	for _, w := range s.writers {
		fn(w)
	}
	for _, group := range [][]*shiftSpec{s.special, s.literals, s.computed} {
		for _, c := range group {
			c.walkWriters(fn)
		}
	}
}

func newShiftSpec(key string, rhs any, path []any) (*shiftSpec, error) {
	pe, msg := parseKey(key)
	if msg != "" {
		return nil, specErr(path, "%s", msg)
	}
	switch pe.kind {
	case ekLiteral, ekStarAll, ekStarSingle, ekStarDouble, ekStarRegex, ekAmp, ekAt, ekDollar, ekHash, ekTranspose, ekArray:
	default:
		return nil, specErr(path, "key %s is not valid on the left-hand side", preview(key))
	}
	if o, ok := rhs.(*value.Object); ok {
		return newShiftComposite(pe, o, path)
	}
	return newShiftLeaf(pe, rhs, path)
}

func newShiftComposite(pe *pathElem, o *value.Object, path []any) (*shiftSpec, error) {
	switch pe.kind {
	case ekAt:
		return nil, specErr(path, "an @ key cannot have children")
	case ekDollar:
		return nil, specErr(path, "a $ key cannot have children")
	}
	if o.Len() == 0 {
		return nil, specErr(path, "a key with an empty {} as its value is not valid")
	}
	s := &shiftSpec{pe: pe}
	seen := map[string]bool{}
	for i := 0; i < o.Len(); i++ {
		raw, rhs := o.At(i)
		cpath := child(path, raw)
		for _, k := range strings.Split(raw, "|") {
			c, err := newShiftSpec(k, rhs, cpath)
			if err != nil {
				return nil, err
			}
			if seen[c.pe.canon] {
				return nil, specErr(cpath, "duplicate key %s (same as another key once its wildcards are written out)", preview(c.pe.canon))
			}
			seen[c.pe.canon] = true
			switch c.pe.kind {
			case ekLiteral:
				s.addLiteral(c.pe.key, c)
			case ekAt, ekHash, ekDollar, ekTranspose:
				s.special = append(s.special, c)
			default:
				s.computed = append(s.computed, c)
			}
		}
	}
	slices.SortStableFunc(s.computed, func(a, b *shiftSpec) int { return compareComputed(a.pe, b.pe) })
	s.strategy = chooseStrategy(s.literals, s.computed, func(c *shiftSpec) *pathElem { return c.pe })
	return s, nil
}

// computedRank is the precedence of wildcard kinds: & first, then the most
// specific stars, the lone * last.
func computedRank(k elemKind) int {
	switch k {
	case ekAmp, ekArray:
		return 1
	case ekStarRegex:
		return 2
	case ekStarDouble:
		return 3
	case ekStarSingle:
		return 4
	}
	return 5
}

// compareComputed orders wildcard keys as upstream's ComputedKeysComparator:
// by kind, then the longer (more specific) canonical form first, then alphabetically.
func compareComputed(a, b *pathElem) int {
	if c := cmp.Compare(computedRank(a.kind), computedRank(b.kind)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.canon), len(a.canon)); c != 0 {
		return c
	}
	return strings.Compare(a.canon, b.canon)
}

func chooseStrategy[T any](literals, computed []T, pe func(T) *pathElem) execStrategy {
	if len(computed) == 0 {
		return esLiterals
	}
	if len(literals) == 0 {
		return esComputed
	}
	for _, c := range computed {
		e := pe(c)
		if !e.isStar() {
			return esConflict
		}
		for _, l := range literals {
			if e.starMatch(pe(l).key) {
				return esConflict
			}
		}
	}
	return esLiteralsThenComputed
}

func newShiftLeaf(pe *pathElem, rhs any, path []any) (*shiftSpec, error) {
	s := &shiftSpec{pe: pe, leaf: true}
	switch r := rhs.(type) {
	case string:
		w, msg := parseWriter(r)
		if msg != "" {
			return nil, specErr(path, "%s", msg)
		}
		s.writers = []*pathWriter{w}
	case []any:
		for i, x := range r {
			str, ok := x.(string)
			if !ok {
				return nil, specErr(child(path, i), "an output path must be a string, got %s", value.TypeName(x))
			}
			w, msg := parseWriter(str)
			if msg != "" {
				return nil, specErr(child(path, i), "%s", msg)
			}
			s.writers = append(s.writers, w)
		}
	case nil:
		// Matches and writes nothing: a way to drop data.
	default:
		return nil, specErr(path, "the value of a shift key must be an object, an output path or a list of them, got %s", value.TypeName(rhs))
	}
	return s, nil
}

func (op *shiftOp) apply(st *state, input any) (any, error) {
	st.copyWrites = op.copyWrites
	if op.plan != nil {
		if out, ok, err := op.plan.apply(st, input); ok {
			return out, err
		}
	}
	return op.applyGeneric(st, input)
}

// applyGeneric walks spec and input together (upstream's Shiftr).
func (op *shiftOp) applyGeneric(st *state, input any) (any, error) {
	holder := value.NewObject(1)
	if op.rootKeys > 0 {
		n := op.rootKeys
		if in, ok := input.(*value.Object); ok && op.inputKeys {
			n = max(n, in.Len())
		}
		holder.Set("root", value.NewObject(n))
	}
	if err := st.push(input, match{key: "root"}); err != nil {
		return nil, err
	}
	if _, err := op.root.apply(st, "root", input, holder); err != nil {
		return nil, err
	}
	out, _ := holder.Get("root")
	if o, ok := out.(*value.Object); ok && op.rootKeys > 0 && o.Len() == 0 {
		// Nothing was written: JOLT's output is null, not an empty object.
		return nil, nil
	}
	return out, nil
}

// apply runs this spec on one input key and its value; it reports whether the
// key was handled, so that wildcard siblings need not see it.
func (s *shiftSpec) apply(st *state, key string, in any, out *value.Object) (bool, error) {
	mark := len(st.arena)
	ok, err := s.applyMatched(st, key, in, out)
	st.arena = st.arena[:mark] // captures of this match are no longer referenced
	return ok, err
}

func (s *shiftSpec) applyMatched(st *state, key string, in any, out *value.Object) (bool, error) {
	m, ok, err := st.matchKey(s.pe, key)
	if err != nil || !ok {
		return false, err
	}
	if s.leaf {
		return s.applyLeaf(st, m, in, out)
	}
	if s.pe.kind == ekTranspose {
		v, found, err := st.transposeValue(s.pe.tp)
		if err != nil || !found {
			return false, err
		}
		in = v
	}
	if err := st.push(in, m); err != nil {
		return false, err
	}
	for _, sp := range s.special {
		if _, err := sp.apply(st, key, in, out); err != nil {
			return false, err
		}
	}
	if err := s.process(st, in, out); err != nil {
		return false, err
	}
	st.pop()
	st.countMatch()
	return true, nil
}

func (s *shiftSpec) applyLeaf(st *state, m match, in any, out *value.Object) (bool, error) {
	var data any
	real := false
	switch s.pe.kind {
	case ekDollar, ekHash:
		data = m.key
	case ekAt:
		data = in
	case ekTranspose:
		v, found, err := st.transposeValue(s.pe.tp)
		if err != nil || !found {
			return false, err
		}
		data = v
	default:
		data = in
		real = true
	}
	if !st.copyWrites {
		// Written by reference (see state.share): a shift copies only
		// what it changes afterwards.
		data = st.share(data)
	}
	if err := st.push(in, m); err != nil {
		return false, err
	}
	for _, w := range s.writers {
		d := data
		if st.copyWrites {
			d = value.DeepCopy(data)
		}
		if err := st.write(w, out, d); err != nil {
			return false, err
		}
	}
	st.pop()
	if real {
		st.countMatch()
	}
	return real, nil
}

// process walks the children over the input at this level.
func (s *shiftSpec) process(st *state, in any, out *value.Object) error {
	switch t := in.(type) {
	case *value.Object:
		return s.processObject(st, t, out)
	case []any:
		return s.processList(st, t, out)
	case nil:
		return nil
	default:
		return s.applyScalar(st, javaString(in), out)
	}
}

func (s *shiftSpec) processObject(st *state, o *value.Object, out *value.Object) error {
	if s.strategy == esLiterals || s.strategy == esLiteralsThenComputed {
		for _, c := range s.literals {
			if v, ok := o.Get(c.pe.key); ok {
				if _, err := c.apply(st, c.pe.key, v, out); err != nil {
					return err
				}
			}
		}
		if s.strategy == esLiterals {
			return nil
		}
	}
	for i := 0; i < o.Len(); i++ {
		k, v := o.At(i)
		if err := s.applyKey(st, k, v, out); err != nil {
			return err
		}
	}
	return nil
}

func (s *shiftSpec) processList(st *state, l []any, out *value.Object) error {
	if s.strategy == esLiterals || s.strategy == esLiteralsThenComputed {
		for _, c := range s.literals {
			if n, ok := nonNegInt(c.pe.key); ok && n < len(l) {
				if _, err := c.apply(st, c.pe.key, l[n], out); err != nil {
					return err
				}
			}
		}
		if s.strategy == esLiterals {
			return nil
		}
	}
	for i, v := range l {
		if err := s.applyKey(st, strconv.Itoa(i), v, out); err != nil {
			return err
		}
	}
	return nil
}
