package jolt_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

// SKIPPED lists conformance cases that are not run, each with the reason.
// It is empty: every case passes.
var SKIPPED = map[string]string{}

// conformanceCase is one file of testdata/conformance/cases (see the README there).
type conformanceCase struct {
	name, operation string
	spec, input     any
	context         *value.Object
	expected        any
	expectError     bool
	checkKeyOrder   bool
}

func loadConformance(t testing.TB) []conformanceCase {
	t.Helper()
	files, err := filepath.Glob("testdata/conformance/cases/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance cases: %v", err)
	}
	var out []conformanceCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := value.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		o := v.(*value.Object)
		get := func(k string) any { x, _ := o.Get(k); return x }
		c := conformanceCase{
			name:      get("name").(string),
			operation: get("operation").(string),
			spec:      get("spec"),
			input:     get("input"),
			expected:  get("expected"),
		}
		if ctx, ok := get("context").(*value.Object); ok {
			c.context = ctx
		}
		c.expectError, _ = get("expect_error").(bool)
		c.checkKeyOrder, _ = get("check_key_order").(bool)
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); c.name != want {
			t.Fatalf("%s: name %q does not match the file", f, c.name)
		}
		out = append(out, c)
	}
	return out
}

func compileCase(c conformanceCase) (*jolt.Transform, error) {
	if c.operation == "chain" {
		return jolt.CompileChain(c.spec)
	}
	return jolt.Compile(c.operation, c.spec)
}

func TestConformance(t *testing.T) {
	cases := loadConformance(t)
	if len(cases) != 180 {
		t.Errorf("got %d conformance cases, want 180", len(cases))
	}
	passed := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if reason, ok := SKIPPED[c.name]; ok {
				t.Skip(reason)
			}
			tr, err := compileCase(c)
			if c.expectError {
				if err != nil {
					passed++
					return
				}
				if _, err := tr.Apply(value.DeepCopy(c.input), c.context); err != nil {
					passed++
					return
				}
				t.Fatalf("spec compiled and ran, want an error")
			}
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			before := value.DeepCopy(c.input)
			for run := 1; run <= 2; run++ {
				got, err := tr.Apply(c.input, c.context)
				if err != nil {
					t.Fatalf("run %d: apply: %v", run, err)
				}
				if msg := diff(got, c.expected, c.checkKeyOrder); msg != "" {
					t.Fatalf("run %d: %s\n got: %s\nwant: %s", run, msg, value.MustEncodeString(got), value.MustEncodeString(c.expected))
				}
			}
			if msg := diff(c.input, before, true); msg != "" {
				t.Fatalf("input was changed: %s", msg)
			}
			passed++
		})
	}
	t.Logf("conformance: %d of %d passed, %d skipped", passed, len(cases), len(SKIPPED))
}

// diff compares by the README's rules: JSON equality with numbers by value,
// null distinct from missing, and object key order when order is set.
func diff(got, want any, order bool) string {
	if !value.Equal(got, want) {
		return "values differ"
	}
	if order && !sameOrder(got, want) {
		return "object key order differs"
	}
	return ""
}

func sameOrder(a, b any) bool {
	switch x := a.(type) {
	case *value.Object:
		y := b.(*value.Object)
		for i := 0; i < x.Len(); i++ {
			k, v := x.At(i)
			k2, v2 := y.At(i)
			if k != k2 || !sameOrder(v, v2) {
				return false
			}
		}
	case []any:
		y := b.([]any)
		for i := range x {
			if !sameOrder(x[i], y[i]) {
				return false
			}
		}
	}
	return true
}
