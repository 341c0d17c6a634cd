package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/nectar-run/nectar/events"
)

func TestFanOutAndBackPressure(t *testing.T) {
	bus := events.NewMemory()
	defer bus.Close(context.Background())
	release := make(chan struct{})
	a, b := make(chan any, 10), make(chan any, 10)
	bus.Subscribe("x", events.SubscribeOptions{Concurrency: 1, Queue: 1}, func(ctx context.Context, ev events.Event) {
		<-release
		a <- ev.Payload
	})
	bus.Subscribe("x", events.SubscribeOptions{Concurrency: 2, Queue: 10}, func(ctx context.Context, ev events.Event) { b <- ev.Payload })
	ctx := context.Background()
	// One event runs (blocked), one waits in the queue of size 1.
	for i := range 2 {
		if err := bus.Publish(ctx, "x", i); err != nil {
			t.Fatal(err)
		}
	}
	// The next publish waits for room: with a cancelled context it fails.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := bus.Publish(cctx, "x", 2); err == nil {
		t.Fatal("publish into a full queue did not wait")
	}
	close(release)
	for _, ch := range []chan any{a, a, b, b} {
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatal("event not delivered")
		}
	}
	if err := bus.Publish(ctx, "nobody", 1); err != nil || bus.Dropped.Load() != 1 {
		t.Fatalf("event without subscribers: %v, dropped %d", err, bus.Dropped.Load())
	}
}
