package pipetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/triggers"
)

// expect is a checked Expect.
type expect struct {
	output      any
	hasOutput   bool
	contains    any
	hasContains bool
	err         *ErrorExpect
	errRE       *regexp.Regexp
	ran, notRan []stepKey
	calls       []callCheck
	logs        []*regexp.Regexp
	vars        *value.Object
	hasVars     bool
	maxDuration time.Duration
	response    *ResponseExpect
}

type callCheck struct {
	key   stepKey
	times int // -1: not checked
	with  []any
}

// Options change how Run runs the cases.
type Options struct {
	// Run, when set, selects the cases whose PIPELINE/CASE it matches.
	Run *regexp.Regexp
	// Parallel is how many cases run at once (default GOMAXPROCS).
	Parallel int
	// Cover records which steps and branches the cases reach
	// (Report.Coverage).
	Cover bool
	// Timeout bounds each case (default one minute).
	Timeout time.Duration
	// Setup, when set, is called on each case's runtime before it runs
	// (to plug services the pipelines need that are not mocked).
	Setup func(rt *engine.Runtime)
}

// Result is the outcome of one case.
type Result struct {
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Pipeline string        `json:"pipeline"`
	Case     string        `json:"case"`
	Passed   bool          `json:"passed"`
	Failures []string      `json:"failures,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Name is PIPELINE/CASE, what Options.Run matches.
func (r *Result) Name() string { return r.Pipeline + "/" + r.Case }

// Report is the outcome of a Run.
type Report struct {
	Results  []Result      `json:"results"`
	Passed   int           `json:"passed"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration_ns"`
	Coverage *Coverage     `json:"coverage,omitempty"`
}

// Run runs the cases of suites, Options.Parallel at a time, and reports
// every outcome in suite and case order.
func Run(ctx context.Context, suites []*Suite, opts Options) *Report {
	start := time.Now()
	par := opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	type job struct {
		s  *Suite
		tc *TestCase
		i  int
	}
	var jobs []job
	for _, s := range suites {
		for _, tc := range s.Cases {
			if opts.Run != nil && !opts.Run.MatchString(s.Pipeline.Name+"/"+tc.Name) {
				continue
			}
			jobs = append(jobs, job{s, tc, len(jobs)})
		}
	}
	rep := &Report{Results: make([]Result, len(jobs))}
	var cov *collector
	if opts.Cover {
		// Coverage of the suites --run selected cases of, only.
		var selected []*Suite
		for _, j := range jobs {
			if len(selected) == 0 || selected[len(selected)-1] != j.s {
				selected = append(selected, j.s)
			}
		}
		cov = newCollector(selected)
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < par && w < len(jobs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				rep.Results[j.i] = runCase(ctx, j.s, j.tc, opts, cov)
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	for _, r := range rep.Results {
		if r.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
	}
	if cov != nil {
		rep.Coverage = cov.report()
	}
	rep.Duration = time.Since(start)
	return rep
}

// RunCase runs one case, as Run does, and returns its outcome.
func RunCase(ctx context.Context, s *Suite, tc *TestCase, opts Options) Result {
	return runCase(ctx, s, tc, opts, nil)
}

func runCase(ctx context.Context, s *Suite, tc *TestCase, opts Options, cov *collector) Result {
	res := Result{File: s.File, Line: tc.Line, Pipeline: s.Pipeline.Name, Case: tc.Name}
	r := newRun(tc)
	var logs bytes.Buffer
	var logger *slog.Logger
	if len(tc.expect.logs) > 0 {
		logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: dropTime}))
	} else {
		logger = discard
	}
	rt := &engine.Runtime{Pipelines: tc.lib, Logger: logger, Intercept: r.intercept, SkipRetryWait: true}
	rt.SetService(httpclient.WrapKey{}, httpclient.Wrap(r.wrap))
	if opts.Setup != nil {
		opts.Setup(rt)
	}
	vars := value.NewObject(0)
	if tc.vars != nil {
		vars = tc.vars.Clone()
	}
	ro := engine.RunOptions{Metadata: tc.metadata, Vars: vars}
	if cov != nil {
		ro.Trace = &engine.Trace{}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Every case runs as an HTTP-triggered execution would, so that its
	// respond steps set a response to check.
	resp := triggers.NewResponse(nil)
	ctx = triggers.WithResponse(ctx, resp)
	start := time.Now()
	out, err := tc.pipeline.Run(ctx, rt, tc.input, ro)
	res.Duration = time.Since(start)
	if cov != nil {
		cov.add(ro.Trace)
	}
	r.check(tc.expect, out, err, vars, logLines(&logs), res.Duration)
	if tc.expect.response != nil {
		r.checkResponse(tc.expect.response, resp)
	}
	res.Failures = r.failures
	res.Passed = len(res.Failures) == 0
	return res
}

var discard = slog.New(slog.DiscardHandler)

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// logLines returns the lines logged into buf. The slog handler writing
// them holds its own lock around each write (derived handlers share it), so
// buf needs none; it is read once the run has ended.
func logLines(buf *bytes.Buffer) []string {
	if buf.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
}

