package jolt

// execStrategy says how a composite spec visits its input (upstream's
// ExecutionStrategy); shift and modify choose it by their own rules, a
// cardinality composite always uses esConflict.
type execStrategy uint8

const (
	esLiterals             execStrategy = iota // only literal children: look them up
	esComputed                                 // only wildcard children: try each input key
	esConflict                                 // both, and a key could match both: per key, literal first
	esLiteralsThenComputed                     // both, disjoint: literals first, then wildcards
)

// childSpec is a key of a shift, modify or cardinality spec: apply runs it on
// key k of the input, whose value is v, and reports whether it matched. X is
// what each operation passes along: the output object (shift), whether the
// key is present (modify), the parent (cardinality).
type childSpec[X any] interface {
	apply(st *state, k string, v any, x X) (bool, error)
}

// children are the keys of a composite spec: literal keys, found by name,
// and wildcards, tried in precedence order until one matches.
type children[C childSpec[X], X any] struct {
	literals []C          // in spec order
	litKeys  []string     // the input key of each literal: its name, or its index
	litIndex map[string]C // literal key -> spec, when there are many (see literal)
	computed []C          // wildcards, in precedence order
	strategy execStrategy
}

// literalScanMax is how many literal keys literal compares one by one, which
// costs less than hashing the key for a map: most specs have a few.
const literalScanMax = 8

// addLiteral adds c as the literal child for input key k; a later child for
// the same key replaces it in lookups.
func (cs *children[C, X]) addLiteral(k string, c C) {
	cs.literals = append(cs.literals, c)
	cs.litKeys = append(cs.litKeys, k)
	if len(cs.litKeys) > literalScanMax {
		if cs.litIndex == nil {
			cs.litIndex = make(map[string]C, len(cs.litKeys))
			for i, k := range cs.litKeys {
				cs.litIndex[k] = cs.literals[i]
			}
		}
		cs.litIndex[k] = c
	}
}

// literal returns the literal child for input key k.
func (cs *children[C, X]) literal(k string) (C, bool) {
	if cs.litIndex != nil {
		c, ok := cs.litIndex[k]
		return c, ok
	}
	for i := len(cs.litKeys) - 1; i >= 0; i-- { // the last one wins, as in the map
		if lk := cs.litKeys[i]; len(lk) == len(k) && lk == k {
			return cs.literals[i], true
		}
	}
	var none C
	return none, false
}

// applyKey runs the children on one input key: the literal child if there
// is one (only when a key could match both, esConflict: the other strategies
// visit literals on their own), else the first wildcard that takes it.
func (cs *children[C, X]) applyKey(st *state, k string, v any, x X) error {
	if cs.strategy == esConflict {
		if c, ok := cs.literal(k); ok {
			_, err := c.apply(st, k, v, x)
			return err
		}
	}
	return cs.applyComputed(st, k, v, x)
}

// applyComputed runs the first wildcard child that takes key k.
func (cs *children[C, X]) applyComputed(st *state, k string, v any, x X) error {
	for _, c := range cs.computed {
		ok, err := c.apply(st, k, v, x)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return nil
}

// applyScalar runs the children on a scalar input, which is a key with no
// value: its text key names the literal child, and wildcards may take it
// as well, as the strategy says.
func (cs *children[C, X]) applyScalar(st *state, key string, x X) error {
	if cs.strategy != esComputed {
		if c, ok := cs.literal(key); ok {
			if _, err := c.apply(st, key, nil, x); err != nil {
				return err
			}
			if cs.strategy != esLiteralsThenComputed {
				return nil
			}
		} else if cs.strategy == esLiterals {
			return nil
		}
	}
	return cs.applyComputed(st, key, nil, x)
}
