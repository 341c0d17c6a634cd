package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/internal/wait"
)

// Bus is the events.Bus shared by several nectar serve replicas on one
// PostgreSQL database: an event published on any replica is handled by a
// subscriber on any replica, at least once. It is opened from the Store
// (Store.Bus) and shares its connection pool and its one listening
// connection.
//
// # Model
//
// A subscription belongs to a group (SubscribeOptions.Group; nectar serve
// uses the pipeline's name). Every replica serving the pipeline subscribes
// with the same group, and the group is what gets the event: Publish
// inserts one row per group subscribed to the name anywhere (the table
// nectar_event_subs, where each replica registers its groups and renews
// them), and NOTIFYs the replicas. Each replica claims rows of its groups
// with UPDATE … FOR UPDATE SKIP LOCKED, which makes a row invisible to the
// others for the lease; the lease is extended while the handler runs, and
// the row is deleted when the handler returns. A replica that dies leaves
// rows whose lease runs out: another replica takes them again. So an event
// is handled once per group, or more than once when a replica dies (or
// stalls past its lease) mid-run; it is never lost once Publish returned.
//
// Publish returns when the rows are committed, not when a handler runs:
// there is no back-pressure (SubscribeOptions.Queue is not used). An event
// whose name has no live subscription anywhere is dropped and counted, as
// with Memory. A handler stopped by the subscription's cancel (its context
// ended) leaves its event to be taken again at once by another replica.
//
// Every row of one publish carries the same Event.ID, kept across
// redeliveries, and the claim counts Event.Attempt: a handler keys its
// effect on the ID to act once. StopIntake, for a replica shutting down,
// stops its claims while its running handlers finish.
//
// Claiming is woken by LISTEN/NOTIFY (the store's listener hands the
// bus the notifications of its channel) and otherwise polls every
// BusOptions.Poll, which is also how expired leases are found.
type Bus struct {
	st      *Store
	pool    *pgxpool.Pool
	o       BusOptions
	replica string

	mu     sync.Mutex
	subs   events.Subscriptions[*pgSub]
	closed bool

	fmu      sync.Mutex
	inflight map[int64]int // claimed rows being handled here (count of handlers)

	// intakeMu orders StopIntake with the start of handlers: once
	// StopIntake returns, no handler starts here.
	intakeMu      sync.RWMutex
	intakeStopped bool

	stop    chan struct{}
	bg      sync.WaitGroup
	crashed atomic.Bool

	// Dropped counts events published when no replica subscribes to
	// their name.
	Dropped atomic.Int64
}

// BusOptions configure Store.Bus. Zero values take the defaults.
type BusOptions struct {
	// Lease is how long a claimed event stays invisible to other replicas
	// without news from its handler: the delay before the event of a dead
	// replica is redelivered. The lease is renewed every Lease/3 while the
	// handler runs. Default 30 s.
	Lease time.Duration
	// Poll bounds the wait between claims when no notification comes.
	// Default 1 s.
	Poll time.Duration
	// SubscriptionTTL is how long a replica's subscription stays registered
	// without being renewed (it is renewed every third of it): events keep
	// queueing for a crashed replica's pipelines for that long. Default 5
	// minutes.
	SubscriptionTTL time.Duration
	// Retention is how long an event waits for a handler before it is
	// deleted (its group's pipeline was removed while replicas were down).
	// Default 7 days.
	Retention time.Duration
	// Logger receives problems with the database (default slog.Default()).
	Logger *slog.Logger
}

