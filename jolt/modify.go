package jolt

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// modifyMode decides whether a modify write happens (upstream's OpMode).
type modifyMode uint8

const (
	modeOverwrite modifyMode = iota // "+": always write
	modeDefault                     // "~": write when missing or null
	modeDefine                      // "_": write only when missing
)

func (m modifyMode) String() string {
	switch m {
	case modeDefault:
		return OpModifyDefault
	case modeDefine:
		return OpModifyDefine
	}
	return OpModifyOverwrite
}

// dataType is what a composite modify key expects its input to be, judged
// from its children's keys (upstream's modifier DataType).
type dataType uint8

const (
	dtRuntime dataType = iota // only "*" children: whatever the input is
	dtMap                     // literal or partial-star children: an object
	dtList                    // [n] children: an array
)

// modSpec is one key of a modify spec.
type modSpec struct {
	pe    *pathElem
	mode  modifyMode
	check bool // "key?": only when the key is present in the input

	leaf  bool
	evals []evaluator // the value, or a fallback list of values: first that gives one wins

	dt       dataType
	maxIndex int // dtList: highest [n] without "?", the array is grown to hold it
	// Literal children are visited even when their key is missing from the
	// input (esLiterals, esLiteralsThenComputed); esConflict is used only by
	// a define spec over an array.
	children[*modSpec, bool]
}

type modifyOp struct{ root *modSpec }

func compileModify(o *value.Object, path []any, mode modifyMode) (*modifyOp, error) {
	root := &modSpec{pe: &pathElem{kind: ekLiteral, key: "root", canon: "root"}, mode: mode}
	if err := root.buildComposite(o, path); err != nil {
		return nil, err
	}
	return &modifyOp{root: root}, nil
}

