package jolt_test

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

func TestSpecErrorPath(t *testing.T) {
	tests := []struct {
		name, op, spec string
		want           []any
	}{
		{"shift leaf that is not a path", "shift", `{"rating": {"*": 5}}`, []any{"rating", "*"}},
		{"shift empty object", "shift", `{"a": {"b": {}}}`, []any{"a", "b"}},
		{"shift star in output path", "shift", `{"a": "x.*"}`, []any{"a"}},
		{"shift bad path in a list", "shift", `{"a": ["ok", 3]}`, []any{"a", 1}},
		{"shift | key names the raw key", "shift", `{"a|@x@": "b"}`, []any{"a|@x@"}},
		{"default partial star", "default", `{"x": {"a*": 1}}`, []any{"x", "a*"}},
		{"remove non-empty value", "remove", `{"a": {"b": "no"}}`, []any{"a", "b"}},
		{"cardinality bad kind", "cardinality", `{"a": "SOME"}`, []any{"a"}},
		{"modify mixes index and key", "modify-overwrite-beta", `{"x": {"[1]": 1, "a": 2}}`, []any{"x", "a"}},
		{"modify reference key", "modify-default-beta", `{"&1": "x"}`, []any{"&1"}},
		{"chain entry spec", "chain", `[{"operation": "sort"}, {"operation": "shift", "spec": {"r": {"*": 5}}}]`, []any{1, "spec", "r", "*"}},
		{"chain unknown operation", "chain", `[{"operation": "com.bazaarvoice.jolt.Shiftr", "spec": {}}]`, []any{0, "operation"}},
		{"chain missing spec", "chain", `[{"operation": "shift"}]`, []any{0}},
		{"chain not a list", "chain", `{"operation": "shift"}`, []any{}},
		{"unknown operation", "pants", `{}`, []any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustDecode(t, tt.spec)
			var err error
			if tt.op == "chain" {
				_, err = jolt.CompileChain(spec)
			} else {
				_, err = jolt.Compile(tt.op, spec)
			}
			var se *jolt.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SpecError", err)
			}
			if len(se.Path) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(se.Path, tt.want) {
				t.Fatalf("path %#v, want %#v (%v)", se.Path, tt.want, err)
			}
		})
	}
}

// TestSpecMustBeAnObject checks that every operation but sort refuses a spec
// that is not an object, naming the operation and what it got.
func TestSpecMustBeAnObject(t *testing.T) {
	for _, op := range jolt.Operations {
		for _, spec := range []string{`[]`, `"x"`, `null`} {
			t.Run(op+" "+spec, func(t *testing.T) {
				_, err := jolt.Compile(op, mustDecode(t, spec))
				if op == jolt.OpSort {
					if err != nil {
						t.Fatalf("sort takes no spec, got %v", err)
					}
					return
				}
				want := fmt.Sprintf("%s expects an object spec, got %s", op, value.TypeName(mustDecode(t, spec)))
				var se *jolt.SpecError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v, want a *SpecError saying %q", err, want)
				}
			})
		}
	}
}

