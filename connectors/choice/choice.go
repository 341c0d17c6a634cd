// Package choice implements the choice connector: ordered `when` branches with
// nested steps and an optional `otherwise`. The first branch whose condition
// is true runs; its final message is the step's result. When no branch runs,
// the message passes through.
package choice

import (
	"context"

	"github.com/nectar-run/nectar/engine"
)

// Config is the list of branches of a choice step.
type Config []Branch

// Branch is one branch: `when` with `steps`, or `otherwise` alone (last).
type Branch struct {
	When      engine.Condition `yaml:"when" doc:"condition of this branch"`
	Steps     engine.Steps     `yaml:"steps" doc:"steps run when the condition is true"`
	Otherwise engine.Steps     `yaml:"otherwise" doc:"steps run when no when-branch matched; only in the last branch"`
}

type step struct {
	branches  []Branch
	otherwise *engine.Steps
}

func init() {
	engine.Register("choice", "Runs the steps of the first branch whose condition is true.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{}
	if len(cfg) == 0 {
		return nil, cc.Errorf("", "expected at least one branch")
	}
	for i, b := range cfg {
		switch {
		case b.Otherwise.Len() > 0 && (b.When.IsSet() || b.Steps.Len() > 0):
			return nil, cc.Errorf("", "branch %d: otherwise stands alone, without when or steps", i+1)
		case b.Otherwise.Len() > 0:
			if i != len(cfg)-1 {
				return nil, cc.Errorf("", "branch %d: otherwise must be the last branch", i+1)
			}
			o := b.Otherwise
			s.otherwise = &o
		case !b.When.IsSet():
			return nil, cc.Errorf("", "branch %d: expected when with steps, or otherwise", i+1)
		case b.Steps.Len() == 0:
			return nil, cc.Errorf("", "branch %d: when needs steps", i+1)
		default:
			s.branches = append(s.branches, b)
		}
	}
	return s, nil
}

// Execute runs the first matching branch.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	for i := range s.branches {
		ok, err := s.branches[i].When.Eval(x, in)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.branches[i].Steps.Run(ctx, x, in)
		}
	}
	if s.otherwise != nil {
		return s.otherwise.Run(ctx, x, in)
	}
	return in, nil
}

// Blocks lists the branches' steps, each with its when, then otherwise's.
func (s *step) Blocks() []engine.Block {
	out := make([]engine.Block, 0, len(s.branches)+1)
	for _, b := range s.branches {
		out = append(out, engine.Block{When: b.When, Steps: b.Steps})
	}
	if s.otherwise != nil {
		out = append(out, engine.Block{Steps: *s.otherwise})
	}
	return out
}
