package history_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
)

// countingStore is a real store whose commits (Apply calls) are counted.
type countingStore struct {
	store.Store
	applies atomic.Int64
}

func (c *countingStore) Apply(ctx context.Context, ops ...store.Op) error {
	c.applies.Add(1)
	return c.Store.Apply(ctx, ops...)
}

// TestBusyBatchesShareACommit: a busy recorder's batches (64 records or
// more in a linger) are encoded at once and committed together, up to
// 100 ms after the first or when 512 records are held; Flush and Close
// commit what is held at once, and a quiet recorder's batch (fewer records)
// is committed at once, as before. Every record is there afterwards. It
// runs in a synctest bubble: the linger and the hold pass exactly, with a
// real bbolt file.
func TestBusyBatchesShareACommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := tempStore(t) // closed as the bubble ends
		cs := &countingStore{Store: st}
		r, err := history.New(ctx, cs, history.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(ctx) // on a failure too: the bubble ends with no goroutine left
		base := cs.applies.Load()
		commits := func() int64 { return cs.applies.Load() - base }
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
		linger()
		record(100)
		linger()
		if c := commits(); c != 0 {
			t.Fatalf("two busy batches: %d commits, want them held", c)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if c := commits(); c != 1 {
			t.Fatalf("after Flush: %d commits, want 1 for both batches", c)
		}

		record(100)
		linger()
		if c := commits(); c != 1 {
			t.Fatalf("a busy batch: %d commits, want it held", c)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if c := commits(); c != 2 {
			t.Fatalf("100 ms after a held batch: %d commits, want 2", c)
		}

		record(300)
		linger()
		record(300) // 600 held would pass 512: committed with the first
		linger()
		if c := commits(); c != 3 {
			t.Fatalf("batches of 300 and 300: %d commits, want 3", c)
		}

		record(3) // quiet
		linger()
		if c := commits(); c != 4 {
			t.Fatalf("a quiet batch: %d commits, want it committed at once (4)", c)
		}

		record(100)
		linger()
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if c := commits(); c != 5 {
			t.Fatalf("after Close: %d commits, want what was held committed (5)", c)
		}
		for _, id := range ids {
			if _, err := history.Get(ctx, st, id); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
	})
}
