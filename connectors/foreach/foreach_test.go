package foreach_test

import (
	"context"
	"fmt"
	"log/slog"
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

// barrier is a cyclic barrier: every n-th arrival releases the n waiting
// elements. It proves that n elements run at once, and records how many were
// in flight at most, to prove that no more than n do.
type barrier struct {
	mu       sync.Mutex
	n, count int
	ch       chan struct{}
	inflight int
	max      int
}

var gate *barrier

type barrierStep struct{}

func (barrierStep) Execute(ctx context.Context, _ *engine.Exec, in any) (any, error) {
	b := gate
	b.mu.Lock()
	b.inflight++
	b.max = max(b.max, b.inflight)
	b.count++
	ch := b.ch
	if b.count%b.n == 0 {
		close(b.ch)
		b.ch = make(chan struct{})
	}
	b.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.mu.Lock()
	b.inflight--
	b.mu.Unlock()
	return in, nil
}

func init() {
	engine.Register("test-barrier", "waits for the other elements", func(struct{}, *engine.Compiler) (engine.Step, error) { return barrierStep{}, nil })
}

// run runs a pipeline and returns its output and the log lines' messages.
func run(t *testing.T, p *engine.Pipeline, input string) (string, []string, error) {
	t.Helper()
	logger, log := enginetest.CaptureLog(slog.LevelInfo)
	// The deadline only keeps a broken barrier from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := enginetest.RunWith(ctx, t, p, &engine.Runtime{Logger: logger}, input, engine.RunOptions{ExecutionID: "exec-1"})
	return out, log.Messages(t), err
}

func TestForEach(t *testing.T) {
	tests := []struct {
		name, step, input, want, wantErr, wantLogs string
	}{
		{
			name:  "each element is the message of one run; results in order",
			step:  "for-each:\n      items: message.orders\n      steps:\n        - set: {id: '{{ message.id }}', total: '{{ message.qty * message.price }}'}",
			input: `{"orders":[{"id":"a","qty":2,"price":5},{"id":"b","qty":1,"price":3}]}`,
			want:  `{"total":2,"success":2,"failed":0,"results":[{"id":"a","total":10},{"id":"b","total":3}]}`,
		},
		{
			name:  "items defaults to the message",
			step:  "for-each:\n      steps: [{jq: {query: '. * 2'}}]",
			input: `[1,2,3]`, want: `{"total":3,"success":3,"failed":0,"results":[2,4,6]}`,
		},
		{
			name:  "vars.index is the element's position",
			step:  "for-each:\n      steps: [{set: '{{ vars.index }}:{{ message }}'}]",
			input: `["a","b","c"]`, want: `{"total":3,"success":3,"failed":0,"results":["0:a","1:b","2:c"]}`,
		},
		{
			name:  "a failing element gives its error object and the loop goes on",
			step:  "for-each:\n      steps:\n        - name: positive\n          assert: {that: message > 0, status: 422, error: 'bad {{ message }}'}\n        - log: {message: 'ok {{ message }}'}",
			input: `[1,-1,2]`, wantLogs: "ok 1|ok 2",
			want: `{"total":3,"success":2,"failed":1,"results":[1,{"error":"bad -1","code":422,"pipeline":"test","step":"positive","execution_id":"exec-1"},2]}`,
		},
		{
			name:  "stop_on_error fails the loop at the first failing element",
			step:  "for-each:\n      stop_on_error: true\n      steps:\n        - log: {message: 'start {{ message }}'}\n        - name: positive\n          assert: {that: message > 0, status: 422, error: 'bad {{ message }}'}",
			input: `[1,-1,2]`, wantErr: "test: step positive: 422: bad -1", wantLogs: "start 1|start -1",
		},
		{
			name:  "vars set in an element do not leak into the next one or after the loop",
			step:  "for-each:\n      steps:\n        - {set: '{{ vars.seen }}'}\n        - {set: x, to: vars.seen}\n  - set: {results: '{{ message.results }}', seen: '{{ vars.seen }}'}",
			input: `[1,2]`, want: `{"results":[null,null],"seen":null}`,
		},
		{
			name:  "an empty list runs nothing",
			step:  "for-each:\n      steps: [{log: {message: never}}]",
			input: `[]`, want: `{"total":0,"success":0,"failed":0,"results":[]}`,
		},
		{
			name:  "null items run nothing",
			step:  "for-each:\n      items: message.missing\n      steps: [{log: {message: never}}]",
			input: `{}`, want: `{"total":0,"success":0,"failed":0,"results":[]}`,
		},
		{
			name:  "items that are not a list fail the step",
			step:  "for-each:\n      items: message.x\n      steps: [{log: {message: never}}]",
			input: `{"x":{"a":1}}`, wantErr: "test: step for-each#1: 500: for-each: items gave an object, expected a list",
		},
		{
			name:  "items from an expression",
			step:  "for-each:\n      items: 'filter(message.xs, # % 2 == 0)'\n      steps: [{jq: {query: '. + 1'}}]",
			input: `{"xs":[1,2,3,4]}`, want: `{"total":2,"success":2,"failed":0,"results":[3,5]}`,
		},
		{
			name:  "nested loops with their own index_var",
			step:  "for-each:\n      index_var: row\n      steps:\n        - for-each:\n            index_var: col\n            steps: [{set: '{{ vars.row }}.{{ vars.col }}'}]\n        - set: '{{ message.results }}'",
			input: `[[1,2],[3]]`, want: `{"total":2,"success":2,"failed":0,"results":[["0.0","0.1"],["1.0"]]}`,
		},
		{
			name:  "nested loops",
			step:  "for-each:\n      steps:\n        - for-each:\n            steps: [{set: '{{ message * 10 }}'}]\n        - set: '{{ message.results }}'",
			input: `[[1,2],[3]]`, want: `{"total":2,"success":2,"failed":0,"results":[[10,20],[30]]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - "+tt.step+"\n")
			got, logs, err := run(t, p, tt.input)
			if err == nil {
				got = dropTimestamps(t, got)
			}
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
			if g := strings.Join(logs, "|"); g != tt.wantLogs {
				t.Errorf("got log lines %q, want %q", g, tt.wantLogs)
			}
		})
	}
}

// dropTimestamps removes the timestamp of error objects among the results.
func dropTimestamps(t *testing.T, s string) string {
	v := enginetest.Decode(t, s)
	o, ok := v.(*value.Object)
	if !ok {
		return s
	}
	rs, _ := o.Get("results")
	list, _ := rs.([]any)
	for _, r := range list {
		if ro, ok := r.(*value.Object); ok {
			ro.Delete("timestamp")
		}
	}
	return value.MustEncodeString(v)
}

// TestParallelKeepsOrder runs 12 elements 4 at a time: the barrier only lets
// them through in groups of 4 (so 4 really run at once), no more than 4 are
// ever in flight, and the results come back in input order.
func TestParallelKeepsOrder(t *testing.T) {
	gate = &barrier{n: 4, ch: make(chan struct{})}
	p := enginetest.Load(t, "name: test\nsteps:\n  - for-each:\n      parallel: 4\n      steps:\n        - test-barrier: {}\n        - set: '{{ vars.index }}-{{ message }}'\n")
	got, _, err := run(t, p, `["a","b","c","d","e","f","g","h","i","j","k","l"]`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"total":12,"success":12,"failed":0,"results":["0-a","1-b","2-c","3-d","4-e","5-f","6-g","7-h","8-i","9-j","10-k","11-l"]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if gate.max > 4 {
		t.Errorf("%d elements ran at once, parallel is 4", gate.max)
	}
}

// TestParallelStopOnError: the failing element's error fails the loop, and
// the elements still waiting are cancelled instead of left running.
// started counts the elements that reached a test-started step.
var started atomic.Int64

type startedStep struct{}

func (startedStep) Execute(_ context.Context, _ *engine.Exec, in any) (any, error) {
	started.Add(1)
	return in, nil
}

func init() {
	engine.Register("test-started", "counts the elements that reach it", func(struct{}, *engine.Compiler) (engine.Step, error) { return startedStep{}, nil })
}

// TestParallelStopOnError checks that the first error fails the step,
// cancels the elements running ("a" holds one slot until it is cancelled)
// and starts none of those waiting for a slot ("c" and "d" must not run
// their steps).
func TestParallelStopOnError(t *testing.T) {
	gate = &barrier{n: 1000, ch: make(chan struct{})} // never released: only cancellation ends a wait
	started.Store(0)
	p := enginetest.Load(t, `name: test
steps:
  - for-each:
      parallel: 2
      stop_on_error: true
      steps:
        - choice:
            - when: message == "a"
              steps: [{test-barrier: {}}]
            - when: message == "bad"
              steps: [{name: reject, throw: {status: 422, error: "rejected {{ vars.index }}"}}]
            - otherwise:
                - test-started: {}
`)
	_, _, err := run(t, p, `["a","bad","c","d"]`)
	if err == nil || !strings.Contains(err.Error(), "test: step reject: 422: rejected 1") {
		t.Fatalf("got %v, want the failing element's error", err)
	}
	if n := started.Load(); n != 0 {
		t.Fatalf("%d element(s) started after the error", n)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"parallel 0", "{parallel: 0, steps: [{set: a}]}", "steps[0].for-each.parallel: expected a number from 1 to 1000, got 0"},
		{"no steps", "{items: message}", `steps[0].for-each: missing required option "steps"`},
		{"items in braces compile", "{items: '{{ message.xs }}', steps: [{set: a}]}", ""},
		{"bad items", "{items: 'message.', steps: [{set: a}]}", "steps[0].for-each.items:"},
		{"index_var not a name", "{index_var: 1x, steps: [{set: a}]}", `steps[0].for-each.index_var: expected a variable name (letters, digits and _), got "1x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: test\nsteps:\n  - for-each: " + tt.step + "\n"
			if tt.want == "" {
				enginetest.Load(t, src)
				return
			}
			enginetest.WantLoadError(t, "test.yaml", src, tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	logger, _ := enginetest.CaptureLog(slog.LevelInfo)
	enginetest.RunExample(t, ".", enginetest.Example{Runtime: &engine.Runtime{Logger: logger}})
}

// Example prices the lines of an order two at a time; the summary counts the
// line that failed, whose result is its error object.
func Example() {
	p, err := engine.Load("lines.yaml", []byte(`
name: lines
steps:
  - for-each:
      items: message.lines
      parallel: 2
      steps:
        - assert: {that: message.qty > 0, status: 422, error: "line {{ vars.index }}: qty must be positive"}
        - set: "{{ message.qty * message.price }}"
  - set:
      ok: "{{ message.success }}"
      failed: "{{ message.failed }}"
      amounts: "{{ map(message.results, type(#) == 'object' ? #.error : #) }}"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"lines":[{"qty":2,"price":5},{"qty":0,"price":9},{"qty":1,"price":7}]}`)
	out, err := p.Run(context.Background(), nil, in, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"ok":2,"failed":1,"amounts":[10,"line 1: qty must be positive",7]}
}