func (o *BusOptions) defaults() {
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.SubscriptionTTL <= 0 {
		o.SubscriptionTTL = 5 * time.Minute
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// busChannel is the LISTEN/NOTIFY channel of published events; the payload
// is the event name.
const busChannel = "nectar_events"

// pgMigrations are the bus's tables, versioned apart from the store's
// (nectar_bus_schema). Never edit one that shipped: append.
var pgMigrations = []string{
	`CREATE TABLE nectar_events (
	id           bigserial PRIMARY KEY,
	grp          text NOT NULL,
	name         text NOT NULL,
	payload      bytea NOT NULL,
	source       text NOT NULL DEFAULT '',
	published_at timestamptz NOT NULL DEFAULT now(),
	visible_at   timestamptz NOT NULL DEFAULT now(),
	attempts     integer NOT NULL DEFAULT 0,
	owner        text NOT NULL DEFAULT ''
);
CREATE INDEX nectar_events_claim ON nectar_events (grp, visible_at, id);
CREATE TABLE nectar_event_subs (
	name       text NOT NULL,
	grp        text NOT NULL,
	replica    text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (name, grp, replica)
);`,
	// event_id names the published event across its groups' rows and
	// redeliveries (Event.ID); rows published before it have ''.
	`ALTER TABLE nectar_events ADD COLUMN event_id text NOT NULL DEFAULT '';`,
}

// busSchema is the bus's tables, versioned apart from the store's
// (nectar_bus_schema; "nbus" in ASCII keys its lock).
var busSchema = schema{what: "the event tables are", table: "nectar_bus_schema", lock: 0x6e627573, migrations: pgMigrations}

// ErrBusOpen is returned by Store.Bus while the store has a bus that is
// not closed: one bus per store, since the store's listener wakes one.
var ErrBusOpen = errors.New("postgres: the store already has an open event bus")

// Bus creates or upgrades the bus's tables (safe from several replicas at
// once) and returns the store's event bus, which uses the store's pool and
// its listening connection. ctx bounds the migration. Close the bus after
// its subscriptions are cancelled, and before the store.
func (s *Store) Bus(ctx context.Context, opts BusOptions) (*Bus, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("postgres: opening the event bus: %w", err)
	}
	opts.defaults()
	b := &Bus{st: s, pool: s.pool, o: opts, replica: token(), subs: events.Subscriptions[*pgSub]{}, inflight: map[int64]int{}, stop: make(chan struct{})}
	if !s.bus.CompareAndSwap(nil, b) {
		return nil, ErrBusOpen
	}
	if err := busSchema.migrate(ctx, s.pool); err != nil {
		s.bus.CompareAndSwap(b, nil)
		return nil, err
	}
	b.bg.Add(2)
	go b.every(b.o.Lease/3, b.extend)
	go b.every(b.o.SubscriptionTTL/3, b.housekeep)
	return b, nil
}

// Publish implements Bus: it stores one row per group subscribed to name on
// any replica and wakes them. When it returns nil the event is durable.
func (b *Bus) Publish(ctx context.Context, name string, payload any) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return events.ErrClosed
	}
	data, err := value.Encode(payload)
	if err != nil {
		return fmt.Errorf("publishing event %s: %w", name, err)
	}
	src := events.SourceOf(ctx)
	// One statement: the rows and the notification commit together, and
	// the notification is sent only when some group takes the event.
	var n int64
	err = b.pool.QueryRow(ctx, `WITH ins AS (
	INSERT INTO nectar_events (grp, name, payload, source, event_id)
	SELECT DISTINCT grp, $1, $2::bytea, $3, $4 FROM nectar_event_subs WHERE name = $1 AND expires_at > now()
	RETURNING 1),
c AS (SELECT count(*) AS n FROM ins)
SELECT c.n FROM c LEFT JOIN LATERAL (SELECT pg_notify('`+busChannel+`', $1) WHERE c.n > 0) x ON true`,
		name, data, src, events.NewID()).Scan(&n)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("publishing event %s: %w", name, ctx.Err())
		}
		return fmt.Errorf("publishing event %s: %w", name, err)
	}
	if n == 0 {
		b.Dropped.Add(1)
	}
	return nil
}

// pgSub is one local subscription.
type pgSub struct {
	b     *Bus
	name  string
	grp   string
	conc  int
	h     events.Handler
	wake  chan struct{} // a notification or a freed slot
	stop  chan struct{}
	once  sync.Once
	done  chan struct{} // the claimer returned
	wg    sync.WaitGroup
	sem   chan struct{}
	ctx   context.Context
	abort context.CancelFunc
}

