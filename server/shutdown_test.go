package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// TestShutdownCutsAndFlushes (#20.4): a request that would run for ever
// when Shutdown is called with 2 s. It used to take the whole budget, so
// the history was closed with no time left, the record was lost and
// Shutdown failed (nectar serve exited 1). Now the drain ends with a fifth
// of the budget left, the execution is cancelled, its caller gets 503, its
// record is written, and Shutdown succeeds.
func TestShutdownCutsAndFlushes(t *testing.T) {
	e := start(t, map[string]string{"block.yaml": `
name: block
trigger:
  http: {path: /block, timeout: 10m}
steps:
  - test-block: {}
`}, nil)
	e.http.Close() // served below by the server's own http.Server
	hs := e.srv.HTTPServer(server.Limits{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	type result struct {
		code int
		body string
		id   string
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/block", "application/json", strings.NewReader(`{}`))
		if err != nil {
			got <- result{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{resp.StatusCode, string(b), resp.Header.Get("X-Execution-Id")}
	}()
	// Wait until the execution runs.
	eventually(t, "the request running", func() bool {
		resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), "nectar_http_requests_in_flight 1")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	var r result
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the request is still running 30 s after Shutdown returned")
	}
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "the server shut down before it ended") {
		t.Errorf("the cut request was answered %d %s; want 503", r.code, r.body)
	}
	rec, err := history.Get(context.Background(), e.st, r.id)
	if err != nil {
		t.Fatalf("the cut execution is not in the history: %v", err)
	}
	if rec.Status != "failed" || rec.Code != http.StatusServiceUnavailable {
		t.Errorf("the cut execution is recorded %s %d, want failed 503", rec.Status, rec.Code)
	}
}
