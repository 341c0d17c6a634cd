package expression_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
)

// TestDirectCallsMatchVM checks the calls compiled without packing their
// arguments into a slice (len through unaryDirect, CONSTANTTIMEEQUALS
// through Function.Binary) against expr's VM, which calls the variadic
// form: over operands of every type, with the wrong number of arguments
// too, results and error messages must be the same.
func TestDirectCallsMatchVM(t *testing.T) {
	var srcs []string
	ops := append([]string{`"abc"`, `"a"`, `SHA256("x")`, `"é"`}, diffOperands...)
	for _, a := range ops {
		srcs = append(srcs, "len("+a+")", "CONSTANTTIMEEQUALS("+a+")", "CONSTANTTIMEEQUALS("+a+", "+a+", "+a+")")
		for _, b := range ops {
			srcs = append(srcs, "CONSTANTTIMEEQUALS("+a+", "+b+")", "!CONSTANTTIMEEQUALS(SHA256("+a+"), "+b+")")
		}
	}
	srcs = append(srcs, "len()", "len(1, 2)", "CONSTANTTIMEEQUALS()", "len(message.s) <= 200")
	env := diffEnv(t)
	direct := 0
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
		direct++
		fv, ferr := fast.Eval(env)
		sv, serr := slow.Eval(env)
		if got, want := outcome(fv, ferr), outcome(sv, serr); got != want {
			t.Errorf("%s\n  closures: %s\n  VM:       %s", src, got, want)
		}
	}
	if direct < 1000 {
		t.Fatalf("only %d of %d calls took the closures", direct, len(srcs))
	}
}

// TestConstantTimeEqualsMatchesBefore calls CONSTANTTIMEEQUALS (its Fn,
// derived from its Binary form) and the function it replaced over operand
// values of every type, with 0 to 3 arguments: same results, same errors.
func TestConstantTimeEqualsMatchesBefore(t *testing.T) {
	env := diffEnv(t)
	var vals []any
	for _, src := range append([]string{`"abc"`, `"a"`, `SHA256("x")`, `"é"`}, diffOperands...) {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(env)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	fn := lookup(t, "CONSTANTTIMEEQUALS")
	check := func(args ...any) {
		got, gerr := fn(args...)
		want, werr := expression.ConstantTimeEqualsBefore(args...)
		if g, w := outcome(got, gerr), outcome(want, werr); g != w {
			t.Errorf("CONSTANTTIMEEQUALS%v = %s, before %s", args, g, w)
		}
	}
	check()
	for _, a := range vals {
		check(a)
		for _, b := range vals {
			check(a, b)
			check(a, b, a)
		}
	}
}
