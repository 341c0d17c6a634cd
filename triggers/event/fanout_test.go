package event_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// Moved from server/triggers_test.go.

func TestEventsFanOut(t *testing.T) {
	e := servertest.Start(t, map[string]string{
		"publish.yaml": `
name: publish
trigger:
  http: {path: /orders}
steps:
  - event: {name: orders.created, payload: {id: "{{ message.id }}"}}
  - set: {accepted: "{{ message.id }}"}
`,
		"audit.yaml": `
name: audit
trigger:
  event: orders.created
steps:
  - test-notify: {channel: audit}
`,
		"mail.yaml": `
name: mail
trigger:
  event: {name: orders.created, concurrency: 2, queue: 10}
steps:
  - test-notify: {channel: mail}
`}, nil)
	code, _, body := e.Do(t, "POST", "/orders", `{"id":"o-1"}`, nil)
	if code != 200 || body != `{"accepted":"o-1"}` {
		t.Fatalf("%d %s", code, body)
	}
	for _, ch := range []string{"audit", "mail"} {
		got := servertest.Receive(t, ch)
		msg, _ := got.Get("message")
		md, _ := got.Get("metadata")
		if servertest.MustJSON(msg) != `{"id":"o-1"}` || !strings.Contains(servertest.MustJSON(md), `"name":"orders.created"`) {
			t.Fatalf("%s got %s %s", ch, servertest.MustJSON(msg), servertest.MustJSON(md))
		}
	}
}
