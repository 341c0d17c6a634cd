package throw_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestBugObjectErrorThatIsNotAString: a custom object whose "error" field is
// an object or a list is written into the error message with fmt.Sprint
// (connectors/throw/throw.go, e.Message = fmt.Sprint(m)), which prints Go's
// internal representation of *value.Object, "&{[reason] [stock] map[]}".
// Expected: the field as JSON text.
func TestBugObjectErrorThatIsNotAString(t *testing.T) {
	p := load(t, "name: test\nsteps:\n  - throw: {object: {error: {reason: stock}, code: 409}}\n")
	_, err := p.Run(context.Background(), nil, mustDecode(t, `{}`), engine.RunOptions{})
	if got, want := engine.AsError(err).Message, `{"reason":"stock"}`; got != want {
		t.Errorf("got message %q, want %q", got, want)
	}
}
