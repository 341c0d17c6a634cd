package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

// The pass rules' tolerances (README.md, "Pass rules").
const (
	goroutineSlack = 5     // goroutines the idle level may differ by (a schedule tick's run)
	fdSlack        = 2     // open fds the idle level may differ by
	maxGrowth      = 0.1   // RSS and heap growth from the reference point to the end
	growthFloor    = 0.5e6 // bytes of growth that pass whatever the ratio: a live heap of 3 MB moves by 10 % with the requests in flight at the GC
	historyBatch   = 512   // records the history writes at most in one batch (history.maxBatch)
	p99Factor      = 2.0   // median p99 of the second half vs the first half
	p99Slack       = 10 * time.Millisecond
	p99ShortSlack  = 100 * time.Millisecond // runs under 10 minutes
	minTicks       = 0.8                    // schedule runs per second of load, at least
)

// verdict holds what the soak measured, and judges it.
type verdict struct {
	c                     config
	samples               []sample
	loadStart, loadEnd    time.Duration
	sent, failed, skipped int64
	firstErrors           []string
	idleBefore, idleAfter idleLevel
	ticks                 int64 // schedule runs during the load
	published, delivered  int64
	refused               int64
	tokenRequests         int64
	refreshes             int64
	serverExit            string
	failedBefore          float64 // failed executions when the setup was done
}

// A rule is one line of the report.
type rule struct {
	name   string
	ok     bool
	detail string
}

func (v *verdict) rules() []rule {
	var out []rule
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, rule{name, ok, fmt.Sprintf(format, args...)})
	}
	load := v.loadSamples()
	last := v.samples[len(v.samples)-1]

	add("no error answers", v.failed == 0, "%d of %d requests failed%s", v.failed, v.sent, firstErrors(v.firstErrors))
	add("server kept up", v.skipped == 0, "%d requests not sent: %d of one kind were waiting for an answer", v.skipped, maxInFlight)
	add("no failed executions", last.Failed == v.failedBefore, "%.0f of %.0f executions failed since the setup (nectar_executions_total)", last.Failed-v.failedBefore, last.Executions)
	add("no expired token sent", v.refused == 0, "the fake refused %d API calls (%d token requests, %d refreshes)", v.refused, v.tokenRequests, v.refreshes)
	loadSecs := (v.loadEnd - v.loadStart).Seconds()
	add("schedule ran every second", float64(v.ticks) >= minTicks*loadSecs, "%d runs in %.0f s of load", v.ticks, loadSecs)
	add("every event delivered", v.delivered == v.published, "%d published, %d delivered", v.published, v.delivered)
	add("no leaked goroutines", v.idleAfter.goroutines <= v.idleBefore.goroutines+goroutineSlack,
		"idle %.0f after the load, %.0f after the warm-up (slack %d)", v.idleAfter.goroutines, v.idleBefore.goroutines, goroutineSlack)
	add("no leaked fds", v.idleAfter.fds <= v.idleBefore.fds+fdSlack,
		"idle %.0f after the load, %.0f after the warm-up (slack %d)", v.idleAfter.fds, v.idleBefore.fds, fdSlack)

	ref := v.refTime()
	for _, m := range []struct {
		name string
		get  func(sample) float64
	}{
		{"RSS flat", func(s sample) float64 { return s.RSS }},
		{"heap flat", func(s sample) float64 { return s.HeapLive }},
	} {
		from, to, ok := growth(load, ref, m.get)
		if !ok {
			add(m.name, false, "too few samples in the load (%d)", len(load))
			continue
		}
		g := to/from - 1
		add(m.name, g < maxGrowth || to-from < growthFloor, "%.1f MB at %s of load → %.1f MB at the end: %+.1f %% (limit %+.0f %%, or %+.1f MB)",
			from/1e6, (ref - v.loadStart).Round(time.Second), to/1e6, 100*g, 100*maxGrowth, growthFloor/1e6)
	}

	maxHist, limit := 0, int(float64(v.c.historyMax)*1.1)+historyBatch
	for _, s := range v.samples {
		maxHist = max(maxHist, s.History)
	}
	trimmed := last.Executions > 1.5*float64(v.c.historyMax)
	add("history trimmed", maxHist <= limit && trimmed, "at most %d records stored (limit %d = --history-max %d + 10 %% + a batch of %d), %.0f executions recorded%s",
		maxHist, limit, v.c.historyMax, historyBatch, last.Executions, map[bool]string{true: "", false: ": too few to trim, raise the rates or lower -history-max"}[trimmed])

	first, second, maxP99 := p99Halves(load)
	slack := p99Slack
	if v.loadEnd-v.loadStart < 10*time.Minute {
		// A short run has three windows a half: one busy moment of the
		// machine moves a median. The long run holds the strict rule.
		slack = p99ShortSlack
	}
	add("p99 stable", second <= time.Duration(p99Factor*float64(first))+slack,
		"median p99 %s in the first half, %s in the second (limit ×%.1f + %s); highest window %s",
		ms(first), ms(second), p99Factor, slack, ms(maxP99))
	add("server stopped cleanly", v.serverExit == "", "SIGTERM: %s", map[bool]string{true: "exit 0", false: v.serverExit}[v.serverExit == ""])
	return out
}

