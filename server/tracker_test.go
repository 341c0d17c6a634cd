package server

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestTrackerWait: wait returns at once with nothing running, ctx's error
// while something runs, and nil once the last running thing is done, for
// every waiter, also when the count leaves 0 and comes back many times
// while waiters come and go (go test -race: no lost wake-up, no close of
// a closed channel).
func TestTrackerWait(t *testing.T) {
	var tr tracker
	if err := tr.wait(context.Background()); err != nil {
		t.Fatalf("wait with nothing running: %v", err)
	}
	tr.add()
	tr.add()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.wait(cancelled); err != context.Canceled {
		t.Fatalf("wait with 2 running and a cancelled context: %v, want context.Canceled", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- tr.wait(context.Background()) }()
	tr.done()
	select {
	case err := <-waited:
		t.Fatalf("wait returned %v with 1 still running", err)
	default:
	}
	tr.done()
	if err := <-waited; err != nil {
		t.Fatalf("wait after the last done: %v", err)
	}
	if n := tr.count(); n != 0 {
		t.Fatalf("count %d, want 0", n)
	}

	// Many goroutines in and out, waiters meanwhile; the guard's deadline
	// only turns a lost wake-up into a failure instead of a hang.
	guard, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	var wg, waiters sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				tr.add()
				tr.done()
			}
		}()
	}
	errs := make(chan error, 64)
	for range 64 {
		waiters.Add(1)
		go func() {
			defer waiters.Done()
			errs <- tr.wait(guard)
		}()
	}
	wg.Wait()
	waiters.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a waiter was not woken: %v", err)
		}
	}
	if n := tr.count(); n != 0 {
		t.Fatalf("count %d after the load, want 0", n)
	}
	if err := tr.wait(context.Background()); err != nil {
		t.Fatalf("wait at the end: %v", err)
	}
}
