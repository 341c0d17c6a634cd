// Package foreach implements the for-each connector: it runs nested steps once
// per element of a list (sequentially, or with bounded parallelism) and returns
// {total, success, failed, results}, results in input order. A failing element
// does not stop the loop: its result is its error object, unless stop_on_error
// is set.
package foreach

import (
	"context"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
	"golang.org/x/sync/errgroup"
)

// Config holds the options of a for-each step.
type Config struct {
	Items       engine.Expr  `yaml:"items" default:"message" doc:"expression giving the list; each element becomes the message of one run"`
	Steps       engine.Steps `yaml:"steps" required:"true" doc:"steps run per element; vars.index holds the element's index"`
	IndexVar    string       `yaml:"index_var" default:"index" doc:"the variable holding the element's index; give nested loops different ones"`
	Parallel    int          `yaml:"parallel" default:"1" doc:"how many elements run at once"`
	StopOnError bool         `yaml:"stop_on_error" doc:"fail the whole loop at the first failing element"`
}

type step struct{ cfg Config }

func init() {
	engine.Register("for-each", "Runs nested steps for each element of a list; results in input order.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if err := cc.CheckVarName("index_var", cfg.IndexVar); err != nil {
		return nil, err
	}
	if cfg.Parallel < 1 || cfg.Parallel > 1000 {
		return nil, cc.Errorf("parallel", "expected a number from 1 to 1000, got %d", cfg.Parallel)
	}
	return &step{cfg: cfg}, nil
}

// Execute runs the loop.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	v, err := s.cfg.Items.Eval(x, in)
	if err != nil {
		return nil, err
	}
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	case nil:
	default:
		return nil, engine.NewError(500, "for-each: items gave %s, expected a list", expression.TypeWithArticle(v))
	}
	results := make([]any, len(items))
	failed := make([]bool, len(items))
	run := func(ctx context.Context, i int) error {
		ix := x.Fork()
		ix.Vars.Set(s.cfg.IndexVar, int64(i))
		out, err := s.cfg.Steps.Run(ctx, ix, items[i])
		if err != nil {
			if s.cfg.StopOnError {
				return err
			}
			results[i], failed[i] = engine.AsError(err).Object(), true
			return nil
		}
		results[i] = out
		return nil
	}
	if s.cfg.Parallel <= 1 {
		for i := range items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := run(ctx, i); err != nil {
				return nil, err
			}
		}
	} else if err := parallel(ctx, len(items), s.cfg.Parallel, run); err != nil {
		return nil, err
	}
	nFailed := 0
	for _, f := range failed {
		if f {
			nFailed++
		}
	}
	out := value.NewObject(4)
	out.Set("total", int64(len(items)))
	out.Set("success", int64(len(items)-nFailed))
	out.Set("failed", int64(nFailed))
	out.Set("results", results)
	return out, nil
}

// parallel runs fn(0..n-1) with at most limit at once. The first error
// cancels the context of the others, starts no more, and is returned once
// all that started have ended; without one, it returns ctx's error (the run
// was cancelled before every element started).
func parallel(ctx context.Context, n, limit int, fn func(context.Context, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error {
			if gctx.Err() != nil { // cancelled while waiting for a slot: start nothing more
				return nil
			}
			return fn(gctx, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// Blocks lists the loop's body.
func (s *step) Blocks() []engine.Block { return []engine.Block{{Steps: s.cfg.Steps}} }
