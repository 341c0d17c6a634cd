// Package events is the bus between the event connector, which publishes a
// named event with a payload, and the pipelines whose trigger is
// `event: NAME`, which run for it asynchronously.
//
// Bus is deliberately small so that one process or several can share it.
// This package holds the interface and Memory, the in-process bus nectar
// serve uses with the bbolt store. The bus of replicas sharing a
// PostgreSQL store lives with that store (store/postgres: Store.Bus), on
// its tables, pool and listening connection; it delivers at least once,
// across replicas, and also implements IntakeStopper.
//
// # Delivery by Memory
//
// Publish hands the payload to every subscription of the name. Each
// subscription has a queue (SubscribeOptions.Queue) and a number of
// workers; when its queue is full, Publish waits (back-pressure on the
// publishing execution) until there is room or its context ends. A
// published event with no subscriber is dropped and counted (Dropped).
// Delivery is at most once: events still queued when the process stops are
// lost unless Close, or the subscription's cancel, is given time to drain
// them.
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nectar-run/nectar/internal/wait"
)

// Bus delivers named events to subscribers. Implementations are safe for
// concurrent use.
type Bus interface {
	// Publish delivers payload to every subscriber of name, waiting while a
	// subscriber's queue is full. It returns when the event is queued
	// everywhere, not when it is handled. payload is shared, never modified.
	Publish(ctx context.Context, name string, payload any) error
	// Subscribe runs h for each event of name with at most opts.Concurrency
	// runs at once, until the returned cancel is called; cancel waits for
	// the events the subscription took (Memory: its queue) to be handled,
	// or ctx to end, when running handlers see their context cancelled.
	Subscribe(name string, opts SubscribeOptions, h Handler) (cancel func(ctx context.Context) error)
}

// Handler handles one event. It returns nothing: how the run went is the
// handler's own business (the server records it in the execution history),
// and the bus does not retry a failed run.
type Handler func(ctx context.Context, ev Event)

// Event is one delivered event.
type Event struct {
	Name    string
	Payload any
	// Source is the execution that published it, if any.
	Source string
	// Secrets are the secret values the publishing execution learned (a
	// token an API answered it, a credential it sent), which the payload
	// may repeat in text: the subscriber's run masks them in its record
	// and log lines as its own (WithSecrets). Memory carries them; the
	// PostgreSQL bus does not store them.
	Secrets []string
	// ID names the published event: every subscriber of it sees the same
	// ID, and so does every redelivery of it (the PostgreSQL bus delivers
	// at least once). A handler that must act once keys its effect on it.
	ID string
	// Attempt counts deliveries of the event to its subscription: 1, then
	// 2 and more when the PostgreSQL bus delivers it again (its replica
	// died or stalled past the lease). Memory always says 1.
	Attempt int
}

// NewID returns a new event id: 24 hex digits, random.
func NewID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// SubscribeOptions bound a subscription.
type SubscribeOptions struct {
	// Concurrency is the number of handlers run at once (at least 1).
	Concurrency int
	// Queue is the number of events waiting for a handler (Memory; the
	// PostgreSQL bus keeps them in its table and ignores it).
	Queue int
	// Group names the subscription across processes sharing a bus (the
	// PostgreSQL bus): each event goes to one subscriber of each group.
	// nectar serve uses the pipeline's name. Memory ignores it.
	Group string
}

// IntakeStopper is a Bus whose subscriptions take events published by other
// processes (the PostgreSQL bus, store/postgres). StopIntake stops them from starting handlers while
// the running ones finish; a process stopping calls it before draining, so
// that the events it would have started go to the other processes. Memory
// has no such method: its events come from its own process, and its
// subscriptions drain their queue when cancelled.
type IntakeStopper interface {
	StopIntake()
}

// ServiceKey is the engine.Runtime service key of the Bus.
type ServiceKey struct{}

type sourceKey struct{}

