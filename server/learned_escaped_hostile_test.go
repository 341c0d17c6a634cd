package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHostileSentJSONCredentialsEchoedEscaped: a rest step sends a password
// with a quote and a backslash (a strong password) in a JSON body; the API
// refuses it and quotes the body it got inside its error string, as many
// do ("invalid request body: {...}"). The decoded answer holds the password
// JSON-escaped (p\"w), not as it was sent: what the step sent under a
// sensitive name is masked in that form too, in the record (step output,
// exchanges, log lines) and the log. Before, only the raw and URL-escaped
// forms were learned, and the escaped password was stored in clear.
func TestHostileSentJSONCredentialsEchoedEscaped(t *testing.T) {
	up := refusingAPI(t, "invalid_request", "invalid request body: ")
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"login.yaml": `
name: login
trigger: {http: {path: /login}}
steps:
  - rest:
      method: POST
      url: "` + up.URL + `/token"
      body: {username: "{{ message.user }}", password: "{{ message.p }}"}
  - log: {message: "the API said {{ message.body.error_description }}"}
`})
	pw := `sent-"json"\pass-0042`
	in, _ := json.Marshal(map[string]string{"user": "ada", "p": pw})
	code, hdr, body := postSecrets(t, e, "/login", string(in))
	if code != 200 || !strings.Contains(body, "invalid request body: ") {
		t.Fatalf("%d %s", code, body)
	}
	escaped, _ := json.Marshal(pw)
	form := strings.Trim(string(escaped), `"`) // sent-\"json\"\\pass-0042
	if again, _ := json.Marshal(form); !strings.Contains(body, strings.Trim(string(again), `"`)) {
		t.Fatalf("the API did not echo the password: %s", body)
	}
	assertNowhere(t, e, &logs, hdr, pw, form)
}
