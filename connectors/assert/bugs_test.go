package assert_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestBugNullInBooleanOperators: a missing field is null and a condition
// counts null as false, but the boolean operators fail on null with Go's
// internal message "interface conversion: interface {} is nil, not bool"
// (engine/expression/expression.go, patcher: `!`, `not`, `&&` and `||` are
// not rewritten for null as the comparisons are). `!message.blocked` is the
// usual way to say "unless blocked". Expected: null acts as false in them.
func TestBugNullInBooleanOperators(t *testing.T) {
	tests := []struct{ name, that, input string }{
		{"not null", `"!message.blocked"`, `{}`},
		{"not null, spelled not", `"not message.blocked"`, `{}`},
		{"null or true", `"message.a || message.b"`, `{"b":true}`},
		{"null and false, negated", `"!(message.a && message.b)"`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, "name: test\nsteps:\n  - assert: {that: "+tt.that+"}\n")
			if _, err := p.Run(context.Background(), nil, mustDecode(t, tt.input), engine.RunOptions{}); err != nil {
				t.Errorf("got %v, want the condition to hold", err)
			}
		})
	}
}
