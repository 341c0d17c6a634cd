package assert_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
)

// TestNullCountsAsFalseInBooleanOperators: a missing field is null, and the
// boolean operators count it as false, as a condition does (Digibee too), so
// `!message.blocked` says "unless blocked". They used to fail with Go's
// "interface conversion: interface {} is nil, not bool".
func TestNullCountsAsFalseInBooleanOperators(t *testing.T) {
	tests := []struct{ name, that, input string }{
		{"not null", `"!message.blocked"`, `{}`},
		{"not null, spelled not", `"not message.blocked"`, `{}`},
		{"null or true", `"message.a || message.b"`, `{"b":true}`},
		{"null and false, negated", `"!(message.a && message.b)"`, `{}`},
		{"null as a ternary's test", `"(message.a ? 1 : 2) == 2"`, `{}`},
		{"the right operand is read only when needed", `"message.ok || message.n.x > 1"`, `{"ok":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - assert: {that: "+tt.that+"}\n")
			if _, err := p.Run(context.Background(), nil, enginetest.Decode(t, tt.input), engine.RunOptions{}); err != nil {
				t.Errorf("got %v, want the condition to hold", err)
			}
		})
	}
}
