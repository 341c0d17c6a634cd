package server_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// forkyFiles fork an execution every way the shipped connectors do:
// parallel branches calling a pipeline that forks itself, a try whose catch
// runs a parallel, a parallel for-each whose items call the pipeline, log
// lines everywhere.
var forkyFiles = map[string]string{"forky.yaml": `
name: forky
trigger:
  http: {path: /forky}
steps:
  - set: {items: [1, 2, 3, 4, 5, 6]}
    to: vars.s
  - log: {message: before}
  - parallel:
      branches:
        - name: a
          steps:
            - log: {message: a}
            - pipeline: {name: sub}
        - name: b
          steps:
            - pipeline: {name: sub}
            - try:
                steps:
                  - throw: {error: boom}
                catch:
                  - parallel:
                      branches:
                        - steps: [{log: {message: c1}}, {set: {x: 1}}]
                        - steps: [{pipeline: {name: sub}}]
  - for-each:
      items: vars.s.items
      parallel: 3
      steps:
        - log: {message: item}
        - pipeline: {name: sub}
  - log: {message: after}
`, "sub.yaml": `
name: sub
steps:
  - log: {message: sub}
  - parallel:
      branches:
        - steps: [{set: {p: 1}}, {log: {message: p}}]
        - steps: [{set: {q: 1}}]
  - set: {done: true}
`}

// TestHistoryOfForkedExecution: the history record of an execution that
// forks (nested parallels, in called pipelines, in a catch, a parallel
// for-each) has every step run and log line, none lost or duplicated, each
// log line attributed to the step run that wrote it, and step times in
// order: nested steps inside their parent, none negative.
func TestHistoryOfForkedExecution(t *testing.T) {
	e := start(t, forkyFiles, func(o *server.Options) {
		o.History.Steps = true
		o.History.Snapshots = "all"
	})
	// sub: 3 steps + 2 + 1 in its branches + 1 log = 3+2+1 = 6 records.
	// forky: set, log, parallel, for-each, log = 5; branch a: log, pipeline
	// (+6); branch b: pipeline (+6), try, throw, parallel, log, set,
	// pipeline (+6); for-each: 6 × (log, pipeline (+6)).
	const sub = 6
	want := 5 + (2 + sub) + (1 + sub + 3 + 2 + 1 + sub) + 6*(2+sub)
	wantLogs := 2 + 1 + 1 + 6 + 9*2 // forky: before, after, a, c1, 6 items; sub: 2 a call, 9 calls
	var wg sync.WaitGroup
	hdrs := make(chan map[string][]string, 40)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				code, hdr, body := e.do(t, "POST", "/forky", "{}", nil)
				if code != 200 {
					t.Errorf("%d %s", code, body)
					return
				}
				hdrs <- hdr
			}
		}()
	}
	wg.Wait()
	close(hdrs)
	for hdr := range hdrs {
		rec := e.record(t, hdr)
		if len(rec.Steps) != want || len(rec.Logs) != wantLogs {
			t.Fatalf("%d records and %d log lines, want %d and %d", len(rec.Steps), len(rec.Logs), want, wantLogs)
		}
		counts := map[string]int{}
		for _, s := range rec.Steps {
			counts[s.Pipeline+"/"+s.Path+":"+s.Outcome]++
			if s.OffsetUS < 0 || s.DurationUS < 0 {
				t.Errorf("step %+v: negative time", s)
			}
		}
		keys := make([]string, 0, len(counts))
		for k, n := range counts {
			keys = append(keys, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(keys)
		got := strings.Join(keys, " ")
		wantCounts := "/steps[0]:ok=1 /steps[1]:ok=1 /steps[2].parallel.branches[0].steps[0]:ok=1 /steps[2].parallel.branches[0].steps[1]:ok=1 " +
			"/steps[2].parallel.branches[1].steps[0]:ok=1 /steps[2].parallel.branches[1].steps[1].try.catch[0].parallel.branches[0].steps[0]:ok=1 " +
			"/steps[2].parallel.branches[1].steps[1].try.catch[0].parallel.branches[0].steps[1]:ok=1 " +
			"/steps[2].parallel.branches[1].steps[1].try.catch[0].parallel.branches[1].steps[0]:ok=1 " +
			"/steps[2].parallel.branches[1].steps[1].try.catch[0]:ok=1 /steps[2].parallel.branches[1].steps[1].try.steps[0]:error=1 " +
			"/steps[2].parallel.branches[1].steps[1]:ok=1 /steps[2]:ok=1 /steps[3].for-each.steps[0]:ok=6 /steps[3].for-each.steps[1]:ok=6 " +
			"/steps[3]:ok=1 /steps[4]:ok=1 sub/steps[0]:ok=9 sub/steps[1].parallel.branches[0].steps[0]:ok=9 " +
			"sub/steps[1].parallel.branches[0].steps[1]:ok=9 sub/steps[1].parallel.branches[1].steps[0]:ok=9 sub/steps[1]:ok=9 sub/steps[2]:ok=9"
		if got != wantCounts {
			t.Errorf("records:\n%s\nwant\n%s", got, wantCounts)
		}
		for _, l := range rec.Logs {
			if l.Index < 0 || l.Index >= len(rec.Steps) || rec.Steps[l.Index].Step != l.Step || rec.Steps[l.Index].Connector != "log" {
				t.Errorf("log line %+v not attributed to the log step that wrote it", l)
			}
		}
		checkNesting(t, rec)
	}
}

// checkNesting: no time is negative or past the execution's end, and a
// step nested in another that ran once (by path, in the same pipeline) lies
// within it (a microsecond of slack: offsets and durations are each cut to
// whole microseconds).
func checkNesting(t *testing.T, rec *history.Record) {
	t.Helper()
	runs := map[string][]history.StepRecord{}
	for _, s := range rec.Steps {
		if s.OffsetUS < 0 || s.DurationUS < 0 {
			t.Errorf("%s/%s at %d for %d", s.Pipeline, s.Path, s.OffsetUS, s.DurationUS)
		}
		if end := s.OffsetUS + s.DurationUS; end > rec.End.Sub(rec.Start).Microseconds()+1 {
			t.Errorf("%s/%s ends at %dus, after the execution (%v)", s.Pipeline, s.Path, end, rec.End.Sub(rec.Start))
		}
		runs[s.Pipeline+"/"+s.Path] = append(runs[s.Pipeline+"/"+s.Path], s)
	}
	for _, s := range rec.Steps {
		for k, ps := range runs {
			if len(ps) != 1 || !strings.HasPrefix(s.Pipeline+"/"+s.Path, k+".") {
				continue
			}
			p := ps[0]
			if s.OffsetUS+1 < p.OffsetUS || s.OffsetUS+s.DurationUS > p.OffsetUS+p.DurationUS+1 {
				t.Errorf("%s/%s (%d for %d) outside %s (%d for %d)", s.Pipeline, s.Path, s.OffsetUS, s.DurationUS, k, p.OffsetUS, p.DurationUS)
			}
		}
	}
}
