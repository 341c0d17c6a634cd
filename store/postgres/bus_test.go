package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

// openBus opens a store on dsn, as a replica does, and its bus; both are
// closed when t ends, the bus first.
func openBus(t testing.TB, dsn string, o postgres.BusOptions) *postgres.Bus {
	t.Helper()
	st := pgtest.Open(t, dsn)
	b, err := st.Bus(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return b
}

// collector records what handlers received, by label.
type collector struct {
	mu  sync.Mutex
	got map[string][]string
	ch  chan struct{}
}

func newCollector() *collector {
	return &collector{got: map[string][]string{}, ch: make(chan struct{}, 1000)}
}

func (c *collector) handler(label string) events.Handler {
	return func(ctx context.Context, ev events.Event) {
		b, _ := value.Encode(ev.Payload)
		c.mu.Lock()
		c.got[label] = append(c.got[label], string(b)+"|"+ev.Source)
		c.mu.Unlock()
		c.ch <- struct{}{}
	}
}

// wait waits for n handled events in all.
func (c *collector) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-c.ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("timed out waiting for events; got %v", c.snapshot())
		}
	}
}

func (c *collector) snapshot() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]string{}
	for k, v := range c.got {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func TestPostgresDeliversAcrossReplicas(t *testing.T) {
	dsn := pgtest.Database(t)
	a := openBus(t, dsn, postgres.BusOptions{})
	b := openBus(t, dsn, postgres.BusOptions{})
	c := newCollector()
	// Group p1 runs on replica b only; group p2 on both: p2's events are
	// shared between them, each handled once.
	b.Subscribe("orders.created", events.SubscribeOptions{Concurrency: 2, Group: "p1"}, c.handler("p1@b"))
	a.Subscribe("orders.created", events.SubscribeOptions{Concurrency: 2, Group: "p2"}, c.handler("p2@a"))
	b.Subscribe("orders.created", events.SubscribeOptions{Concurrency: 2, Group: "p2"}, c.handler("p2@b"))
	const n = 40
	ctx := events.WithSource(context.Background(), "exec-1")
	for i := range n {
		payload := value.NewObject(2)
		payload.Set("z", int64(i))
		payload.Set("a", "first key stays second")
		if err := a.Publish(ctx, "orders.created", payload); err != nil {
			t.Fatal(err)
		}
	}
	c.wait(t, 2*n)
	got := c.snapshot()
	if len(got["p1@b"]) != n {
		t.Fatalf("group p1 handled %d events, want %d", len(got["p1@b"]), n)
	}
	seen := map[string]bool{}
	for _, e := range append(got["p2@a"], got["p2@b"]...) {
		if seen[e] {
			t.Errorf("group p2 handled %s twice", e)
		}
		seen[e] = true
	}
	if len(seen) != n {
		t.Errorf("group p2 handled %d distinct events, want %d", len(seen), n)
	}
	if want := `{"z":0,"a":"first key stays second"}|exec-1`; !slices.Contains(got["p1@b"], want) {
		t.Errorf("no event %s among %v (key order and source kept)", want, got["p1@b"])
	}
	if a.Dropped.Load() != 0 {
		t.Errorf("dropped %d", a.Dropped.Load())
	}
}

func TestPostgresDropsWithoutSubscribers(t *testing.T) {
	dsn := pgtest.Database(t)
	a := openBus(t, dsn, postgres.BusOptions{})
	if err := a.Publish(context.Background(), "nobody.listens", "x"); err != nil {
		t.Fatal(err)
	}
	if a.Dropped.Load() != 1 {
		t.Fatalf("dropped %d, want 1", a.Dropped.Load())
	}
	// After the only subscription is cancelled, events are dropped again.
	cancel := a.Subscribe("later", events.SubscribeOptions{}, func(context.Context, events.Event) {})
	if err := cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Publish(context.Background(), "later", "x")
	if a.Dropped.Load() != 2 {
		t.Fatalf("dropped %d after cancel, want 2", a.Dropped.Load())
	}
	a.Close(context.Background())
	if err := a.Publish(context.Background(), "later", "x"); err != events.ErrClosed {
		t.Fatalf("publish after close: %v", err)
	}
}

// TestPostgresRedeliversAfterCrash: a replica claims an event and dies
// mid-run; another replica of the same group handles it once the lease
// runs out.
func TestPostgresRedeliversAfterCrash(t *testing.T) {
	dsn := pgtest.Database(t)
	opts := postgres.BusOptions{Lease: 500 * time.Millisecond, Poll: 50 * time.Millisecond}
	dying := openBus(t, dsn, opts)
	started := make(chan struct{})
	stuck := make(chan struct{})
	defer close(stuck)
	dying.Subscribe("jobs", events.SubscribeOptions{Group: "worker"}, func(ctx context.Context, ev events.Event) {
		close(started)
		<-stuck
	})
	if err := dying.Publish(context.Background(), "jobs", "job-1"); err != nil {
		t.Fatal(err)
	}
	<-started
	postgres.Crash(dying)
	survivor := openBus(t, dsn, opts)
	c := newCollector()
	survivor.Subscribe("jobs", events.SubscribeOptions{Group: "worker"}, c.handler("survivor"))
	c.wait(t, 1)
	if got := c.snapshot()["survivor"]; len(got) != 1 || got[0] != `"job-1"|` {
		t.Fatalf("survivor got %v", got)
	}
}

// TestPostgresCancelHandsBack: a handler cut short by its subscription's
// cancel (shutdown timeout) leaves the event to another replica at once.
func TestPostgresCancelHandsBack(t *testing.T) {
	dsn := pgtest.Database(t)
	opts := postgres.BusOptions{Lease: time.Hour, Poll: 50 * time.Millisecond}
	a := openBus(t, dsn, opts)
	started := make(chan struct{})
	cancelA := a.Subscribe("jobs", events.SubscribeOptions{Group: "worker"}, func(ctx context.Context, ev events.Event) {
		close(started)
		<-ctx.Done()
	})
	b := openBus(t, dsn, opts)
	if err := a.Publish(context.Background(), "jobs", "job-1"); err != nil {
		t.Fatal(err)
	}
	<-started
	c := newCollector()
	b.Subscribe("jobs", events.SubscribeOptions{Group: "worker"}, c.handler("b"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cancelA(ctx); err == nil {
		t.Fatal("cancel with a done context returned nil while a handler ran")
	}
	c.wait(t, 1) // without the hand-back, the one-hour lease would hold it
}

// TestPostgresLeaseRenewed: a handler that runs longer than the lease keeps
// its event; no other replica gets it.
func TestPostgresLeaseRenewed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits several leases")
	}
	dsn := pgtest.Database(t)
	opts := postgres.BusOptions{Lease: 300 * time.Millisecond, Poll: 20 * time.Millisecond}
	a := openBus(t, dsn, opts)
	b := openBus(t, dsn, opts)
	c := newCollector()
	slow := func(label string) events.Handler {
		h := c.handler(label)
		return func(ctx context.Context, ev events.Event) {
			time.Sleep(1200 * time.Millisecond) // four leases
			h(ctx, ev)
		}
	}
	a.Subscribe("slow", events.SubscribeOptions{Group: "g"}, slow("a"))
	b.Subscribe("slow", events.SubscribeOptions{Group: "g"}, slow("b"))
	for i := range 2 {
		if err := a.Publish(context.Background(), "slow", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	c.wait(t, 2)
	// Leave time for a wrongly expired lease to be claimed again.
	time.Sleep(600 * time.Millisecond)
	got := c.snapshot()
	if n := len(got["a"]) + len(got["b"]); n != 2 {
		t.Fatalf("handled %d times, want 2: %v", n, got)
	}
}

func BenchmarkPostgresPublish(b *testing.B) {
	dsn := pgtest.Database(b)
	bus := openBus(b, dsn, postgres.BusOptions{})
	done := make(chan struct{}, 1024)
	bus.Subscribe("bench", events.SubscribeOptions{Concurrency: 8, Group: "g"}, func(context.Context, events.Event) { done <- struct{}{} })
	payload := value.NewObject(2)
	payload.Set("id", "order-1")
	payload.Set("total", 12.5)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := bus.Publish(ctx, "bench", payload); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for range n {
		<-done
	}
}

// TestPostgresStopIntake: after StopIntake a replica starts no handler,
// while its running handler finishes; the events published meanwhile are
// run by the other replica, each once, with attempt 1 and the id they were
// published with.
func TestPostgresStopIntake(t *testing.T) {
	dsn := pgtest.Database(t)
	stopping := openBus(t, dsn, postgres.BusOptions{})
	other := openBus(t, dsn, postgres.BusOptions{})
	running := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var onStopping []string
	cancel := stopping.Subscribe("orders", events.SubscribeOptions{Concurrency: 2, Group: "g"}, func(ctx context.Context, ev events.Event) {
		mu.Lock()
		onStopping = append(onStopping, ev.ID)
		first := len(onStopping) == 1
		mu.Unlock()
		if first {
			close(running)
			<-release
		}
	})
	if err := stopping.Publish(context.Background(), "orders", "first"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("the first event did not run")
	}
	stopping.StopIntake()
	type seen struct {
		id      string
		attempt int
	}
	got := make(chan seen, 100)
	other.Subscribe("orders", events.SubscribeOptions{Concurrency: 2, Group: "g"}, func(ctx context.Context, ev events.Event) {
		got <- seen{ev.ID, ev.Attempt}
	})
	const n = 10
	for i := range n {
		if err := stopping.Publish(context.Background(), "orders", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for range n {
		select {
		case s := <-got:
			if s.id == "" || ids[s.id] || s.attempt != 1 {
				t.Errorf("event %q attempt %d (seen before: %v)", s.id, s.attempt, ids[s.id])
			}
			ids[s.id] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("the other replica ran %d of %d events", len(ids), n)
		}
	}
	close(release)
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := cancel(ctx); err != nil {
		t.Errorf("the running handler did not finish: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(onStopping) != 1 {
		t.Errorf("the stopping replica ran %d events, want only the one running when its intake stopped", len(onStopping))
	}
}

// TestBusSharesTheStoresListener: a store and its bus hold one listening
// connection between them (they used to hold one each, and the bus its own
// pool), and a store has one bus at a time.
func TestBusSharesTheStoresListener(t *testing.T) {
	dsn := pgtest.Database(t)
	// The package's tests share one cluster, and a backend whose client has
	// closed its connection (the listener of the test before) leaves
	// pg_stat_activity a moment later: count only the backends started
	// from here on.
	conn := mustConn(t, dsn)
	var since time.Time
	if err := conn.QueryRow(context.Background(), `SELECT clock_timestamp()`).Scan(&since); err != nil {
		t.Fatal(err)
	}
	st := pgtest.Open(t, dsn)
	b, err := st.Bus(context.Background(), postgres.BusOptions{Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	if _, err := st.Bus(context.Background(), postgres.BusOptions{}); !errors.Is(err, postgres.ErrBusOpen) {
		t.Fatalf("a second bus on one store: %v, want ErrBusOpen", err)
	}
	// The store's listener connects in the background after Open.
	listening(t, st, 0)
	// With an hour's poll, only the store's listener can wake the
	// subscription once it waits: "first" comes by the subscription's
	// first claim or by a wake; its handler then holds one of the two
	// slots (so no freed slot wakes the subscription either) while
	// "second" is published.
	got := make(chan string, 2)
	release := make(chan struct{})
	defer close(release)
	b.Subscribe("woken", events.SubscribeOptions{Group: "g", Concurrency: 2}, func(_ context.Context, ev events.Event) {
		got <- ev.Payload.(string)
		if ev.Payload == "first" {
			<-release
		}
	})
	for _, p := range []string{"first", "second"} {
		if err := b.Publish(context.Background(), "woken", p); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != p {
				t.Fatalf("payload %q, want %q", g, p)
			}
		case <-time.After(time.Minute): // a hang, not a timing assertion
			t.Fatalf("event %q was not handled: the store's listener did not wake the subscription", p)
		}
	}
	rows, _ := conn.Query(context.Background(), `SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND query LIKE 'LISTEN %' AND backend_start >= $1`, since)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	if err != nil {
		t.Fatal(err)
	}
	if want := postgres.ListenerPID(st); len(pids) != 1 || pids[0] != want {
		t.Fatalf("listening connections (backend pids) for a store and its bus: %v, want the store's listener's alone, [%d]", pids, want)
	}
}

func mustConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
