// Package wait holds the one way Nectar waits: for a duration or until a
// context is done, whichever comes first.
package wait

import (
	"context"
	"sync"
	"time"
)

// Sleep waits d, or until ctx is done; it reports whether ctx is still
// live. A d of 0 or less does not wait.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Every calls f every d until stop is closed; a d of 0 or less never calls
// it and returns at once.
func Every(stop <-chan struct{}, d time.Duration, f func()) {
	if d <= 0 {
		return
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			f()
		}
	}
}

// Group waits for wg, then calls abort. When ctx is done first, it calls
// abort at once (what is still running is cancelled), still waits for wg,
// and returns ctx.Err(): the way a bus subscription closes.
func Group(ctx context.Context, wg *sync.WaitGroup, abort func()) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		abort()
		return nil
	case <-ctx.Done():
		abort()
		<-done
		return ctx.Err()
	}
}
