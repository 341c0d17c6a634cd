// Package event implements the event connector: it publishes a named event
// with a payload (by default its input) on the event bus of nectar serve,
// and passes its input through. Every pipeline whose trigger is
// `event: NAME` then runs for it, asynchronously. When the subscribers'
// queues are full the step waits (back-pressure). Without a bus (nectar run)
// the event is not delivered and a warning is logged.
package event

import (
	"context"
	"errors"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/triggers"
)

// Config holds the options of an event step.
type Config struct {
	Name    engine.Template `yaml:"name" required:"true" doc:"the event name (letters, digits, '.', '-', '_', ':'); may be an expression"`
	Payload engine.Dynamic  `yaml:"payload" doc:"what subscribers receive as their message; default: the step's input"`
}

type step struct{ cfg Config }

var _ engine.Step = (*step)(nil)

func init() {
	engine.Register("event", "Publishes a named event for event-triggered pipelines; the message passes through.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if lit, ok := cfg.Name.Literal(); ok {
		if err := triggers.CheckEventName(lit); err != nil {
			return nil, cc.ErrorAt("name", err)
		}
	}
	return &step{cfg: cfg}, nil
}

// Execute publishes the event and returns in.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	name, err := s.cfg.Name.String(x, in)
	if err != nil {
		return nil, err
	}
	if err := triggers.CheckEventName(name); err != nil {
		return nil, engine.NewError(500, "event: %w", err)
	}
	payload := in
	if s.cfg.Payload.IsSet() {
		if payload, err = s.cfg.Payload.Eval(x, in); err != nil {
			return nil, err
		}
	}
	svc, ok := x.Runtime.Service(events.ServiceKey{})
	bus, _ := svc.(events.Bus)
	if !ok || bus == nil {
		x.Logger.Warn("event not delivered: no event bus runs here (events are delivered by nectar serve)", "event", name)
		return in, nil
	}
	// What the execution learned is secret where the payload carries it
	// too: the subscriber's record and log lines mask it.
	if err := bus.Publish(events.WithSecrets(events.WithSource(ctx, x.ID), x.Learned()), name, payload); err != nil {
		code := 503
		if errors.Is(err, context.DeadlineExceeded) {
			code = 504
		}
		return nil, &engine.Error{Timestamp: nowMillis(), Code: code, Message: "event " + name + " not published: " + err.Error(), Cause: err}
	}
	return in, nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }
