package jolt

import (
	"strings"
	"unsafe"

	"github.com/nectar-run/nectar/engine/value"
)

// stepType is how an output or read path walks a container.
type stepType uint8

const (
	stMap  stepType = iota // a key of an object
	stList                 // [n] an index of an array
	stAuto                 // [] append to an array
)

// pathReader reads down a dotted path such as "a.&1.[2]" (upstream's
// TransposeReader). Its elements are evaluated against the walked path.
type pathReader struct {
	elems []*pathElem
	types []stepType
	canon string
}

// pathWriter writes data at a dotted output path (upstream's ShiftrWriter).
// The first element is always the literal "root" of the output holder.
type pathWriter struct {
	elems []*pathElem
	types []stepType
}

// fixLeadingBracketSugar turns "data[2]" into "data.[2]" so that the path can
// be split on dots.
func fixLeadingBracketSugar(s string) string {
	if s == "" || !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	prev := s[0]
	b.WriteByte(prev)
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '[' && prev != '\\' && prev != '@' && prev != '.' {
			b.WriteByte('.')
		}
		b.WriteByte(c)
		prev = c
	}
	return b.String()
}

// splitDotNotation splits a dotted path into its keys, keeping "@(...)"
// groups (which may hold dots) whole and honouring "\." escapes.
func splitDotNotation(s string) ([]string, string) {
	var out []string
	var sb strings.Builder
	prevEsc := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		curEsc := c == '\\' && !prevEsc
		switch {
		case prevEsc && c != '.' && c != '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '@':
			sb.WriteByte('@')
			at, n, msg := parseAtSegment(s[i+1:], s)
			if msg != "" {
				return nil, msg
			}
			sb.WriteString(at)
			i += n
			cur := sb.String()
			if !(strings.Contains(cur, "[") && !strings.Contains(cur, "]")) {
				out = append(out, cur)
				sb.Reset()
			}
		case c == '.':
			if prevEsc {
				sb.WriteByte('.')
			} else if sb.Len() > 0 {
				out = append(out, sb.String())
				sb.Reset()
			}
		case !curEsc:
			sb.WriteByte(c)
		}
		prevEsc = curEsc
	}
	if sb.Len() > 0 {
		out = append(out, sb.String())
	}
	return out, ""
}

// parseAtSegment reads what follows an '@' in a dotted path: "(a.b)" up to
// the matching parenthesis, or "abc" up to the next dot (returned as "(abc)").
// n is how many bytes of rest it consumed.
func parseAtSegment(rest, whole string) (string, int, string) {
	if rest == "" {
		return "", 0, ""
	}
	c := rest[0]
	if c == '.' {
		return "", 0, "cannot parse " + preview(whole) + ": @ followed by a dot"
	}
	if c == '(' {
		depth := 1
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '(':
				return "", 0, "cannot parse " + preview(whole) + ": too many open parentheses"
			case ')':
				depth--
			}
			if depth == 0 {
				return rest[:i+1], i + 1, ""
			}
		}
		return "", 0, "cannot parse " + preview(whole) + ": @( has no matching )"
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] == '.' {
			// "@abc.def": the canonical "@(abc)", and the dot is consumed.
			return "(" + rest[:i] + ")", i + 1, ""
		}
	}
	return rest, len(rest), ""
}

// parseEvaluatable parses a dotted path into elements that can be evaluated
// to keys: literals, & references, @ transposes and array indexes.
func parseEvaluatable(dot string) ([]*pathElem, []stepType, string) {
	keys, msg := splitDotNotation(fixLeadingBracketSugar(dot))
	if msg != "" {
		return nil, nil, msg
	}
	elems := make([]*pathElem, 0, len(keys))
	types := make([]stepType, 0, len(keys))
	for _, k := range keys {
		e, msg := parseKey(k)
		if msg != "" {
			return nil, nil, msg
		}
		switch e.kind {
		case ekAt:
			return nil, nil, "a lone @ is not valid in path " + preview(dot)
		case ekLiteral, ekAmp, ekTranspose, ekArray:
		default:
			return nil, nil, "key " + preview(k) + " is not valid in output path " + preview(dot)
		}
		elems = append(elems, e)
		switch {
		case e.canon == "[]":
			types = append(types, stAuto)
		case strings.HasPrefix(e.canon, "[") && strings.HasSuffix(e.canon, "]"):
			types = append(types, stList)
		default:
			types = append(types, stMap)
		}
	}
	return elems, types, ""
}