func newModSpec(rawKey string, rhs any, mode modifyMode, path []any) (*modSpec, error) {
	if rawKey == "" {
		return nil, specErr(path, "an empty key is not valid in a %s spec", mode)
	}
	s := &modSpec{mode: mode}
	key := rawKey
	switch key[0] {
	case '+':
		s.mode, key = modeOverwrite, key[1:]
	case '~':
		s.mode, key = modeDefault, key[1:]
	case '_':
		s.mode, key = modeDefine, key[1:]
	}
	if len(rawKey) > 1 && strings.HasSuffix(rawKey, "?") && !strings.HasSuffix(key, `\?`) {
		s.check = true
		key = key[:len(key)-1]
	}
	pe, msg := parseKey(key)
	if msg != "" {
		return nil, specErr(path, "%s", msg)
	}
	switch {
	case pe.kind == ekLiteral, pe.isStar():
	case pe.kind == ekArray:
		if pe.arr != arrExplicit {
			return nil, specErr(path, "key %s: a modify spec supports only explicit array indexes like [2]", preview(rawKey))
		}
	default:
		return nil, specErr(path, "key %s is not valid in a %s spec (only literals, * wildcards and [n])", preview(rawKey), mode)
	}
	s.pe = pe
	if o, ok := rhs.(*value.Object); ok && o.Len() > 0 {
		if err := s.buildComposite(o, path); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.leaf = true
	evs, err := buildEvaluators(rhs, path)
	if err != nil {
		return nil, err
	}
	s.evals = evs
	return s, nil
}

func (s *modSpec) buildComposite(o *value.Object, path []any) error {
	s.maxIndex = -1
	seen := map[string]bool{}
	mapAt, listAt := "", ""
	for i := 0; i < o.Len(); i++ {
		raw, rhs := o.At(i)
		cpath := child(path, raw)
		for _, k := range strings.Split(raw, "|") {
			c, err := newModSpec(k, rhs, s.mode, cpath)
			if err != nil {
				return err
			}
			if seen[c.pe.canon] {
				return specErr(cpath, "duplicate key %s", preview(c.pe.canon))
			}
			seen[c.pe.canon] = true
			switch {
			case c.pe.kind == ekLiteral:
				mapAt = raw
				s.addLiteral(c.pe.key, c)
			case c.pe.kind == ekArray:
				listAt = raw
				if !c.check && c.pe.index > s.maxIndex {
					s.maxIndex = c.pe.index
				}
				s.addLiteral(strconv.Itoa(c.pe.index), c)
			default:
				if c.pe.kind != ekStarAll {
					mapAt = raw
				}
				s.computed = append(s.computed, c)
			}
			if mapAt != "" && listAt != "" {
				return specErr(cpath, "cannot mix array indexes (%s) and object keys (%s) under one key", preview(listAt), preview(mapAt))
			}
		}
	}
	switch {
	case listAt != "":
		s.dt = dtList
	case mapAt != "":
		s.dt = dtMap
	default:
		s.dt = dtRuntime
	}
	slices.SortStableFunc(s.computed, func(a, b *modSpec) int { return compareComputed(a.pe, b.pe) })
	switch {
	case len(s.computed) == 0:
		s.strategy = esLiterals
	case len(s.literals) == 0:
		s.strategy = esComputed
	case s.mode == modeDefine && s.dt == dtList:
		s.strategy = esConflict
	default:
		s.strategy = esLiteralsThenComputed
	}
	return nil
}

func (m modifyMode) applicableMap(o *value.Object, key string) bool {
	switch m {
	case modeDefault:
		v, _ := o.Get(key)
		return v == nil
	case modeDefine:
		return !o.Has(key)
	}
	return true
}

func (m modifyMode) applicableList(l []any, idx, origSize int) bool {
	if idx < 0 || origSize < 0 || idx >= len(l) {
		return false
	}
	switch m {
	case modeDefault:
		return l[idx] == nil
	case modeDefine:
		return idx >= origSize && l[idx] == nil
	}
	return true
}

func (op *modifyOp) apply(st *state, in any) (any, error) {
	s := op.root
	if err := st.push(in, match{key: "root"}); err != nil {
		return nil, err
	}
	if !s.compatible(in) {
		return in, nil
	}
	origSize := -1
	if l, ok := in.([]any); ok {
		origSize = len(l)
		if s.dt == dtList {
			in = grow(l, s.maxIndex)
		}
	}
	if err := st.push(in, match{key: "root"}); err != nil {
		return nil, err
	}
	st.top().origSize = origSize
	if err := s.process(st, in); err != nil {
		return nil, err
	}
	return in, nil
}

func (s *modSpec) compatible(in any) bool {
	switch s.dt {
	case dtList:
		_, ok := in.([]any)
		return ok || in == nil
	case dtMap:
		_, ok := in.(*value.Object)
		return ok || in == nil
	}
	return in != nil
}

func grow(l []any, maxIndex int) []any {
	for len(l) <= maxIndex {
		l = append(l, nil)
	}
	return l
}

// apply runs this spec on one key of the container at the top of the walk.
// present tells a missing key (false) from a null value.
func (s *modSpec) apply(st *state, key string, in any, present bool) (bool, error) {
	mark := len(st.arena)
	defer func() { st.arena = st.arena[:mark] }()
	m, ok, err := st.matchKey(s.pe, key)
	if err != nil || !ok {
		return false, err
	}
	if s.check && !present {
		return true, nil
	}
	if s.leaf {
		return true, s.applyLeaf(st, key, in, present, m)
	}
	return true, s.applyComposite(st, key, in, m)
}

func (s *modSpec) applyLeaf(st *state, key string, in any, present bool, m match) error {
	parent := st.top()
	ptree, porig := parent.tree, parent.origSize
	if err := st.push(in, m); err != nil {
		return err
	}
	v, ok := s.firstAvailable(st, in, present)
	st.pop()
	if !ok {
		return nil
	}
	setData(ptree, key, porig, value.DeepCopy(v), s.mode)
	return nil
}

func setData(parent any, key string, origSize int, v any, mode modifyMode) {
	switch p := parent.(type) {
	case *value.Object:
		if mode.applicableMap(p, key) {
			p.Set(key, v)
		}
	case []any:
		if idx, err := strconv.Atoi(key); err == nil && mode.applicableList(p, idx, origSize) {
			p[idx] = v
		}
	}
}

func (s *modSpec) applyComposite(st *state, key string, in any, m match) error {
	if !s.compatible(in) {
		return nil
	}
	parent := st.top()
	ptree, porig := parent.tree, parent.origSize
	if in == nil {
		// Make the container the children will fill, if the mode allows a write here.
		var nv any
		if s.dt == dtList {
			nv = make([]any, 0, s.maxIndex+1)
		} else {
			nv = value.NewObject(len(s.literals))
		}
		switch p := ptree.(type) {
		case *value.Object:
			if s.mode.applicableMap(p, key) {
				p.Set(key, nv)
				in = nv
			}
		case []any:
			if idx, err := strconv.Atoi(key); err == nil && s.mode.applicableList(p, idx, porig) {
				p[idx] = nv
				in = nv
			}
		}
	}
	origSize := -1
	if l, ok := in.([]any); ok {
		origSize = len(l)
		if s.dt == dtList && len(l) <= s.maxIndex {
			l = grow(l, s.maxIndex)
			in = l
			switch p := ptree.(type) {
			case *value.Object:
				p.Set(key, l)
			case []any:
				if idx, err := strconv.Atoi(key); err == nil && idx >= 0 && idx < len(p) {
					p[idx] = l
				}
			}
		}
	}
	if err := st.push(in, m); err != nil {
		return err
	}
	st.top().origSize = origSize
	err := s.process(st, in)
	st.pop()
	return err
}

func (s *modSpec) process(st *state, in any) error {
	switch t := in.(type) {
	case *value.Object:
		if s.strategy == esLiterals || s.strategy == esLiteralsThenComputed {
			for i, c := range s.literals {
				k := s.litKeys[i]
				v, ok := t.Get(k)
				if _, err := c.apply(st, k, v, ok); err != nil {
					return err
				}
			}
			if s.strategy == esLiterals {
				return nil
			}
		}
		for i := 0; i < t.Len(); i++ {
			k, v := t.At(i)
			if err := s.applyKey(st, k, v, true); err != nil {
				return err
			}
		}
	case []any:
		orig := st.top().origSize
		if s.strategy == esLiterals || s.strategy == esLiteralsThenComputed {
			for i, c := range s.literals {
				k := s.litKeys[i]
				var v any
				present := false
				if n, err := strconv.Atoi(k); err == nil && n >= 0 && n < len(t) {
					v = t[n]
					present = v != nil || orig < 0 || n < orig
				}
				if _, err := c.apply(st, k, v, present); err != nil {
					return err
				}
			}
			if s.strategy == esLiterals {
				return nil
			}
		}
		for i := 0; i < len(t); i++ {
			v := t[i]
			present := !(v == nil && orig >= 0 && i >= orig)
			if err := s.applyKey(st, strconv.Itoa(i), v, present); err != nil {
				return err
			}
		}
	case nil:
	default:
		return s.applyScalar(st, javaString(in), false)
	}
	return nil
}
