package history_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/history"
)

// TestFullQueueWakesTheRecorder: Record runs on the request path and
// waits only while the queue is full, and the recorder's linger (the wait
// that gathers a batch) must never make it wait longer. A queue smaller
// than a batch is full before a batch's worth is queued: filling it must
// wake the recorder as a batch's worth does, so that the next Record is
// taken at once, not after the linger. It runs in a synctest bubble: time
// stands still while the test looks, so "at once" is exact, not timed.
func TestFullQueueWakesTheRecorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen atomic.Int64
		r, err := history.New(context.Background(), nil, history.Options{Queue: 2, Observe: func(*history.Execution) { seen.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rec := func() {
			r.Record(&history.Execution{ID: history.NewID(start), Trigger: "http", Start: start, End: start})
		}
		rec()
		synctest.Wait() // the recorder took the first and lingers for more
		rec()
		rec() // the queue is full
		var returned atomic.Bool
		go func() {
			rec()
			returned.Store(true)
		}()
		synctest.Wait()
		if !returned.Load() {
			t.Errorf("Record still waits on a full queue while the recorder lingers (no time passed; %d of 4 observed)", seen.Load())
		}
		if time.Since(start) != 0 {
			t.Fatalf("time passed in the bubble: %v", time.Since(start))
		}
		for !returned.Load() { // let the bubble's clock run (the recorder lingers), so that Close is not stuck behind that Record
			time.Sleep(time.Millisecond)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if seen.Load() != 4 {
			t.Errorf("observed %d executions, want 4", seen.Load())
		}
	})
}
