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
	litIndex map[string]C // literal key -> spec
	computed []C          // wildcards, in precedence order
	strategy execStrategy
}

// applyKey runs the children on one input key: the literal child if there
// is one (only when a key could match both, esConflict: the other strategies
// visit literals on their own), else the first wildcard that takes it.
func (cs *children[C, X]) applyKey(st *state, k string, v any, x X) error {
	if cs.strategy == esConflict {
		if c, ok := cs.litIndex[k]; ok {
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
		if c, ok := cs.litIndex[key]; ok {
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
