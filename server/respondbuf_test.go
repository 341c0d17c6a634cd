package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				tag := fmt.Sprintf("w%d-r%d", w, i)
				early := i%3 == 0
				pad := strings.Repeat("p", (w*40+i)*13%3000)
				body := fmt.Sprintf(`{"tag":%q,"pad":%q,"early":%v}`, tag, pad, early)
				resp, err := http.Post(e.HTTP.URL+"/respond", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				want, status := fmt.Sprintf(`{"tag":%q,"pad":%q}`, tag, pad), http.StatusOK
				if early {
					status = http.StatusCreated
				}
				if err != nil || resp.StatusCode != status || string(b) != want {
					t.Errorf("request %s: %d %v\n%.200s\nwant %d\n%.200s", tag, resp.StatusCode, err, b, status, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
