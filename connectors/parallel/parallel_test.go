package parallel_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// meet blocks until `of` branches have arrived (proving they run at once);
// wait blocks until its context ends and counts the cancellations it saw.
type meet struct{}

var (
	meetMu   sync.Mutex
	meetN    int
	meetOf   int
	meetDone chan struct{}

	waitsStarted, waitsCancelled atomic.Int64
)

func (meet) Execute(ctx context.Context, _ *engine.Exec, in any) (any, error) {
	meetMu.Lock()
	meetN++
	if meetN == meetOf {
		close(meetDone)
	}
	meetMu.Unlock()
	select {
	case <-meetDone:
		return in, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type wait struct{}

func (wait) Execute(ctx context.Context, _ *engine.Exec, _ any) (any, error) {
	waitsStarted.Add(1)
	<-ctx.Done()
	waitsCancelled.Add(1)
	return nil, ctx.Err()
}

func init() {
	engine.Register("test-meet", "waits for the other branches", func(struct{}, *engine.Compiler) (engine.Step, error) { return meet{}, nil })
	engine.Register("test-wait", "blocks until cancelled", func(struct{}, *engine.Compiler) (engine.Step, error) { return wait{}, nil })
}

func run(t *testing.T, p *engine.Pipeline, input string) (string, error) {
	t.Helper()
	// The deadline only keeps a broken cancellation from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return enginetest.RunWith(ctx, t, p, nil, input, engine.RunOptions{})
}

func TestParallel(t *testing.T) {
	tests := []struct {
		name, branches, input, want, wantErr string
	}{
		{
			name:     "named branches give an object in branch order",
			branches: "        - {name: total, steps: [{jq: {query: '.items | add'}}]}\n        - {name: count, steps: [{jq: {query: '.items | length'}}]}\n        - {name: first, steps: [{set: '{{ message.items[0] }}'}]}",
			input:    `{"items":[4,5,6]}`, want: `{"total":15,"count":3,"first":4}`,
		},
		{
			name:     "unnamed branches give a list in branch order",
			branches: "        - steps: [{set: a}]\n        - steps: [{set: b}]\n        - steps: [{set: c}]",
			input:    `{}`, want: `["a","b","c"]`,
		},
		{
			name:     "one unnamed branch makes it a list",
			branches: "        - {name: x, steps: [{set: a}]}\n        - steps: [{set: b}]",
			input:    `{}`, want: `["a","b"]`,
		},
		{
			name:     "every branch gets the same input",
			branches: "        - {name: a, steps: [{set: '{{ message.n }}'}]}\n        - {name: b, steps: [{set: '{{ message.n }}'}]}",
			input:    `{"n":7}`, want: `{"a":7,"b":7}`,
		},
		{
			name:     "a branch's steps run in order",
			branches: "        - {name: a, steps: [{jq: {query: '.n + 1'}}, {jq: {query: '. * 10'}}]}",
			input:    `{"n":1}`, want: `{"a":20}`,
		},
		{
			name:     "branches see the vars before the step, and their own changes stay inside",
			branches: "        - {name: a, steps: [{set: mine, to: vars.tag}, {set: '{{ vars.tag }}'}]}\n        - {name: b, steps: [{set: '{{ vars.tag }}'}]}\n  - set: {branches: '{{ message }}', after: '{{ vars.tag }}'}",
			input:    `{}`, want: `{"branches":{"a":"mine","b":"start"},"after":"start"}`,
		},
		{
			name:     "a failing branch fails the step, naming its inner step",
			branches: "        - {name: ok, steps: [{set: 1}]}\n        - {name: bad, steps: [{name: lookup, throw: {status: 404, error: 'customer {{ message.id }} not found'}}]}",
			input:    `{"id":9}`, wantErr: "test: step lookup: 404: customer 9 not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - set: start\n    to: vars.tag\n  - parallel:\n      branches:\n"+tt.branches+"\n")
			got, err := run(t, p, tt.input)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestBranchesRunAtOnce: each branch waits until all three have started, so
// the step finishes only if they run concurrently.
func TestBranchesRunAtOnce(t *testing.T) {
	meetMu.Lock()
	meetN, meetOf, meetDone = 0, 3, make(chan struct{})
	meetMu.Unlock()
	p := enginetest.Load(t, "name: test\nsteps:\n  - parallel:\n      branches:\n        - {name: a, steps: [{test-meet: {}}, {set: a}]}\n        - {name: b, steps: [{test-meet: {}}, {set: b}]}\n        - {name: c, steps: [{test-meet: {}}, {set: c}]}\n")
	got, err := run(t, p, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if got != `{"a":"a","b":"b","c":"c"}` {
		t.Errorf("got %s", got)
	}
}

// TestFailureCancelsTheOthers: two branches wait for cancellation; the third
// fails. The step waits for every branch to end, so it returns only if the
// waiting branches (those that got as far as waiting) were cancelled; without
// cancellation this test hangs. The run has no deadline of its own, so only
// the failing branch can cancel them.
func TestFailureCancelsTheOthers(t *testing.T) {
	waitsStarted.Store(0)
	waitsCancelled.Store(0)
	p := enginetest.Load(t, `name: test
steps:
  - parallel:
      branches:
        - {name: slow1, steps: [{test-wait: {}}]}
        - {name: failing, steps: [{name: boom, throw: {status: 502, error: upstream down}}]}
        - {name: slow2, steps: [{test-wait: {}}, {set: never}]}
`)
	_, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "test: step boom: 502: upstream down") {
		t.Fatalf("got %v, want the failing branch's error", err)
	}
	if s, c := waitsStarted.Load(), waitsCancelled.Load(); s != c {
		t.Errorf("%d branches started waiting, %d were cancelled", s, c)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"no branches", "{branches: []}", "steps[0].parallel.branches: expected at least one branch"},
		{"duplicate name", "{branches: [{name: a, steps: [{set: 1}]}, {name: a, steps: [{set: 2}]}]}", `steps[0].parallel.branches: branch name "a" used twice`},
		{"branch without steps", "{branches: [{name: a}]}", `steps[0].parallel.branches[0]: missing required option "steps"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - parallel: "+tt.step+"\n", tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	enginetest.RunExample(t, ".", enginetest.Example{})
}

// Example computes two figures from one order at once; named branches give
// an object.
func Example() {
	p, err := engine.Load("figures.yaml", []byte(`
name: figures
steps:
  - parallel:
      branches:
        - name: units
          steps: [{jq: {query: "[.lines[].qty] | add"}}]
        - name: skus
          steps: [{set: "{{ map(message.lines, #.sku) }}"}]
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"lines":[{"sku":"X1","qty":2},{"sku":"Y9","qty":3}]}`)
	out, err := p.Run(context.Background(), nil, in, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"units":5,"skus":["X1","Y9"]}
}
