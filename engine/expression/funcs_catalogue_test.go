package expression_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// exprOptions exposes the catalogue to expr directly, so that examples are
// checked with the real expression syntax even before the compiler wires the
// catalogue in.
func exprOptions() []expr.Option {
	var opts []expr.Option
	for _, f := range expression.Functions() {
		fn := f.Fn
		opts = append(opts, expr.Function(f.Name, func(params ...any) (any, error) { return fn(params...) }))
	}
	return opts
}

// TestFuncCatalogueExamples evaluates every example and compares it with its
// documented result, JSON to JSON (so 34.0 and 34 differ).
func TestFuncCatalogueExamples(t *testing.T) {
	opts := exprOptions()
	for _, f := range expression.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			if f.Usage == "" || f.Doc == "" || f.Example == "" || f.Fn == nil {
				t.Fatalf("%s lacks usage, doc, example or Fn", f.Name)
			}
			if !strings.Contains(f.Example, f.Name+"(") {
				t.Errorf("example %q does not call %s", f.Example, f.Name)
			}
			if expression.FunctionCategory(f.Name) == "" {
				t.Errorf("%s has no category", f.Name)
			}
			prog, err := expr.Compile(f.Example, opts...)
			if err != nil {
				t.Fatalf("example %q does not compile: %v", f.Example, err)
			}
			got, err := expr.Run(prog, nil)
			if err != nil {
				t.Fatalf("example %q: %v", f.Example, err)
			}
			mustBeJSON(t, got)
			gotJSON, err := value.Encode(got)
			if err != nil {
				t.Fatalf("example %q gave %#v, which is not JSON: %v", f.Example, got, err)
			}
			if f.Result == "" {
				return // not deterministic: it ran, which is what can be checked
			}
			want, err := value.DecodeString(f.Result)
			if err != nil {
				t.Fatalf("result %q is not JSON: %v", f.Result, err)
			}
			if wantJSON := value.MustEncodeString(want); string(gotJSON) != wantJSON {
				t.Errorf("%s = %s, documented %s", f.Example, gotJSON, wantJSON)
			}
		})
	}
}

// TestFuncNoPanic calls every function with no arguments, nulls and wrong
// types: each must return a value or an error, never panic.
func TestFuncNoPanic(t *testing.T) {
	odd := []any{
		nil, true, "", "x", int(-1), int64(1 << 40), -0.5, 1e300, []any{}, []any{nil, "a", 1},
		value.NewObject(0), value.ObjectOf("a", int64(1)), map[string]any{"b": nil}, (*value.Object)(nil), struct{}{},
	}
	for _, f := range expression.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			call := func(args ...any) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s(%#v) panicked: %v", f.Name, args, r)
					}
				}()
				if out, err := f.Fn(args...); err == nil {
					if bad := modelType(out); bad != "" {
						t.Fatalf("%s(%#v) = %#v, which holds a %s", f.Name, args, out, bad)
					}
				}
			}
			call()
			for n := 1; n <= 8; n++ {
				call(make([]any, n)...)
			}
			for _, a := range odd {
				for n := 1; n <= 4; n++ {
					args := make([]any, n)
					for i := range args {
						args[i] = a
					}
					call(args...)
				}
				for _, b := range odd {
					call(a, b)
					call("x", a, b)
					call(a, "yyyy", b)
				}
			}
		})
	}
}

// fcase is one direct call of a catalogue function.
type fcase struct {
	name    string
	fn      string
	args    []any
	want    string // JSON of the result, compared exactly (34.0 is not 34)
	wantErr string // substring of the error; empty when the call succeeds
}

func lookup(t testing.TB, name string) func(args ...any) (any, error) {
	t.Helper()
	for _, f := range expression.Functions() {
		if f.Name == name {
			return f.Fn
		}
	}
	t.Fatalf("no function %s", name)
	return nil
}

// lookupFn is lookup for fuzz targets, where no *testing.T exists yet.
func lookupFn(name string) func(args ...any) (any, error) {
	for _, f := range expression.Functions() {
		if f.Name == name {
			return f.Fn
		}
	}
	panic("no function " + name)
}

// modelType reports the first value in v that is outside the value model
// (an int, a map, …), or "" when every value is in it.
func modelType(v any) string {
	switch x := v.(type) {
	case nil, bool, string, int64, uint64, float64, json.Number:
		return ""
	case *value.Object:
		bad := ""
		x.Range(func(_ string, e any) bool { bad = modelType(e); return bad == "" })
		return bad
	case []any:
		for _, e := range x {
			if bad := modelType(e); bad != "" {
				return bad
			}
		}
		return ""
	}
	return fmt.Sprintf("%T", v)
}

func mustBeJSON(t *testing.T, v any) {
	t.Helper()
	if bad := modelType(v); bad != "" {
		t.Fatalf("result %#v holds a %s, outside the value model", v, bad)
	}
	if _, err := value.Encode(v); err != nil {
		t.Fatalf("result %#v is not JSON: %v", v, err)
	}
}

func runCases(t *testing.T, cases []fcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookup(t, tc.fn)(tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s%v: error %v, want it to contain %q (result %#v)", tc.fn, tc.args, err, tc.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s%v: %v", tc.fn, tc.args, err)
			}
			mustBeJSON(t, got)
			gotJSON, err := value.Encode(got)
			if err != nil {
				t.Fatalf("%s%v = %#v, not JSON: %v", tc.fn, tc.args, got, err)
			}
			want, err := value.DecodeString(tc.want)
			if err != nil {
				t.Fatalf("want %q is not JSON: %v", tc.want, err)
			}
			if !value.Equal(got, want) || string(gotJSON) != value.MustEncodeString(want) {
				t.Errorf("%s%v = %s, want %s", tc.fn, tc.args, gotJSON, value.MustEncodeString(want))
			}
		})
	}
}

// TestFuncConcurrent runs functions with shared caches from many goroutines;
// run with -race it checks that the catalogue is safe for concurrent use.
func TestFuncConcurrent(t *testing.T) {
	calls := []struct {
		fn   string
		args []any
	}{
		{"FORMATDATE", []any{"10/10/2010", "dd/MM/yyyy", "yyyy-MM-dd", nil, "America/Sao_Paulo"}},
		{"FORMATNUMBER", []any{1234.5, "#,##0.00", "pt-br"}},
		{"JSONPATH", []any{`{"a":[1,2,3]}`, "$.a[?(@ > 1)]"}},
		{"REPLACE", []any{"a-b", "-", "+"}},
		{"RANDOMSTRINGS", []any{"ALPHANUMERIC", 8}},
	}
	for g := range 8 {
		t.Run(fmt.Sprint("goroutine ", g), func(t *testing.T) {
			t.Parallel()
			for i := range 50 {
				c := calls[(i+g)%len(calls)]
				if _, err := lookup(t, c.fn)(c.args...); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
