package jolt

import (
	"strconv"
	"strings"
	"sync"

	"github.com/nectar-run/nectar/engine/value"
)

// step is one level of the parallel walk of spec and input (upstream's
// PathStep plus MatchedElement): the input at that level and the key that
// matched it, with the parts its wildcards captured.
type step struct {
	tree     any
	key      string
	subs     []string // captures of the wildcards; &(n,1) is subs[0]
	owner    int      // index of the step whose match counter [#n] reads; "@" shares its parent's
	hash     int      // matches seen below this level so far, for [#n]
	origSize int      // modify: size of the input list before it was grown; -1 when not a list
}

// state is the per-Apply scratch space. It is pooled so that a transform
// allocates only for its output.
type state struct {
	steps  []step
	arena  []string // backing store for captures and evaluated paths; used as a stack
	writes int
	ctx    any // the context for ^ reads
	sb     strings.Builder
	shared ptrSet // containers a shift wrote by reference (see share)
	// copyWrites: the running shift copies what it writes (shiftOp.copyWrites)
	copyWrites bool
	// stepsHigh and arenaHigh are the most steps and arena entries held
	// at once during this Apply: putState clears that much, not the whole
	// capacity, and nothing when the walk never ran (a rename plan).
	stepsHigh, arenaHigh int
}

var statePool = sync.Pool{New: func() any { return &state{steps: make([]step, 0, 16), arena: make([]string, 0, 64)} }}

func getState() *state {
	st := statePool.Get().(*state)
	st.steps = st.steps[:0]
	st.arena = st.arena[:0]
	st.writes = 0
	st.ctx = nil
	st.shared.reset()
	return st
}

func putState(st *state) {
	if cap(st.arena) > 1<<16 || cap(st.steps) > 1<<12 {
		return
	}
	clear(st.steps[:st.stepsHigh])
	clear(st.arena[:st.arenaHigh])
	st.stepsHigh, st.arenaHigh = 0, 0
	st.ctx = nil
	st.shared.reset()
	statePool.Put(st)
}

// push adds a level; m is what the path element's match produced.
func (st *state) push(tree any, m match) error {
	if len(st.steps) >= MaxDepth {
		return ErrTooDeep
	}
	owner := len(st.steps)
	if m.shared && owner > 0 {
		owner = st.steps[owner-1].owner
	}
	st.steps = append(st.steps, step{tree: tree, key: m.key, subs: m.subs, owner: owner, origSize: -1})
	if len(st.steps) > st.stepsHigh {
		st.stepsHigh = len(st.steps)
	}
	return nil
}

func (st *state) pop() { st.steps = st.steps[:len(st.steps)-1] }

// appendArena pushes s on the arena; every push goes through it, so that
// arenaHigh covers what putState must clear.
func (st *state) appendArena(s string) {
	st.arena = append(st.arena, s)
	if len(st.arena) > st.arenaHigh {
		st.arenaHigh = len(st.arena)
	}
}

// countMatch increments the match counter of the top level (upstream's incrementHashCount).
func (st *state) countMatch() {
	if n := len(st.steps); n > 0 {
		st.steps[st.steps[n-1].owner].hash++
	}
}

// from returns the level n steps up from the top (0 is the top).
func (st *state) from(n int) (*step, bool) {
	i := len(st.steps) - 1 - n
	if i < 0 || n < 0 {
		return nil, false
	}
	return &st.steps[i], true
}

func (st *state) top() *step { return &st.steps[len(st.steps)-1] }

// subKey resolves a reference &(path,group) against the walked path.
func (st *state) subKey(r ref) (string, error) {
	s, ok := st.from(r.path)
	if !ok {
		return "", ErrBadReference
	}
	if r.group == 0 {
		return s.key, nil
	}
	if r.group-1 < len(s.subs) {
		return s.subs[r.group-1], nil
	}
	return "", ErrBadReference
}

// hashCount resolves [#n].
func (st *state) hashCount(r ref) (string, error) {
	s, ok := st.from(r.path)
	if !ok {
		return "", ErrBadReference
	}
	return strconv.Itoa(st.steps[s.owner].hash), nil
}

// match is the result of matching a key against a path element.
type match struct {
	key    string
	subs   []string
	shared bool // the element is the parent's (upstream returns the parent's MatchedElement)
}