// Subscribe implements Bus. opts.Group names the subscription across
// replicas (default: the event name, so that one subscriber in the cluster
// gets each event); opts.Queue is not used.
func (b *Bus) Subscribe(name string, opts events.SubscribeOptions, h events.Handler) func(ctx context.Context) error {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	grp := opts.Group
	if grp == "" {
		grp = name
	}
	s := &pgSub{b: b, name: name, grp: grp, conc: opts.Concurrency, h: h,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), sem: make(chan struct{}, opts.Concurrency)}
	s.ctx, s.abort = context.WithCancel(context.Background())
	b.mu.Lock()
	if b.closed || b.intakeIsStopped() {
		b.mu.Unlock()
		close(s.done)
		return func(context.Context) error { return nil }
	}
	b.subs.Add(name, s)
	b.mu.Unlock()
	// Register before returning, so that an event published after Subscribe
	// returns is kept for this group. A failure is retried by housekeeping.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := b.register(ctx, []*pgSub{s}); err != nil {
		b.o.Logger.Warn("event subscription not registered yet; retrying", "event", name, "group", grp, "error", err.Error())
	}
	cancel()
	go s.claimLoop()
	return func(ctx context.Context) error {
		b.mu.Lock()
		b.subs.Remove(name, s)
		b.mu.Unlock()
		err := s.close(ctx)
		b.unregister(s)
		return err
	}
}

