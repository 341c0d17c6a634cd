package expression_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// diffOperands are operands of every type the value model holds: missing
// keys, null, booleans, int64, float64, json.Number (an integer beyond
// int64), uint64, strings, arrays of mixed types, objects, NaN and ±Inf.
var diffOperands = []string{
	`message.i`, `message.neg`, `message.zero`, `message.f`, `message.fz`, `message.big`, `message.huge`, `message.u`,
	`message.maxi`, `message.s`, `message.e`, `message.t`, `message.n`, `message.missing`, `message.arr`,
	`message.mixed`, `message.empty`, `message.o`, `vars.nan`, `vars.inf`, `vars.ninf`, `vars.u64`, `1`, `2.5`, `"x"`, `nil`,
}

func diffEnv(t *testing.T) *expression.Env {
	msg := mustDecode(t, `{"i":7,"neg":-3,"zero":0,"f":1.5,"fz":-0.0,"big":123456789012345678901,"huge":1e308,`+
		`"u":18446744073709551615,"maxi":9223372036854775807,"s":"héllo","e":"","t":true,"n":null,`+
		`"arr":[1,2,3],"mixed":[1,"a",null,2.5,{"k":1},[2],true],"empty":[],"o":{"k":1,"l":[1,2]}}`)
	vars := value.ObjectOf("nan", math.NaN(), "inf", math.Inf(1), "ninf", math.Inf(-1), "u64", uint64(math.MaxUint64))
	return &expression.Env{Message: msg, Vars: vars}
}

// TestPredicatesMatchVM runs all, any, none, one, filter, map and count,
// which the closures run since today (expr's VM ran every expression holding
// one before), over operands of every type, with predicates that fail, give
// other values than booleans or nest, and with expr's VM too: results and
// error messages must be the same. Before the fix a predicate whose body
// failed reported the closures' message (`string + number`, `integer divide
// by zero`), not the one it gave before (`string + int`, `runtime error:
// integer divide by zero`).
func TestPredicatesMatchVM(t *testing.T) {
	var srcs []string
	for _, a := range diffOperands {
		for _, p := range []string{"all", "any", "none", "one", "filter", "map", "count"} {
			srcs = append(srcs, p+"("+a+", # == 1)", p+"("+a+", #)", p+"("+a+", # > 1)", p+"("+a+", # + 1)",
				p+"("+a+", # != nil && # != 2)", p+"("+a+", "+p+"(message.mixed, # == #))")
		}
	}
	srcs = append(srcs,
		`map(split("a,b,,c", ","), len(#))`, `filter(split("a b", " "), # == "b")`, `count(split("", ","), # == "")`,
		`all(split("1 2", " "), # > "0")`, `map(message.mixed, map(message.arr, # * 2))`,
		`filter(message.mixed, # != nil)`, `map(message.o.l, {# + 1})`, `any(message.mixed, # == "a")`,
		`one(message.mixed, # == 1 || # == 2.5)`, `map(message.arr, # / 0)`, `map(message.arr, # % 0)`,
		`map(message.arr, filter(message.mixed, # == 1))`, `map(message.mixed, # + 1)`,
		`message.s + 1 == "x" && all(message.arr, # > 0)`, `all(message.arr, # > 0) && message.s % 2 == 1`,
		`map(message.arr, # ** "x")`, `filter(message.mixed, # startsWith "a")`, `count(message.mixed, #.k > 0)`,
	)
	env := diffEnv(t)
	mismatches := 0
	for _, src := range srcs {
		fast, ferr := expression.Compile(src, expression.Options{})
		restore := expression.SetVMOnly(true)
		slow, serr := expression.Compile(src, expression.Options{})
		restore()
		if (ferr == nil) != (serr == nil) {
			t.Errorf("%s: compile %v / %v", src, ferr, serr)
			continue
		}
		if ferr != nil || !fast.HasFastPath() {
			continue
		}
		fv, ferr := fast.Eval(env)
		sv, serr := slow.Eval(env)
		got, want := outcome(fv, ferr), outcome(sv, serr)
		if got != want {
			mismatches++
			if mismatches <= 60 {
				t.Errorf("%s\n  closures: %s\n  VM:       %s", src, got, want)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d expressions differ", mismatches, len(srcs))
	}
}

func outcome(v any, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	b, encErr := value.Encode(v)
	if encErr != nil {
		return fmt.Sprintf("%T %v (%v)", v, v, encErr)
	}
	return fmt.Sprintf("%T %s", v, b)
}
