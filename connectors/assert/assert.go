// Package assert implements the assert connector: one or more conditions that
// must hold, or the execution stops with an error carrying a status (400 by
// default) and a message. The message passes through unchanged.
package assert

import (
	"context"
	"fmt"

	"github.com/nectar-run/nectar/engine"
)

// Config holds the options of an assert step.
type Config struct {
	That   []engine.Condition `yaml:"that" required:"true" doc:"a condition, or a list of conditions that must all be true"`
	Status int                `yaml:"status" default:"400" doc:"the error's code when a condition is false"`
	Error  engine.Template    `yaml:"error" doc:"the error message; default names the failed condition"`
}

type step struct {
	that   []engine.Condition
	status int
	msg    engine.Template
}

var _ engine.Step = (*step)(nil)

func init() {
	engine.Register("assert", "Checks conditions; stops with an error and a status when one is false.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if len(cfg.That) == 0 {
		return nil, cc.Errorf("that", "expected at least one condition")
	}
	if cfg.Status < 100 || cfg.Status > 599 {
		return nil, cc.Errorf("status", "expected an HTTP status between 100 and 599, got %d", cfg.Status)
	}
	return &step{that: cfg.That, status: cfg.Status, msg: cfg.Error}, nil
}

// Execute checks every condition in order and fails on the first false one.
// A condition that reads a missing field sees nil and is false, not an error.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	for _, c := range s.that {
		ok, err := c.Eval(x, in)
		if err != nil {
			return nil, err
		}
		if ok {
			continue
		}
		if !s.msg.IsSet() {
			return nil, engine.NewError(s.status, "assertion failed: %s", c.Source())
		}
		msg, err := s.msg.String(x, in)
		if err != nil {
			return nil, err
		}
		return nil, &engine.Error{Timestamp: nowMillis(), Code: s.status, Message: msg, Cause: fmt.Errorf("assertion failed: %s", c.Source())}
	}
	return in, nil
}