// register upserts the replica's rows for subs.
func (b *Bus) register(ctx context.Context, subs []*pgSub) error {
	if len(subs) == 0 {
		return nil
	}
	names := make([]string, len(subs))
	grps := make([]string, len(subs))
	for i, s := range subs {
		names[i], grps[i] = s.name, s.grp
	}
	_, err := b.pool.Exec(ctx, `INSERT INTO nectar_event_subs (name, grp, replica, expires_at)
SELECT n, g, $3, now() + $4 * interval '1 microsecond' FROM unnest($1::text[], $2::text[]) AS t(n, g)
ON CONFLICT (name, grp, replica) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
		names, grps, b.replica, b.o.SubscriptionTTL.Microseconds())
	return err
}

// unregister deletes the replica's row for s unless another local
// subscription has the same name and group (a reloaded pipeline).
func (b *Bus) unregister(s *pgSub) {
	b.mu.Lock()
	for _, x := range b.subs[s.name] {
		if x.grp == s.grp {
			b.mu.Unlock()
			return
		}
	}
	b.mu.Unlock()
	if b.crashed.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = b.pool.Exec(ctx, `DELETE FROM nectar_event_subs WHERE name = $1 AND grp = $2 AND replica = $3`, s.name, s.grp, b.replica)
}

func (s *pgSub) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type pgEvent struct {
	id       int64
	name     string
	payload  []byte
	source   string
	eventID  string
	attempts int
}

// claimLoop claims events while there are free handler slots, and waits
// for a notification, a freed slot or the poll otherwise.
func (s *pgSub) claimLoop() {
	defer close(s.done)
	b := s.b
	timer := time.NewTimer(0)
	defer timer.Stop()
	var failures int
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		if b.intakeIsStopped() {
			return
		}
		free := s.conc - len(s.sem)
		more := false
		if free > 0 {
			evs, err := s.claim(free)
			switch {
			case err != nil && s.ctx.Err() == nil:
				if failures++; failures == 1 || failures%60 == 0 {
					b.o.Logger.Warn("claiming events", "event", s.name, "group", s.grp, "error", err.Error())
				}
			case err == nil:
				failures = 0
			}
			if !s.start(evs) {
				return
			}
			more = len(evs) == free
		}
		if more {
			continue
		}
		timer.Reset(b.o.Poll)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// start starts a handler for each claimed event, or, once StopIntake was
// called, hands them back unstarted and reports false.
func (s *pgSub) start(evs []pgEvent) bool {
	b := s.b
	b.intakeMu.RLock()
	defer b.intakeMu.RUnlock()
	if b.intakeStopped {
		b.handBack(evs)
		return false
	}
	for _, ev := range evs {
		s.sem <- struct{}{}
		s.wg.Add(1)
		go s.handle(ev)
	}
	return true
}

// handBack makes claimed events that were never started visible again at
// once, as if never claimed, for the other replicas.
func (b *Bus) handBack(evs []pgEvent) {
	if len(evs) == 0 {
		return
	}
	ids := make([]int64, len(evs))
	b.fmu.Lock()
	for i, ev := range evs {
		ids[i] = ev.id
		if b.inflight[ev.id]--; b.inflight[ev.id] <= 0 {
			delete(b.inflight, ev.id)
		}
	}
	b.fmu.Unlock()
	if b.crashed.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.pool.Exec(ctx, `UPDATE nectar_events SET visible_at = now(), attempts = greatest(attempts - 1, 0), owner = '' WHERE id = ANY($1) AND owner = $2`, ids, b.replica)
	if err != nil {
		// The lease runs out and another replica takes them then.
		b.o.Logger.Warn("handing back events claimed during shutdown", "events", len(ids), "error", err.Error())
	}
}

// StopIntake stops this replica from starting handlers: no subscription
// claims an event from now on (one claimed meanwhile is handed back
// unstarted), while the handlers already running go on. nectar serve calls
// it first on SIGTERM, so that the events published while it drains go to
// the other replicas instead of being started here and cut by the
// shutdown's deadline. Cancel the subscriptions (or Close) afterwards to
// wait for the running handlers.
func (b *Bus) StopIntake() {
	b.intakeMu.Lock()
	b.intakeStopped = true
	b.intakeMu.Unlock()
}

func (b *Bus) intakeIsStopped() bool {
	b.intakeMu.RLock()
	defer b.intakeMu.RUnlock()
	return b.intakeStopped
}

// claim takes up to n visible events of the group and leases them.
func (s *pgSub) claim(n int) ([]pgEvent, error) {
	b := s.b
	if b.crashed.Load() {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	rows, err := b.pool.Query(ctx, `UPDATE nectar_events SET visible_at = now() + $3 * interval '1 microsecond', attempts = attempts + 1, owner = $4
WHERE id IN (SELECT id FROM nectar_events WHERE grp = $1 AND visible_at <= now() ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING id, name, payload, source, event_id, attempts`, s.grp, n, b.o.Lease.Microseconds(), b.replica)
	if err != nil {
		return nil, err
	}
	var evs []pgEvent
	for rows.Next() {
		var ev pgEvent
		if err := rows.Scan(&ev.id, &ev.name, &ev.payload, &ev.source, &ev.eventID, &ev.attempts); err != nil {
			rows.Close()
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, nil
	}
	slices.SortFunc(evs, func(a, b pgEvent) int { return int(a.id - b.id) })
	b.fmu.Lock()
	for _, ev := range evs {
		b.inflight[ev.id]++
	}
	b.fmu.Unlock()
	return evs, nil
}

// handle runs the handler for one claimed event, then deletes it (or, when
// the subscription was aborted mid-run, hands it back at once).
func (s *pgSub) handle(ev pgEvent) {
	b := s.b
	defer func() {
		<-s.sem
		s.signal()
		s.wg.Done()
	}()
	defer func() {
		b.fmu.Lock()
		if b.inflight[ev.id]--; b.inflight[ev.id] <= 0 {
			delete(b.inflight, ev.id)
		}
		b.fmu.Unlock()
	}()
	payload, err := value.Decode(ev.payload)
	if err != nil {
		// Not ours to fix by retrying: the row cannot become readable.
		b.o.Logger.Error("event payload does not decode; dropping it", "event", ev.name, "id", ev.id, "error", err.Error())
	} else {
		id := ev.eventID
		if id == "" {
			id = fmt.Sprintf("row-%d", ev.id) // published by a Nectar before event ids
		}
		s.h(s.ctx, events.Event{Name: ev.name, Payload: payload, Source: ev.source, ID: id, Attempt: ev.attempts})
	}
	if b.crashed.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.ctx.Err() != nil && err == nil {
		_, err = b.pool.Exec(ctx, `UPDATE nectar_events SET visible_at = now() WHERE id = $1 AND owner = $2`, ev.id, b.replica)
	} else {
		_, err = b.pool.Exec(ctx, `DELETE FROM nectar_events WHERE id = $1`, ev.id)
	}
	if err != nil {
		// The lease runs out and the event is handled again: at least once.
		b.o.Logger.Warn("event handled but not acknowledged; it will be delivered again", "event", ev.name, "id", ev.id, "error", err.Error())
	}
}

// close stops claiming and waits for running handlers until ctx ends, when
// they see their context cancelled.
func (s *pgSub) close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	if err := wait.Group(ctx, &s.wg, s.abort); err != nil {
		return fmt.Errorf("event subscription %s: %w", s.name, err)
	}
	return nil
}

// every runs f every d until Close, skipping the ticks of a crashed bus.
func (b *Bus) every(d time.Duration, f func()) {
	defer b.bg.Done()
	wait.Every(b.stop, d, func() {
		if !b.crashed.Load() {
			f()
		}
	})
}

// extend renews the leases of the events handled here.
func (b *Bus) extend() {
	b.fmu.Lock()
	ids := make([]int64, 0, len(b.inflight))
	for id := range b.inflight {
		ids = append(ids, id)
	}
	b.fmu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.o.Lease/3)
	_, err := b.pool.Exec(ctx, `UPDATE nectar_events SET visible_at = now() + $2 * interval '1 microsecond' WHERE id = ANY($1) AND owner = $3`,
		ids, b.o.Lease.Microseconds(), b.replica)
	cancel()
	if err != nil {
		b.o.Logger.Warn("renewing event leases", "events", len(ids), "error", err.Error())
	}
}

// housekeep renews this replica's subscriptions and deletes expired
// subscriptions and events past the retention.
func (b *Bus) housekeep() {
	b.mu.Lock()
	all := b.subs.All()
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.register(ctx, all); err != nil {
		b.o.Logger.Warn("renewing event subscriptions", "error", err.Error())
	}
	_, _ = b.pool.Exec(ctx, `DELETE FROM nectar_event_subs WHERE expires_at < now()`)
	tag, err := b.pool.Exec(ctx, `DELETE FROM nectar_events WHERE published_at < now() - $1 * interval '1 microsecond'`, b.o.Retention.Microseconds())
	if err == nil && tag.RowsAffected() > 0 {
		b.o.Logger.Warn("events deleted unhandled after the retention", "events", tag.RowsAffected(), "retention", b.o.Retention.String())
	}
}

// wakeAll wakes the local subscriptions of name, or all of them when name
// is empty.
func (b *Bus) wakeAll(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if name != "" {
		for _, s := range b.subs[name] {
			s.signal()
		}
		return
	}
	for _, s := range b.subs.All() {
		s.signal()
	}
}

// Close stops the bus: Publish fails from now on, every subscription
// drains as its cancel would (within ctx), this replica's subscriptions
// are unregistered, and the store no longer wakes it (the store stays open:
// close it afterwards). Events not yet handled stay in the table for the
// other replicas.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	all := b.subs.All()
	clear(b.subs)
	b.mu.Unlock()
	var errs []error
	for _, s := range all {
		errs = append(errs, s.close(ctx))
	}
	close(b.stop)
	b.bg.Wait()
	if !b.crashed.Load() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, err := b.pool.Exec(dctx, `DELETE FROM nectar_event_subs WHERE replica = $1`, b.replica)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("postgres: unregistering the event subscriptions: %w", err))
		}
	}
	b.st.bus.CompareAndSwap(b, nil)
	return errors.Join(errs...)
}

var (
	_ events.Bus           = (*Bus)(nil)
	_ events.IntakeStopper = (*Bus)(nil)
)
