package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// respondEcho answers with a respond step, from a parallel branch, early
// (send: true) when the request asks, and then goes on to a second
// respond that reaches only the history.
const respondEcho = `name: respond-echo
trigger:
  http:
    path: /respond
    methods: [POST]
steps:
  - choice:
      - when: message.early
        steps:
          - parallel:
              branches:
                - name: answer
                  steps:
                    - respond: {status: 201, send: true, body: {tag: "{{ message.tag }}", pad: "{{ message.pad }}"}}
                - name: other
                  steps:
                    - set: {x: 1}
          - respond: {status: 202, body: "late {{ message.tag }}"}
      - otherwise:
          - respond: {status: 200, body: {tag: "{{ message.tag }}", pad: "{{ message.pad }}"}}
`

// TestRespondedBodyIsTheRequestsOwn sends distinct requests at once over
// loopback, answered by respond steps, some early from a parallel branch,
// and checks that each answer is its own request's: a respond step writes
// its body into a pooled buffer that the trigger gives back once it has
// answered (triggers.Response.Release); a buffer given back too early
// would carry another request's answer.
func TestRespondedBodyIsTheRequestsOwn(t *testing.T) {
	e := servertest.Start(t, map[string]string{"respond-echo.yaml": respondEcho}, nil)
	// Request i of worker w: tagged w<w>-r<i>, answered early when i%3 == 0.
	tag := func(w, i int) string { return fmt.Sprintf("w%d-r%d", w, i) }
	pad := func(w, i int) string { return strings.Repeat("p", (w*40+i)*13%3000) }
	got := postAll(t, e.HTTP.URL, 8, 40, func(w, i int) (string, string) {
		return "/respond", fmt.Sprintf(`{"tag":%q,"pad":%q,"early":%v}`, tag(w, i), pad(w, i), i%3 == 0)
	})
	if len(got) != 8*40 {
		t.Fatalf("%d answers, want %d", len(got), 8*40)
	}
	for _, a := range got {
		want, status := fmt.Sprintf(`{"tag":%q,"pad":%q}`, tag(a.w, a.i), pad(a.w, a.i)), http.StatusOK
		if a.i%3 == 0 {
			status = http.StatusCreated
		}
		if a.code != status || a.body != want {
			t.Errorf("request %s: %d\n%.200s\nwant %d\n%.200s", tag(a.w, a.i), a.code, a.body, status, want)
		}
	}
}
