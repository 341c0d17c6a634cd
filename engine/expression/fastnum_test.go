package expression_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/expression"
)

// TestArithmeticForms evaluates arithmetic over operands of every type the
// value model holds (diffOperands: integers of each Go type, floats, NaN
// and ±Inf, json.Number, uint64, strings, null, arrays, objects), alone and
// nested (int(), ?:, ??, calls), as numeric closures and as the general
// closures that box every value: the results (type and JSON) and the errors
// must be byte-identical, and the same as expr's VM gives where the general
// closures already agreed with it.
func TestArithmeticForms(t *testing.T) {
	var srcs []string
	for _, a := range diffOperands {
		for _, b := range diffOperands {
			for _, op := range []string{"+", "-", "*", "/", "%", "**", "^"} {
				srcs = append(srcs, a+" "+op+" "+b)
			}
		}
		srcs = append(srcs,
			"int("+a+" / 2) + 1", "int("+a+") * 2", "("+a+" + 1) * 1000", "("+a+" + 60) * 1000 - "+a,
			"-"+a+" + 1", "1 - "+a+" % 3", "("+a+" ?? 5) + 1", "(message.t ? "+a+" : 2) * 3", "len(\"ab\") + "+a,
			"int(int("+a+" / 3) + 0.5) + 2.5", "int(NOW() / 1000) + "+a, "2 ** "+a+" / 4",
		)
	}
	srcs = append(srcs,
		`message.maxi + 1`, `message.maxi * 2`, `-message.maxi - 2`, `message.i / 0`, `message.i % 0`,
		`message.f % 2`, `message.i % message.f`, `message.s + "!" + message.s`, `"a" + 1 + 2`, `1 + 2 + "a"`,
		`int(message.huge) + 1`, `int(vars.nan) + 1`, `int(vars.inf) - 1`, `int("12") + 1`, `int("x") + 1`,
		`int(message.u) + 1`, `int(message.big) + 1`, `int(vars.u64) + 1`, `int(message.n) + 1`,
		`(message.i + 1) > 7 ? message.i * 2 : message.f / 2`, `[message.i + 1, message.f * 2]`,
	)
	env := diffEnv(t)
	mismatches := 0
	for _, src := range srcs {
		num, nerr := expression.Compile(src, expression.Options{})
		restore := expression.SetGeneralArith(true)
		gen, gerr := expression.Compile(src, expression.Options{})
		restore()
		if (nerr == nil) != (gerr == nil) {
			t.Errorf("%s: compile %v / %v", src, nerr, gerr)
			continue
		}
		if nerr != nil {
			continue
		}
		if num.HasFastPath() != gen.HasFastPath() {
			t.Errorf("%s: closures %v / %v", src, num.HasFastPath(), gen.HasFastPath())
		}
		nv, nerr := num.Eval(env)
		gv, gerr := gen.Eval(env)
		got, want := outcome(nv, nerr), outcome(gv, gerr)
		if src == "int(NOW() / 1000) + "+diffOperands[0] || len(src) > 8 && src[:8] == "int(NOW(" {
			// The clock moves between the two runs: compare the kind of result only.
			got, want = fmt.Sprintf("%T %v", nv, nerr), fmt.Sprintf("%T %v", gv, gerr)
		}
		if got != want {
			mismatches++
			if mismatches <= 40 {
				t.Errorf("%s\n  numeric: %s\n  general: %s", src, got, want)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d expressions differ", mismatches, len(srcs))
	}
}

// TestNowInArithmetic checks NOW()'s unboxed form: epoch milliseconds as
// an int64, between the clock read before and after.
func TestNowInArithmetic(t *testing.T) {
	e, err := expression.Compile(`NOW() + 0`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMilli()
	v, err := e.Eval(&expression.Env{})
	after := time.Now().UnixMilli()
	if ms, ok := v.(int64); err != nil || !ok || ms < before || ms > after {
		t.Fatalf("NOW() + 0 = %#v, %v; want an int64 in [%d, %d]", v, err, before, after)
	}
}