func firstErrors(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return "; first: " + errs[0]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// loadSamples are the samples taken during the load (after the warm-up).
func (v *verdict) loadSamples() []sample {
	var out []sample
	for _, s := range v.samples {
		if s.Phase == "load" {
			out = append(out, s)
		}
	}
	return out
}

// refTime is where memory is measured from: minute 5 of the load, or its
// middle when it lasts less than 10 minutes.
func (v *verdict) refTime() time.Duration {
	d := v.loadEnd - v.loadStart
	if d >= 10*time.Minute {
		return v.loadStart + 5*time.Minute
	}
	return v.loadStart + d/2
}

// growth returns the value at ref and at the end of the load samples: each
// the median of three samples (the last one at or before ref and its two
// neighbours; the last three), so that one reading taken at a GC's peak
// does not decide.
func growth(load []sample, ref time.Duration, get func(sample) float64) (from, to float64, ok bool) {
	if len(load) < 4 {
		return 0, 0, false
	}
	i := 0 // the last sample at or before ref
	for i < len(load)-1 && load[i+1].T <= ref {
		i++
	}
	i = max(1, min(i, len(load)-2))
	return median3(load[i-1:i+2], get), median3(load[len(load)-3:], get), true
}

func median3(s []sample, get func(sample) float64) float64 {
	v := []float64{get(s[0]), get(s[1]), get(s[2])}
	slices.Sort(v)
	return v[1]
}

// p99Halves returns the median of the windows' p99 in the first and the
// second half of the load, leaving out its first window (new connections),
// and the highest p99.
func p99Halves(load []sample) (first, second, highest time.Duration) {
	var p []time.Duration
	for i, s := range load {
		highest = max(highest, s.Window.p99)
		if i > 0 && s.Window.requests > 0 {
			p = append(p, s.Window.p99)
		}
	}
	if len(p) < 2 {
		return 0, 0, highest
	}
	h := len(p) / 2
	return medianD(p[:h]), medianD(p[h:]), highest
}

func medianD(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// report prints the rules and the verdict; it returns whether all passed.
func (v *verdict) report(w io.Writer) bool {
	all := true
	fmt.Fprintln(w, "soak: results")
	for _, r := range v.rules() {
		mark := "ok  "
		if !r.ok {
			mark, all = "FAIL", false
		}
		fmt.Fprintf(w, "  %s %-26s %s\n", mark, r.name, r.detail)
	}
	if all {
		fmt.Fprintln(w, "soak: PASS")
	} else {
		fmt.Fprintln(w, "soak: FAIL")
	}
	return all
}

// csvHeader names the columns (README.md, "Columns").
var csvHeader = []string{
	"t_s", "phase", "rss_mb", "heap_live_mb", "heap_alloc_mb", "heap_goal_mb", "goroutines", "open_fds", "history_records",
	"executions", "executions_failed", "requests", "errors", "skipped",
	"p99_ms", "p99_token_ms", "p99_transform_ms", "p99_api_ms", "p99_event_ms",
	"fake_token_requests", "fake_refused", "api_calls", "events_published", "events_delivered", "schedule_runs",
}

func writeCSV(path string, samples []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(csvHeader)
	mb := func(b float64) string { return strconv.FormatFloat(b/1e6, 'f', 2, 64) }
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	msf := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, s := range samples {
		w.Write([]string{
			strconv.FormatFloat(s.T.Seconds(), 'f', 1, 64), s.Phase, mb(s.RSS), mb(s.HeapLive), mb(s.HeapAlloc), mb(s.HeapGoal),
			num(s.Goroutines), num(s.FDs), strconv.Itoa(s.History),
			num(s.Executions), num(s.Failed), i(s.Window.requests), i(s.Window.errors), i(s.Window.skipped),
			msf(s.Window.p99), msf(s.Window.p99By["token"]), msf(s.Window.p99By["transform"]), msf(s.Window.p99By["api"]), msf(s.Window.p99By["event"]),
			i(s.TokenRequests), i(s.Refused), i(s.APICalls), i(s.Published), i(s.Events), i(s.Ticks),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
