package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// cancelKey holds, in a run's context, the function test-cancel calls.
type cancelKey struct{}

// canceller ends its run's context, as a caller going away does, and
// succeeds.
type canceller struct{}

func (canceller) Execute(ctx context.Context, _ *engine.Exec, in any) (any, error) {
	ctx.Value(cancelKey{}).(context.CancelFunc)()
	return in, nil
}

func init() {
	engine.Register("test-cancel", "cancels its run", func(testConfig, *engine.Compiler) (engine.Step, error) { return canceller{}, nil })
}

// TestContextCheckedBeforeNestedSteps: the engine spares the context check
// before the first nested step of try, choice and pipeline (the check made
// before the step itself stands) and after a step skipped by its if, and
// nowhere else: a context that ended while a step ran, or a step's or a
// called pipeline's own timeout, stops the next step as it always did.
func TestContextCheckedBeforeNestedSteps(t *testing.T) {
	tests := []struct {
		name, pipeline string
		code           int
		step           string // the step the error names
	}{
		{
			name: "a step's own timeout is checked before the first step it nests",
			pipeline: `name: outer
steps:
  - name: bounded
    timeout: 1ns
    try:
      steps:
        - name: nested
          set: {ran: true}
      catch:
        - set: {caught: true}
`,
			code: 504, step: "nested",
		},
		{
			name: "a called pipeline's timeout is checked before its first step",
			pipeline: `name: outer
steps:
  - pipeline: {name: bounded}
`,
			code: 504, step: "first",
		},
		{
			name: "a context ended by a step stops the next one, skipped or not",
			pipeline: `name: outer
steps:
  - try:
      steps:
        - test-cancel: {}
        - name: skipped
          if: "false"
          set: {skipped: true}
        - choice:
            - when: "true"
              steps:
                - name: chosen
                  set: {ran: true}
      catch:
        - set: {caught: true}
`,
			code: 499, step: "skipped",
		},
		{
			name: "a context ended by a step stops the choice after it",
			pipeline: `name: outer
steps:
  - test-cancel: {}
  - choice:
      - when: "true"
        steps:
          - name: chosen
            set: {ran: true}
`,
			code: 499, step: "choice#2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lib := engine.NewLibrary(engine.LoadOptions{})
			lib.Add(load(t, tc.pipeline))
			lib.Add(load(t, "name: bounded\ntimeout: 1ns\nsteps:\n  - name: first\n    set: {ran: true}\n"))
			p, _ := lib.Pipeline("outer")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctx = context.WithValue(ctx, cancelKey{}, context.CancelFunc(cancel))
			tr := &engine.Trace{}
			out, err := p.Run(ctx, &engine.Runtime{Pipelines: lib}, value.NewObject(0), engine.RunOptions{Trace: tr})
			e := engine.AsError(err)
			if e == nil || e.Code != tc.code || e.Step != tc.step {
				t.Fatalf("got %v (%+v), out %v; want a %d naming step %q", err, e, out, tc.code, tc.step)
			}
			for _, r := range tr.Steps {
				if r.Connector == "set" && r.Outcome != "skipped" {
					t.Errorf("step %s ran (%s) after the context ended", r.Path, r.Outcome)
				}
			}
			if strings.Contains(value.MustEncodeString(out), "ran") {
				t.Errorf("a nested step ran: %v", out)
			}
		})
	}
}
