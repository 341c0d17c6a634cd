package jq_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestBugPipelineTimeoutIsA504: when the pipeline's own `timeout` ends a jq
// program, the execution fails with 500 "jq: context deadline exceeded"
// instead of 504. connectors/jq/jq.go Execute turns gojq's error into
// engine.NewError(500, "jq: %v", err), dropping the deadline, and
// engine/exec.go Pipeline.Run maps a deadline to 504 only between steps
// (contextError) or for a step's own timeout (stepRunner.execute). A step
// `timeout:` gives 504 (TestTimeoutStopsAProgram). Expected: 504 here too.
func TestBugPipelineTimeoutIsA504(t *testing.T) {
	p := load(t, "name: test\ntimeout: 20ms\nsteps:\n  - jq: {query: 'last(range(1e15))'}\n")
	_, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if e := engine.AsError(err); e == nil || e.Code != 504 {
		t.Fatalf("got %v, want a 504", err)
	}
}
