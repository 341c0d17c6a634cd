package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestCalledPipelineStateIsItsOwn runs a caller and the pipeline it calls
// from many goroutines at once (go test -race): each execution's vars and
// metadata (allocated in one block with its Exec) hold its own values only.
// The called pipeline sees the vars it was given and its own metadata, and
// what it sets in its vars never reaches the caller's; the caller's vars
// and metadata are what they were before the call.
func TestCalledPipelineStateIsItsOwn(t *testing.T) {
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(load(t, `name: caller
steps:
  - set: {n: "{{ message.n }}"}
    to: vars.mine
  - pipeline:
      name: callee
      vars: {given: "{{ message.n }}"}
    to: vars.res
  - set:
      mine: "{{ vars.mine.n }}"
      inner: "{{ vars.inner }}"
      given: "{{ vars.given }}"
      res: "{{ vars.res }}"
      pipeline: "{{ metadata.pipeline }}"
      caller: "{{ metadata.caller }}"
      id: "{{ metadata.execution_id }}"
`))
	lib.Add(load(t, `name: callee
steps:
  - set: {n: "{{ message.n }}"}
    to: vars.inner
  - set: {n: "{{ vars.given }}x"}
    to: vars.given
  - set:
      inner: "{{ vars.inner.n }}"
      given: "{{ vars.given.n }}"
      mine: "{{ vars.mine }}"
      pipeline: "{{ metadata.pipeline }}"
      caller: "{{ metadata.caller }}"
      id: "{{ metadata.execution_id }}"
`))
	p, _ := lib.Pipeline("caller")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				n := int64(g*1000 + i)
				id := fmt.Sprintf("exec-%d", n)
				out, err := p.Run(context.Background(), &engine.Runtime{Pipelines: lib}, value.ObjectOf("n", n), engine.RunOptions{ExecutionID: id})
				if err != nil {
					t.Error(err)
					return
				}
				got := value.MustEncodeString(out)
				want := fmt.Sprintf(`{"mine":%d,"inner":null,"given":null,"res":{"inner":%d,"given":"%dx","mine":null,"pipeline":"callee","caller":"caller","id":"%s"},"pipeline":"caller","caller":null,"id":"%s"}`,
					n, n, n, id, id)
				if got != want {
					t.Errorf("got  %s\nwant %s", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