func parseReader(dot string) (*pathReader, string) {
	elems, types, msg := parseEvaluatable(dot)
	if msg != "" {
		return nil, msg
	}
	canon := make([]string, len(elems))
	for i, e := range elems {
		canon[i] = e.canon
	}
	return &pathReader{elems: elems, types: types, canon: strings.Join(canon, ".")}, ""
}

// parseWriter parses one right-hand-side output path of a shift.
func parseWriter(rhs string) (*pathWriter, string) {
	if (strings.Contains(rhs, "*") && !strings.Contains(rhs, `\*`)) || (strings.Contains(rhs, "$") && !strings.Contains(rhs, `\$`)) {
		return nil, "output path " + preview(rhs) + " cannot contain * or $"
	}
	full := "root"
	if strings.TrimSpace(rhs) != "" {
		full = "root." + rhs
	}
	elems, types, msg := parseEvaluatable(full)
	if msg != "" {
		return nil, msg
	}
	return &pathWriter{elems: elems, types: types}, ""
}

// evalKeys evaluates the elements onto the arena; ok is false when one of
// them has no usable value. The caller truncates the arena afterwards.
func (st *state) evalKeys(elems []*pathElem) ([]string, bool, error) {
	base := len(st.arena)
	for _, e := range elems {
		s, ok, err := st.eval(e)
		if err != nil || !ok {
			st.arena = st.arena[:base]
			return nil, false, err
		}
		st.appendArena(s)
	}
	return st.arena[base:], true, nil
}

// read walks tree down r (upstream's SimpleTraversr get). ok is false when
// the path does not exist; a present null gives (nil, true).
func (st *state) read(r *pathReader, tree any) (any, bool, error) {
	mark := len(st.arena)
	keys, ok, err := st.evalKeys(r.elems)
	if err != nil || !ok {
		st.arena = st.arena[:mark]
		return nil, false, err
	}
	cur := tree
	found := true
	for i, k := range keys {
		if cur == nil {
			found = false
			break
		}
		switch r.types[i] {
		case stMap:
			o, isObj := cur.(*value.Object)
			if !isObj {
				found = false
				break
			}
			cur, found = o.Get(k)
		case stList:
			a, isArr := cur.([]any)
			n, okN := nonNegInt(k)
			if !isArr || !okN || n >= len(a) {
				found = false
				break
			}
			cur = a[n]
		default:
			found = false
		}
		if !found {
			break
		}
	}
	st.arena = st.arena[:mark]
	if !found {
		return nil, false, nil
	}
	return cur, true, nil
}

// write puts data at w's path in holder, shift style: a second value landing
// on the same place turns it into a list (upstream's ShiftrTraversr).
func (st *state) write(w *pathWriter, holder *value.Object, data any) error {
	mark := len(st.arena)
	keys, ok, err := st.evalKeys(w.elems)
	if err != nil || !ok {
		st.arena = st.arena[:mark]
		return err
	}
	st.writes++
	if st.writes > MaxWrites {
		return ErrOutputTooLarge
	}
	for i, t := range w.types {
		if t == stList {
			if n, _ := nonNegInt(keys[i]); n > MaxArrayIndex {
				st.arena = st.arena[:mark]
				return ErrOutputTooLarge
			}
		}
	}
	st.setPath(holder, w.types, keys, data)
	st.arena = st.arena[:mark]
	return nil
}

func newContainer(t stepType) any {
	if t == stMap {
		return value.NewObject(4)
	}
	return make([]any, 0, 4)
}