// matchKey matches dataKey against e (upstream's MatchablePathElement.match).
// ok is false when it does not match.
func (st *state) matchKey(e *pathElem, dataKey string) (m match, ok bool, err error) {
	switch e.kind {
	case ekLiteral:
		return match{key: e.key}, dataKey == e.key, nil
	case ekStarAll:
		return match{key: dataKey}, true, nil
	case ekStarSingle:
		if !e.starMatch(dataKey) {
			return match{}, false, nil
		}
		st.appendArena(dataKey[len(e.prefix) : len(dataKey)-len(e.suffix)])
		return match{key: dataKey, subs: st.arena[len(st.arena)-1:]}, true, nil
	case ekStarDouble:
		if !e.starMatch(dataKey) {
			return match{}, false, nil
		}
		mi := e.midIndex(dataKey)
		st.appendArena(dataKey[len(e.prefix):mi])
		st.appendArena(dataKey[mi+len(e.mid) : len(dataKey)-len(e.suffix)])
		return match{key: dataKey, subs: st.arena[len(st.arena)-2:]}, true, nil
	case ekStarRegex:
		sm := e.re.FindStringSubmatch(dataKey)
		if sm == nil {
			return match{}, false, nil
		}
		return match{key: dataKey, subs: sm[1:]}, true, nil
	case ekAmp, ekArray:
		s, ok, err := st.eval(e)
		if err != nil || !ok || s != dataKey {
			return match{}, false, err
		}
		return match{key: s}, true, nil
	case ekDollar:
		s, err := st.subKey(e.ref)
		if err != nil {
			return match{}, false, err
		}
		return match{key: s}, true, nil
	case ekHash:
		return match{key: e.hashVal}, true, nil
	case ekAt, ekTranspose:
		if len(st.steps) == 0 {
			return match{}, false, nil
		}
		t := st.top()
		return match{key: t.key, subs: t.subs, shared: true}, true, nil
	}
	return match{}, false, nil
}

// eval evaluates an output-path element to a key (upstream's
// EvaluatablePathElement.evaluate). ok is false when a transpose finds nothing
// usable, which cancels the whole write.
func (st *state) eval(e *pathElem) (string, bool, error) {
	switch e.kind {
	case ekLiteral:
		return e.key, true, nil
	case ekAmp:
		if len(e.toks) == 1 && e.toks[0].isRef {
			s, err := st.subKey(e.toks[0].ref)
			return s, err == nil, err
		}
		st.sb.Reset()
		for _, t := range e.toks {
			if !t.isRef {
				st.sb.WriteString(t.lit)
				continue
			}
			s, err := st.subKey(t.ref)
			if err != nil {
				return "", false, err
			}
			st.sb.WriteString(s)
		}
		return st.sb.String(), true, nil
	case ekTranspose:
		v, ok, err := st.transposeValue(e.tp)
		if err != nil || !ok {
			return "", false, err
		}
		return transposeKey(v)
	case ekArray:
		switch e.arr {
		case arrAuto:
			return "[]", true, nil
		case arrExplicit:
			return e.indexStr, true, nil
		case arrHash:
			s, err := st.hashCount(e.ref)
			return s, err == nil, err
		case arrReference:
			s, err := st.subKey(e.ref)
			if err != nil {
				return "", false, err
			}
			_, ok := nonNegInt(s)
			return s, ok, nil
		case arrTranspose:
			v, ok, err := st.transposeValue(e.tp)
			if err != nil || !ok {
				return "", false, err
			}
			s, ok, _ := transposeKey(v)
			if !ok {
				return "", false, nil
			}
			_, ok = nonNegInt(s)
			return s, ok, nil
		}
	}
	return "", false, nil
}

// transposeKey turns data found by @(...) into a key: strings as they are,
// numbers as integers (they are meant as indexes), booleans as true/false.
func transposeKey(v any) (string, bool, error) {
	switch t := v.(type) {
	case string:
		return t, true, nil
	case bool:
		if t {
			return "true", true, nil
		}
		return "false", true, nil
	}
	if value.IsNumber(v) {
		if f, ok := value.ToFloat(v); ok {
			return strconv.FormatInt(javaIntValue(f, v), 10), true, nil
		}
	}
	return "", false, nil
}

// transposeValue evaluates @(up,sub) (upstream's objectEvaluate). ok is false
// when the path leads nowhere; a present null is ok with a nil value.
func (st *state) transposeValue(t *transpose) (any, bool, error) {
	s, ok := st.from(t.up)
	if !ok {
		return nil, false, nil
	}
	if t.sub == nil {
		return s.tree, true, nil
	}
	return st.read(t.sub, s.tree)
}
