package jolt_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

// TestConformanceLeavesInputUnchanged runs every conformance case, those
// that expect an error included, and checks that neither the input nor the
// context changed (values and key order): a shift may write input values into
// its output by reference, so any later change in place must copy first.
// The first output must not change when the transform runs again.
func TestConformanceLeavesInputUnchanged(t *testing.T) {
	for _, c := range loadConformance(t) {
		t.Run(c.name, func(t *testing.T) {
			tr, err := compileCase(c)
			if err != nil {
				return // a bad spec: nothing runs
			}
			in, ctx := value.DeepCopy(c.input), value.DeepCopy(c.context).(*value.Object)
			first, err1 := tr.Apply(in, ctx)
			var firstCopy any
			if err1 == nil {
				firstCopy = value.DeepCopy(first)
			}
			if msg := diff(in, c.input, true); msg != "" {
				t.Fatalf("input changed: %s\n got: %s\nwant: %s", msg, value.MustEncodeString(in), value.MustEncodeString(c.input))
			}
			if msg := diff(ctx, c.context, true); c.context != nil && msg != "" {
				t.Fatalf("context changed: %s", msg)
			}
			if _, err := tr.Apply(in, ctx); (err == nil) != (err1 == nil) {
				t.Fatalf("two runs differ: %v / %v", err1, err)
			}
			if msg := diff(first, firstCopy, true); err1 == nil && msg != "" {
				t.Fatalf("the second run changed the first output: %s", msg)
			}
		})
	}
}

// TestShiftSharedWrites covers every place where a shift changes a value it
// has already written: a value written by reference from the input must be
// copied first, so that the input, and the output of another run on the same
// input, stay as they were.
func TestShiftSharedWrites(t *testing.T) {
	tests := []struct{ name, spec, input, want string }{
		{"nested write into an object written by reference",
			`{"a": "x", "b": "x.c"}`, `{"a": {"k": 1}, "b": 2}`, `{"x": {"k": 1, "c": 2}}`},
		{"second value onto an array written by reference",
			`{"a": "x", "b": "x"}`, `{"a": [1], "b": 2}`, `{"x": [1, 2]}`},
		{"array written by reference, then written by reference again",
			`{"a": "x", "b": "x"}`, `{"a": [1], "b": [2]}`, `{"x": [1, [2]]}`},
		{"index write into an array written by reference",
			`{"a": "x", "b": "x[0]"}`, `{"a": [1], "b": 2}`, `{"x": [[1, 2]]}`},
		{"index write past the end of an array written by reference",
			`{"a": "x", "b": "x[2]"}`, `{"a": [1], "b": 2}`, `{"x": [1, null, 2]}`},
		{"append to an array written by reference",
			`{"a": "x", "b": "x[]"}`, `{"a": [1], "b": 2}`, `{"x": [1, 2]}`},
		{"nested write into an element of an array written by reference",
			`{"a": "x", "b": "x[0].c"}`, `{"a": [{"k": 1}], "b": 2}`, `{"x": [{"k": 1, "c": 2}]}`},
		{"nested write into an array built of a value written by reference",
			`{"a": "x", "b": "x", "c": "x[0].c"}`, `{"a": {"k": 1}, "b": 2, "c": 3}`, `{"x": [{"k": 1, "c": 3}, 2]}`},
		{"the same value written to two places, one of them changed",
			`{"a": ["x", "y"], "b": "x.c"}`, `{"a": {"k": 1}, "b": 2}`, `{"x": {"k": 1, "c": 2}, "y": {"k": 1}}`},
		{"the whole input written at the root, then a key into it",
			`{"@": "", "b": "a.c"}`, `{"a": {"k": 1}, "b": 2}`, `{"a": {"k": 1, "c": 2}, "b": 2}`},
		{"an object inside a value written by reference, written again",
			`{"@": "all", "a": "all.a"}`, `{"a": {"k": 1}}`, `{"all": {"a": [{"k": 1}, {"k": 1}]}}`},
		{"a chain: shift, then modify in place",
			``, `{"a": {"k": 1}}`, `{"x": {"k": 2}, "y": {"k": 1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr *jolt.Transform
			var err error
			if tt.spec == "" {
				tr, err = jolt.CompileChain(mustDecode(t, `[
					{"operation": "shift", "spec": {"a": ["x", "y"]}},
					{"operation": "modify-overwrite-beta", "spec": {"x": {"k": 2}}}]`))
			} else {
				tr, err = jolt.Compile("shift", mustDecode(t, tt.spec))
			}
			if err != nil {
				t.Fatal(err)
			}
			in := mustDecode(t, tt.input)
			want := mustDecode(t, tt.want)
			first, err := tr.Apply(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !value.Equal(first, want) {
				t.Fatalf("got %s, want %s", value.MustEncodeString(first), tt.want)
			}
			if !value.Equal(in, mustDecode(t, tt.input)) {
				t.Fatalf("input changed: %s", value.MustEncodeString(in))
			}
			if _, err := tr.Apply(in, nil); err != nil {
				t.Fatal(err)
			}
			if !value.Equal(first, want) {
				t.Fatalf("the second run changed the first output: %s", value.MustEncodeString(first))
			}
		})
	}
}

// TestShiftSharedArraySpareCapacity writes an input array that has room to
// grow by reference, then a second value onto it: the append must not land
// in the input's backing array, where another run (here a second transform
// on the same input) would overwrite it.
func TestShiftSharedArraySpareCapacity(t *testing.T) {
	arr := make([]any, 1, 8)
	arr[0] = int64(1)
	in := value.ObjectOf("a", arr, "b", int64(2), "c", int64(3))
	trB, err := jolt.Compile("shift", mustDecode(t, `{"a": "x", "b": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	trC, err := jolt.Compile("shift", mustDecode(t, `{"a": "x", "c": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	outB, err := trB.Apply(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trC.Apply(in, nil); err != nil {
		t.Fatal(err)
	}
	if want := mustDecode(t, `{"x": [1, 2]}`); !value.Equal(outB, want) {
		t.Fatalf("the first output changed: %s", value.MustEncodeString(outB))
	}
}
