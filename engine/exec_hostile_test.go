package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestTraceRoomUnderConcurrentRuns: executions of one pipeline whose sizes
// vary wildly (1 record, 10,000, none, 64, 65…) run at once; each trace
// holds exactly its own records, in order, whatever room the last run left
// (go test -race checks the shared count).
func TestTraceRoomUnderConcurrentRuns(t *testing.T) {
	p := load(t, `name: t
steps:
  - for-each:
      items: message.items
      steps:
        - set: {b: 2}
  - set: {c: 3}
`)
	sizes := []int{1, 10000, 0, 1, 62, 63, 64, 65, 1, 3000, 2}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range sizes {
				n := sizes[(i+g*3)%len(sizes)]
				list := make([]any, n)
				for j := range list {
					list[j] = int64(j)
				}
				tr := &engine.Trace{}
				if _, err := p.Run(context.Background(), nil, value.ObjectOf("items", list), engine.RunOptions{Trace: tr}); err != nil {
					t.Error(err)
					return
				}
				if len(tr.Steps) != n+2 {
					t.Errorf("%d items: %d records, want %d", n, len(tr.Steps), n+2)
					return
				}
				for j, s := range tr.Steps {
					want := "steps[0].for-each.steps[0]"
					switch j {
					case n:
						want = "steps[0]"
					case n + 1:
						want = "steps[1]"
					}
					if s.Path != want || s.Outcome != "ok" || s.Duration < 0 {
						t.Errorf("%d items: record %d %s %s %v, want %s", n, j, s.Path, s.Outcome, s.Duration, want)
						return
					}
				}
				if cap(tr.Steps) > 2*(n+2)+64 {
					t.Errorf("%d items: room for %d records", n, cap(tr.Steps))
				}
			}
		}()
	}
	wg.Wait()
}

// TestStepNamedAfterNestedPanics: after a step panics deep inside a try, in
// its catch and in its finally, in a called pipeline and in parallel
// branches, every step still sees itself as the running step (interceptor,
// log lines), and the steps after see theirs.
func TestStepNamedAfterNestedPanics(t *testing.T) {
	lib := engine.NewLibrary(engine.LoadOptions{})
	lib.Add(load(t, `name: outer
steps:
  - try:
      steps:
        - try:
            steps:
              - test-panic: {}
            catch:
              - log: {message: c1}
              - test-panic: {}
            finally:
              - log: {message: f1}
              - try:
                  steps: [{test-panic: {}}]
                  finally: [{log: {message: f2}}]
              - log: {message: f3} # not run: the try before fails (no catch)
      catch:
        - log: {message: c2}
        - parallel:
            branches:
              - steps: [{log: {message: b1}}, {pipeline: {name: inner}}, {log: {message: b1end}}]
              - steps: [{try: {steps: [{test-panic: {}}], catch: [{log: {message: b2}}]}}]
        - log: {message: c3}
      finally:
        - log: {message: f4}
  - log: {message: last}
`))
	lib.Add(load(t, `name: inner
steps:
  - try:
      steps: [{test-panic: {}}]
      catch: [{log: {message: inner-catch}}]
  - log: {message: inner-last}
`))
	outer, _ := lib.Pipeline("outer")
	var mu sync.Mutex
	var seen []string
	rt := &engine.Runtime{Pipelines: lib, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Intercept: func(_ context.Context, x *engine.Exec, _ any) (any, error, bool) {
			mu.Lock()
			seen = append(seen, x.Step().Pipeline+"/"+x.Step().Path)
			mu.Unlock()
			return nil, nil, false
		}}
	tr := &engine.Trace{KeepIO: true}
	_, err := outer.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range tr.Logs {
		got[l.Message] = l.Step.Pipeline + "/" + l.Step.Path
	}
	want := map[string]string{
		"c1":          "outer/steps[0].try.steps[0].try.catch[0]",
		"f1":          "outer/steps[0].try.steps[0].try.finally[0]",
		"f2":          "outer/steps[0].try.steps[0].try.finally[1].try.finally[0]",
		"c2":          "outer/steps[0].try.catch[0]",
		"b1":          "outer/steps[0].try.catch[1].parallel.branches[0].steps[0]",
		"inner-catch": "inner/steps[0].try.catch[0]",
		"inner-last":  "inner/steps[1]",
		"b1end":       "outer/steps[0].try.catch[1].parallel.branches[0].steps[2]",
		"b2":          "outer/steps[0].try.catch[1].parallel.branches[1].steps[0].try.catch[0]",
		"c3":          "outer/steps[0].try.catch[2]",
		"f4":          "outer/steps[0].try.finally[0]",
		"last":        "outer/steps[1]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("log lines' steps\n%v\nwant\n%v", got, want)
	}
	// Every record's step was the running step when its connector ran.
	ran := map[string]int{}
	for _, s := range seen {
		ran[s]++
	}
	for _, s := range tr.Steps {
		if s.Outcome == "skipped" {
			continue
		}
		k := s.Pipeline + "/" + s.Path
		if ran[k] == 0 {
			t.Errorf("record of %s: its connector ran without being named (interceptor saw %s)", k, strings.Join(seen, " "))
		}
		ran[k]--
	}
}
