package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// errAtCtx is a context that can answer Err as of a clock reading (as the
// server's execution context does): it records the readings it is asked
// with, and ends once ended is set.
type errAtCtx struct {
	context.Context
	ats   []time.Time
	errs  int
	ended error
}

func (c *errAtCtx) Err() error { c.errs++; return c.ended }

func (c *errAtCtx) ErrAt(now time.Time) error {
	c.ats = append(c.ats, now)
	return c.ended
}

// TestErrAtIsAskedWithTheStepsReading: with a trace, the check before a
// step asks a context that can take it with the reading the step starts
// at (the end of the step before), not the clock; without a trace, and
// where no reading is at hand, Err is asked. A context ended so stops the
// run as Err's end does.
func TestErrAtIsAskedWithTheStepsReading(t *testing.T) {
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(load(t, "name: three\nsteps:\n  - set: {a: 1}\n  - try:\n      steps:\n        - set: {b: 2}\n        - set: {c: 3}\n      catch:\n        - set: {caught: true}\n"))
	p, _ := lib.Pipeline("three")
	rt := &engine.Runtime{Pipelines: lib}

	ctx := &errAtCtx{Context: context.Background()}
	tr := &engine.Trace{}
	if _, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	// The steps in the trace: set, the try's two (ended first), try.
	if len(tr.Steps) != 4 || len(ctx.ats) != 4 || ctx.errs != 0 {
		t.Fatalf("%d steps, ErrAt asked %d times, Err %d times; want 4, 4, 0", len(tr.Steps), len(ctx.ats), ctx.errs)
	}
	starts := map[time.Time]bool{}
	for _, r := range tr.Steps {
		starts[r.Start] = true
	}
	for i, at := range ctx.ats {
		if !starts[at] {
			t.Errorf("check %d: ErrAt asked with %v, which no step started at", i, at)
		}
	}

	ctx = &errAtCtx{Context: context.Background()}
	if _, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(ctx.ats) != 0 || ctx.errs != 4 {
		t.Fatalf("without a trace: ErrAt asked %d times, Err %d times; want 0, 4", len(ctx.ats), ctx.errs)
	}

	for _, trace := range []*engine.Trace{{}, nil} {
		ctx = &errAtCtx{Context: context.Background(), ended: context.DeadlineExceeded}
		_, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{Trace: trace})
		if e := engine.AsError(err); e == nil || e.Code != 504 {
			t.Fatalf("trace %v: an ended context: %v, want a 504", trace != nil, err)
		}
	}
}
