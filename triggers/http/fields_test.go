package http_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
	nhttp "github.com/nectar-run/nectar/triggers/http"
)

// Moved from server/hardsrv_test.go.

// TestTooManyFieldsAreRefused: a form body, a query string or a multipart
// body of more than nhttp.MaxFormFields fields (each costs far more memory
// than its bytes: 450k fields in 4.4 MB took 115 MB) is a 400 that names
// the limit; exactly the limit is accepted.
func TestTooManyFieldsAreRefused(t *testing.T) {
	e := servertest.Start(t, map[string]string{"f.yaml": `
name: f
trigger:
  http: {path: /f, max_body: 8MB}
steps:
  - set: {ok: true}
`}, nil)
	fields := func(n int) string { return strings.Repeat("a=1&", n-1) + "a=1" }
	limit := strconv.Itoa(nhttp.MaxFormFields)
	multipart := func(n int) (string, string) {
		var b strings.Builder
		for range n {
			b.WriteString("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n")
		}
		b.WriteString("--B--\r\n")
		return b.String(), "multipart/form-data; boundary=B"
	}
	over, mct := multipart(nhttp.MaxFormFields + 1)
	at, _ := multipart(nhttp.MaxFormFields)
	for _, c := range []struct {
		name, path, ctype, body string
		code                    int
		want                    string
	}{
		{"450k form fields", "/f", "application/x-www-form-urlencoded", fields(450000), 400, "at most " + limit},
		{"one field over the limit", "/f", "application/x-www-form-urlencoded", fields(nhttp.MaxFormFields + 1), 400, "at most " + limit},
		{"at the limit", "/f", "application/x-www-form-urlencoded", fields(nhttp.MaxFormFields), 200, `"ok":true`},
		{"query over the limit", "/f?" + fields(nhttp.MaxFormFields+1), "", "", 400, "at most " + limit},
		{"multipart over the limit", "/f", mct, over, 400, "at most " + limit},
		{"multipart at the limit", "/f", mct, at, 200, `"ok":true`},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.ctype != "" {
				hdr["Content-Type"] = c.ctype
			}
			code, _, resp := e.Do(t, "POST", c.path, c.body, hdr)
			if code != c.code || !strings.Contains(resp, c.want) || !json.Valid([]byte(resp)) {
				t.Errorf("status %d, want %d with %q: %.300s", code, c.code, c.want, resp)
			}
		})
	}
}
