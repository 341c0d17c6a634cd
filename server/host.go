package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/store"
)

// version is one loaded version of a pipeline. It is counted: the server
// holds one reference while a generation serves it, and every execution
// (and every HTTP request routed to it) holds one while it runs. The last
// release closes the pipeline, so a retired version closes exactly when
// its last run ends, without waiting a guessed time.
type version struct {
	p       *engine.Pipeline
	file    string
	shipped bool
	pm      *pipelineMetrics
	host    *host
	routes  []engine.Route // the trigger's, when it is an engine.Router

	refs    atomic.Int64 // 1 while served, plus the runs in flight
	started bool         // its trigger was started (under Server.runMu)
}

func newVersion(s *Server, p *engine.Pipeline, file string, shipped bool) *version {
	v := &version{p: p, file: file, shipped: shipped}
	v.refs.Store(1)
	v.host = &host{s: s, v: v}
	return v
}

// trigger returns the version's compiled trigger, or nil.
func (v *version) trigger() engine.Trigger {
	if v.p.Trigger == nil {
		return nil
	}
	return v.p.Trigger.Trigger
}

// acquire counts a run in; it fails once the version is closing (its last
// reference is gone), and the caller then uses the current generation.
func (v *version) acquire() bool {
	for {
		n := v.refs.Load()
		if n <= 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release counts a run (or the server's reference) out; the last one
// closes the pipeline, and returns (and logs) the error of its closing.
func (v *version) release(s *Server) error {
	if v.refs.Add(-1) != 0 {
		return nil
	}
	err := v.p.Close(context.Background())
	if err != nil {
		s.log.Warn("closing a replaced pipeline", "pipeline", v.p.Name, "error", err.Error())
	}
	return err
}

// host is the engine.Host the server gives a version's trigger.
type host struct {
	s *Server
	v *version
}

var _ engine.Host = (*host)(nil)

func (h *host) Pipeline() *engine.Pipeline { return h.v.p }
func (h *host) Runtime() *engine.Runtime   { return h.s.rt }
func (h *host) Logger() *slog.Logger       { return h.s.log }

// errRetired is what a run gets on a version already closed (a trigger
// that outlived its Stop).
var errRetired = engine.NewError(503, "the pipeline version was replaced; retry")

// Context is parent with timeout, cancelled too when a shutdown whose
// drain ran out of time cuts what still runs. Its timer and registrations
// are set up only if something waits on it (see execContext).
func (h *host) Context(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return newExecContext(parent, h.s.execCtx, timeout)
}

// Run runs the version's pipeline once, counted in flight for the version
// and for the shutdown.
func (h *host) Run(ctx context.Context, x *engine.Execution) {
	s, v := h.s, h.v
	if x.Start.IsZero() {
		x.Start = time.Now()
	}
	if x.ID == "" {
		x.ID = history.NewID(x.Start)
	}
	if !v.acquire() {
		x.End, x.Err = time.Now(), errRetired
		return
	}
	defer v.release(s)
	s.active.add()
	defer s.active.done()
	if x.Metadata != nil && !x.Metadata.Has("trigger") {
		x.Metadata.Set("trigger", x.Trigger)
	}
	if !s.opts.HistoryOff {
		x.Trace = s.newTrace()
	}
	out, err := v.p.Run(ctx, s.rt, x.Input, engine.RunOptions{ExecutionID: x.ID, Metadata: x.Metadata, Trace: x.Trace, Secrets: x.Secrets, Learned: &x.Secrets})
	x.End, x.Output = time.Now(), out
	if err != nil {
		x.Err = engine.AsError(err)
		x.Cut = s.execCtx.Err() != nil
	}
}

// Record counts x in the pipeline's metrics and hands it to the history.
func (h *host) Record(x *engine.Execution) {
	pm := h.v.pm
	if x.Err != nil {
		pm.failed.Inc()
	} else {
		pm.ok.Inc()
	}
	pm.duration.Observe(x.End.Sub(x.Start).Seconds())
	rec := &history.Execution{
		ID: x.ID, Pipeline: h.v.p, Trigger: x.Trigger, Consumer: x.Consumer, Start: x.Start, End: x.End,
		Input: x.Input, Output: x.Output, Err: x.Err, Trace: x.Trace, Request: x.Request, Code: x.Code,
		InputJSON: x.InputJSON, OutputJSON: x.OutputJSON, Secrets: x.Secrets,
	}
	if x.Trace != nil { // Run's (newTrace): the history gives it back once written
		rec.PutTrace = putTrace
		x.Trace = nil
	}
	if x.OutputBuf != nil { // the history owns it now (see engine.Execution.OutputBuf)
		rec.OutputBuf, rec.PutBuf = x.OutputBuf, httpjson.PutBuf
		x.OutputBuf, x.OutputJSON = nil, ""
	}
	if b := x.InputBody; b != nil {
		rec.InputBody = &history.Body{ContentType: b.ContentType, Size: b.Size, Base64: b.Base64}
	}
	h.s.hist.Record(rec)
}

// AnsweredEarly notes x's id in the history, which a reader of its record
// waits for (history.Recorder.FlushFor).
func (h *host) AnsweredEarly(x *engine.Execution) { h.s.hist.Answered(x.ID) }

// Abandoned tells the history that x, answered early, will not be
// recorded.
func (h *host) Abandoned(x *engine.Execution) { h.s.hist.Abandon(x.ID) }

// claimTimeout bounds the claim of a tick: a store that hangs (a frozen
// database) skips the tick rather than holding the schedule.
const claimTimeout = 5 * time.Second

// ClaimTick makes a tick run at most once across processes sharing the
// store: the first to create the tick's key runs it. When the store cannot
// record the claim (down, frozen, full), nobody can tell whether another
// replica runs the tick, so it is skipped: logged and counted in
// nectar_schedule_ticks_skipped_total. Running it anyway would run it once
// per replica.
func (h *host) ClaimTick(ctx context.Context, tick time.Time) bool {
	s := h.s
	if s.opts.Store == nil {
		return true
	}
	pipeline := h.v.p.Name
	key := pipeline + "@" + tick.UTC().Format(time.RFC3339Nano)
	cctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	_, err := s.opts.Store.Create(cctx, "schedule-ticks", key, nil, store.TTL(24*time.Hour))
	if errors.Is(err, store.ErrExists) {
		return false
	}
	if err != nil {
		if ctx.Err() != nil {
			return false // stopping
		}
		s.metrics.ticksSkipped.WithLabelValues(pipeline).Inc()
		s.log.Error("schedule tick skipped: the store cannot record its claim, so it could run on several replicas",
			"pipeline", pipeline, "tick", tick.UTC().Format(time.RFC3339), "error", err.Error())
		return false
	}
	return true
}

// stopTriggers stops the triggers of vs at once and waits for each until
// ctx ends; a stop that fails (a queue not drained) is logged.
func (s *Server) stopTriggers(ctx context.Context, vs []*version) {
	var wg sync.WaitGroup
	for _, v := range vs {
		t := v.trigger()
		if t == nil {
			continue
		}
		wg.Go(func() {
			if err := t.Stop(ctx); err != nil {
				s.log.Warn("trigger stopped before its runs ended", "pipeline", v.p.Name, "error", err.Error())
			}
		})
	}
	wg.Wait()
}
