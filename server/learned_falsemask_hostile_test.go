package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostilePlaceholderSecretNotMasked: an API answers placeholders under
// sensitive names, as many do for a key not set or shown once
// ("api_key": "00000000", "password": "********", "secret": 8 spaces). Learned as secrets, they masked every run of 8 zeros, stars or
// spaces in the execution: the error answered to the caller ("order
// 3000000001 not found" became "order 3***1 not found"), the record and
// the log. A value of one repeated byte hides nothing and is not learned.
func TestHostilePlaceholderSecretNotMasked(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"account":{"api_key":"00000000","password":"********","secret":"        "}}`)
	}))
	defer up.Close()
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"orders.yaml": `
name: orders
trigger: {http: {path: /orders}}
steps:
  - rest: {method: GET, url: "` + up.URL + `/account"}
    to: vars.acct
  - log: {message: "looking up order {{ message.order }} ********        end"}
  - throw: {status: 404, error: "order {{ message.order }} not found"}
`})
	code, hdr, body := postSecrets(t, e, "/orders", `{"order":"3000000001"}`)
	if code != 404 || !strings.Contains(body, `order 3000000001 not found`) {
		t.Fatalf("the error answered is changed: %d %s", code, body)
	}
	rec := e.Record(t, hdr)
	if !strings.Contains(string(rec.Error), "order 3000000001 not found") {
		t.Errorf("the record's error is changed: %s", rec.Error)
	}
	// Under its own name a placeholder is still masked, as any value is.
	if raw, _ := json.Marshal(rec); strings.Contains(string(raw), `"api_key":"00000000"`) || !strings.Contains(string(raw), `"api_key":"***"`) {
		t.Errorf("the record does not mask api_key under its name: %s", raw)
	}
	logged := false
	for _, l := range rec.Logs {
		logged = logged || strings.Contains(l.Message, "looking up order 3000000001 ********        end")
	}
	if !logged {
		t.Errorf("the record's log line is changed: %+v", rec.Logs)
	}
	if !strings.Contains(logs.String(), "looking up order 3000000001 ********        end") {
		t.Errorf("the log line is changed:\n%s", logs.String())
	}
}

// TestHostilePlaceholderRequestKeyNotMasked: a caller sends a placeholder
// key (X-Api-Key: 00000000, as a client not configured yet does). The
// request's credentials are masked wherever they appear; a placeholder,
// one byte repeated, would eat the zeros of the error answered ("order
// 3000000001 not found") and of the record's log line.
func TestHostilePlaceholderRequestKeyNotMasked(t *testing.T) {
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"orders.yaml": `
name: orders
trigger: {http: {path: /orders}}
steps:
  - log: {message: "looking up order {{ message.order }}"}
  - throw: {status: 404, error: "order {{ message.order }} not found"}
`})
	code, hdr, body := e.Do(t, "POST", "/orders", `{"order":"3000000001"}`, map[string]string{"Content-Type": "application/json", "X-Api-Key": "00000000"})
	if code != 404 || !strings.Contains(body, `order 3000000001 not found`) {
		t.Fatalf("the error answered is changed: %d %s", code, body)
	}
	rec := e.Record(t, hdr)
	logged := false
	for _, l := range rec.Logs {
		logged = logged || strings.Contains(l.Message, "looking up order 3000000001")
	}
	if !logged || !strings.Contains(string(rec.Error), "order 3000000001 not found") {
		t.Errorf("the record is changed: %s %+v", rec.Error, rec.Logs)
	}
}
