package jolt_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

// addConformanceSeeds adds every conformance case as (operation, spec, input).
func addConformanceSeeds(f *testing.F) {
	for _, c := range loadConformance(f) {
		f.Add(c.operation, value.MustEncodeString(c.spec), value.MustEncodeString(c.input))
	}
}

// FuzzCompile feeds arbitrary specs to Compile and CompileChain: they must
// return a transform or an error, never panic.
func FuzzCompile(f *testing.F) {
	addConformanceSeeds(f)
	f.Fuzz(func(t *testing.T, op, spec, _ string) {
		sv, err := value.DecodeString(spec)
		if err != nil {
			return
		}
		if op == "chain" {
			_, err = jolt.CompileChain(sv)
		} else {
			_, err = jolt.Compile(op, sv)
		}
		if err != nil {
			if _, ok := err.(*jolt.SpecError); !ok {
				t.Fatalf("compile error is %T, want *jolt.SpecError: %v", err, err)
			}
		}
	})
}

// FuzzApply compiles a spec and runs it on an input: no panic, no hang, and
// the input, the context and the first output are left as they were.
func FuzzApply(f *testing.F) {
	addConformanceSeeds(f)
	f.Fuzz(func(t *testing.T, op, spec, input string) {
		sv, err := value.DecodeString(spec)
		if err != nil {
			return
		}
		in, err := value.DecodeString(input)
		if err != nil {
			return
		}
		var tr *jolt.Transform
		if op == "chain" {
			tr, err = jolt.CompileChain(sv)
		} else {
			tr, err = jolt.Compile(op, sv)
		}
		if err != nil {
			return
		}
		before := value.DeepCopy(in)
		ctx := value.ObjectOf("value", "ctx", "list", []any{int64(1), nil})
		ctxBefore := value.DeepCopy(ctx)
		out1, err1 := tr.Apply(in, ctx)
		if !value.Equal(in, before) {
			t.Fatalf("Apply changed its input")
		}
		if !value.Equal(ctx, ctxBefore) {
			t.Fatalf("Apply changed its context")
		}
		if err1 != nil && strings.Contains(err1.Error(), "internal error") {
			t.Fatalf("Apply panicked: %v", err1)
		}
		out1Before := value.DeepCopy(out1)
		out2, err2 := tr.Apply(in, ctx)
		if (err1 == nil) != (err2 == nil) || !value.Equal(out1, out2) {
			t.Fatalf("two runs differ: %v / %v", err1, err2)
		}
		if !value.Equal(out1, out1Before) {
			t.Fatalf("the second run changed the first output")
		}
		if err1 == nil {
			if _, err := value.Encode(out1); err != nil {
				t.Fatalf("output does not encode: %v", err)
			}
		}
	})
}
