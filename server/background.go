package server

import (
	"context"
	"errors"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/triggers"
)

// runBackground runs a schedule- or event-triggered execution and records it.
func (s *Server) runBackground(ctx context.Context, v *version, kind string, input any, md *value.Object, timeout time.Duration) {
	v.inflight.Add(1)
	defer v.inflight.Done()
	s.active.add()
	defer s.active.done()
	start := time.Now()
	id := history.NewID(start)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var trace *engine.Trace
	if !s.opts.HistoryOff {
		trace = &engine.Trace{}
	}
	md.Set("trigger", kind)
	out, err := v.p.Run(ctx, s.rt, input, engine.RunOptions{ExecutionID: id, Metadata: md, Trace: trace})
	end := time.Now()
	var e *engine.Error
	if err != nil {
		e = engine.AsError(err)
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			e.Code = 504
		case s.execCtx.Err() != nil || ctx.Err() != nil:
			// Cut by a shutdown: a schedule's run is not made up; an event
			// goes back to a shared bus and runs again elsewhere.
			e.Code = 503
			e.Message = errShutdownCut + ": " + e.Message
		}
		s.log.Warn("execution failed", "execution_id", id, "pipeline", v.p.Name, "trigger", kind, "code", e.Code, "error", e.Message)
		v.pm.failed.Inc()
	} else {
		v.pm.ok.Inc()
	}
	v.pm.duration.Observe(end.Sub(start).Seconds())
	s.hist.Record(&history.Execution{ID: id, Pipeline: v.p, Trigger: kind, Start: start, End: end, Input: input, Output: out, Err: e, Trace: trace})
}

// startSchedule runs v on its cron schedule until the returned stop is
// called; stop waits for a running execution until its ctx ends.
func (s *Server) startSchedule(v *version, cfg *triggers.Schedule) func(context.Context) {
	ctx, cancel := context.WithCancel(s.bgCtx)
	done := make(chan struct{})
	var input any = value.NewObject(0)
	if cfg.Input.IsSet() {
		input = cfg.Input.Value
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer close(done)
		running := make(chan struct{}, 1)
		for {
			next := cfg.Next(time.Now())
			if next.IsZero() {
				s.log.Warn("schedule never fires again", "pipeline", v.p.Name, "cron", cfg.Cron)
				return
			}
			t := time.NewTimer(time.Until(next))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if !s.claimTick(ctx, v.p.Name, next) || ctx.Err() != nil {
				continue // the loop ends on the next turn when stopping
			}
			md := value.NewObject(2)
			sm := value.NewObject(2)
			sm.Set("tick", next.UTC().Format(time.RFC3339))
			sm.Set("cron", cfg.Cron)
			md.Set("schedule", sm)
			if cfg.AllowOverlap {
				s.bg.Add(1)
				go func() {
					defer s.bg.Done()
					s.runBackground(s.execCtx, v, "schedule", input, md, cfg.Timeout.D())
				}()
				continue
			}
			select {
			case running <- struct{}{}:
			default:
				continue
			}
			// Without overlap the run happens here: ticks that pass while it
			// runs are skipped, since the next tick is computed after it.
			s.runBackground(s.execCtx, v, "schedule", input, md, cfg.Timeout.D())
			<-running
		}
	}()
	return func(stopCtx context.Context) {
		cancel()
		select {
		case <-done:
		case <-stopCtx.Done():
		}
	}
}

// claimTimeout bounds the claim of a tick: a store that hangs (a frozen
// database) skips the tick rather than holding the schedule.
const claimTimeout = 5 * time.Second

// claimTick makes a tick run at most once across processes sharing the
// store: the first to create the tick's key runs it. When the store cannot
// record the claim (down, frozen, full), nobody can tell whether another
// replica runs the tick, so it is skipped: logged and counted in
// nectar_schedule_ticks_skipped_total. Running it anyway would run it once
// per replica.
func (s *Server) claimTick(ctx context.Context, pipeline string, tick time.Time) bool {
	if s.opts.Store == nil {
		return true
	}
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

// subscribe runs v for each event of its name.
func (s *Server) subscribe(v *version, cfg *triggers.Event) func(context.Context) {
	cancel := s.bus.Subscribe(cfg.Name, events.SubscribeOptions{Concurrency: cfg.Concurrency, Queue: cfg.Queue, Group: v.p.Name}, func(ctx context.Context, ev events.Event) {
		md := value.NewObject(2)
		em := value.NewObject(4)
		em.Set("name", ev.Name)
		em.Set("id", ev.ID)
		em.Set("attempt", int64(ev.Attempt))
		if ev.Source != "" {
			em.Set("source_execution_id", ev.Source)
		}
		md.Set("event", em)
		s.runBackground(ctx, v, "event", ev.Payload, md, cfg.Timeout.D())
	})
	return func(ctx context.Context) {
		if err := cancel(ctx); err != nil {
			s.log.Warn("event subscription stopped before its queue drained", "pipeline", v.p.Name, "error", err.Error())
		}
	}
}
