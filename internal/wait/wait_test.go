package wait_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/wait"
)

func TestSleep(t *testing.T) {
	if !wait.Sleep(context.Background(), 0) || !wait.Sleep(context.Background(), time.Nanosecond) {
		t.Fatal("a live context is reported done")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if wait.Sleep(ctx, time.Hour) || wait.Sleep(ctx, 0) {
		t.Fatal("a done context is reported live")
	}
}

func TestEvery(t *testing.T) {
	wait.Every(nil, 0, func() { t.Fatal("called with d of 0") }) // returns at once
	stop := make(chan struct{})
	calls := 0
	wait.Every(stop, time.Millisecond, func() {
		if calls++; calls == 3 {
			close(stop)
		}
	})
	if calls != 3 {
		t.Fatalf("f ran %d times after stop at 3", calls)
	}
}

func TestGroup(t *testing.T) {
	var wg sync.WaitGroup
	aborted := 0
	if err := wait.Group(context.Background(), &wg, func() { aborted++ }); err != nil || aborted != 1 {
		t.Fatalf("empty group: err %v, abort called %d times", err, aborted)
	}
	// A handler that runs until aborted: ctx ends first, abort cancels it,
	// and Group still waits for it.
	hctx, cancel := context.WithCancel(context.Background())
	finished := false
	wg.Add(1)
	go func() { defer wg.Done(); <-hctx.Done(); finished = true }()
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := wait.Group(ctx, &wg, cancel); err != context.Canceled {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if !finished {
		t.Fatal("Group returned before the handler finished")
	}
}
