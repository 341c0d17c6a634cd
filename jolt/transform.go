package jolt

import (
	"fmt"

	"github.com/nectar-run/nectar/engine/value"
)

// Operation names accepted by Compile and in the "operation" field of a chain entry.
const (
	OpShift           = "shift"
	OpDefault         = "default"
	OpRemove          = "remove"
	OpSort            = "sort"
	OpCardinality     = "cardinality"
	OpModifyOverwrite = "modify-overwrite-beta"
	OpModifyDefault   = "modify-default-beta"
	OpModifyDefine    = "modify-define-beta"
)

// Operations lists the operation names, in the order the docs present them.
var Operations = []string{OpShift, OpDefault, OpRemove, OpSort, OpCardinality, OpModifyOverwrite, OpModifyDefault, OpModifyDefine}

// operation is one compiled JOLT operation.
type operation interface {
	apply(st *state, in any) (any, error)
}

// stage is an operation and how it treats its input.
type stage struct {
	op      operation
	name    string
	inPlace bool // changes its input, which must then be owned by the transform
	fresh   bool // returns a value that shares nothing with its input
}

// Transform is a compiled JOLT spec: one operation or a chain of them. It
// holds no per-call state and is safe for concurrent use by many goroutines.
type Transform struct {
	stages []stage
}

// Compile builds one operation from its spec. operation is one of "shift",
// "default", "remove", "sort", "cardinality", "modify-overwrite-beta",
// "modify-default-beta" and "modify-define-beta"; spec is a value-model value
// (*value.Object, []any, string, ...), as value.Decode returns. sort takes no
// spec (any value is ignored). A bad spec returns a *SpecError whose Path is
// relative to spec.
func Compile(operation string, spec any) (*Transform, error) {
	s, err := compileStage(operation, spec, nil, nil)
	if err != nil {
		return nil, err
	}
	return &Transform{stages: []stage{s}}, nil
}

// CompileChain builds a JOLT chain ("chainr") spec: a []any of objects, each
// with an "operation" name and, except for sort, a "spec". The operations run
// in order, each on the output of the previous one. Errors are *SpecError
// with a Path from the chain, like []any{2, "spec", "rating"}.
func CompileChain(spec any) (*Transform, error) {
	list, ok := spec.([]any)
	if !ok {
		return nil, specErr(nil, "a chain spec must be a list of {operation, spec} objects, got %s", value.TypeName(spec))
	}
	if len(list) == 0 {
		return nil, specErr(nil, "a chain spec must have at least one operation")
	}
	t := &Transform{stages: make([]stage, 0, len(list))}
	for i, e := range list {
		path := []any{i}
		o, ok := e.(*value.Object)
		if !ok {
			return nil, specErr(path, "a chain entry must be an object with operation and spec, got %s", value.TypeName(e))
		}
		opv, ok := o.Get("operation")
		if !ok {
			return nil, specErr(path, "a chain entry needs an operation")
		}
		name, ok := opv.(string)
		if !ok {
			return nil, specErr(child(path, "operation"), "operation must be a string, got %s", value.TypeName(opv))
		}
		sp, has := o.Get("spec")
		if !has && name != OpSort {
			if !knownOperation(name) {
				return nil, specErr(child(path, "operation"), "unknown operation %s; use one of %v", preview(name), Operations)
			}
			return nil, specErr(path, "the %s operation needs a spec", name)
		}
		s, err := compileStage(name, sp, child(path, "spec"), child(path, "operation"))
		if err != nil {
			return nil, err
		}
		t.stages = append(t.stages, s)
	}
	for i, s := range t.stages[:len(t.stages)-1] {
		if sh, ok := s.op.(*shiftOp); ok && t.stages[i+1].inPlace {
			// The next stage changes this one's output in place: a copy of
			// each written value costs less than a copy of the whole output.
			sh.copyWrites = true
			t.stages[i].fresh = true
		}
	}
	return t, nil
}

func knownOperation(name string) bool {
	for _, n := range Operations {
		if n == name {
			return true
		}
	}
	return false
}

func compileStage(name string, spec any, path, opPath []any) (stage, error) {
	var (
		op  operation
		err error
	)
	s := stage{name: name}
	if !knownOperation(name) {
		return s, specErr(opPath, "unknown operation %s; use one of %v", preview(name), Operations)
	}
	o, ok := spec.(*value.Object)
	if (!ok || o == nil) && name != OpSort { // sort takes no spec
		return s, specErr(path, "%s expects an object spec, got %s", name, value.TypeName(spec))
	}
	switch name {
	case OpShift:
		op, err = compileShift(o, path) // writes input values by reference (unless copyWrites): not fresh
	case OpDefault:
		op, err = compileDefault(o, path)
		s.inPlace = true
	case OpRemove:
		op, err = compileRemove(o, path)
		s.inPlace = true
	case OpSort:
		op = sortOp{}
		s.fresh = true
	case OpCardinality:
		op, err = compileCardinality(o, path)
		s.inPlace = true
	case OpModifyOverwrite:
		op, err = compileModify(o, path, modeOverwrite)
		s.inPlace = true
	case OpModifyDefault:
		op, err = compileModify(o, path, modeDefault)
		s.inPlace = true
	case OpModifyDefine:
		op, err = compileModify(o, path, modeDefine)
		s.inPlace = true
	}
	if err != nil {
		return s, err
	}
	s.op = op
	return s, nil
}

// Apply runs the transform on input and returns the result. input is never
// changed: operations that work in place (default, remove, cardinality,
// modify) run on a private copy, and a shift copies a value it wrote before
// changing it. context is what "^" arguments of modify specs read; it may be
// nil, and is not changed either. The result may hold objects and arrays of
// input by reference (a shift writes them as they are): like input, it is to
// be read, not changed in place, as Nectar treats every message.
//
// Data that does not fit the spec is not an error: that part of the spec does
// nothing, as in JOLT. Errors are ErrTooDeep, ErrOutputTooLarge,
// ErrTopLevelArray and ErrBadReference, wrapped with the operation's position.
func (t *Transform) Apply(input any, context *value.Object) (out any, err error) {
	st := getState()
	defer putState(st)
	defer func() {
		// A panic here is a bug in this package; a caller must not crash on it.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("jolt: internal error: %v", r)
		}
	}()
	if context != nil {
		st.ctx = context
	}
	cur := input
	owned := false
	for i, s := range t.stages {
		if s.inPlace && !owned {
			if depthExceeds(cur, MaxDepth) {
				return nil, ErrTooDeep
			}
			cur = value.DeepCopy(cur)
			owned = true
		}
		st.steps = st.steps[:0]
		st.arena = st.arena[:0]
		st.shared.reset()
		cur, err = s.op.apply(st, cur)
		if err != nil {
			if len(t.stages) > 1 {
				return nil, fmt.Errorf("jolt: chain entry %d (%s): %w", i, s.name, err)
			}
			return nil, err
		}
		// An in-place stage leaves the value it owned; a fresh one builds a
		// new one; any other (shift) may hold its input's values.
		owned = s.inPlace || s.fresh
	}
	return cur, nil
}

// depthExceeds reports whether v nests deeper than max.
func depthExceeds(v any, max int) bool {
	if max <= 0 {
		return true
	}
	switch t := v.(type) {
	case *value.Object:
		for i := 0; i < t.Len(); i++ {
			_, x := t.At(i)
			if depthExceeds(x, max-1) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if depthExceeds(x, max-1) {
				return true
			}
		}
	}
	return false
}
