package http_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestMalformedBodyPass: with malformed_body: pass the pipeline runs on a
// body that does not parse, with a null message and the reason in
// metadata.request.body_error, and answers in its own format; without it
// the server refuses the body with 400 before the pipeline runs.
func TestMalformedBodyPass(t *testing.T) {
	e := servertest.Start(t, map[string]string{
		"own.yaml": `
name: own
trigger:
  http: {path: /own, malformed_body: pass}
steps:
  - respond:
      status: 400
      body: {kind: "{{ message == nil ? 'null' : 'parsed' }}", why: "{{ metadata.request.body_error }}"}
`,
		"default.yaml": `
name: default
trigger:
  http: {path: /default}
steps:
  - set: {ran: true}
`,
	}, nil)
	for _, tc := range []struct{ name, ctype, body, why string }{
		{"malformed JSON", "application/json", `{"a":`, "malformed JSON"},
		{"malformed form", "application/x-www-form-urlencoded", "a=%zz", "malformed form"},
		{"multipart without a boundary", "multipart/form-data", "x", "malformed multipart body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.Do(t, "POST", "/own", tc.body, map[string]string{"Content-Type": tc.ctype})
			if code != 400 || !strings.Contains(body, `"kind":"null"`) || !strings.Contains(body, `"why":"`+tc.why) {
				t.Errorf("pass: %d %s, want the pipeline's answer with kind null and why %q", code, body, tc.why)
			}
			code, _, body = e.Do(t, "POST", "/default", tc.body, map[string]string{"Content-Type": tc.ctype})
			if code != 400 || !strings.Contains(body, `"code":400`) || strings.Contains(body, "ran") {
				t.Errorf("reject: %d %s, want the server's 400", code, body)
			}
		})
	}
	if code, _, body := e.Do(t, "POST", "/own", `{"a":1}`, map[string]string{"Content-Type": "application/json"}); !strings.Contains(body, `"kind":"parsed"`) || strings.Contains(body, "malformed") {
		t.Errorf("a good body with pass: %d %s", code, body)
	}
}
