package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"

	_ "github.com/nectar-run/nectar/connectors/all"
)

// panicky is a connector that panics, to prove a panic fails one execution only.
type panicky struct{}

func (panicky) Execute(context.Context, *engine.Exec, any) (any, error) { panic("boom") }

// sleepy waits for its duration or the context. With swallow, it reports the
// end of the context as a 500 without wrapping it, as a careless connector would.
type sleepy struct {
	d       time.Duration
	swallow bool
}

func (s sleepy) Execute(ctx context.Context, _ *engine.Exec, in any) (any, error) {
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		if s.swallow {
			return nil, engine.NewError(500, "sleep: %v", ctx.Err())
		}
		return nil, ctx.Err()
	case <-t.C:
		return in, nil
	}
}

// flaky fails until its counter reaches n; the counter lives in vars.
type flaky struct{ n int64 }

func (f flaky) Execute(_ context.Context, x *engine.Exec, in any) (any, error) {
	c, _ := x.Vars.Get("tries")
	n, _ := value.ToInt(c)
	x.Vars.Set("tries", n+1)
	if n+1 < f.n {
		return nil, engine.NewError(503, "not yet (try %d)", n+1)
	}
	return value.ObjectOf("tries", n+1), nil
}

type testConfig struct {
	Sleep   engine.Duration `yaml:"sleep"`
	Swallow bool            `yaml:"swallow"`
	Until   int64           `yaml:"until"`
}

func init() {
	engine.Register("test-panic", "panics", func(testConfig, *engine.Compiler) (engine.Step, error) { return panicky{}, nil })
	engine.Register("test-sleep", "sleeps", func(c testConfig, _ *engine.Compiler) (engine.Step, error) {
		return sleepy{c.Sleep.D(), c.Swallow}, nil
	})
	engine.Register("test-flaky", "fails until", func(c testConfig, _ *engine.Compiler) (engine.Step, error) { return flaky{c.Until}, nil })
}

