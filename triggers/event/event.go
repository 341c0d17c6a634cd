// Package event is the event trigger kind: a pipeline run, asynchronously,
// for each event of a name that the event connector publishes on the bus
// of package events (the host's runtime service events.ServiceKey).
//
//	trigger:
//	  event: orders.created
//
// Every pipeline subscribed to a name gets every event of it; the bus
// decides delivery (in-process at most once, or PostgreSQL at least once
// across replicas).
package event

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/triggers"
)

// Event holds the options of an event trigger.
type Event struct {
	Name        string          `yaml:"name" required:"true" doc:"the event name the event connector publishes (orders.created); several pipelines may subscribe to one name"`
	Concurrency int             `yaml:"concurrency" default:"4" doc:"runs of this pipeline at once"`
	Queue       int             `yaml:"queue" default:"100" doc:"events waiting for a free run; when full, publishers wait (back-pressure)"`
	Timeout     engine.Duration `yaml:"timeout" default:"30s" doc:"a run fails with 504 when it lasts longer"`
}

func init() {
	engine.RegisterTrigger("event", "Runs the pipeline, asynchronously, for each event of a name published by the event connector.", compile)
}

func compile(e *Event, cc *engine.Compiler) (engine.Trigger, error) {
	var errs []error
	if err := triggers.CheckEventName(e.Name); err != nil {
		errs = append(errs, &engine.OptionError{Option: "name", Err: err})
	}
	if e.Concurrency <= 0 {
		errs = append(errs, engine.OptionErrorf("concurrency", "must be above 0"))
	}
	if e.Queue < 0 {
		errs = append(errs, engine.OptionErrorf("queue", "must be 0 or more"))
	}
	if e.Timeout <= 0 {
		errs = append(errs, engine.OptionErrorf("timeout", "must be above 0"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &trigger{cfg: e}, nil
}

// trigger is a compiled event trigger: a subscription on the bus.
type trigger struct {
	cfg *Event

	mu          sync.Mutex
	unsubscribe func(context.Context) error // nil before Start and after Stop
}

var _ engine.Trigger = (*trigger)(nil)

// Describe gives the event name and the runs at once.
func (t *trigger) Describe() map[string]any {
	return map[string]any{"name": t.cfg.Name, "concurrency": t.cfg.Concurrency}
}

// Start subscribes to the event name on the runtime's bus; a host whose
// intake already ended (ctx done) subscribes nothing.
func (t *trigger) Start(ctx context.Context, h engine.Host) error {
	if ctx.Err() != nil {
		return nil
	}
	svc, _ := h.Runtime().Service(events.ServiceKey{})
	bus, _ := svc.(events.Bus)
	if bus == nil {
		return fmt.Errorf("event trigger %s: no event bus runs here", t.cfg.Name)
	}
	p := h.Pipeline()
	cancel := bus.Subscribe(t.cfg.Name, events.SubscribeOptions{Concurrency: t.cfg.Concurrency, Queue: t.cfg.Queue, Group: p.Name}, func(ctx context.Context, ev events.Event) {
		md := value.NewObject(2)
		em := value.NewObject(4)
		em.Set("name", ev.Name)
		em.Set("id", ev.ID)
		em.Set("attempt", int64(ev.Attempt))
		if ev.Source != "" {
			em.Set("source_execution_id", ev.Source)
		}
		md.Set("event", em)
		// The publisher's secrets (ev.Secrets) are the run's own: the
		// payload may repeat them in text.
		triggers.RunBackground(ctx, h, "event", ev.Payload, md, t.cfg.Timeout.D(), ev.Secrets...)
	})
	t.mu.Lock()
	t.unsubscribe = cancel
	t.mu.Unlock()
	return nil
}

// Stop ends the subscription: the bus drains its queue into runs and waits
// for them until ctx ends, then cancels them (a shared bus gets their
// events back).
func (t *trigger) Stop(ctx context.Context) error {
	t.mu.Lock()
	cancel := t.unsubscribe
	t.unsubscribe = nil
	t.mu.Unlock()
	if cancel == nil {
		return nil
	}
	if err := cancel(ctx); err != nil {
		return fmt.Errorf("event subscription stopped before its queue drained: %w", err)
	}
	return nil
}
