package engine_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestCancelStopsTheNextStepInLoopsAndCalls: a context ended by a step
// (test-cancel) stops the step after it wherever that is: inside a loop
// (for-each, do-while), in a called pipeline nested in try and choice, or
// back in the caller after the called pipeline's step. No set step runs
// once the context has ended; the run fails.
func TestCancelStopsTheNextStepInLoopsAndCalls(t *testing.T) {
	tests := []struct{ name, pipeline string }{
		{"for-each: the next step of the element, and the next element", `name: outer
steps:
  - for-each:
      items: "{{ [1, 2, 3] }}"
      steps:
        - test-cancel: {}
        - set: {ran: true}
  - set: {after: true}
`},
		{"for-each in parallel", `name: outer
steps:
  - for-each:
      items: "{{ [1, 2, 3, 4] }}"
      parallel: 2
      stop_on_error: true
      steps:
        - test-cancel: {}
        - set: {ran: true}
  - set: {after: true}
`},
		{"do-while: the next step of the iteration, and the next iteration", `name: outer
steps:
  - do-while:
      while: "true"
      steps:
        - test-cancel: {}
        - try:
            steps:
              - set: {ran: true}
            catch:
              - set: {caught: true}
  - set: {after: true}
`},
		{"a called pipeline in try and choice, then the caller's next step", `name: outer
steps:
  - try:
      steps:
        - choice:
            - when: "true"
              steps:
                - pipeline: {name: cancels}
                - set: {ran: true}
      catch:
        - set: {caught: true}
  - set: {after: true}
`},
		{"a called pipeline whose last step cancels: the caller's next step", `name: outer
steps:
  - pipeline: {name: cancels-last}
  - choice:
      - when: "true"
        steps:
          - set: {ran: true}
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lib := engine.NewLibrary(engine.LoadOptions{})
			lib.Add(load(t, tc.pipeline))
			lib.Add(load(t, "name: cancels\nsteps:\n  - test-cancel: {}\n  - choice:\n      - when: \"true\"\n        steps:\n          - set: {inner: true}\n"))
			lib.Add(load(t, "name: cancels-last\nsteps:\n  - set: {first: true}\n  - test-cancel: {}\n"))
			p, _ := lib.Pipeline("outer")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctx = context.WithValue(ctx, cancelKey{}, context.CancelFunc(cancel))
			tr := &engine.Trace{}
			out, err := p.Run(ctx, &engine.Runtime{Pipelines: lib}, value.NewObject(0), engine.RunOptions{Trace: tr})
			if err == nil {
				t.Fatalf("the run succeeded after its context ended: %v", value.MustEncodeString(out))
			}
			cancelled := false
			for _, r := range tr.Steps {
				if r.Connector == "test-cancel" {
					cancelled = true
				} else if cancelled && r.Connector == "set" && r.Outcome != "skipped" {
					t.Errorf("step %s (%s) ran (%s) after the context ended", r.Path, r.Step, r.Outcome)
				}
			}
			if !cancelled {
				t.Fatalf("test-cancel never ran: %v", err)
			}
		})
	}
}