// setPath sets data under tree. When tree is an array that had to grow, it
// returns the new slice and true, and the caller stores it in place of the
// old one; otherwise nothing needs storing (and no slice is boxed into an
// interface, which would allocate). A container of the wrong type stops the
// write. A container already in the output is made the run's own (st.own)
// before anything is written into it.
func (st *state) setPath(tree any, types []stepType, keys []string, data any) ([]any, bool) {
	last := len(keys) == 1
	switch types[0] {
	case stMap:
		o, ok := tree.(*value.Object)
		if !ok {
			return nil, false
		}
		k := keys[0]
		sub, _ := o.Get(k)
		if last {
			if sub != nil {
				data = st.merge(sub, data)
			}
			o.Set(k, data)
			return nil, false
		}
		if sub == nil {
			sub = newContainer(types[1])
			if nl, grew := st.setPath(sub, types[1:], keys[1:], data); grew {
				o.Set(k, nl)
			} else {
				o.Set(k, sub)
			}
			return nil, false
		}
		if c, copied := st.own(sub); copied {
			sub = c
			o.Set(k, c)
		}
		if nl, grew := st.setPath(sub, types[1:], keys[1:], data); grew {
			o.Set(k, nl)
		}
		return nil, false
	case stList:
		a, ok := tree.([]any)
		if !ok {
			return nil, false
		}
		n, _ := nonNegInt(keys[0])
		grew := false
		for len(a) <= n {
			a = append(a, nil)
			grew = true
		}
		if last {
			if a[n] != nil {
				data = st.merge(a[n], data)
			}
			a[n] = data
			return a, grew
		}
		sub := a[n]
		if sub == nil {
			sub = newContainer(types[1])
			a[n] = sub
		} else if c, copied := st.own(sub); copied {
			sub = c
			a[n] = c
		}
		if nl, g := st.setPath(sub, types[1:], keys[1:], data); g {
			a[n] = nl
		}
		return a, grew
	default: // stAuto: every write appends
		a, ok := tree.([]any)
		if !ok {
			return nil, false
		}
		if last {
			return append(a, data), true
		}
		sub := newContainer(types[1])
		if nl, g := st.setPath(sub, types[1:], keys[1:], data); g {
			sub = nl
		}
		return append(a, sub), true
	}
}

// merge is what lands at a place that already holds a value: both in a
// list (appending if it already is one).
func (st *state) merge(existing, data any) any {
	if l, ok := existing.([]any); ok {
		if c, copied := st.own(l); copied {
			l = c.([]any)
		}
		return append(l, data)
	}
	return []any{existing, data}
}

// share prepares data, a value of the input, to be written into the output
// by reference: a container is remembered as shared, so that st.own copies it
// before the run changes it (a second write onto it, a write into it), and an
// array loses its spare capacity, so that an append cannot land in the
// input's backing array. Scalars are immutable and need nothing.
func (st *state) share(data any) any {
	switch t := data.(type) {
	case *value.Object:
		if t != nil {
			st.shared.add(unsafe.Pointer(t))
		}
	case []any:
		if len(t) > 0 {
			t = t[:len(t):len(t)]
			st.shared.add(unsafe.Pointer(unsafe.SliceData(t)))
			return t
		}
	}
	return data
}

// own returns v ready to be changed in place: v itself when this run built
// it, else (a container written by reference, see share) a deep copy, which
// the caller stores in v's place (copied is then true).
func (st *state) own(v any) (_ any, copied bool) {
	if len(st.shared.list) == 0 { // nothing shared (a map is made only from a full list)
		return v, false
	}
	return st.ownShared(v)
}

func (st *state) ownShared(v any) (_ any, copied bool) {
	var p unsafe.Pointer
	switch t := v.(type) {
	case *value.Object:
		p = unsafe.Pointer(t)
	case []any:
		p = unsafe.Pointer(unsafe.SliceData(t))
	}
	if p == nil || !st.shared.has(p) {
		return v, false
	}
	return value.DeepCopy(v), true
}

// ptrSet is a set of addresses: a short list, a map once it grows (a shift
// may write many containers, and each later write into one looks it up).
type ptrSet struct {
	list []unsafe.Pointer
	big  map[unsafe.Pointer]struct{}
}

const ptrSetListMax = 16

func (s *ptrSet) add(p unsafe.Pointer) {
	if s.big != nil {
		s.big[p] = struct{}{}
		return
	}
	s.list = append(s.list, p)
	if len(s.list) > ptrSetListMax {
		s.big = make(map[unsafe.Pointer]struct{}, 2*len(s.list))
		for _, q := range s.list {
			s.big[q] = struct{}{}
		}
	}
}

func (s *ptrSet) has(p unsafe.Pointer) bool {
	if s.big != nil {
		_, ok := s.big[p]
		return ok
	}
	for _, q := range s.list {
		if q == p {
			return true
		}
	}
	return false
}

// reset empties the set, keeping no address (a pooled state must not keep
// an input alive).
func (s *ptrSet) reset() {
	clear(s.list)
	s.list = s.list[:0]
	s.big = nil
}
