package jolt

import (
	"github.com/nectar-run/nectar/engine/value"
)

// renamePlan is a compiled fast path for the commonest shift: one level whose
// keys are literals and at most one "*", every one a leaf, and every output
// path a single key: a literal, or "&" (the matched key itself), such as
//
//	{"id": "customerId", "email": ["emailAddress", "contact"], "*": "&"}
//
// The generic walk (shiftSpec.apply) pushes a level per key, evaluates each
// output path onto the arena and writes through setPath, which looks the key
// up twice. Here each output key is known at compile time or is the input key,
// so one pass over the input writes straight into an output object sized
// once. The plan runs only when it can prove that no two writes land on the
// same output key (a merge into a list is then impossible): its own outputs
// are distinct, and no key the "*" copies is one of them. Otherwise the
// generic walk runs, and the result is the same either way.
type renamePlan struct {
	lits    []planLiteral // in spec order
	star    bool          // a "*" leaf takes every key no literal takes
	starOut bool          // ... and writes it under its own name ("&"); else it drops it
	outputs []string      // every literal output key, for the "*" collision check
	outTab  keyTable      // finds a key in outputs
	inTab   keyTable      // finds a key among the literals' input keys
	maxKeys int           // distinct output keys of the literals (the generic rootKeys)
}

type planLiteral struct {
	in   string   // input key
	outs []string // output keys, in spec order
}

// compileRenamePlan returns the plan for root, or nil when root is not of
// the shape the plan handles or its literals can write the same key twice.
func compileRenamePlan(root *shiftSpec) *renamePlan {
	if root.leaf || len(root.special) > 0 || len(root.computed) > 1 {
		return nil
	}
	p := &renamePlan{}
	seen := map[string]bool{}
	for _, c := range root.literals {
		if !c.leaf || c.pe.kind != ekLiteral {
			return nil
		}
		l := planLiteral{in: c.pe.key}
		p.inTab.add(l.in, len(p.lits))
		for _, w := range c.writers {
			k, ok := planOutKey(w, c.pe.key)
			if !ok {
				return nil
			}
			if seen[k] {
				return nil // two writes of the literals meet: the generic walk merges them
			}
			seen[k] = true
			l.outs = append(l.outs, k)
			p.outTab.add(k, len(p.outputs))
			p.outputs = append(p.outputs, k)
		}
		p.lits = append(p.lits, l)
	}
	if len(root.computed) == 1 {
		c := root.computed[0]
		if !c.leaf || c.pe.kind != ekStarAll || len(c.writers) > 1 {
			return nil
		}
		p.star = true
		if len(c.writers) == 1 {
			if _, ok := planOutKey(c.writers[0], ""); !ok || c.writers[0].elems[1].kind != ekAmp {
				return nil
			}
			p.starOut = true
		}
	}
	p.maxKeys = max(len(seen), 1)
	return p
}

// planOutKey returns the output key of w, an output path of a leaf matched by
// input key self, when it is one key under the root: a literal, or "&"
// ("&0", "&(0,0)"), which is self.
func planOutKey(w *pathWriter, self string) (string, bool) {
	if len(w.elems) != 2 || w.types[1] != stMap {
		return "", false
	}
	e := w.elems[1]
	switch e.kind {
	case ekLiteral:
		return e.key, true
	case ekAmp:
		if len(e.toks) == 1 && e.toks[0].isRef && e.toks[0].ref == (ref{}) {
			return self, true
		}
	}
	return "", false
}

// keyTable finds a key among a compiled list of keys with a table lookup and
// at most one comparison, where a loop over the list compared every key of
// the same length: slot[keyHash(k)] is 0 when no key of the list has k's
// hash, i+1 when list[i] is the only one, and several when more than one has
// it (or i+1 would not fit): the caller then looks through the whole list.
type keyTable struct{ slot [256]uint8 }

const several = 255

// keyHash is a cheap hash of k in [0, 256): its length and its first,
// middle and last bytes, which tell apart most keys of one spec
// (first_name, last_name; id, order_id).
func keyHash(k string) uint8 {
	n := len(k)
	if n == 0 {
		return 0
	}
	return uint8(n*151 + int(k[0])*7 + int(k[n/2])*3 + int(k[n-1])*31)
}

