package expression_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// TestFastPathMatchesVM evaluates expressions both as closures and with
// expr's virtual machine; results and failures must agree.
func TestFastPathMatchesVM(t *testing.T) {
	msg := mustDecode(t, `{"a":2,"b":3.5,"s":"Ab","t":true,"f":false,"o":{"x":[1,2,{"y":"z"}]},"n":null,"big":9007199254740993}`)
	vars := mustDecode(t, `{"client":{"scope":"read write","id":"c1"},"gen":0}`)
	exprs := []struct {
		src  string
		fast bool // expected to take the closure path
	}{
		{`message.a == 2`, true}, {`message.a != 2`, true}, {`message.a < message.b`, true}, {`message.n > 1`, true},
		{`message.s + "c"`, true}, {`message.a + 1`, true}, {`message.a * message.b`, true}, {`message.a / 4`, true},
		{`message.a % 2`, true}, {`message.big + 1`, true}, {`-message.a`, true}, {`message.a ** 2`, true},
		{`message.t && message.f`, true}, {`message.t || message.f`, true}, {`message.f && message.missing.x`, true},
		{`!message.t`, true}, {`not message.f`, true},
		{`message.n ?? "default"`, true}, {`message.a ?? 0`, true}, {`message.t ? "yes" : "no"`, true},
		{`message.o.x[2].y`, true}, {`message.o.x[-1]`, true}, {`vars.client.scope contains "write"`, true},
		{`message.s startsWith "A"`, true}, {`message.s endsWith "b"`, true},
		{`CONCAT(message.s, "-", vars.client.id)`, true}, {`DEFAULT(message.n, 5)`, true}, {`SHA256("x")`, true},
		{`vars.gen == 0 ? nil : vars.gen`, true}, {`(message.a + 60) * 1000`, true}, {`{"k": message.a, "z": [1, message.s]}`, true},
		{`len(message.o.x)`, true}, {`keys(message.o)`, true},
		// Errors must agree too.
		{`message.a + message.o`, true}, {`message.s % 2`, true}, {`message.a ? 1 : 2`, true}, {`message.a && true`, true},
		// Left to the VM: builtins with predicates, slices, pipes.
		{`message.s[0:1]`, true}, {`message.s[1:]`, true}, {`message.o.x[-2:]`, true}, {`message.s[5:9]`, true},
		{`lower(message.s)`, true}, {`upper(message.s)`, true}, {`trim("  a ")`, true}, {`split("a,b,c", ",", 2)`, true},
		{`first(split("a:b", ":"))`, true}, {`last(split("a:b", ":"))`, true}, {`fromBase64("eDp5")`, true},
		{`lower(message.a)`, true}, {`message.s[message.o]`, true}, {`max(1, message.a, 1.5)`, true},
		// Predicates: the closures take arrays and boolean predicates, and
		// leave the rest to the VM at run time (same results and failures).
		{`map(message.o.x, # == 1)`, true}, {`filter(message.o.x, # == 1)`, true}, {`count(message.o.x, # != 2)`, true},
		{`all(message.o.x, # != 5)`, true}, {`all(message.o.x, # == 1)`, true}, {`any(message.o.x, # == 2)`, true},
		{`any(message.o.x, # == 7)`, true}, {`none(message.o.x, # == 7)`, true}, {`none(message.o.x, # == 1)`, true},
		{`one(message.o.x, # == 1)`, true}, {`one(message.o.x, # != 7)`, true}, {`map([], #)`, true}, {`filter([], true)`, true},
		{`map(message.o.x, #.y ?? #)`, true}, {`filter(message.o.x, .y == "z")`, true},
		{`all(split(vars.client.scope, " "), {(" " + "read write admin" + " ") contains (" " + # + " ")})`, true},
		{`all(split(vars.client.scope, " "), {(" read " contains (" " + # + " "))})`, true}, {`map(split("a b", " "), # + "!")`, true}, {`filter(split(vars.client.scope, " "), # != "read")`, true},
		{`map([[message.a, 1], [message.b]], map(#, # * 10))`, true}, {`map([[message.a, 1], [message.b]], count(#, # > 1))`, true},
		{`any(message.o.x, #)`, true}, {`all(message.o.x, # + 1)`, true}, {`all(message.n, # == 1)`, true},
		{`all(message.o, # == 1)`, true}, {`all(message.s, # == 1)`, true}, {`map(message.a, #)`, true},
		{`any(message.o.x, # + message.o > 1)`, true}, {`all([message.t, message.n], #)`, true},
		{`map(message.o.x, #index)`, false}, {`len(filter(message.o.x, # == 1))`, true}, {`filter(message.o.x, # == 1)[0]`, true},
	}
	for _, tt := range exprs {
		t.Run(tt.src, func(t *testing.T) {
			fast, ferr := expression.Compile(tt.src, expression.Options{})
			restore := expression.SetVMOnly(true)
			slow, serr := expression.Compile(tt.src, expression.Options{})
			restore()
			if ferr != nil || serr != nil {
				t.Fatalf("compile: %v / %v", ferr, serr)
			}
			if fast.HasFastPath() != tt.fast {
				t.Errorf("fast path: %v, want %v", fast.HasFastPath(), tt.fast)
			}
			env := &expression.Env{Message: msg, Vars: vars}
			fv, ferr := fast.Eval(env)
			sv, serr := slow.Eval(env)
			if (ferr == nil) != (serr == nil) {
				t.Fatalf("closures: %v %v; VM: %v %v", value.MustEncodeString(fv), ferr, value.MustEncodeString(sv), serr)
			}
			if ferr == nil && value.MustEncodeString(fv) != value.MustEncodeString(sv) {
				t.Errorf("closures gave %s, VM %s", value.MustEncodeString(fv), value.MustEncodeString(sv))
			}
		})
	}
}

// TestCatalogueExamplesBothWays runs every function example with the VM too.
func TestCatalogueExamplesBothWays(t *testing.T) {
	for _, vmOnly := range []bool{false, true} {
		restore := expression.SetVMOnly(vmOnly)
		for _, f := range expression.Functions() {
			if f.Result == "" {
				continue
			}
			e, err := expression.Compile(f.Example, expression.Options{})
			if err != nil {
				t.Errorf("%s: %v", f.Example, err)
				continue
			}
			got, err := e.Eval(&expression.Env{})
			if err != nil {
				t.Errorf("%s (vm only %v): %v", f.Example, vmOnly, err)
				continue
			}
			want, _ := value.DecodeString(f.Result)
			if value.MustEncodeString(got) != value.MustEncodeString(want) {
				t.Errorf("%s (vm only %v) = %s, want %s", f.Example, vmOnly, value.MustEncodeString(got), f.Result)
			}
		}
		restore()
	}
}
