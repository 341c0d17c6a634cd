package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
)

// TestBurstRecordedAtShutdown sends a burst of concurrent requests (busy
// batches the history holds for a shared commit), some answered early
// while their pipeline goes on, then shuts the server down as SIGTERM
// does: every execution answered is in the store afterwards, with the
// output its caller got (the answer's buffer handed to the history), and
// none is dropped.
func TestBurstRecordedAtShutdown(t *testing.T) {
	e := start(t, map[string]string{"bench-transform.yaml": benchTransform, "early.yaml": `
name: early
trigger:
  http: {path: /early, methods: [POST]}
steps:
  - respond: {status: 202, send: true}
  - set: {after: "{{ message.id }}"}
`}, nil)
	got := postAll(t, e.http.URL, 8, 40, func(w, i int) (string, string) {
		if i%5 == 0 {
			return "/early", fmt.Sprintf(`{"id":"e-%d-%d"}`, w, i)
		}
		return "/transform", strings.Replace(benchCustomer, `"c-000184223"`, fmt.Sprintf(`"c-%d-%d"`, w, i), 1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := e.srv.History().Dropped(); d != 0 {
		t.Fatalf("%d records dropped", d)
	}
	for _, a := range got {
		rec, err := history.Get(ctx, e.st, a.id)
		if err != nil {
			t.Fatalf("%s (%d): %v", a.id, a.code, err)
		}
		if rec.Code != a.code {
			t.Fatalf("%s: record code %d, answered %d", a.id, rec.Code, a.code)
		}
		if a.code == http.StatusOK && string(rec.Output) != a.body {
			t.Fatalf("%s: record output\n%s\nwant what was answered\n%s", a.id, rec.Output, a.body)
		}
	}
}
