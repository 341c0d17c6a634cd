package engine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// shoutConfig holds the options of a shout step: its fields are the step's
// YAML options, decoded strictly at load.
type shoutConfig struct {
	Text engine.Template `yaml:"text" required:"true" doc:"what to shout; may hold {{ }}"`
}

// shout is a compiled shout step: what could be decided at load (the
// template) is kept, and Execute, safe for concurrent runs, does the rest.
type shout struct{ text engine.Template }

func (s shout) Execute(_ context.Context, x *engine.Exec, in any) (any, error) {
	text, err := s.text.String(x, in)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, engine.NewError(400, "nothing to shout")
	}
	return value.ObjectOf("shout", strings.ToUpper(text)), nil
}

func init() {
	engine.Register("shout", "Says a text in capitals.", func(cfg shoutConfig, _ *engine.Compiler) (engine.Step, error) { return shout{cfg.Text}, nil })
}

// Example declares a connector, loads a pipeline that uses it next to a
// shipped one (set), runs it on a message, and shows what a mistake in a
// pipeline file and a failing step look like.
func Example() {
	p, err := engine.Load("greet.yaml", []byte(`name: greet
steps:
  - set:
      who: "{{ message.name }}"
  - name: shout it
    shout:
      text: "{{ message.who }}"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rt := &engine.Runtime{} // shared by every execution: logger, services, secrets
	ctx := context.Background()
	in, _ := value.DecodeString(`{"name":"Ada"}`)
	out, err := p.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "ex-1"})
	fmt.Println(value.MustEncodeString(out), err)

	_, err = p.Run(ctx, rt, value.ObjectOf("name", ""), engine.RunOptions{ExecutionID: "ex-2"})
	fmt.Println(err)

	_, err = engine.Load("bad.yaml", []byte("name: bad\nsteps:\n  - shout:\n      txt: hi\n"), engine.LoadOptions{})
	fmt.Println(err)
	// Output:
	// {"shout":"ADA"} <nil>
	// greet: step shout it: 400: nothing to shout
	// bad.yaml:4:7: steps[0].shout.txt: unknown option; did you mean "text"?
	// bad.yaml:4:7: steps[0].shout: missing required option "text"
}
