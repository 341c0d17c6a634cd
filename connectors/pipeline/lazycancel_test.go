package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// onCompile, when set, is called by the compile of test-pipeline-on-load:
// work that a load does, and during which the caller may go away.
var onCompile atomic.Pointer[func()]

type passStep struct{}

func (passStep) Execute(_ context.Context, _ *engine.Exec, in any) (any, error) { return in, nil }

func init() {
	engine.Register("test-pipeline-on-load", "runs the test's function when compiled", func(struct{}, *engine.Compiler) (engine.Step, error) {
		if f := onCompile.Load(); f != nil {
			(*f)()
		}
		return passStep{}, nil
	})
}

// TestContextCheckedAfterALoadOnFirstCall: finding the called pipeline
// may load it, between the pipeline step's start and the called pipeline's
// first step: a pipeline calling its own file loads it on the first call,
// and a library with folders (nectar run) loads a pipeline called by name
// the first time it is called. A caller gone meanwhile (here the load
// itself ends the context, as a client hanging up or the trigger's timeout
// would) stops the run before that first step, as a context ended before
// any step does: the check made before the pipeline step does not stand
// for the time the load took.
func TestContextCheckedAfterALoadOnFirstCall(t *testing.T) {
	const callee = `
  - name: first
    set: {depth: "{{ vars.depth }}"}
  - test-pipeline-on-load: {}
`
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"a file calling itself", map[string]string{"main.yaml": `name: main
steps:` + callee + `  - choice:
      - when: "vars.depth == nil"
        steps:
          - pipeline: {file: main.yaml, vars: {depth: 1}}
`}},
		{"a name found in the library's folder", map[string]string{"main.yaml": `name: main
steps:
  - name: first
    set: {depth: 0}
  - try:
      steps:
        - pipeline: {name: callee}
      finally:
        - set: {done: true}
`, "callee.yaml": "name: callee\nsteps:" + callee}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			lib := engine.NewLibrary(engine.LoadOptions{}, dir)
			p, ok := lib.Pipeline("main")
			if !ok {
				t.Fatal("main.yaml does not load")
			}
			defer p.Close(context.Background())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := func() { cancel() }
			onCompile.Store(&f)
			defer onCompile.Store(nil)
			tr := &engine.Trace{}
			out, err := p.Run(ctx, &engine.Runtime{Pipelines: lib}, value.NewObject(0), engine.RunOptions{Trace: tr})
			e := engine.AsError(err)
			if e == nil || e.Code != 499 {
				t.Fatalf("got %v (%+v), output %v; want the run cancelled (499)", err, e, out)
			}
			runs := 0
			for _, r := range tr.Steps {
				if r.Step == "first" && r.Outcome != "skipped" {
					runs++
				}
			}
			if runs != 1 {
				t.Errorf("a step named first ran %d times; want once, before the load that ended the context (not in the called run)", runs)
			}
		})
	}
}
