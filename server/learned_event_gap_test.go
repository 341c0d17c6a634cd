package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
)

// TestHostileLearnedSecretThroughEvent: a pipeline receives a token from
// an API (learned: masked in its own record) and publishes an event whose
// payload repeats it in text. The subscriber's record and its log lines
// must not hold it: the event carries the publisher's learned secrets
// (events.Event.Secrets), which the subscriber's run masks as its own.
// Before, the subscriber's record (its input, every step's input and
// output) and its log line held the token in clear.
func TestHostileLearnedSecretThroughEvent(t *testing.T) {
	tok := "event-gap-token-0050"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q}`, tok)
	}))
	defer up.Close()
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{
		"pub.yaml": `
name: pub
trigger: {http: {path: /pub}}
steps:
  - rest: {method: POST, url: "` + up.URL + `/token", body: {grant_type: client_credentials}}
    to: vars.r
  - event: {name: h2.gap, payload: {note: "issued {{ vars.r.body.access_token }}"}}
`,
		"sub.yaml": `
name: sub
trigger: {event: {name: h2.gap}}
steps:
  - log: {message: "got {{ message.note }}"}
  - test-notify: {channel: h2-event-gap}
`,
	})
	if code, _, body := postSecrets(t, e, "/pub", `{}`); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	got := servertest.Receive(t, "h2-event-gap")
	md, _ := got.Get("metadata")
	id, _ := md.(*value.Object).Get("execution_id")
	ctx := context.Background()
	// The subscriber's record is written once its run returns; FlushFor
	// waits for it (no timed wait).
	if err := e.Srv.History().FlushFor(ctx, id.(string)); err != nil {
		t.Fatal(err)
	}
	rec, err := history.Get(ctx, e.Store, id.(string))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(rec)
	if strings.Contains(string(raw), tok) {
		t.Errorf("the subscriber's record holds the token: %s", raw)
	}
	if strings.Contains(logs.String(), tok) {
		t.Errorf("the log holds the token")
	}
}
