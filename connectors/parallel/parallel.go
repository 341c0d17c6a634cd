// Package parallel implements the parallel connector: it runs several branches
// on the same input at once and collects their results, as an object keyed by
// branch name when every branch is named, else as a list in branch order. The
// first failing branch cancels the others and fails the step.
package parallel

import (
	"context"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"golang.org/x/sync/errgroup"
)

// Config holds the options of a parallel step.
type Config struct {
	Branches []Branch `yaml:"branches" required:"true" doc:"the branches"`
}

// Branch is one line of work.
type Branch struct {
	Name  string       `yaml:"name" doc:"the key of this branch's result"`
	Steps engine.Steps `yaml:"steps" required:"true" doc:"the branch's steps"`
}

type step struct {
	branches []Branch
	named    bool
}

func init() {
	engine.Register("parallel", "Runs branches concurrently on the same input and collects their results.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if len(cfg.Branches) == 0 {
		return nil, cc.Errorf("branches", "expected at least one branch")
	}
	s := &step{branches: cfg.Branches, named: true}
	seen := map[string]bool{}
	for _, b := range cfg.Branches {
		if b.Name == "" {
			s.named = false
		} else if seen[b.Name] {
			return nil, cc.Errorf("branches", "branch name %q used twice", b.Name)
		}
		seen[b.Name] = true
	}
	return s, nil
}

// Execute runs every branch, each with its own copy of vars.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	results := make([]any, len(s.branches))
	// The first failing branch cancels gctx, so the others stop, and its
	// error is the step's once every branch has ended.
	g, gctx := errgroup.WithContext(ctx)
	for i := range s.branches {
		g.Go(func() error {
			out, err := s.branches[i].Steps.Run(gctx, x.Fork(), in)
			if err != nil {
				return err
			}
			results[i] = out
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !s.named {
		return results, nil
	}
	out := value.NewObject(len(results))
	for i, b := range s.branches {
		out.Set(b.Name, results[i])
	}
	return out, nil
}

// Blocks lists each branch's steps.
func (s *step) Blocks() []engine.Block {
	out := make([]engine.Block, len(s.branches))
	for i, b := range s.branches {
		out[i] = engine.Block{Steps: b.Steps}
	}
	return out
}
