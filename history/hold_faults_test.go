package history_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/storetest"
)

// failingStore is a real store whose commits fail while down is set.
type failingStore struct {
	store.Store
	down atomic.Bool
}

func (f *failingStore) Apply(ctx context.Context, ops ...store.Op) error {
	if f.down.Load() {
		return store.ErrUnavailable
	}
	return f.Store.Apply(ctx, ops...)
}

// TestHeldBatchesSurviveAFailingCommit: busy batches held for a shared
// commit whose commit fails are retried, not lost: once the store is back,
// every record is stored and none counted dropped; held batches past a
// Close whose time runs out are counted in Dropped (what
// nectar_history_dropped_total exports), each once. Trim limits
// (MaxRecords) hold with held batches. A synctest bubble, a real bbolt file.
func TestHeldBatchesSurviveAFailingCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		bst := tempStore(t) // closed as the bubble ends
		fs := &failingStore{Store: bst}
		r, err := history.New(ctx, fs, history.Options{MaxRecords: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(ctx)
		var ids []string
		record := func(n int) {
			for range n {
				now := time.Now()
				id := history.NewID(now)
				ids = append(ids, id)
				r.Record(&history.Execution{ID: id, Trigger: "http", Start: now, End: now, Input: map[string]any{"n": len(ids)}})
			}
		}
		linger := func() { time.Sleep(30 * time.Millisecond); synctest.Wait() }

		record(100)
		linger() // held
		fs.down.Store(true)
		time.Sleep(100 * time.Millisecond) // the hold ends: its commit fails
		synctest.Wait()
		record(100)
		linger()
		time.Sleep(time.Second) // retries fail
		synctest.Wait()
		fs.down.Store(false)
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if _, err := history.Get(ctx, bst, id); err != nil {
				t.Fatalf("%s after the store came back: %v", id, err)
			}
		}
		if d := r.Dropped(); d != 0 {
			t.Fatalf("dropped %d, want 0", d)
		}

		// Past MaxRecords (10% over), held batches or not, the oldest go.
		for range 12 {
			record(100)
			linger()
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		_, n := stored(t, bst)
		if n > 1100 {
			t.Fatalf("%d records stored, want at most MaxRecords+10%% (1100)", n)
		}

		// Held, then the store fails and Close's time runs out: dropped,
		// and counted once.
		record(100)
		linger()
		fs.down.Store(true)
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := r.Close(cctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("Close: %v", err)
		}
		synctest.Wait() // Close returns at its deadline as the recorder drops
		if d := r.Dropped(); d != 100 {
			t.Fatalf("dropped %d after Close with the store down, want the 100 held", d)
		}
	})
}

// TestHeldBatchesWrittenByALateClose: a busy batch held for a shared
// commit is written by Close even when Close's time has already run out
// (a shutdown whose drain took it all): those records would have been
// committed at the end of their linger without the hold, before Close.
// Close returned at once and the process exited, losing them uncounted.
func TestHeldBatchesWrittenByALateClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := tempStore(t) // closed as the bubble ends
		r, err := history.New(ctx, st, history.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for range 100 {
			now := time.Now()
			id := history.NewID(now)
			ids = append(ids, id)
			r.Record(&history.Execution{ID: id, Trigger: "http", Start: now, End: now, Input: map[string]any{"n": len(ids)}})
		}
		time.Sleep(30 * time.Millisecond) // the linger ends: held
		synctest.Wait()
		late, cancel := context.WithCancel(ctx)
		cancel()
		r.Close(late)
		for _, id := range ids { // as soon as Close returns: the process exits next
			if _, err := history.Get(ctx, st, id); err != nil {
				t.Fatalf("%s after Close: %v", id, err)
			}
		}
		synctest.Wait()
		if d := r.Dropped(); d != 0 {
			t.Fatalf("dropped %d", d)
		}
	})
}

// TestCloseOnAHungStore: a busy recorder holds a batch for a shared commit
// when the store hangs. After Closing (what the server calls as its
// shutdown begins), Close returns when its context ends; without it,
// Close waits for the held write at most writeTimeout (10 s) more. Before,
// Close waited for that write without bound: a hung disk at shutdown held
// the process past --shutdown-timeout for as long as it hung (here: until
// the store is let go after a minute). A synctest bubble: the durations are its clock's.
func TestCloseOnAHungStore(t *testing.T) {
	for _, closing := range []bool{true, false} {
		t.Run(map[bool]string{true: "after Closing", false: "without Closing"}[closing], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				hs := storetest.NewHung(tempStore(t))
				r, err := history.New(ctx, hs, history.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for range 100 {
					now := time.Now()
					r.Record(&history.Execution{ID: history.NewID(now), Trigger: "http", Start: now, End: now})
				}
				time.Sleep(30 * time.Millisecond) // the linger ends: held
				synctest.Wait()
				hs.Hang()
				release := hs.Release
				done := make(chan struct{})
				defer close(done)
				go func() { // a hang that never ends would leave the bubble stuck
					select {
					case <-time.After(time.Minute):
						release()
					case <-done:
					}
				}()
				if closing {
					r.Closing() // commits what is held: that commit hangs
					synctest.Wait()
				}
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				start := time.Now()
				err = r.Close(cctx)
				took := time.Since(start)
				want := time.Second
				if !closing {
					want += 10 * time.Second // writeTimeout
				}
				if err == nil || took > want {
					t.Errorf("Close on a hung store: %v after %v, want an error by %v", err, took, want)
				}
				release()
			})
		})
	}
}
