package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
)

// earlyThenHeld starts a pipeline that answers 202 early (respond send:
// true) and then calls an upstream that holds its answer until release is
// closed: the caller has the execution id while the pipeline still runs.
func earlyThenHeld(t *testing.T) (e *env, release chan struct{}) {
	t.Helper()
	release = make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"late":true}`))
	}))
	t.Cleanup(up.Close)
	e = start(t, map[string]string{"early.yaml": `
name: early
trigger:
  http: {path: /early, methods: [POST]}
steps:
  - respond: {status: 202, send: true}
  - rest: {method: GET, url: "` + up.URL + `/hold"}
`}, nil)
	return e, release
}

// releaseAfter closes release once done is closed (the read came back: the
// product did not wait for the record) or after a moment (it waits: the
// pipeline may go on). Not a measure: either way the pipeline ends.
func releaseAfter(release chan struct{}, done chan struct{}) {
	go func() {
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
	}()
}

// postEarly calls earlyThenHeld's pipeline, which answers 202 early and
// goes on, and returns the execution's id.
func postEarly(t *testing.T, e *env) string {
	t.Helper()
	code, hdr, raw := e.do(t, "POST", "/early", `{"id":1}`, map[string]string{"Content-Type": "application/json"})
	if code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", code, raw)
	}
	return hdr.Get("X-Execution-Id")
}

// TestEarlyAnswerRecordFoundByAPI: a caller answered early reads its
// execution with GET /api/executions/{id} while the pipeline still runs.
// The API's flush waits for that execution's record (within its 2 s), so the
// call answers 200 with the record, not 404 "no such execution" (what
// made TestEarlySendRecordsTheSentStatus fail 5 runs in 200).
func TestEarlyAnswerRecordFoundByAPI(t *testing.T) {
	e, release := earlyThenHeld(t)
	id := postEarly(t, e)
	done := make(chan struct{})
	releaseAfter(release, done)
	// On a connection of its own: the early answer's connection serves its
	// next request only once the pipeline ends.
	req, _ := http.NewRequest("GET", e.http.URL+"/api/executions/"+id, nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, raw := resp.StatusCode, string(b)
	if code != http.StatusOK {
		t.Fatalf("GET /api/executions/{id}: %d %s, want 200 with the record", code, raw)
	}
	var rec history.Record
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusAccepted {
		t.Fatalf("record code %d, want 202", rec.Code)
	}
}

// TestEarlyAnswerRecordFoundByFlushFor: the same through the recorder
// (what the console and the tests' helper use): FlushFor(id) returns once
// the early-answered execution's record is written.
func TestEarlyAnswerRecordFoundByFlushFor(t *testing.T) {
	e, release := earlyThenHeld(t)
	id := postEarly(t, e)
	done := make(chan struct{})
	releaseAfter(release, done)
	ctx := context.Background()
	err := e.srv.History().FlushFor(ctx, id)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := history.Get(ctx, e.st, id); err != nil {
		t.Fatalf("after FlushFor: %v", err)
	}
}

// TestEarlyAnswerTestCaseFound: GET /api/executions/{id}/test (nectar test
// record) reads the record of an execution answered early as
// GET /api/executions/{id} does: it waits for it rather than answering 404
// while the pipeline still runs. (This server keeps no exchanges, so the
// record found is answered with the 409 that says so.)
func TestEarlyAnswerTestCaseFound(t *testing.T) {
	e, release := earlyThenHeld(t)
	id := postEarly(t, e)
	done := make(chan struct{})
	releaseAfter(release, done)
	req, _ := http.NewRequest("GET", e.http.URL+"/api/executions/"+id+"/test", nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	tr := &http.Transport{} // a connection of its own, as above
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "record holds no answers of its steps") {
		t.Fatalf("GET /api/executions/{id}/test: %d %s, want the record found (409: no exchanges kept)", resp.StatusCode, b)
	}
}
