package throw_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
)

// TestObjectErrorThatIsNotAStringReadsAsJSON: a custom object whose "error"
// field is not a string gives its JSON text as the message (it used to be Go's
// representation of *value.Object, "&{[reason] [stock] map[]}").
func TestObjectErrorThatIsNotAStringReadsAsJSON(t *testing.T) {
	tests := []struct{ name, object, want string }{
		{"object", `{error: {reason: stock}, code: 409}`, `{"reason":"stock"}`},
		{"list", `{error: [a, 1]}`, `["a",1]`},
		{"number", `{error: 42}`, `42`},
		{"null", `{error: null}`, `null`},
		{"string stays as it is", `{error: out of stock}`, `out of stock`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - throw: {object: "+tt.object+"}\n")
			_, err := p.Run(context.Background(), nil, enginetest.Decode(t, `{}`), engine.RunOptions{})
			if got := engine.AsError(err).Message; got != tt.want {
				t.Errorf("got message %q, want %q", got, tt.want)
			}
		})
	}
}
