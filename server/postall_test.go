package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// posted is what one of postAll's requests got back.
type posted struct {
	w, i     int    // the worker and its request's number
	id, body string // X-Execution-Id and the body answered
	code     int
}

// postAll sends workers × n JSON requests at once over loopback, each
// worker's one after the other: req gives request i of worker w (path and
// body). It returns the answers, in no particular order; a request that
// failed is reported with t.Error and left out.
func postAll(t *testing.T, base string, workers, n int, req func(w, i int) (path, body string)) []posted {
	t.Helper()
	var mu sync.Mutex
	var got []posted
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				path, body := req(w, i)
				resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, posted{w, i, resp.Header.Get("X-Execution-Id"), string(b), resp.StatusCode})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}
