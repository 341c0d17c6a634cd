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

// TestContextCheckedAfterALoadOnFirstCall: a pipeline that calls its own
// file loads it on the first call, between the pipeline step's start and
// the called pipeline's first step. A caller gone meanwhile (here the load
// itself ends the context, as a client hanging up or the trigger's timeout
// would) stops the run before that first step, as a context ended before
// any step does: the context check made before the pipeline step does not
// stand for the time the load took.
func TestContextCheckedAfterALoadOnFirstCall(t *testing.T) {
	file := filepath.Join(t.TempDir(), "recursive.yaml")
	src := `name: recursive
steps:
  - name: first
    set: {depth: "{{ vars.depth }}"}
  - choice:
      - when: "vars.depth == nil"
        steps:
          - pipeline: {file: recursive.yaml, vars: {depth: 1}}
  - test-pipeline-on-load: {}
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadFile(file, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := func() { cancel() }
	onCompile.Store(&f)
	defer onCompile.Store(nil)
	tr := &engine.Trace{}
	out, err := p.Run(ctx, nil, value.NewObject(0), engine.RunOptions{Trace: tr})
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
		t.Errorf("step first ran %d times; want once, before the load that ended the context (not in the called run)", runs)
	}
}
