package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

var bodyPipelines = map[string]string{
	"got.yaml": `
name: got
trigger:
  http: {path: /got}
steps:
  - set: {got: "{{ message }}", type: "{{ metadata.request.content_type }}"}
`,
}

// TestJSONSentAsForm (#13.1): curl -d '{…}' sends JSON as
// application/x-www-form-urlencoded. A form body whose first non-space byte
// is { and which is a JSON object is read as JSON; one that starts with {
// but is not JSON is a 400 saying so, never a form with one odd key.
func TestJSONSentAsForm(t *testing.T) {
	e := servertest.Start(t, bodyPipelines, nil)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"} // what curl -d sends
	tests := []struct {
		name string
		body string
		code int
		want []string
	}{
		{"JSON object as a form is JSON", `{"partnerId":"TestSystem","executionType":"create"}`, 200,
			[]string{`"got":{"partnerId":"TestSystem","executionType":"create"}`}},
		{"leading spaces", " \n\t{\"a\":[1,2]}\n", 200, []string{`"got":{"a":[1,2]}`}},
		{"a real form stays a form", "grant_type=client_credentials&scope=a+b", 200,
			[]string{`"got":{"grant_type":"client_credentials","scope":"a b"}`}},
		{"a form value with braces stays a form", "q={x}&r=1", 200, []string{`"got":{"q":"{x}","r":"1"}`}},
		{"broken JSON is a 400 that says so", `{"partnerId":"TestSystem",`, 400,
			[]string{`"code":400`, "looks like JSON", "application/x-www-form-urlencoded", "Content-Type: application/json"}},
		{"JSON that is not one object is a 400", `{"a":1} {"b":2}`, 400, []string{"looks like JSON", "Content-Type: application/json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := e.Do(t, "POST", "/got", tt.body, form)
			if code != tt.code {
				t.Fatalf("status %d, want %d: %s", code, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body %s lacks %s", body, w)
				}
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("answer is not JSON: %s", body)
			}
		})
	}
}
