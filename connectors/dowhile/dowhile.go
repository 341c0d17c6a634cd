// Package dowhile implements the do-while connector: it runs nested steps
// repeatedly, each iteration's result being the next one's message, until a
// condition is true (until) or while one holds (while), at most
// max_iterations times and within a timeout. vars.iteration (or the variable
// index_var names) counts from 1.
package dowhile

import (
	"context"
	"fmt"
	"time"

	"github.com/nectar-run/nectar/engine"
)

// Config holds the options of a do-while step.
type Config struct {
	Steps         engine.Steps     `yaml:"steps" required:"true" doc:"steps of one iteration; vars.iteration is 1, 2, 3…"`
	IndexVar      string           `yaml:"index_var" default:"iteration" doc:"the variable counting the iterations; give nested loops different ones"`
	Until         engine.Condition `yaml:"until" doc:"stop after an iteration whose result makes this true"`
	While         engine.Condition `yaml:"while" doc:"go on while this is true of the last result"`
	MaxIterations int              `yaml:"max_iterations" default:"10" doc:"iterations at most"`
	FailOnMax     bool             `yaml:"fail_on_max" doc:"fail with 508 when max_iterations is reached before the condition"`
	Timeout       engine.Duration  `yaml:"timeout" default:"5m" doc:"the whole loop's time limit (504 beyond)"`
}

type step struct{ cfg Config }

func init() {
	engine.Register("do-while", "Repeats nested steps until a condition, with a maximum of iterations and a timeout.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if cfg.Until.IsSet() == cfg.While.IsSet() {
		return nil, cc.Errorf("", "expected exactly one of until and while")
	}
	if err := cc.CheckVarName("index_var", cfg.IndexVar); err != nil {
		return nil, err
	}
	if cfg.MaxIterations < 1 {
		return nil, cc.Errorf("max_iterations", "expected at least 1, got %d", cfg.MaxIterations)
	}
	return &step{cfg: cfg}, nil
}

// Execute runs the loop.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	parent := ctx
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout.D())
		defer cancel()
	}
	msg := in
	for i := 1; i <= s.cfg.MaxIterations; i++ {
		if ctx.Err() != nil {
			return nil, engine.NewError(504, "do-while: timed out after %s in iteration %d", time.Duration(s.cfg.Timeout), i)
		}
		x.Vars.Set(s.cfg.IndexVar, int64(i))
		out, err := s.cfg.Steps.Run(ctx, x, msg)
		if err != nil {
			if ctx.Err() == context.DeadlineExceeded && parent.Err() == nil {
				// The loop's own timeout stopped a step: say so, naming the step.
				e := engine.AsError(err)
				return nil, &engine.Error{Timestamp: e.Timestamp, Code: 504, Step: e.Step, Pipeline: e.Pipeline, ExecutionID: e.ExecutionID,
					Message: fmt.Sprintf("do-while: timed out after %s in iteration %d", time.Duration(s.cfg.Timeout), i), Cause: err}
			}
			return nil, err
		}
		msg = out
		var stop bool
		if s.cfg.Until.IsSet() {
			stop, err = s.cfg.Until.Eval(x, msg)
		} else {
			var goOn bool
			goOn, err = s.cfg.While.Eval(x, msg)
			stop = !goOn
		}
		if err != nil {
			return nil, err
		}
		if stop {
			return msg, nil
		}
	}
	if s.cfg.FailOnMax {
		return nil, engine.NewError(508, "do-while: condition not met after %d iterations", s.cfg.MaxIterations)
	}
	return msg, nil
}

// Blocks lists the loop's body.
func (s *step) Blocks() []engine.Block { return []engine.Block{{Steps: s.cfg.Steps}} }
