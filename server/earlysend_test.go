package server_test

import (
	"net/http"
	"testing"
)

// TestEarlySendRecordsTheSentStatus sends a request to a pipeline that
// answers 202 early (respond send: true) and then sets 418 with a later
// respond: the caller gets 202, and the execution record keeps 202, the
// status the caller got, not the later respond's. It pins the trigger's
// record of an early answer (ServeHTTP keeps it in the execution since
// the send function no longer writes the handler's code).
func TestEarlySendRecordsTheSentStatus(t *testing.T) {
	e := start(t, map[string]string{"early.yaml": `
name: early
trigger:
  http: {path: /early, methods: [POST]}
steps:
  - respond: {status: 202, send: true}
  - respond: {status: 418}
`}, nil)
	code, hdr, raw := e.do(t, "POST", "/early", `{"id":1}`, map[string]string{"Content-Type": "application/json"})
	if code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", code, raw)
	}
	if rec := e.record(t, hdr); rec.Code != http.StatusAccepted {
		t.Fatalf("record code %d, want 202", rec.Code)
	}
}