func load(t testing.TB, src string) *engine.Pipeline {
	t.Helper()
	p, err := engine.Load("test.yaml", []byte(src), engine.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func run(t testing.TB, p *engine.Pipeline, input string) (string, error) {
	t.Helper()
	in, err := value.DecodeString(input)
	if err != nil {
		t.Fatal(err)
	}
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(p)
	out, err := p.Run(context.Background(), &engine.Runtime{Pipelines: lib}, in, engine.RunOptions{})
	if err != nil {
		return "", err
	}
	return value.MustEncodeString(out), nil
}

func TestRun(t *testing.T) {
	tests := []struct {
		name, pipeline, input, want, wantErr string
	}{
		{
			name: "the acceptance example greets",
			pipeline: `
name: greet
globals: {greeting: Hello}
steps:
  - name: require a name
    assert: {that: 'message.name != nil && message.name != ""', status: 400, error: name is required}
  - set: {text: "{{ globals.greeting }}, {{ message.name }}!", length: "{{ len(message.name) }}"}
  - choice:
      - when: message.length > 40
        steps: [{throw: {status: 422, error: name too long}}]
      - otherwise:
          - log: {message: "greeted"}
`,
			input: `{"name":"Ada"}`, want: `{"text":"Hello, Ada!","length":3}`,
		},
		{
			name:     "assert failure carries status and message",
			pipeline: "name: a\nsteps:\n  - assert: {that: message.n > 1, status: 422, error: 'n must be above 1, got {{ message.n }}'}\n",
			input:    `{"n":0}`, wantErr: "422: n must be above 1, got 0",
		},
		{
			name:     "missing field is false, not a panic",
			pipeline: "name: a\nsteps:\n  - assert: {that: message.n > 1}\n",
			input:    `{}`, wantErr: "400: assertion failed: message.n > 1",
		},
		{
			name:     "if skips a step",
			pipeline: "name: a\nsteps:\n  - if: message.go\n    set: {went: true}\n",
			input:    `{"go":false}`, want: `{"go":false}`,
		},
		{
			name:     "to vars keeps the message",
			pipeline: "name: a\nsteps:\n  - set: {x: 1}\n    to: vars.saved\n  - set: {msg: '{{ message.a }}', saved: '{{ vars.saved.x }}'}\n",
			input:    `{"a":"kept"}`, want: `{"msg":"kept","saved":1}`,
		},
		{
			name:     "to message path merges the result",
			pipeline: "name: a\nsteps:\n  - set: {id: 7}\n    to: message.customer.ref\n",
			input:    `{"a":1,"customer":{"name":"x"}}`, want: `{"a":1,"customer":{"name":"x","ref":{"id":7}}}`,
		},
		{
			name:     "from picks the input",
			pipeline: "name: a\nsteps:\n  - jq: {query: '.+1'}\n    from: message.n\n",
			input:    `{"n":41}`, want: `42`,
		},
		{
			name:     "on_error continue gives the error object",
			pipeline: "name: a\nsteps:\n  - name: boom\n    throw: {status: 409, error: conflict}\n    on_error: continue\n  - set: {code: '{{ message.code }}', error: '{{ message.error }}', step: '{{ message.step }}'}\n",
			input:    `{}`, want: `{"code":409,"error":"conflict","step":"boom"}`,
		},
		{
			name:     "a panicking connector fails the execution only",
			pipeline: "name: a\nsteps:\n  - test-panic: {}\n",
			input:    `{}`, wantErr: "500: connector test-panic failed unexpectedly: boom",
		},
		{
			name:     "step timeout gives 504",
			pipeline: "name: a\nsteps:\n  - test-sleep: {sleep: 1m}\n    timeout: 10ms\n",
			input:    `{}`, wantErr: "504: step timed out after 10ms",
		},
		{
			name:     "step timeout gives 504 whatever the connector made of it",
			pipeline: "name: a\nsteps:\n  - test-sleep: {sleep: 1m, swallow: true}\n    timeout: 10ms\n",
			input:    `{}`, wantErr: "504: step timed out after 10ms",
		},
		{
			name:     "pipeline timeout gives 504 whatever the connector made of it",
			pipeline: "name: a\ntimeout: 10ms\nsteps:\n  - test-sleep: {sleep: 1m, swallow: true}\n",
			input:    `{}`, wantErr: "a: step test-sleep#1: 504: execution timed out",
		},
		{
			name:     "pipeline timeout within a longer step timeout",
			pipeline: "name: a\ntimeout: 10ms\nsteps:\n  - test-sleep: {sleep: 1m}\n    timeout: 1m\n",
			input:    `{}`, wantErr: "504: execution timed out",
		},
		{
			name:     "pipeline timeout names the innermost step",
			pipeline: "name: a\ntimeout: 10ms\nsteps:\n  - do-while:\n      until: 'true'\n      steps: [{name: nap, test-sleep: {sleep: 1m, swallow: true}}]\n",
			input:    `{}`, wantErr: "step nap: 504: execution timed out",
		},
		{
			name:     "retry runs again until success",
			pipeline: "name: a\nsteps:\n  - test-flaky: {until: 3}\n    retry: {attempts: 3, backoff: 1ms}\n",
			input:    `{}`, want: `{"tries":3}`,
		},
		{
			name:     "retry gives up after attempts",
			pipeline: "name: a\nsteps:\n  - test-flaky: {until: 5}\n    retry: {attempts: 2, backoff: 1ms}\n",
			input:    `{}`, wantErr: "503: not yet (try 2)",
		},
		{
			name:     "retry only for listed codes",
			pipeline: "name: a\nsteps:\n  - test-flaky: {until: 2}\n    retry: {attempts: 3, backoff: 1ms, codes: [500]}\n",
			input:    `{}`, wantErr: "503: not yet (try 1)",
		},
		{
			name:     "try catches and finally runs",
			pipeline: "name: a\nsteps:\n  - try:\n      steps: [{throw: {status: 418, error: teapot}}]\n      catch: [{set: {caught: '{{ message.error }}', code: '{{ message.code }}'}}]\n      finally: [{set: {ignored: true}}]\n",
			input:    `{}`, want: `{"caught":"teapot","code":418}`,
		},
		{
			name:     "for-each keeps input order and counts failures",
			pipeline: "name: a\nsteps:\n  - for-each:\n      items: message.xs\n      parallel: 4\n      steps:\n        - assert: {that: message != 2, status: 422}\n        - jq: {query: '. * 10'}\n  - set: {t: '{{ message.total }}', f: '{{ message.failed }}', first: '{{ message.results[0] }}', last: '{{ message.results[3] }}', err: '{{ message.results[1].code }}'}\n",
			input:    `{"xs":[1,2,3,4]}`, want: `{"t":4,"f":1,"first":10,"last":40,"err":422}`,
		},
		{
			name:     "for-each over a non-list is an error",
			pipeline: "name: a\nsteps:\n  - for-each: {items: message.x, steps: [{log: {message: x}}]}\n",
			input:    `{"x":{"a":1}}`, wantErr: "for-each: items gave an object, expected a list",
		},
		{
			name:     "do-while accumulates until the condition",
			pipeline: "name: a\nsteps:\n  - do-while:\n      until: message.n >= 5\n      steps: [{set: {n: '{{ message.n + 1 }}'}}]\n",
			input:    `{"n":0}`, want: `{"n":5}`,
		},
		{
			name:     "parallel collects named branches",
			pipeline: "name: a\nsteps:\n  - parallel:\n      branches:\n        - {name: double, steps: [{jq: {query: '.n * 2'}}]}\n        - {name: same, steps: [{jq: {query: '.n'}}]}\n",
			input:    `{"n":21}`, want: `{"double":42,"same":21}`,
		},
		{
			name:     "a pipeline calling itself forever stops",
			pipeline: "name: loop\nsteps:\n  - pipeline: {name: loop}\n",
			input:    `{}`, wantErr: "508: pipeline call depth exceeded",
		},
		{
			name:     "runtime expression errors name the step and expression",
			pipeline: "name: a\nsteps:\n  - name: add\n    set: {x: '{{ message.a + message.b }}'}\n",
			input:    `{"a":{},"b":1}`, wantErr: "a: step add: 500: evaluating \"message.a + message.b\"",
		},
		{
			name:     "integers survive exactly",
			pipeline: "name: a\nsteps:\n  - set: {id: '{{ message.id }}', ms: 3600000, f: 1.5}\n",
			input:    `{"id":9223372036854775807}`, want: `{"id":9223372036854775807,"ms":3600000,"f":1.5}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.pipeline)
			got, err := run(t, p, tt.input)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				var e *engine.Error
				if !errors.As(err, &e) || e.ExecutionID == "" || e.Pipeline == "" {
					t.Fatalf("error is not a filled *engine.Error: %#v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrorObject(t *testing.T) {
	p := load(t, "name: e\nsteps:\n  - name: fail here\n    throw: {status: 409, error: taken}\n")
	_, err := run(t, p, `{}`)
	obj := engine.AsError(err).Object()
	for _, k := range []string{"timestamp", "error", "code", "pipeline", "step", "execution_id"} {
		if !obj.Has(k) {
			t.Errorf("error object lacks %q: %s", k, value.MustEncodeString(obj))
		}
	}
	if got := obj.Keys()[:3]; strings.Join(got, ",") != "timestamp,error,code" {
		t.Errorf("key order %v", got)
	}
}

func TestCustomErrorObject(t *testing.T) {
	p := load(t, "name: e\nsteps:\n  - throw: {object: {error: 'bad {{ message.id }}', code: 422, field: id}}\n")
	_, err := run(t, p, `{"id":"x1"}`)
	e := engine.AsError(err)
	if e.Code != 422 || e.Message != "bad x1" {
		t.Fatalf("got %v", e)
	}
	if f, _ := e.Object().Get("field"); f != "id" {
		t.Errorf("custom field lost: %s", value.MustEncodeString(e.Object()))
	}
}

func TestCancellationReachesSteps(t *testing.T) {
	p := load(t, "name: c\nsteps:\n  - test-sleep: {sleep: 1m}\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, nil, value.NewObject(0), engine.RunOptions{})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled run succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancellation did not reach the step")
	}
}

func TestTrace(t *testing.T) {
	p := load(t, "name: t\nsteps:\n  - name: one\n    set: {a: 1}\n  - name: two\n    if: 'false'\n    set: {b: 2}\n  - name: three\n    throw: {error: x}\n    on_error: continue\n")
	tr := &engine.Trace{}
	if _, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range tr.Steps {
		got = append(got, s.Step+":"+s.Connector+":"+s.Outcome)
	}
	want := "one:set:ok two:set:skipped three:throw:continued"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

// TestTraceTimesFollowEachOther: in a list of steps, a step's record starts
// where the one before ended (one clock reading between two steps), a
// skipped step takes no time, and a nested step runs inside its parent.
func TestTraceTimesFollowEachOther(t *testing.T) {
	p := load(t, `name: t
steps:
  - set: {a: 1}
  - if: 'false'
    set: {b: 2}
  - try:
      steps:
        - test-sleep: {sleep: 1ms}
        - set: {c: 3}
      catch:
        - set: {d: 4}
  - set: {e: 5}
`)
	tr := &engine.Trace{}
	if _, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	rec := map[string]engine.StepRecord{}
	for _, s := range tr.Steps {
		rec[s.Path] = s
	}
	end := func(path string) time.Time { return rec[path].Start.Add(rec[path].Duration) }
	if r := rec["steps[1]"]; r.Outcome != "skipped" || r.Duration != 0 || !r.Start.Equal(end("steps[0]")) {
		t.Errorf("skipped step: %+v, want it at the end of steps[0] (%v) and no time long", r, end("steps[0]"))
	}
	if !rec["steps[2]"].Start.Equal(end("steps[1]")) || !rec["steps[3]"].Start.Equal(end("steps[2]")) {
		t.Errorf("steps[2] starts %v, steps[1] ends %v; steps[3] starts %v, steps[2] ends %v",
			rec["steps[2]"].Start, end("steps[1]"), rec["steps[3]"].Start, end("steps[2]"))
	}
	inner, second := rec["steps[2].try.steps[0]"], rec["steps[2].try.steps[1]"]
	if inner.Start.Before(rec["steps[2]"].Start) || end("steps[2].try.steps[1]").After(end("steps[2]")) || !second.Start.Equal(end("steps[2].try.steps[0]")) {
		t.Errorf("nested steps %+v %+v outside their try %+v", inner, second, rec["steps[2]"])
	}
	if inner.Duration < time.Millisecond {
		t.Errorf("the sleeping step took %v", inner.Duration)
	}
}

// TestTraceTimesReadTheClock: a traced execution times its steps from one
// full clock reading (its start) and the monotonic clock after it. The
// times it records must be the clock's: the first step starts with the
// execution, every step (of the pipeline and of the one it calls) lies
// between readings of time.Now taken before and after the run, in the
// order they ran, a called pipeline's steps inside the step that called it,
// a log line inside its step, and a sleeping step lasts its sleep; the
// wall clock readings agree too (within a second, for a clock adjusted
// during the test).
func TestTraceTimesReadTheClock(t *testing.T) {
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(load(t, `name: outer
steps:
  - set: {a: 1}
  - pipeline: {name: inner}
  - set: {b: 2}
`))
	lib.Add(load(t, `name: inner
steps:
  - test-sleep: {sleep: 2ms}
  - log: {message: inside}
  - if: 'false'
    set: {c: 3}
`))
	outer, _ := lib.Pipeline("outer")
	tr := &engine.Trace{KeepIO: true}
	before := time.Now()
	rt := &engine.Runtime{Pipelines: lib, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := outer.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	rec := map[string]engine.StepRecord{}
	var order []string
	for _, s := range tr.Steps {
		rec[s.Pipeline+"/"+s.Path] = s
		order = append(order, s.Pipeline+"/"+s.Path)
	}
	// A step is recorded when it ends: the call after the steps it ran.
	want := "outer/steps[0] inner/steps[0] inner/steps[1] inner/steps[2] outer/steps[1] outer/steps[2]"
	if strings.Join(order, " ") != want {
		t.Fatalf("records %v, want %s", order, want)
	}
	end := func(r engine.StepRecord) time.Time { return r.Start.Add(r.Duration) }
	wall := func(a, b time.Time) time.Duration { return a.Round(0).Sub(b.Round(0)) }
	for _, k := range order {
		r := rec[k]
		if r.Start.Before(before) || end(r).After(after) || r.Duration < 0 {
			t.Errorf("%s: %v for %v, outside the run (%v to %v)", k, r.Start, r.Duration, before, after)
		}
		if d := wall(r.Start, before); d < -time.Second || wall(r.Start, after) > time.Second {
			t.Errorf("%s: wall clock %v, not between %v and %v", k, r.Start.Round(0), before.Round(0), after.Round(0))
		}
	}
	for _, list := range [][]string{{"outer/steps[0]", "outer/steps[1]", "outer/steps[2]"}, {"inner/steps[0]", "inner/steps[1]", "inner/steps[2]"}} {
		for i := 1; i < len(list); i++ {
			if a, b := rec[list[i-1]], rec[list[i]]; !b.Start.Equal(end(a)) {
				t.Errorf("%s starts at %v, not where %s ends (%v)", list[i], b.Start, list[i-1], end(a))
			}
		}
	}
	call := rec["outer/steps[1]"]
	for _, k := range []string{"inner/steps[0]", "inner/steps[1]", "inner/steps[2]"} {
		if r := rec[k]; r.Start.Before(call.Start) || end(r).After(end(call)) {
			t.Errorf("%s (%v for %v) outside the step that called it (%v for %v)", k, r.Start, r.Duration, call.Start, call.Duration)
		}
	}
	if r := rec["inner/steps[0]"]; r.Duration < 2*time.Millisecond {
		t.Errorf("the sleeping step took %v", r.Duration)
	}
	if len(tr.Logs) != 1 {
		t.Fatalf("logs %+v, want one line", tr.Logs)
	}
	if l, r := tr.Logs[0], rec["inner/steps[1]"]; l.Time.Before(r.Start) || l.Time.After(end(r)) {
		t.Errorf("log line at %v, outside its step (%v for %v)", l.Time, r.Start, r.Duration)
	}
}

// TestTraceRoomFollowsTheLastRun: a traced execution starts its records
// with room for as many as the pipeline's last traced execution made (at
// most 64); one
// that makes more (a longer loop) still records every step, in order, and
// the next one starts with room for those. The records are the same
// whatever room the trace started with.
func TestTraceRoomFollowsTheLastRun(t *testing.T) {
	p := load(t, `name: t
steps:
  - set: {a: 1}
    to: vars.a
  - for-each:
      items: message.items
      steps:
        - set: {b: 2}
  - set: {c: 3}
`)
	runWith := func(items int) *engine.Trace {
		t.Helper()
		list := make([]any, items)
		for i := range list {
			list[i] = int64(i)
		}
		tr := &engine.Trace{}
		if _, err := p.Run(context.Background(), nil, value.ObjectOf("items", list), engine.RunOptions{Trace: tr}); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	paths := func(tr *engine.Trace) string {
		var got []string
		for _, s := range tr.Steps {
			got = append(got, s.Path+":"+s.Outcome)
		}
		return strings.Join(got, " ")
	}
	want := func(items int) string {
		got := []string{"steps[0]:ok"}
		for range items {
			got = append(got, "steps[1].for-each.steps[0]:ok")
		}
		return strings.Join(append(got, "steps[1]:ok", "steps[2]:ok"), " ")
	}
	last := -1
	for _, items := range []int{1, 1, 40, 40, 0, 3, 1000, 1, 3} {
		tr := runWith(items)
		if got := paths(tr); got != want(items) {
			t.Fatalf("%d items: records %s, want %s", items, got, want(items))
		}
		// Room for the last run's records, up to 64: a run after a long
		// loop does not start with room for all of its records.
		if room := min(last, 64); last > 0 && len(tr.Steps) <= room && cap(tr.Steps) != room {
			t.Errorf("%d items: room for %d records, want %d (the last run's %d, at most 64)", items, cap(tr.Steps), room, last)
		}
		last = len(tr.Steps)
	}
}

// TestTraceReset: a trace reused after Reset records the next execution's
// steps alone, starting with the room the last one's took (up to 64
// records: a trace of a long loop gives its room up), and keeps KeepIO.
func TestTraceReset(t *testing.T) {
	p := load(t, `name: t
steps:
  - for-each:
      items: message.items
      parallel: 2
      steps:
        - log: {message: "{{ message }}"}
`)
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tr := &engine.Trace{KeepIO: true}
	for _, items := range []int{3, 40, 0, 1000, 2, 5} {
		list := make([]any, items)
		for i := range list {
			list[i] = int64(i)
		}
		room := cap(tr.Steps)
		if _, err := p.Run(context.Background(), rt, value.ObjectOf("items", list), engine.RunOptions{Trace: tr}); err != nil {
			t.Fatal(err)
		}
		if len(tr.Steps) != items+1 || len(tr.Logs) != items {
			t.Fatalf("%d items: %d records and %d log lines, want %d and %d", items, len(tr.Steps), len(tr.Logs), items+1, items)
		}
		seen := map[int64]bool{}
		for _, l := range tr.Logs {
			n, err := strconv.ParseInt(l.Message, 10, 64)
			if err != nil || n >= int64(items) || seen[n] {
				t.Fatalf("%d items: log line %q is not one of this run's items, once", items, l.Message)
			}
			seen[n] = true
		}
		if room > 0 && items+1 <= room && cap(tr.Steps) != room {
			t.Errorf("%d items: the reset trace's room for %d records was not used (now %d)", items, room, cap(tr.Steps))
		}
		tr.Reset()
		if len(tr.Steps) != 0 || len(tr.Logs) != 0 || !tr.KeepIO {
			t.Fatalf("after Reset: %d records, %d log lines, KeepIO %v", len(tr.Steps), len(tr.Logs), tr.KeepIO)
		}
		if items+1 > 64 && (cap(tr.Steps) != 0 || cap(tr.Logs) != 0) {
			t.Errorf("after a run of %d records, Reset kept room for %d records and %d lines, want none", items+1, cap(tr.Steps), cap(tr.Logs))
		}
		for _, r := range tr.Steps[:cap(tr.Steps)] {
			if r.StepInfo != nil || r.Input != nil || r.Result != nil {
				t.Fatalf("after Reset a record's room still points at %v", r.StepInfo)
			}
		}
	}
}

// TestTraceOfParallelBranches: an execution's steps append to its trace
// without a lock until it forks; from the fork on (parallel branches, a
// parallel for-each) every append locks it. Steps before, inside and after
// the branches, and the lines they log, are all recorded (go test -race
// reports an append that did not lock).
func TestTraceOfParallelBranches(t *testing.T) {
	p := load(t, `name: t
steps:
  - set: {items: [1, 2, 3, 4, 5, 6, 7, 8]}
  - log: {message: before}
  - parallel:
      branches:
        - name: a
          steps: [{log: {message: a}}, {set: {a: 1}}, {set: {a: 2}}]
        - name: b
          steps: [{log: {message: b}}, {set: {b: 1}}, {set: {b: 2}}]
        - name: c
          steps: [{log: {message: c}}, {set: {c: 1}}, {set: {c: 2}}]
  - set: {items: [1, 2, 3, 4, 5, 6, 7, 8]}
  - for-each:
      items: message.items
      parallel: 4
      steps: [{log: {message: item}}, {set: {x: 1}}]
  - log: {message: after}
`)
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for range 20 {
		tr := &engine.Trace{KeepIO: true}
		if _, err := p.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Trace: tr}); err != nil {
			t.Fatal(err)
		}
		// 6 steps, 3 branches of 3, 8 items of 2.
		if want := 6 + 3*3 + 8*2; len(tr.Steps) != want {
			t.Fatalf("%d records, want %d", len(tr.Steps), want)
		}
		if want := 2 + 3 + 8; len(tr.Logs) != want {
			t.Fatalf("%d log lines, want %d", len(tr.Logs), want)
		}
		if s := tr.Steps[0]; s.Path != "steps[0]" || tr.Steps[len(tr.Steps)-1].Path != "steps[5]" {
			t.Errorf("records from %s to %s, want steps[0] to steps[5]", s.Path, tr.Steps[len(tr.Steps)-1].Path)
		}
	}
}

// TestStepNamedWhileItRuns: x.Step() names the step whose connector runs
// (what an interceptor and the log connector see), inside nested lists,
// after a nested step panicked, and in a called pipeline; between steps it
// is the step running the list, or none at the top.
func TestStepNamedWhileItRuns(t *testing.T) {
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(load(t, `name: outer
steps:
  - if: 'true'
    log: {message: first}
  - try:
      steps:
        - log: {message: in try}
        - test-panic: {}
      catch:
        - log: {message: in catch}
  - pipeline: {name: inner}
  - log: {message: last}
`))
	lib.Add(load(t, "name: inner\nsteps:\n  - log: {message: called}\n"))
	outer, _ := lib.Pipeline("outer")
	var seen []string
	rt := &engine.Runtime{Pipelines: lib, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Intercept: func(_ context.Context, x *engine.Exec, _ any) (any, error, bool) {
			seen = append(seen, x.Step().Pipeline+"/"+x.Step().Path)
			return nil, nil, false
		}}
	tr := &engine.Trace{KeepIO: true}
	if _, err := outer.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	want := "outer/steps[0] outer/steps[1] outer/steps[1].try.steps[0] outer/steps[1].try.steps[1] outer/steps[1].try.catch[0] outer/steps[2] inner/steps[0] outer/steps[3]"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("interceptor saw %s\nwant %s", got, want)
	}
	var lines []string
	for _, l := range tr.Logs {
		lines = append(lines, l.Message+"@"+l.Step.Pipeline+"/"+l.Step.Path)
	}
	want = "first@outer/steps[0] in try@outer/steps[1].try.steps[0] in catch@outer/steps[1].try.catch[0] called@inner/steps[0] last@outer/steps[3]"
	if got := strings.Join(lines, " "); got != want {
		t.Errorf("log lines %s\nwant %s", got, want)
	}
}

func TestCalledPipelineKeepsItsTimeout(t *testing.T) {
	inner := load(t, "name: inner\ntimeout: 20ms\nsteps:\n  - test-sleep: {sleep: 1m}\n")
	outer := load(t, "name: outer\nsteps:\n  - pipeline: {name: inner}\n")
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(inner)
	lib.Add(outer)
	_, err := outer.Run(context.Background(), &engine.Runtime{Pipelines: lib}, value.NewObject(0), engine.RunOptions{})
	if e := engine.AsError(err); e == nil || e.Code != 504 || e.Pipeline != "inner" {
		t.Fatalf("got %v, want a 504 from inner", err)
	}
}
