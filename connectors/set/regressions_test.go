package set_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// TestYAMLBigIntegersStayExact: an integer constant too large for int64,
// written in a pipeline file, stays exact, as it does in JSON input (yaml.v3
// tags it !!float, and it used to become a float and lose digits).
func TestYAMLBigIntegersStayExact(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"beyond uint64", `123456789012345678901`, `123456789012345678901`},
		{"negative beyond int64", `-123456789012345678901`, `-123456789012345678901`},
		{"with a plus sign and underscores", `+123_456_789_012_345_678_901`, `123456789012345678901`},
		{"int64 stays an integer", `9223372036854775807`, `9223372036854775807`},
		{"a float stays a float", `1.5e3`, `1500.0`},
		{"an explicit float tag wins", `!!float 12`, `12.0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - set: {id: "+tt.yaml+"}\n")
			out, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := value.MustEncodeString(out), `{"id":`+tt.want+`}`; got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestNestedObjectLiteralLoads: a template whose object literal ends with a
// nested one, "{{ {a: {b: 1}} }}", loads: the "}}" of the literals does not end
// the template (it used to, giving "unexpected token EOF").
func TestNestedObjectLiteralLoads(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - set: {o: '{{ {a: {b: 1}} }}'}\n")
	out, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value.MustEncodeString(out), `{"o":{"a":{"b":1}}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
