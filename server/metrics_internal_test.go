package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
)

// stepCounts reads nectar_step_duration_seconds' sample counts by
// pipeline/connector from reg.
func stepCounts(t *testing.T, reg *prometheus.Registry) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "nectar_step_duration_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			var p, c string
			for _, l := range m.Label {
				switch l.GetName() {
				case "pipeline":
					p = l.GetValue()
				case "connector":
					c = l.GetValue()
				}
			}
			out[p+"/"+c] = m.Histogram.GetSampleCount()
		}
	}
	return out
}

func tracedExecution(infos []*engine.StepInfo, outcomes ...string) *history.Execution {
	tr := &engine.Trace{}
	for i, info := range infos {
		o := "ok"
		if i < len(outcomes) {
			o = outcomes[i]
		}
		tr.Steps = append(tr.Steps, engine.StepRecord{StepInfo: info, Duration: time.Millisecond, Outcome: o})
	}
	return &history.Execution{Pipeline: &engine.Pipeline{}, Trace: tr}
}

// Steps count under their pipeline and connector whatever StepInfo stands
// for them: a reload makes new ones for the same series, and the cache by
// step keeps at most maxStepObs of them.
func TestObserveStepSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	a := &engine.StepInfo{Pipeline: "p", Connector: "assert"}
	b := &engine.StepInfo{Pipeline: "p", Connector: "transform"}
	c := &engine.StepInfo{Pipeline: "q", Connector: "assert"}
	m.observe(tracedExecution([]*engine.StepInfo{a, b, c}))
	m.observe(tracedExecution([]*engine.StepInfo{a, b, c}, "ok", "skipped", "error"))
	// A reload: the same series, new steps.
	a2 := &engine.StepInfo{Pipeline: "p", Connector: "assert"}
	m.observe(tracedExecution([]*engine.StepInfo{a2, a2}))
	want := map[string]uint64{"p/assert": 4, "p/transform": 1, "q/assert": 2}
	if got := stepCounts(t, reg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("step series %v, want %v", got, want)
	}
	// Many generations of one step: the cache is emptied, never past its
	// bound, and every observation still counts.
	for i := range 3 * maxStepObs {
		m.observe(tracedExecution([]*engine.StepInfo{{Pipeline: "r", Connector: "log"}}))
		if len(m.stepObs) > maxStepObs {
			t.Fatalf("after %d steps the cache holds %d", i+1, len(m.stepObs))
		}
	}
	want["r/log"] = 3 * maxStepObs
	if got := stepCounts(t, reg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("step series %v, want %v", got, want)
	}
}

// BenchmarkObserve is the token request's trace: 13 steps in three
// pipelines.
func BenchmarkObserve(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry())
	var infos []*engine.StepInfo
	for i := range 13 {
		infos = append(infos, &engine.StepInfo{Pipeline: fmt.Sprint("pipeline-", i%3), Connector: fmt.Sprint("connector-", i%5)})
	}
	e := tracedExecution(infos)
	b.ReportAllocs()
	for b.Loop() {
		m.observe(e)
	}
}
