// Package schedule is the schedule trigger kind: a pipeline run on a cron
// schedule (seconds first) in a time zone.
//
//	trigger:
//	  schedule: {cron: "0 */5 * * * *", timezone: Europe/Paris}
//
// Each tick is claimed in the host's store before it runs (engine.Host's
// ClaimTick), so replicas sharing a store run it once. Without
// allow_overlap, a tick that comes while the previous run is still running
// is skipped: logged, and counted in the description's skipped_ticks.
package schedule

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/triggers"
)

// Schedule holds the options of a schedule trigger.
type Schedule struct {
	Cron         string          `yaml:"cron" required:"true" doc:"when to run: six fields, seconds first (0 */5 * * * *), five fields (minutes first), or @every 30s, @hourly, @daily"`
	Timezone     string          `yaml:"timezone" default:"UTC" doc:"IANA time zone the cron fields are read in (Europe/Paris)"`
	AllowOverlap bool            `yaml:"allow_overlap" doc:"start a run while the previous one is still running; by default a tick that comes while a run is in progress is skipped"`
	Timeout      engine.Duration `yaml:"timeout" default:"30s" doc:"a run fails with 504 when it lasts longer"`
	Input        engine.Raw      `yaml:"input" doc:"the message each run starts with (default {})"`
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func init() {
	engine.RegisterTrigger("schedule", "Runs the pipeline on a cron schedule (seconds first) in a time zone.", compile)
}

func compile(s *Schedule, cc *engine.Compiler) (engine.Trigger, error) {
	var errs []error
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		errs = append(errs, engine.OptionErrorf("timezone", "unknown time zone %q", s.Timezone))
		loc = time.UTC
	}
	sched, err := cronParser.Parse(s.Cron)
	if err != nil {
		errs = append(errs, &engine.OptionError{Option: "cron", Err: err})
	} else {
		switch c := sched.(type) {
		case *cron.SpecSchedule:
			c.Location = loc
		case cron.ConstantDelaySchedule:
			sched = alignedEvery{c.Delay}
		}
	}
	if s.Timeout <= 0 {
		errs = append(errs, engine.OptionErrorf("timeout", "must be above 0"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t := &trigger{cfg: s, sched: sched, input: value.NewObject(0)}
	if s.Input.IsSet() {
		t.input = s.Input.Value
	}
	return t, nil
}

// alignedEvery is an @every schedule whose ticks are multiples of the delay
// since the zero time, rather than counted from when a process started:
// replicas sharing a store then compute the same ticks, and claim each
// once (robfig/cron's ConstantDelaySchedule counts from its argument).
type alignedEvery struct{ d time.Duration }

func (a alignedEvery) Next(t time.Time) time.Time { return t.Truncate(a.d).Add(a.d) }

// trigger is a compiled schedule trigger. Its loop computes the next tick,
// waits for it, claims it and starts the run in a goroutine of its own, so
// that the loop keeps time while a run lasts.
type trigger struct {
	cfg   *Schedule
	sched cron.Schedule
	input any

	mu      sync.Mutex
	cancel  context.CancelFunc // nil before Start
	loop    chan struct{}      // closed when the loop has returned
	runs    sync.WaitGroup
	running atomic.Int32 // runs in progress
	skipped atomic.Int64 // ticks skipped because a run was in progress
}

var _ engine.Trigger = (*trigger)(nil)

// Next returns the first tick strictly after t, in the trigger's time zone.
func (t *trigger) Next(after time.Time) time.Time { return t.sched.Next(after) }

// Describe gives the cron, its time zone, the next tick and the ticks
// skipped because a run was still in progress.
func (t *trigger) Describe() map[string]any {
	d := map[string]any{"cron": t.cfg.Cron, "timezone": t.cfg.Timezone, "skipped_ticks": t.skipped.Load()}
	if next := t.sched.Next(time.Now()); !next.IsZero() {
		d["next_run"] = next // in the trigger's time zone
	}
	return d
}

// Start runs the loop until ctx (the host's intake) ends or Stop.
func (t *trigger) Start(ctx context.Context, h engine.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil {
		return errors.New("schedule: started twice")
	}
	ctx, t.cancel = context.WithCancel(ctx)
	t.loop = make(chan struct{})
	loop := t.loop
	// Runs are not cancelled with the intake: Stop waits for them, and a
	// shutdown that runs out of time cuts them through the host.
	runCtx := context.WithoutCancel(ctx)
	go func() {
		defer close(loop)
		for {
			next := t.sched.Next(time.Now())
			if next.IsZero() {
				h.Logger().Warn("schedule never fires again", "pipeline", h.Pipeline().Name, "cron", t.cfg.Cron)
				return
			}
			timer := time.NewTimer(time.Until(next))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			t.tick(ctx, runCtx, h, next)
		}
	}()
	return nil
}

// tick runs one tick, unless another replica claimed it, or the previous
// run is still in progress and allow_overlap is off.
func (t *trigger) tick(ctx, runCtx context.Context, h engine.Host, tick time.Time) {
	if !h.ClaimTick(ctx, tick) || ctx.Err() != nil {
		return
	}
	if t.cfg.AllowOverlap {
		t.running.Add(1)
	} else if !t.running.CompareAndSwap(0, 1) {
		t.skipped.Add(1)
		h.Logger().Warn("schedule tick skipped: the previous run is still running (allow_overlap is off)",
			"pipeline", h.Pipeline().Name, "tick", tick.UTC().Format(time.RFC3339))
		return
	}
	md := value.NewObject(2)
	sm := value.NewObject(2)
	sm.Set("tick", tick.UTC().Format(time.RFC3339))
	sm.Set("cron", t.cfg.Cron)
	md.Set("schedule", sm)
	t.runs.Add(1)
	go func() {
		defer t.runs.Done()
		defer t.running.Add(-1)
		triggers.RunBackground(runCtx, h, "schedule", t.input, md, t.cfg.Timeout.D())
	}()
}

// Stop ends the loop and waits for the runs in progress until ctx ends.
func (t *trigger) Stop(ctx context.Context) error {
	t.mu.Lock()
	cancel, loop := t.cancel, t.loop
	t.mu.Unlock()
	if cancel == nil {
		return nil // never started
	}
	cancel()
	done := make(chan struct{})
	go func() {
		<-loop
		t.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
