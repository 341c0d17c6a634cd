package expression_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
)

// BenchmarkFastPath evaluates expressions that take the closure path, one
// per kind of node: arithmetic, ?:, !, ??, string operators and calls.
func BenchmarkFastPath(b *testing.B) {
	env := &expression.Env{Message: mustDecode(b, `{"a":2,"b":3.5,"s":"Abc","t":true,"n":null,"l":[1,2,3]}`)}
	for _, src := range []string{
		`message.a * 3 + 1`,
		`message.b - message.a`,
		`message.t ? message.a : message.b`,
		`!message.t`,
		`message.t && message.a > 1`,
		`message.n ?? message.s`,
		`message.s startsWith "A"`,
		`UPPERCASE(message.s)`,
		`message.l[1:]`,
	} {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