// TestSpecErrorPreviewCutsAtRuneBoundary checks that a long name quoted in a
// spec error is shortened without splitting a multi-byte character.
func TestSpecErrorPreviewCutsAtRuneBoundary(t *testing.T) {
	op := "a" + strings.Repeat("é", 40) // byte 64 is inside an é
	_, err := jolt.Compile(op, mustDecode(t, `{}`))
	if err == nil {
		t.Fatal("no error")
	}
	want := strconv.Quote("a" + strings.Repeat("é", 31) + "…")
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("got %q, want it to quote %s", err, want)
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, op, spec, input, context, want string
	}{
		{"context read with ^", "modify-overwrite-beta", `{"who": "^user.name", "greeting": "=concat('hi ', ^user.name)"}`, `{}`, `{"user": {"name": "ann"}}`, `{"who": "ann", "greeting": "hi ann"}`},
		{"missing context gives fallback", "modify-default-beta", `{"who": ["^user.name", "nobody"]}`, `{}`, ``, `{"who": "nobody"}`},
		{"? only when present", "modify-overwrite-beta", `{"a?": "=toUpper", "b?": "=toUpper"}`, `{"a": "x"}`, ``, `{"a": "X"}`},
		{"define keeps existing null", "modify-define-beta", `{"a": 1, "b": 2}`, `{"a": null}`, ``, `{"a": null, "b": 2}`},
		{"default replaces null", "modify-default-beta", `{"a": 1, "b": 2}`, `{"a": null, "b": 0}`, ``, `{"a": 1, "b": 0}`},
		{"indexOf in list and string", "modify-overwrite-beta", `{"i": "=indexOf(@(1,l), 'b')", "j": "=indexOf(@(1,s), 'lo')"}`, `{"l": ["a", "b"], "s": "hello"}`, ``, `{"l": ["a", "b"], "s": "hello", "i": 1, "j": 3}`},
		{"divideAndRound half up", "modify-overwrite-beta", `{"r": "=divideAndRound(2, 10, 4)", "s": "=divideAndRound(1, 1, 8)"}`, `{}`, ``, `{"r": 2.5, "s": 0.1}`},
		{"sort strings", "modify-overwrite-beta", `{"l": "=sort"}`, `{"l": ["b", "c", "a"]}`, ``, `{"l": ["a", "b", "c"]}`},
		{"unknown function gives no value", "modify-overwrite-beta", `{"a": ["=nope", "fallback"]}`, `{}`, ``, `{"a": "fallback"}`},
		{"two values on one path make a list", "shift", `{"a": "x", "b": "x"}`, `{"a": 1, "b": 2}`, ``, `{"x": [1, 2]}`},
		{"partial star capture", "shift", `{"tag-*-id": "ids.&(0,1)"}`, `{"tag-one-id": 1, "tag-two-id": 2, "other": 3}`, ``, `{"ids": {"one": 1, "two": 2}}`},
		{"# literal and $ key", "shift", `{"*": {"$": "keys[]", "#seen": "flags.&1"}}`, `{"a": {}, "b": {}}`, ``, `{"keys": ["a", "b"], "flags": {"a": "seen", "b": "seen"}}`},
		{"[#2] builds an array in match order", "shift", `{"*": {"v": "out[#2].v"}}`, `{"x": {"v": 1}, "y": {"v": 2}}`, ``, `{"out": [{"v": 1}, {"v": 2}]}`},
		{"scalar input to shift matches literal", "shift", `{"on": {"true": {"#yes": "state"}}}`, `{"on": true}`, ``, `{"state": "yes"}`},
		{"root @ copies the input", "shift", `{"@": "copy"}`, `{"a": 1}`, ``, `{"copy": {"a": 1}}`},
		{"cardinality MANY on root", "cardinality", `{"@": "MANY"}`, `{"a": 1}`, ``, `[{"a": 1}]`},
		{"sort puts ~ keys first", "sort", `null`, `{"b": 1, "~a": 2, "a": {"d": 1, "c": 2}}`, ``, `{"~a": 2, "a": {"c": 2, "d": 1}, "b": 1}`},
		{"remove from array by index", "remove", `{"l": {"0": ""}}`, `{"l": [1, 2, 3]}`, ``, `{"l": [2, 3]}`},
		{"default array", "default", `{"l[]": {"2": "z"}}`, `{"l": ["a"]}`, ``, `{"l": ["a", null, "z"]}`},
		{"escaped backslash and @ in a key", "shift", `{"a\\\\b": "x", "\\@c": "y", "d\\\\\\@": "z"}`, `{"a\\b": 1, "@c": 2, "d\\@": 3}`, ``, `{"x": 1, "y": 2, "z": 3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := jolt.Compile(tt.op, mustDecode(t, tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			var ctx *value.Object
			if tt.context != "" {
				ctx = mustDecode(t, tt.context).(*value.Object)
			}
			got, err := tr.Apply(mustDecode(t, tt.input), ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := mustDecode(t, tt.want)
			if !value.Equal(got, want) || (tt.op == "sort" && !sameOrder(got, want)) {
				t.Fatalf("got %s, want %s", value.MustEncodeString(got), tt.want)
			}
		})
	}
}

// TestApplyIsolation checks that the output of a chain whose shift is followed
// by an operation that works in place shares nothing with the input or the
// context: changing the output changes neither.
func TestApplyIsolation(t *testing.T) {
	in := mustDecode(t, `{"a": {"b": [1, 2]}}`)
	ctx := mustDecode(t, `{"c": {"d": 1}}`).(*value.Object)
	tr, err := jolt.CompileChain(mustDecode(t, `[
		{"operation": "shift", "spec": {"a": ["x", "y"]}},
		{"operation": "modify-overwrite-beta", "spec": {"z": "^c"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Apply(in, ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := out.(*value.Object)
	x, _ := o.Get("x")
	x.(*value.Object).Set("b", "changed")
	z, _ := o.Get("z")
	z.(*value.Object).Set("d", "changed")
	y, _ := o.Get("y")
	if !value.Equal(y, mustDecode(t, `{"b": [1, 2]}`)) {
		t.Errorf("the two copies share data: y = %s", value.MustEncodeString(y))
	}
	if !value.Equal(in, mustDecode(t, `{"a": {"b": [1, 2]}}`)) || !value.Equal(ctx, mustDecode(t, `{"c": {"d": 1}}`)) {
		t.Errorf("input or context changed")
	}
}

// TestConcurrentApply runs every conformance transform from many goroutines
// on one compiled transform (run with -race).
func TestConcurrentApply(t *testing.T) {
	var wg sync.WaitGroup
	for _, c := range loadConformance(t) {
		if c.expectError {
			continue
		}
		tr, err := compileCase(c)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := tr.Apply(c.input, c.context)
				if err != nil || !value.Equal(got, c.expected) {
					t.Errorf("%s: concurrent run differs (%v)", c.name, err)
				}
			}()
		}
	}
	wg.Wait()
}

func TestLimits(t *testing.T) {
	tr, err := jolt.Compile("shift", mustDecode(t, `{"*": "out[&0]"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Apply(mustDecode(t, `{"99999999": 1}`), nil); !errors.Is(err, jolt.ErrOutputTooLarge) {
		t.Errorf("huge index: got %v, want ErrOutputTooLarge", err)
	}
	tr, err = jolt.Compile("default", mustDecode(t, `{"a": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Apply([]any{int64(1)}, nil); !errors.Is(err, jolt.ErrTopLevelArray) {
		t.Errorf("top-level array: got %v, want ErrTopLevelArray", err)
	}
	tr, err = jolt.Compile("shift", mustDecode(t, `{"*": "&(0,3)"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Apply(mustDecode(t, `{"a": 1}`), nil); !errors.Is(err, jolt.ErrBadReference) {
		t.Errorf("bad reference: got %v, want ErrBadReference", err)
	}
}

func ExampleCompileChain() {
	spec, _ := value.DecodeString(`[
	  {"operation": "shift", "spec": {"rating": {"*": {"value": "ratings.&1"}}}},
	  {"operation": "default", "spec": {"source": "web"}}
	]`)
	t, err := jolt.CompileChain(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"rating": {"quality": {"value": 3}, "price": {"value": 4}}}`)
	out, _ := t.Apply(in, nil)
	fmt.Println(value.MustEncodeString(out))
	// Output: {"ratings":{"quality":3,"price":4},"source":"web"}
}

func ExampleSpecError() {
	spec, _ := value.DecodeString(`[{"operation": "shift", "spec": {"rating": {"*": 5}}}]`)
	_, err := jolt.CompileChain(spec)
	var se *jolt.SpecError
	if errors.As(err, &se) {
		fmt.Println(se.Path)
		fmt.Println(err)
	}
	// Output:
	// [0 spec rating *]
	// jolt: spec[0].spec.rating["*"]: the value of a shift key must be an object, an output path or a list of them, got number
}

// TestShiftCopyingKeysSizesItsOutput: a shift whose output keys come from
// the input ("*": "&") makes its output object with room for the input's
// keys, instead of growing it four, eight, sixteen: ratio.sh's shift of a
// 1 KB record took 23 allocations before, 21 then; since it runs as a
// rename plan (shiftplan.go: no holder, no levels, no share list) it takes
// 2, the output object and its members (counted, not timed).
func TestShiftCopyingKeysSizesItsOutput(t *testing.T) {
	tr, err := jolt.Compile("shift", mustDecode(t, renameRestSpec))
	if err != nil {
		t.Fatal(err)
	}
	in := mustDecode(t, customerJSON)
	out, err := tr.Apply(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := out.(*value.Object)
	if o.Len() != 17 || o.Keys()[0] != "customerId" || o.Keys()[5] != "created_at" {
		t.Fatalf("got keys %v", o.Keys())
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := tr.Apply(in, nil); err != nil {
			t.Fatal(err)
		}
	})
	// 3, not 2: a garbage collection during the runs may empty the state
	// pool once (3 allocations, averaged over 20 runs).
	if allocs > 3 {
		t.Errorf("the shift took %v allocations, want at most 3", allocs)
	}
}

// TestFormatPath checks how a spec path is written in errors: indexes in
// brackets, keys of letters, digits, - and _ after a dot, others quoted.
func TestFormatPath(t *testing.T) {
	got := jolt.FormatPath([]any{0, "spec", "a.b", "rat-ing_2", "", "é", "x y", 1.5})
	want := `[0].spec["a.b"].rat-ing_2[""]["é"]["x y"][1.5]`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
