// Package set implements the set connector (Digibee's JSON Generator): it
// builds a new message from a template of nested values whose strings may
// hold `{{ }}` expressions. The input is replaced; use the `to` step option to
// put the result elsewhere.
package set

import (
	"context"

	"github.com/nectar-run/nectar/engine"
)

func init() {
	engine.Register("set", "Builds a new message from a JSON template with expressions.", compile)
}

type step struct{ tpl engine.Dynamic }

func compile(cfg engine.Dynamic, cc *engine.Compiler) (engine.Step, error) {
	return &step{tpl: cfg}, nil
}

// Execute evaluates the template. Constant parts are shared, never copied.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	return s.tpl.Eval(x, in)
}