// WithSource returns ctx naming the execution that publishes.
func WithSource(ctx context.Context, executionID string) context.Context {
	return context.WithValue(ctx, sourceKey{}, executionID)
}

// SourceOf returns the execution WithSource put in ctx, or "". A Bus
// publishing with ctx records it as the events' Source.
func SourceOf(ctx context.Context) string {
	src, _ := ctx.Value(sourceKey{}).(string)
	return src
}

type secretsKey struct{}

// WithSecrets returns ctx carrying the publishing execution's secret
// values (engine.Exec.Learned): a Bus publishing with ctx hands them to
// the subscribers as the events' Secrets. secrets is shared, not copied.
func WithSecrets(ctx context.Context, secrets []string) context.Context {
	if len(secrets) == 0 {
		return ctx
	}
	return context.WithValue(ctx, secretsKey{}, secrets)
}

// SecretsOf returns the values WithSecrets put in ctx, or nil.
func SecretsOf(ctx context.Context) []string {
	s, _ := ctx.Value(secretsKey{}).([]string)
	return s
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("events: bus closed")

// Memory is the in-process Bus.
type Memory struct {
	mu      sync.RWMutex
	subs    Subscriptions[*subscription]
	closed  bool
	Dropped atomic.Int64 // events published with no subscriber
}

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory { return &Memory{subs: Subscriptions[*subscription]{}} }

type subscription struct {
	name  string
	queue chan Event
	h     Handler
	wg    sync.WaitGroup
	stop  chan struct{}
	once  sync.Once
	ctx   context.Context
	abort context.CancelFunc
}

// Publish implements Bus.
func (m *Memory) Publish(ctx context.Context, name string, payload any) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	subs := m.subs[name]
	m.mu.RUnlock()
	if len(subs) == 0 {
		m.Dropped.Add(1)
		return nil
	}
	ev := Event{Name: name, Payload: payload, Source: SourceOf(ctx), Secrets: SecretsOf(ctx), ID: NewID(), Attempt: 1}
	for _, s := range subs {
		select {
		case s.queue <- ev:
		case <-s.stop:
			// The subscription went away while we waited: skip it.
		case <-ctx.Done():
			return fmt.Errorf("publishing event %s: %w", name, ctx.Err())
		}
	}
	return nil
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(name string, opts SubscribeOptions, h Handler) func(ctx context.Context) error {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.Queue < 0 {
		opts.Queue = 0
	}
	s := &subscription{name: name, queue: make(chan Event, opts.Queue), h: h, stop: make(chan struct{})}
	s.ctx, s.abort = context.WithCancel(context.Background())
	for range opts.Concurrency {
		s.wg.Add(1)
		go s.work()
	}
	m.mu.Lock()
	m.subs.Add(name, s)
	m.mu.Unlock()
	return func(ctx context.Context) error {
		m.mu.Lock()
		m.subs.Remove(name, s)
		m.mu.Unlock()
		return s.close(ctx)
	}
}

func (s *subscription) work() {
	defer s.wg.Done()
	for {
		select {
		case ev := <-s.queue:
			s.h(s.ctx, ev)
		case <-s.stop:
			// Drain what is queued, then stop.
			for {
				select {
				case ev := <-s.queue:
					s.h(s.ctx, ev)
				default:
					return
				}
			}
		}
	}
}

// close stops taking events, lets the workers drain the queue and waits for
// them; when ctx ends first, running handlers see their context cancelled.
func (s *subscription) close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	if err := wait.Group(ctx, &s.wg, s.abort); err != nil {
		return fmt.Errorf("event subscription %s: %w", s.name, err)
	}
	return nil
}

// Close stops the bus: Publish fails from now on, and every subscription
// drains as its cancel would.
func (m *Memory) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	all := m.subs.All()
	clear(m.subs)
	m.mu.Unlock()
	var errs []error
	for _, s := range all {
		errs = append(errs, s.close(ctx))
	}
	return errors.Join(errs...)
}

var _ Bus = (*Memory)(nil)
