package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
)

// TestFlushForAnsweredEarly: FlushFor(id) of an execution noted by
// Answered returns once its Record queued it (and the record is then
// stored), or once Abandon says it will not be recorded, or once a Record
// after Close dropped it; it never waits on an id not noted.
func TestFlushForAnsweredEarly(t *testing.T) {
	ctx := context.Background()
	st := tempStore(t)
	r := newRecorder(t, st, history.Options{})
	exec := func() *history.Execution {
		now := time.Now()
		v, _ := value.DecodeString(`{"a":1}`)
		return &history.Execution{ID: history.NewID(now), Trigger: "http", Start: now, End: now, Input: v, Output: v}
	}

	e := exec()
	r.Answered(e.ID)
	flushed := make(chan error, 1)
	go func() { flushed <- r.FlushFor(ctx, e.ID) }()
	select {
	case err := <-flushed:
		t.Fatalf("FlushFor returned (%v) before the execution was recorded", err)
	case <-time.After(50 * time.Millisecond): // a moment to see it wait, not a measure
	}
	r.Record(e)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if _, err := history.Get(ctx, st, e.ID); err != nil {
		t.Fatalf("after FlushFor: %v", err)
	}

	ab := exec()
	r.Answered(ab.ID)
	r.Abandon(ab.ID)
	if err := r.FlushFor(ctx, ab.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.FlushFor(ctx, "never-answered"); err != nil {
		t.Fatal(err)
	}

	r.Close(ctx)
	late := exec()
	r.Answered(late.ID)
	r.Record(late) // dropped after Close: nobody waits for it
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.FlushFor(cctx, late.ID); err != nil {
		t.Fatalf("FlushFor of an execution dropped after Close: %v", err)
	}
}
