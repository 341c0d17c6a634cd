package history_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
)

// TestOutputBufHandedOver checks the ownership of Execution.OutputBuf: the
// recorder keeps the buffer's text as the output snapshot, gives every
// buffer back exactly once, and only after the record's text is written: PutBuf here overwrites the buffer at once (as a
// reuse by the next request would), so a record written from a buffer
// already given back would hold the overwritten bytes, not the answer. A
// sensitive output (masked, encoded from the value) and an observe-only
// recorder (no store) give theirs back too, as does a Record after Close.
func TestOutputBufHandedOver(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	given := map[*[]byte]int{}
	put := func(b *[]byte) {
		mu.Lock()
		given[b]++
		mu.Unlock()
		for i := range *b {
			(*b)[i] = 'X'
		}
	}
	handed := func(text string) (*history.Execution, *[]byte) {
		v, err := value.DecodeString(text)
		if err != nil {
			t.Fatal(err)
		}
		b := new([]byte)
		*b = append(make([]byte, 0, 2*len(text)), text...)
		now := time.Now()
		return &history.Execution{ID: history.NewID(now), Trigger: "http", Start: now, End: now, Input: v, Output: v,
			OutputJSON: unsafe.String(unsafe.SliceData(*b), len(*b)), OutputBuf: b, PutBuf: put}, b
	}
	st := tempStore(t)
	r := newRecorder(t, st, history.Options{})
	var ids, want []string
	var bufs []*[]byte
	for i := range 300 {
		// Spaced as no encoder writes it: the stored text is the buffer's.
		text := fmt.Sprintf(`{"id": "c-%06d", "name": "n%d", "tags": ["a","b"]}`, i, i*7)
		if i%10 == 3 {
			text = fmt.Sprintf(`{"id":"c-%06d","password":"hunter-%d"}`, i, i)
		}
		e, b := handed(text)
		ids, bufs = append(ids, e.ID), append(bufs, b)
		want = append(want, text)
		if i%10 == 3 {
			want[i] = fmt.Sprintf(`{"id":"c-%06d","password":"***"}`, i)
		}
		r.Record(e)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		rec, err := history.Get(ctx, st, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Output) != want[i] {
			t.Fatalf("record %d output %s, want %s", i, rec.Output, want[i])
		}
	}
	r.Close(ctx)
	late, lb := handed(`{"late":true}`)
	r.Record(late) // after Close: dropped, and its buffer given back
	bufs = append(bufs, lb)

	obs := newRecorder(t, nil, history.Options{}) // observe only
	for range 5 {
		e, b := handed(`{"observed":1}`)
		bufs = append(bufs, b)
		obs.Record(e)
	}
	if err := obs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	obs.Close(ctx)

	mu.Lock()
	defer mu.Unlock()
	for i, b := range bufs {
		if given[b] != 1 {
			t.Errorf("buffer %d given back %d times, want once", i, given[b])
		}
	}
	if len(given) != len(bufs) {
		t.Errorf("%d buffers given back, %d handed over", len(given), len(bufs))
	}
}