// add records that list[i] is k.
func (t *keyTable) add(k string, i int) {
	h := keyHash(k)
	if t.slot[h] != 0 || i+1 >= several {
		t.slot[h] = several
		return
	}
	t.slot[h] = uint8(i + 1)
}

// find returns the index of k, whose keyHash is h, in list (the list the
// table was built from), or -1.
func (t *keyTable) find(list []string, k string, h uint8) int {
	switch s := t.slot[h]; s {
	case 0:
		return -1
	case several:
		for i, x := range list {
			if len(x) == len(k) && x == k {
				return i
			}
		}
		return -1
	default:
		if x := list[s-1]; len(x) == len(k) && x == k {
			return int(s - 1)
		}
		return -1
	}
}

// literal returns the literal for input key k, whose keyHash is h.
func (p *renamePlan) literal(k string, h uint8) (*planLiteral, bool) {
	switch s := p.inTab.slot[h]; s {
	case 0:
		return nil, false
	case several:
		for i := range p.lits {
			if l := &p.lits[i]; len(l.in) == len(k) && l.in == k {
				return l, true
			}
		}
		return nil, false
	default:
		if l := &p.lits[s-1]; len(l.in) == len(k) && l.in == k {
			return l, true
		}
		return nil, false
	}
}

// isOutput reports whether k, whose keyHash is h, is the output key of
// some literal.
func (p *renamePlan) isOutput(k string, h uint8) bool {
	return p.outTab.find(p.outputs, k, h) >= 0
}

// apply runs the plan on in. ok is false when the plan does not apply to this
// input (it is not an object, or a key the "*" copies is also an output of a
// literal): the caller then runs the generic walk.
func (p *renamePlan) apply(st *state, in any) (_ any, ok bool, err error) {
	o, isObj := in.(*value.Object)
	if !isObj || o == nil {
		return nil, false, nil
	}
	n := p.maxKeys
	if p.star {
		if p.starOut {
			n = max(n, o.Len())
		}
		writes := st.writes
		out := value.NewObject(n)
		for i := 0; i < o.Len(); i++ {
			k, v := o.At(i)
			h := keyHash(k) // for both tables
			if l, lit := p.literal(k, h); lit {
				err = st.planWrite(out, l.outs, v)
			} else if p.starOut {
				if p.isOutput(k, h) {
					// The "*" copy and a literal's write meet (before or
					// after this key): start again on the generic walk.
					st.writes = writes
					return nil, false, nil
				}
				err = st.planWriteOne(out, k, v)
			}
			if err != nil {
				return nil, true, err
			}
		}
		return planResult(out), true, nil
	}
	out := value.NewObject(n)
	for i := range p.lits {
		l := &p.lits[i]
		if v, found := o.Get(l.in); found {
			if err := st.planWrite(out, l.outs, v); err != nil {
				return nil, true, err
			}
		}
	}
	return planResult(out), true, nil
}

// planResult is JOLT's output of a shift that wrote into out: null when it
// wrote nothing.
func planResult(out *value.Object) any {
	if out.Len() == 0 {
		return nil
	}
	return out
}

func (st *state) planWrite(out *value.Object, keys []string, v any) error {
	for _, k := range keys {
		if err := st.planWriteOne(out, k, v); err != nil {
			return err
		}
	}
	return nil
}

// planWriteOne writes v under k, a key nothing else writes: by reference, as
// the generic walk does, or a copy when the shift copies what it writes. No
// later write of this shift lands on k or inside v, so v is not remembered
// as shared (state.share); an array still loses its spare capacity, as
// there, so that an append to the output cannot reach the input's array.
func (st *state) planWriteOne(out *value.Object, k string, v any) error {
	st.writes++
	if st.writes > MaxWrites {
		return ErrOutputTooLarge
	}
	if st.copyWrites {
		v = value.DeepCopy(v)
	} else if a, ok := v.([]any); ok && cap(a) > len(a) {
		v = a[:len(a):len(a)]
	}
	out.AppendNew(k, v) // k is new: see renamePlan
	return nil
}
