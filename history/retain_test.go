package history_test

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestWrittenExecutionsAreNotKept: once an execution is written, the
// recorder keeps nothing of it. Its batch slice is reused for the next
// batch; left uncleared, it held up to a whole batch of finished
// executions (their inputs and outputs) until overwritten.
func TestWrittenExecutionsAreNotKept(t *testing.T) {
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newRecorder(t, st, history.Options{})
	const n = 8
	kept := make([]weak.Pointer[value.Object], n)
	for i := range n {
		in := value.NewObject(1)
		in.Set("i", int64(i))
		kept[i] = weak.Make(in)
		r.Record(&history.Execution{ID: history.NewID(time.Now()), Trigger: "http", Start: time.Now(), End: time.Now(), Input: in, Output: in})
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	for i, w := range kept {
		if w.Value() != nil {
			t.Errorf("execution %d's input is still reachable after it was written", i)
		}
	}
}
