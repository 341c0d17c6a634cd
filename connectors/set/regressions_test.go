package set_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestBugYAMLBigIntegerBecomesFloat: an integer constant too large for
// uint64, written in a pipeline file, turns into a float and loses digits
// (engine/decode.go scalarValue: yaml.v3 tags it !!float). The same number in
// the JSON input stays exact, so a pipeline cannot write one back.
func TestBugYAMLBigIntegerBecomesFloat(t *testing.T) {
	p := load(t, "name: test\nsteps:\n  - set: {id: 123456789012345678901}\n")
	out, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value.MustEncodeString(out), `{"id":123456789012345678901}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestNestedObjectLiteralLoads: a template whose object literal ends with a
// nested one, "{{ {a: {b: 1}} }}", loads: the "}}" of the literals does not end
// the template (it used to, giving "unexpected token EOF").
func TestNestedObjectLiteralLoads(t *testing.T) {
	p, err := engine.Load("test.yaml", []byte("name: test\nsteps:\n  - set: {o: '{{ {a: {b: 1}} }}'}\n"), engine.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	out, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value.MustEncodeString(out), `{"o":{"a":{"b":1}}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