// check compares a run with what the case expects and records each
// difference as a failure.
func (r *run) check(x *expect, out any, err error, vars *value.Object, lines []string, d time.Duration) {
	if err != nil {
		e := engine.AsError(err)
		if x.err == nil {
			where := ""
			if e.Step != "" {
				where = fmt.Sprintf(" in step %q", e.Step)
				if e.Pipeline != "" && e.Pipeline != r.tc.pipeline.Name {
					where += " of pipeline " + e.Pipeline
				}
			}
			r.fail("the run failed%s: %d %s", where, e.Code, e.Message)
		} else {
			if x.err.Code != 0 && e.Code != x.err.Code {
				r.fail("error code: want %d, got %d (%s)", x.err.Code, e.Code, preview(e.Message))
			}
			if x.errRE != nil && !x.errRE.MatchString(e.Message) {
				r.fail("error message: %q does not match %q", e.Message, x.errRE)
			}
			if x.err.Step != "" && e.Step != x.err.Step {
				r.fail("error step: want %q, got %q", x.err.Step, e.Step)
			}
		}
	} else {
		if x.err != nil {
			r.fail("want an error (code %d), but the run succeeded with %s", x.err.Code, show(out))
		}
		if x.hasOutput {
			for _, d := range Diff(x.output, out, false) {
				r.fail("output: %s", d)
			}
		}
		if x.hasContains {
			for _, d := range Diff(x.contains, out, true) {
				r.fail("output: %s", d)
			}
		}
	}
	r.mu.Lock()
	calls := r.calls
	r.mu.Unlock()
	for _, k := range x.ran {
		if len(calls[k]) == 0 {
			r.fail("step %q did not run", k.step)
		}
	}
	for _, k := range x.notRan {
		if n := len(calls[k]); n > 0 {
			r.fail("step %q ran (%d times), want not run", k.step, n)
		}
	}
	for _, c := range x.calls {
		got := calls[c.key]
		if c.times >= 0 && len(got) != c.times {
			r.fail("step %q ran %d times, want %d", c.key.step, len(got), c.times)
		}
		for i, w := range c.with {
			if i >= len(got) {
				r.fail("step %q call %d: did not happen (want input %s)", c.key.step, i+1, show(w))
				continue
			}
			for _, d := range Diff(w, got[i], true) {
				r.fail("step %q call %d: input %s", c.key.step, i+1, d)
			}
		}
	}
	if len(x.logs) > 0 {
		for _, re := range x.logs {
			found := false
			for _, l := range lines {
				if re.MatchString(l) {
					found = true
					break
				}
			}
			if !found {
				if len(lines) == 0 {
					r.fail("logs: no line matches %q; nothing was logged", re)
				} else {
					r.fail("logs: no line matches %q; logged:\n%s", re, indent(strings.Join(lines, "\n")))
				}
			}
		}
	}
	if x.hasVars {
		for _, d := range Diff(x.vars, vars, true) {
			r.fail("vars: %s", strings.Replace(d, "$", "vars", 1))
		}
	}
	if x.maxDuration > 0 && d > x.maxDuration {
		r.fail("the run took %s, more than max_duration_ms %d", d.Round(time.Microsecond), x.maxDuration.Milliseconds())
	}
}

// checkResponse compares the response the run's respond steps set.
func (r *run) checkResponse(want *ResponseExpect, resp *triggers.Response) {
	status, header, body, set, _ := resp.Get()
	if !set {
		r.fail("response: none was set (no respond step ran)")
		return
	}
	if want.Status != 0 && status != want.Status {
		r.fail("response: status: want %d, got %d", want.Status, status)
	}
	for k, v := range want.Headers {
		if got := header.Get(k); got != v {
			r.fail("response: header %s: want %q, got %q", k, v, got)
		}
	}
	if !want.Body.IsSet() && !want.BodyContains.IsSet() {
		return
	}
	if s, ok := want.Body.Value.(string); ok && want.Body.IsSet() {
		if s != string(body) {
			r.fail("response: body: want %q, got %q", s, preview(string(body)))
		}
		return
	}
	got, err := value.Decode(body)
	if err != nil {
		r.fail("response: body: want JSON, got %q", preview(string(body)))
		return
	}
	if want.Body.IsSet() {
		for _, d := range Diff(want.Body.Value, got, false) {
			r.fail("response: body: %s", d)
		}
	}
	if want.BodyContains.IsSet() {
		for _, d := range Diff(want.BodyContains.Value, got, true) {
			r.fail("response: body: %s", d)
		}
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// Load finds the test files under paths and loads each (see LoadFile). It
// returns the suites that loaded and the problems of the others together.
func Load(paths []string, opts LoadOptions) ([]*Suite, error) {
	files, err := Find(paths...)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test files (NAME.test.yaml, or tests/*.yaml) in %s", strings.Join(paths, ", "))
	}
	opts.Library = sharedLibraries(opts.Library)
	var suites []*Suite
	var errs []error
	for _, f := range files {
		s, err := LoadFile(f, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		suites = append(suites, s)
	}
	return suites, joinErrs(errs)
}

// sharedLibraries returns newLib memoized by folders and globals: the test
// files of one folder, and the cases with the same globals, share one
// library (loading the shipped pipelines once, not once per file).
func sharedLibraries(newLib func(engine.LoadOptions, ...string) *engine.Library) func(engine.LoadOptions, ...string) *engine.Library {
	if newLib == nil {
		newLib = engine.NewLibrary
	}
	var mu sync.Mutex
	libs := map[string]*engine.Library{}
	return func(opts engine.LoadOptions, dirs ...string) *engine.Library {
		key := strings.Join(dirs, "\x00")
		if opts.Globals != nil {
			key += "\x00" + value.MustEncodeString(opts.Globals)
		}
		mu.Lock()
		defer mu.Unlock()
		if lib, ok := libs[key]; ok {
			return lib
		}
		lib := newLib(opts, dirs...)
		libs[key] = lib
		return lib
	}
}
