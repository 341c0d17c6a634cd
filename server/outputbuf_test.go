package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
)

// TestRecordedOutputIsWhatWasAnswered sends distinct requests at once over
// loopback and checks that each record's output is byte for byte the body
// its request was answered with: the history keeps the answer's pooled
// buffer instead of a copy (engine.Execution.OutputBuf), and a buffer given
// back to the pool too early would be reused by another request's answer.
func TestRecordedOutputIsWhatWasAnswered(t *testing.T) {
	e := servertest.Start(t, map[string]string{"bench-transform.yaml": benchTransform}, nil)
	got := postAll(t, e.HTTP.URL, 8, 40, func(w, i int) (string, string) {
		body := strings.Replace(benchCustomer, `"c-000184223"`, fmt.Sprintf(`"c-%d-%d"`, w, i), 1)
		return "/transform", strings.Replace(body, `"Margarethe"`, fmt.Sprintf(`"%s"`, strings.Repeat("m", w*40+i)), 1)
	})
	for _, a := range got {
		if a.code != http.StatusOK {
			t.Fatalf("status %d: %s", a.code, a.body)
		}
	}
	ctx := context.Background()
	if err := e.Srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		rec, err := history.Get(ctx, e.Store, a.id)
		if err != nil {
			t.Fatalf("%s: %v", a.id, err)
		}
		if string(rec.Output) != a.body {
			t.Fatalf("record %s output\n%s\nwant what was answered\n%s", a.id, rec.Output, a.body)
		}
	}
}
