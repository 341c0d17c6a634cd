package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
)

// stepsN runs one failing assert per element of message.items, two at a
// time: its trace holds 1 + len(items) records, appended from forked
// branches, each with an error naming its element.
const stepsN = `name: steps-n
trigger:
  http:
    path: /steps
    methods: [POST]
steps:
  - for-each:
      items: message.items
      parallel: 2
      steps:
        - assert:
            that: "false"
            status: 409
            error: "{{ message }}"
`

// TestRecordedStepsAreTheExecutionsOwn sends requests whose traces have
// from 0 to 80 records at once, and checks that each record's steps are
// its own execution's: the server reuses the traces the history has
// written (engine.Trace.Reset), and a trace given back before its record
// was written, or not emptied, would show another request's steps; one
// of more than 64 records is not kept for reuse.
func TestRecordedStepsAreTheExecutionsOwn(t *testing.T) {
	e := servertest.Start(t, map[string]string{"steps-n.yaml": stepsN}, nil)
	// Request i of worker w: tagged w<w>-r<i>, over (w*30 + i*7) % 81 elements.
	tag := func(w, i int) string { return fmt.Sprintf("w%d-r%d", w, i) }
	count := func(w, i int) int { return (w*30 + i*7) % 81 }
	got := postAll(t, e.HTTP.URL, 4, 30, func(w, i int) (string, string) {
		items := make([]string, count(w, i))
		for k := range items {
			items[k] = fmt.Sprintf("%s-e%d", tag(w, i), k)
		}
		body, _ := json.Marshal(map[string]any{"items": items})
		return "/steps", string(body)
	})
	ctx := context.Background()
	if err := e.Srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		s := struct {
			id, tag string
			n       int
		}{a.id, tag(a.w, a.i), count(a.w, a.i)}
		rec, err := history.Get(ctx, e.Store, s.id)
		if err != nil {
			t.Fatalf("%s: %v", s.id, err)
		}
		if len(rec.Steps) != s.n+1 {
			t.Fatalf("record %s (%s) has %d steps, want %d: %+v", s.id, s.tag, len(rec.Steps), s.n+1, rec.Steps)
		}
		seen := map[string]bool{}
		for _, st := range rec.Steps {
			if st.Connector != "assert" {
				continue
			}
			el, _, _ := strings.Cut(st.Error, " ")
			if !strings.HasPrefix(st.Error, s.tag+"-e") || seen[el] {
				t.Fatalf("record %s (%s): step error %q is not one of its own elements, once", s.id, s.tag, st.Error)
			}
			seen[el] = true
		}
		if len(seen) != s.n {
			t.Fatalf("record %s (%s): %d distinct elements, want %d", s.id, s.tag, len(seen), s.n)
		}
	}
}
