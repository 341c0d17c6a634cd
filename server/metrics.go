package server

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
)

// metrics are the Prometheus series the server exports on /metrics.
type metrics struct {
	executions   *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	steps        *prometheus.HistogramVec
	requests     *prometheus.CounterVec
	inflight     prometheus.Gauge
	reloads      *prometheus.CounterVec
	eventsQueued prometheus.Counter
	ticksSkipped *prometheus.CounterVec

	// stepObs caches the step histograms by the loaded step, whose pointer
	// hashes for less than its pipeline's and connector's names; a miss
	// (a step's first run, a reload) asks the vector. Only observe (the
	// history goroutine) uses it. It is emptied when it reaches maxStepObs:
	// reloads make new steps, and the cache must not keep old generations'
	// alive.
	stepObs map[*engine.StepInfo]prometheus.Observer
}

const maxStepObs = 4096

var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_executions_total", Help: "Executions by pipeline, trigger and status (ok, failed).",
		}, []string{"pipeline", "trigger", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nectar_execution_duration_seconds", Help: "Execution durations by pipeline and trigger.", Buckets: durationBuckets,
		}, []string{"pipeline", "trigger"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nectar_step_duration_seconds", Help: "Step durations by pipeline (the step's own, for a called pipeline's steps) and connector.", Buckets: durationBuckets,
		}, []string{"pipeline", "connector"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nectar_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_pipeline_loads_total", Help: "Pipeline file loads by result (ok, failed).",
		}, []string{"result"}),
		eventsQueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nectar_events_published_total", Help: "Events published on the bus.",
		}),
		ticksSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_schedule_ticks_skipped_total", Help: "Schedule ticks not run because the store could not record their claim (it was down, frozen or full), by pipeline.",
		}, []string{"pipeline"}),
		stepObs: map[*engine.StepInfo]prometheus.Observer{},
	}
	reg.MustRegister(m.executions, m.duration, m.steps, m.requests, m.inflight, m.reloads, m.eventsQueued, m.ticksSkipped)
	return m
}

// registerHistory exports the records the history dropped because the
// store refused them for too long.
func registerHistory(reg prometheus.Registerer, h *history.Recorder) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "nectar_history_dropped_total",
		Help: "Execution records dropped because the store refused them longer than the history's retry buffer holds.",
	}, func() float64 { return float64(h.Dropped()) }))
}

// observe records step durations; it runs on the history goroutine, off the
// request path.
func (m *metrics) observe(e *history.Execution) {
	if e.Trace == nil || e.Pipeline == nil {
		return
	}
	for i := range e.Trace.Steps {
		s := &e.Trace.Steps[i]
		if s.Outcome == "skipped" {
			continue
		}
		o, ok := m.stepObs[s.StepInfo]
		if !ok {
			o = m.steps.WithLabelValues(s.Pipeline, s.Connector) // a called pipeline's steps count under its name
			if len(m.stepObs) >= maxStepObs {
				clear(m.stepObs)
			}
			m.stepObs[s.StepInfo] = o
		}
		o.Observe(s.Duration.Seconds())
	}
}

// pipelineMetrics are one pipeline's series, resolved once per load so that
// the request path does no label lookups.
type pipelineMetrics struct {
	ok, failed prometheus.Counter
	duration   prometheus.Observer
	route      string
	codes      [600]atomic.Pointer[prometheus.Counter]
	m          *metrics
}

func (m *metrics) forPipeline(name, trigger, route string) *pipelineMetrics {
	return &pipelineMetrics{
		ok:       m.executions.WithLabelValues(name, trigger, history.StatusOK),
		failed:   m.executions.WithLabelValues(name, trigger, history.StatusFailed),
		duration: m.duration.WithLabelValues(name, trigger),
		route:    route,
		m:        m,
	}
}

// request counts one HTTP answer with code.
func (pm *pipelineMetrics) request(code int) {
	if code < 100 || code >= len(pm.codes) {
		pm.m.requests.WithLabelValues(pm.route, strconv.Itoa(code)).Inc()
		return
	}
	c := pm.codes[code].Load()
	if c == nil {
		cnt := pm.m.requests.WithLabelValues(pm.route, strconv.Itoa(code))
		pm.codes[code].Store(&cnt)
		c = &cnt
	}
	(*c).Inc()
}
