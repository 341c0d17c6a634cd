// Package try implements the try connector (Digibee's Block Execution): it
// runs `steps`; if one fails, `catch` runs with the error object as its
// message and its result becomes the step's result; `finally` runs in every
// case, after the others, and its result is discarded. An error inside catch
// or finally propagates.
package try

import (
	"context"
	"errors"

	"github.com/nectar-run/nectar/engine"
)

// Config holds the options of a try step.
type Config struct {
	Steps   engine.Steps `yaml:"steps" required:"true" doc:"the steps to run"`
	Catch   engine.Steps `yaml:"catch" doc:"steps run with the error object {timestamp, error, code, pipeline, step, execution_id} as message"`
	Finally engine.Steps `yaml:"finally" doc:"steps run after steps (and catch), whatever happened; their result is discarded"`
}

type step struct{ cfg Config }

func init() {
	engine.Register("try", "Runs steps; on error runs catch with the error object; finally always runs.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if cfg.Catch.Len() == 0 && cfg.Finally.Len() == 0 {
		return nil, cc.Errorf("", "expected catch or finally next to steps")
	}
	return &step{cfg: cfg}, nil
}

// Execute runs the block.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (out any, err error) {
	out, err = s.cfg.Steps.Run(ctx, x, in)
	if err != nil && s.cfg.Catch.Len() > 0 && ctx.Err() == nil {
		out, err = s.cfg.Catch.Run(ctx, x, engine.AsError(err).Object())
	}
	if s.cfg.Finally.Len() > 0 {
		fin := out
		if err != nil {
			fin = in
		}
		// finally runs even when the context is done, so that it can clean up.
		if _, ferr := s.cfg.Finally.Run(context.WithoutCancel(ctx), x, fin); ferr != nil {
			return nil, errors.Join(err, ferr)
		}
	}
	return out, err
}

// Blocks lists steps, catch and finally.
func (s *step) Blocks() []engine.Block {
	return []engine.Block{{Steps: s.cfg.Steps}, {Steps: s.cfg.Catch}, {Steps: s.cfg.Finally}}
}
