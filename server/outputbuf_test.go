package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
	type answer struct{ id, body string }
	var mu sync.Mutex
	var got []answer
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				body := strings.Replace(benchCustomer, `"c-000184223"`, fmt.Sprintf(`"c-%d-%d"`, w, i), 1)
				body = strings.Replace(body, `"Margarethe"`, fmt.Sprintf(`"%s"`, strings.Repeat("m", w*40+i)), 1)
				resp, err := http.Post(e.HTTP.URL+"/transform", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("status %d, %v: %s", resp.StatusCode, err, b)
					return
				}
				mu.Lock()
				got = append(got, answer{resp.Header.Get("X-Execution-Id"), string(b)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
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
