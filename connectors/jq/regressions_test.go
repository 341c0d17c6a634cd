package jq_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// TestPipelineTimeoutIsA504: when the pipeline's own `timeout` ends a jq
// program, the execution fails with 504, as with a step `timeout:`
// (TestTimeoutStopsAProgram), and the deadline stays in the error's chain. It
// used to be 500 "jq: context deadline exceeded".
func TestPipelineTimeoutIsA504(t *testing.T) {
	p := enginetest.Load(t, "name: test\ntimeout: 20ms\nsteps:\n  - jq: {query: 'last(range(1e15))'}\n")
	_, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if e := engine.AsError(err); e == nil || e.Code != 504 {
		t.Fatalf("got %v, want a 504", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded in its chain", err)
	}
}
