package event_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
)

// TestExample serves example.yaml, publishes an orders.created event on
// the server's bus and finds the run in the history.
func TestExample(t *testing.T) {
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := servertest.Start(t, map[string]string{"example.yaml": string(src)}, nil)
	srv, st := e.Srv, e.Store
	ctx := context.Background()
	svc, _ := srv.Runtime().Service(events.ServiceKey{})
	if err := svc.(events.Bus).Publish(ctx, "orders.created", map[string]any{"id": "o-1"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a hang, not a timing assertion
	for {
		if err := srv.History().Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := history.List(ctx, st, history.Filter{Pipeline: "audit-orders"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			r, err := history.Get(ctx, st, recs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Trigger != "event" || r.Status != history.StatusOK || string(r.Output) != `{"audited":"o-1","event":"orders.created"}` {
				t.Fatalf("record: %s %s %s", r.Trigger, r.Status, r.Output)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the event did not run the pipeline")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventProblemsAtTheirOptions: each problem of an event trigger is
// reported at its own option.
func TestEventProblemsAtTheirOptions(t *testing.T) {
	src := "name: a\ntrigger:\n  event:\n    name: \"a b\"\n    concurrency: 0\n    queue: -1\nsteps:\n  - set: {a: 1}\n"
	_, err := engine.Load("f.yaml", []byte(src), engine.LoadOptions{})
	var got []string
	for _, le := range engine.LoadErrors(err) {
		got = append(got, le.Error())
	}
	want := `f.yaml:4:11: trigger.event.name: event name "a b": ' ' is not allowed (letters, digits, '.', '-', '_', ':')` + "\n" +
		`f.yaml:5:18: trigger.event.concurrency: must be above 0` + "\n" +
		`f.yaml:6:12: trigger.event.queue: must be 0 or more`
	if g := strings.Join(got, "\n"); g != want {
		t.Errorf("got:\n%s\nwant:\n%s", g, want)
	}
}
